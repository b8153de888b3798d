"""Throwaway local "boards" for ``make fleet-demo`` and the fleet tests: sshd instances on 127.0.0.1.

Each board is a folder of its own with its own sshd: its own host key and port, listening on
127.0.0.1 only, accepting one generated client key (no passwords). Ansible reaches it like any
board over SSH, with strict host key checking against a known_hosts file written here. The
processes started here are stopped by their pid (:meth:`LocalBoards.stop`).

What is not like a real board, and why: the local boards are this machine, so they share its
Python environment (inventory variable ``rklab_python``, like a board that already has the conda
env; the synced copy of the project comes first on PYTHONPATH, so the code that runs is the
board's copy) instead of building a venv per board (``make setup``: minutes per board). Their
numbers are measured on this machine, and the report says so (host, CPU, no NPU).
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

from rklab.errors import RklabError
from rklab.paths import cache_dir

SSHD = "/usr/sbin/sshd"
DEMO_BOARDS = (("board-a", "rk3588-8gb"), ("board-b", "rk3588-16gb"))
SSHD_CONFIG = """\
# sshd of the local rklab board {name} (throwaway; started and stopped by rklab)
Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {folder}/ssh/sshd.pid
AuthorizedKeysFile {authorized_keys}
AllowUsers {user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
LogLevel ERROR
"""


def _user() -> str:
    return getpass.getuser()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path, comment: str) -> None:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                       check=True, capture_output=True)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class LocalBoard:
    name: str
    profile: str
    folder: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None


class LocalBoards:
    """Start, stop, "power off" and describe (as an Ansible inventory) a few local boards."""

    def __init__(self, root: str | os.PathLike, boards=DEMO_BOARDS, python: str | None = None):
        for tool in (SSHD, "ssh-keygen"):
            if not (Path(tool).exists() if tool.startswith("/") else shutil.which(tool)):
                raise RklabError(f"{tool} is missing: the local fleet boards need openssh-server; run "
                                 "`bash scripts/ensure-sshd.sh` (or `make fleet-demo`, which runs it)")
        self.root = Path(root).absolute()
        self.user = _user()
        self.python = python or sys.executable
        self.client_key = self.root / "client" / "id_ed25519"
        self.known_hosts = self.root / "client" / "known_hosts"
        self.boards = {name: LocalBoard(name, profile, self.root / name, _free_port()) for name, profile in boards}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "LocalBoards":
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
        _keygen(self.client_key, "rklab-local-fleet")
        (self.root / "client" / "authorized_keys").write_text(
            (self.client_key.with_suffix(".pub")).read_text(), encoding="utf-8")
        lines = []
        for b in self.boards.values():
            _keygen(b.folder / "ssh" / "host_ed25519_key", f"rklab-{b.name}")
            pub = (b.folder / "ssh" / "host_ed25519_key.pub").read_text().split()
            lines.append(f"[127.0.0.1]:{b.port} {pub[0]} {pub[1]}")
            self._link_demo_models(b)
        self.known_hosts.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for name in self.boards:
            self.start_board(name)
        return self

    def start_board(self, name: str, timeout_s: float = 15.0) -> LocalBoard:
        """Start (or, after :meth:`power_off`, restart) a board's sshd and wait until it accepts connections."""
        b = self.boards[name]
        config = b.folder / "ssh" / "sshd_config"
        config.write_text(SSHD_CONFIG.format(
            name=b.name, port=b.port, host_key=b.folder / "ssh" / "host_ed25519_key", folder=b.folder,
            authorized_keys=self.root / "client" / "authorized_keys", user=self.user), encoding="utf-8")
        log = open(b.folder / "ssh" / "sshd.log", "ab")
        b.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if b.process.poll() is not None:
                tail = (b.folder / "ssh" / "sshd.log").read_text(errors="replace").strip().splitlines()[-3:]
                raise RklabError(f"sshd of local board {name} exited at once (rc {b.process.returncode}): "
                                 f"{' | '.join(tail)}")
            if _port_open(b.port):
                return b
            time.sleep(0.1)
        self._kill([b.process.pid])
        raise RklabError(f"sshd of local board {name} did not listen on 127.0.0.1:{b.port} within {timeout_s:.0f} s")

    def board_processes(self, name: str) -> list[int]:
        """Pids of everything running "on" a board: its sshd with the session processes it started,
        and every process outside those sessions whose working folder or command line is inside the
        board's folder (the sweep, its kernels, Ansible's async wrapper), with their children.

        The login shells of the SSH sessions are left out: they end by themselves once their
        connection is gone. These boards share this machine's home folder, and a shell killed in the
        middle of the account's start-up files (``pyenv init`` takes a lock file) would leave that
        shared state behind; a real board's power cut has no such neighbour to spoil.
        """
        b = self.boards[name]
        folder = str(b.folder)
        pids: list[int] = []
        session_tree: set[int] = set()
        if b.pid:
            for q in [_proc(b.pid), *_children(b.pid)]:
                if q is None:
                    continue
                session_tree.add(q.pid)
                if _is_sshd(q):
                    pids.append(q.pid)
        for p in psutil.process_iter(["pid", "cwd", "cmdline"]):
            if p.pid in session_tree or p.pid == os.getpid():
                continue
            try:
                cwd = p.info.get("cwd") or ""
                cmd = " ".join(p.info.get("cmdline") or [])
            except psutil.Error:
                continue
            if cwd.startswith(folder) or folder in cmd:
                for q in [p, *_children(p.pid)]:
                    if q.pid not in pids and q.pid not in session_tree and q.pid != os.getpid():
                        pids.append(q.pid)
        return pids

    def power_off(self, name: str) -> list[int]:
        """SIGKILL everything running on the board at once (:meth:`board_processes`), like pulling its
        plug; returns the pids."""
        pids = self.board_processes(name)
        self._kill(pids)
        self.boards[name].process = None
        return pids

    def stop(self) -> None:
        """Stop the sshd processes started here and the sessions they opened (by pid)."""
        for b in self.boards.values():
            if b.process is not None and b.process.poll() is None:
                sessions = [q.pid for q in _children(b.process.pid) if _is_sshd(q)]  # not their shells, see above
                b.process.terminate()
                try:
                    b.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    b.process.kill()
                    b.process.wait(timeout=5)
                self._kill(sessions)  # an open Ansible connection keeps its session process alive
            b.process = None

    @staticmethod
    def _kill(pids: list[int]) -> None:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        psutil.wait_procs([p for p in (_proc(pid) for pid in pids) if p], timeout=10)

    def __enter__(self) -> "LocalBoards":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ what Ansible needs
    def _link_demo_models(self, b: LocalBoard) -> None:
        """Put the demo model files into the board's models folder (hard links: no extra disk)."""
        models = b.folder / "models"
        models.mkdir(parents=True, exist_ok=True)
        for src in list(cache_dir().glob("*.gguf")) + list(cache_dir().glob("synthetic-*.onnx")):
            dst = models / src.name
            if dst.exists():
                continue
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)

    def write_inventory(self, path: str | os.PathLike) -> Path:
        """An ordinary Ansible inventory of the local boards (same variables as a real fleet's)."""
        hosts = {}
        for b in self.boards.values():
            hosts[b.name] = {
                "ansible_host": "127.0.0.1", "ansible_port": b.port, "rklab_board": b.profile,
                "rklab_home": str(b.folder), "rklab_models_dir": str(b.folder / "models"),
                # the demo model is in the board's models folder, not in ~/.cache
                "rklab_env": {"RKLAB_CACHE": str(b.folder / "models")},
                # Ansible's temporary files and async job files stay in the board's folder too
                "ansible_remote_tmp": str(b.folder / ".ansible" / "tmp"),
                "ansible_async_dir": str(b.folder / ".ansible" / "async"),
            }
        doc = {"all": {
            "vars": {
                "ansible_user": self.user,
                "ansible_ssh_private_key_file": str(self.client_key),
                "ansible_ssh_common_args": f"-o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes "
                                           "-o IdentitiesOnly=yes",
                # an existing Python environment with rklab's dependencies: this machine's (see module doc)
                "rklab_python": self.python,
                # and the same Python for Ansible's modules (discovery could pick a shim a login shell lacks)
                "ansible_python_interpreter": self.python,
            },
            "hosts": hosts,
        }}
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("# Local throwaway boards (rklab.orchestrate.localboards); same variables as "
                     "fleet/inventory.example.yaml\n" + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return p


def _is_sshd(p: psutil.Process) -> bool:
    try:
        return p.name() == "sshd" or " ".join(p.cmdline()).startswith("sshd:")
    except psutil.Error:
        return False


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _proc(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None
