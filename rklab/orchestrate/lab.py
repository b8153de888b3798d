"""``rklab lab``: JupyterLab in the project folder with authentication always on.

The board is usually reached over the network, so a notebook server without auth is an
open shell on it. This module builds (and checks) the JupyterLab command line:

* token auth by default — a fresh ``secrets.token_urlsafe(32)`` token per start (or the
  user's non-empty ``JUPYTER_TOKEN``) — or password auth (``--password``, hashed with
  jupyter_server's argon2 ``passwd``);
* the token / password hash go into a private (0600) config file passed with
  ``--config`` rather than the command line, so other users of the board cannot read them
  in ``ps``; an explicit ``--config`` file overrides the user's own Jupyter config, so an
  old ``c.ServerApp.token = ''`` there cannot switch auth off. The file deletes itself as
  soon as Jupyter has read it, so no secret stays on disk even if rklab lab is SIGKILLed;
* any attempt to switch auth or XSRF protection off — an empty token or password,
  ``--ServerApp.disable_check_xsrf``, ``allow_unauthenticated_access``, every origin
  wildcard (``allow_origin='*'``, an ``allow_origin_pat`` that admits a foreign origin such
  as ``.*``), an empty ``JUPYTER_TOKEN`` — is refused with one line;
* ``--certfile``/``--keyfile`` are loaded as a TLS pair before the start (garbage, a key of
  another certificate or an encrypted key is one line, not a server whose connections fail);
* binding a non-loopback address without TLS prints a warning (the token would cross the
  network in clear text); the SSH tunnel is the safer way (docs/board-and-lab.md);
* JupyterLab dies with rklab lab (``PR_SET_PDEATHSIG``), even when rklab lab is SIGKILLed;
* the port is checked before start and ``port_retries = 0``, so the printed URL is the
  real one.

:func:`build_lab_command` is pure (no process started) so it is unit-tested;
:func:`run_lab` starts the server and waits for it.
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import json
import os
import re
import secrets
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rklab.errors import RklabError
from rklab.paths import PROJECT_ROOT

DEFAULT_IP = "127.0.0.1"
DEFAULT_PORT = 8888

# Jupyter options that switch authentication / request forgery protection off.
# Matched case-insensitively on the option name, any of the Jupyter class prefixes.
_CLASSES = r"(?:ServerApp|NotebookApp|LabApp|ExtensionApp|IdentityProvider|PasswordIdentityProvider|LegacyIdentityProvider)"
_TOKEN_OPT = re.compile(rf"^--(?:{_CLASSES}\.)?token$", re.I)
_PASSWORD_OPT = re.compile(rf"^--(?:{_CLASSES}\.)?(?:password|hashed_password)$", re.I)
_BOOL_DANGER = {
    "disable_check_xsrf": True,  # --ServerApp.disable_check_xsrf(=True) turns XSRF checks off
    "allow_unauthenticated_access": True,
    "password_required": False,  # --...password_required=False
}
_OWN_OPTS = {  # options rklab lab sets itself: use its flags instead
    "ip": "--ip",
    "port": "--port",
    "certfile": "--certfile",
    "keyfile": "--keyfile",
    "port_retries": "--port",
    "root_dir": "(the project root is fixed)",
    "notebook_dir": "(the project root is fixed)",
    "config": "(rklab lab writes its own config)",
}
_EMPTY = {"", "''", '""', "none", "None"}
_FALSE = {"false", "0", "no", "off"}
_TRUE = {"true", "1", "yes", "on", ""}


@dataclass
class LabCommand:
    """What :func:`run_lab` will start: argv, environment overrides and the config it writes."""

    argv: list[str]
    env: dict[str, str]
    config: dict[str, dict]
    url: str
    token: str | None
    auth: str  # "token" | "password"
    warnings: list[str] = field(default_factory=list)
    ip: str = DEFAULT_IP
    port: int = DEFAULT_PORT
    tls: bool = False

    def config_text(self) -> str:
        """The config file (Python, as Jupyter reads it) holding the auth settings."""
        lines = ["# written by rklab lab; holds this session's secret; deletes itself (and its folder) once read"]
        for cls, values in self.config.items():
            for key, value in values.items():
                lines.append(f"c.{cls}.{key} = {json.dumps(value) if not isinstance(value, bool) else value}")
        # Jupyter reads this file once at start-up (traitlets passes its path as __file__): it deletes
        # itself then, so no secret stays on disk, whatever happens to rklab lab afterwards
        lines.append("import os as _os\ntry:\n    _os.unlink(__file__)\n    _os.rmdir(_os.path.dirname(__file__))\n"
                     "except OSError:\n    pass")
        return "\n".join(lines) + "\n"


def _split_opt(arg: str) -> tuple[str, str | None]:
    name, eq, value = arg.partition("=")
    return name, (value if eq else None)


def check_jupyter_args(args: list[str], env: dict[str, str] | None = None) -> None:
    """Refuse extra Jupyter arguments (or environment) that would disable authentication."""
    env = os.environ if env is None else env
    if "JUPYTER_TOKEN" in env and env["JUPYTER_TOKEN"].strip() in _EMPTY:
        raise RklabError(
            "environment variable JUPYTER_TOKEN is empty, which would disable authentication; "
            "unset it (rklab lab generates a token) or set a non-empty token"
        )
    if env.get("JUPYTER_SERVER_ALLOW_UNAUTHENTICATED_ACCESS", "").strip().lower() in _TRUE - {""}:
        raise RklabError(
            "environment variable JUPYTER_SERVER_ALLOW_UNAUTHENTICATED_ACCESS would allow access without login; unset it"
        )
    i = 0
    while i < len(args):
        arg = args[i]
        name, value = _split_opt(arg)
        if value is None and i + 1 < len(args) and not args[i + 1].startswith("-") and (
            _TOKEN_OPT.match(name) or _PASSWORD_OPT.match(name)
        ):
            value = args[i + 1]
            i += 1
        i += 1
        if not name.startswith("--"):
            continue
        if _TOKEN_OPT.match(name):
            if value is None or value.strip() in _EMPTY:
                raise RklabError(
                    f"{arg!s} would disable token authentication; rklab lab always keeps auth on "
                    "(drop the option, or use --password)"
                )
            raise RklabError(f"{name} on the command line is visible to every user in `ps`; "
                             "set JUPYTER_TOKEN in the environment instead, or let rklab lab generate one")
        if _PASSWORD_OPT.match(name):
            if value is None or value.strip() in _EMPTY:
                raise RklabError(f"{arg!s} is an empty password; rklab lab always keeps auth on (use --password)")
            raise RklabError(f"{name} is not accepted here; use `rklab lab --password` to set a password")
        short = name[2:].split(".")[-1].lower().replace("-", "_")
        if short in _BOOL_DANGER:
            v = (value if value is not None else "").strip().strip("'\"").lower()
            dangerous = (v in _TRUE) if _BOOL_DANGER[short] else (v in _FALSE)
            if dangerous:
                raise RklabError(
                    f"{arg} would switch off {'XSRF protection' if short == 'disable_check_xsrf' else 'authentication'}; "
                    "rklab lab refuses it (drop the option)"
                )
        if short in ("allow_origin", "allow_origin_pat"):
            if value is None and i < len(args) and not args[i].startswith("-"):
                value = args[i]
                i += 1
            _check_origin(arg if value is None or "=" in arg else f"{arg} {value}", short, value)
        if short in ("no_auth", "disable_auth"):
            raise RklabError(f"{arg} would disable authentication; rklab lab always keeps auth on")
        if short in _OWN_OPTS:
            raise RklabError(f"{arg}: rklab lab sets this itself; use {_OWN_OPTS[short]}")


# Origins no legitimate setting should admit: if a pattern lets one in, it lets any web page in.
_FOREIGN_ORIGINS = ("https://evil.example", "http://attacker.test:8080", "null", "file://")


def _check_origin(arg: str, short: str, value: str | None) -> None:
    """Refuse every origin wildcard: ``allow_origin='*'`` and any ``allow_origin_pat`` (a regex, which
    Jupyter matches with ``re.match``) that admits a foreign origin, e.g. ``.*``."""
    v = (value or "").strip().strip("'\"")
    if short == "allow_origin":
        if "*" in v:
            raise RklabError(f"{arg} lets any web page drive the server; drop it (use the SSH tunnel to reach the board)")
        return
    try:
        pattern = re.compile(v)
    except re.error as exc:
        raise RklabError(f"{arg} is not a valid regular expression ({exc}); drop it or fix it") from None
    hit = next((o for o in _FOREIGN_ORIGINS if pattern.match(o)), None)
    if hit is not None:
        raise RklabError(f"{arg} is an origin wildcard (it admits {hit}), so any web page could drive the server; "
                         "drop it, or give a pattern for your own host only (use the SSH tunnel to reach the board)")


def is_loopback(ip: str) -> bool:
    if ip in ("localhost", ""):
        return ip == "localhost"
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(ip, None))
        except (OSError, ValueError):
            return False


def _check_file(path: str | None, what: str) -> str | None:
    if path is None:
        return None
    p = Path(path).expanduser()
    if not p.is_file():
        raise RklabError(f"{what} {p} does not exist; give the PEM file made by your CA or by `openssl req -x509 ...`")
    try:
        with open(p, "rb"):
            pass
    except OSError as exc:
        raise RklabError(f"{what} {p} cannot be read ({exc.strerror}); check its permissions") from exc
    return str(p.resolve())


def _check_tls_pair(certfile: str, keyfile: str) -> None:
    """Load the pair as the server will: garbage, a key of another certificate or an encrypted key
    would otherwise start a server whose every connection fails."""
    cert_text = Path(certfile).read_bytes().decode("ascii", errors="replace")
    if "-----BEGIN CERTIFICATE-----" not in cert_text:
        raise RklabError(f"--certfile {certfile} holds no PEM certificate (no BEGIN CERTIFICATE block); "
                         "give the certificate file, e.g. made by `openssl req -x509 -newkey rsa:2048 -nodes ...`")
    key_text = Path(keyfile).read_bytes().decode("ascii", errors="replace")
    if not re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", key_text):
        raise RklabError(f"--keyfile {keyfile} holds no PEM private key (no BEGIN ... PRIVATE KEY block); "
                         "give the key that belongs to --certfile")
    if "ENCRYPTED" in key_text:
        raise RklabError(f"--keyfile {keyfile} is encrypted and the server cannot ask for its passphrase; "
                         f"give a decrypted copy (`openssl pkey -in {keyfile} -out key-plain.pem`, kept private)")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(certfile, keyfile, password=b"")  # an encrypted key fails: the server cannot ask
    except (ssl.SSLError, OSError, TypeError) as exc:
        why = {"KEY_VALUES_MISMATCH": "the key belongs to another certificate",
               "BAD_DECRYPT": "the key is encrypted"}.get(getattr(exc, "reason", None) or "",
                                                          getattr(exc, "reason", None) or str(exc).splitlines()[0])
        raise RklabError(
            f"--certfile {certfile} and --keyfile {keyfile} do not make a TLS pair ({why}); give the PEM certificate "
            "and its unencrypted private key (e.g. from `openssl req -x509 -newkey rsa:2048 -nodes ...`)"
        ) from None


def _url_host(ip: str) -> str:
    if ip in ("0.0.0.0", "", "*"):
        return socket.gethostname()
    if ip == "::":
        return socket.gethostname()
    if ":" in ip and not ip.startswith("["):
        return f"[{ip}]"
    return ip


def build_lab_command(
    *,
    ip: str = DEFAULT_IP,
    port: int = DEFAULT_PORT,
    certfile: str | None = None,
    keyfile: str | None = None,
    password: str | None = None,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    token: str | None = None,
    root_dir: str | os.PathLike = PROJECT_ROOT,
    python: str = sys.executable,
) -> LabCommand:
    """Build (without starting anything) the JupyterLab command for ``rklab lab``.

    ``password``: when given (non-empty), password auth replaces the token. ``token``:
    fixed token for tests; default the user's ``JUPYTER_TOKEN`` or a new random one.
    Raises :class:`RklabError` for anything that would disable auth or cannot work.
    """
    env = dict(os.environ if env is None else env)
    extra_args = list(extra_args or [])
    if extra_args and extra_args[0] == "--":
        extra_args = extra_args[1:]
    check_jupyter_args(extra_args, env)
    if not isinstance(port, int) or not (1 <= port <= 65535):
        raise RklabError(f"--port {port} is not a TCP port; give a number from 1 to 65535 (default {DEFAULT_PORT})")
    if not ip or not re.fullmatch(r"[A-Za-z0-9.:_-]+", ip):
        raise RklabError(f"--ip {ip!r} is not an address; give e.g. 127.0.0.1 (safest), a LAN address, or 0.0.0.0")
    if bool(certfile) != bool(keyfile):
        missing = "--keyfile" if certfile else "--certfile"
        raise RklabError(f"TLS needs both --certfile and --keyfile; add {missing}")
    certfile = _check_file(certfile, "--certfile")
    keyfile = _check_file(keyfile, "--keyfile")
    tls = bool(certfile)
    if tls:
        _check_tls_pair(certfile, keyfile)

    config: dict[str, dict] = {
        "ServerApp": {
            "disable_check_xsrf": False,
            "allow_unauthenticated_access": False,
            "port_retries": 0,
            "open_browser": False,
        },
    }
    if password is not None:
        if not password.strip():
            raise RklabError("the password is empty; rklab lab always keeps auth on, type a non-empty password")
        from jupyter_server.auth import passwd

        config["PasswordIdentityProvider"] = {"hashed_password": passwd(password), "password_required": True}
        config["IdentityProvider"] = {"token": ""}  # password login only
        auth, token = "password", None
    else:
        if token is None:
            token = env.get("JUPYTER_TOKEN") or secrets.token_urlsafe(32)
        if not token.strip():
            raise RklabError("the token is empty; rklab lab always keeps auth on")
        config["IdentityProvider"] = {"token": token}
        auth = "token"

    argv = [
        python, "-m", "jupyterlab",
        "--no-browser",
        f"--ServerApp.root_dir={Path(root_dir).resolve()}",
        f"--ServerApp.ip={ip}",
        f"--ServerApp.port={port}",
    ]
    if tls:
        argv += [f"--ServerApp.certfile={certfile}", f"--ServerApp.keyfile={keyfile}"]
    argv += extra_args

    warnings: list[str] = []
    if not is_loopback(ip) and not tls:
        warnings.append(
            f"serving on {ip} without TLS: the {auth} crosses the network in clear text; prefer "
            f"`ssh -N -L {port}:127.0.0.1:{port} user@board` with the default --ip 127.0.0.1, "
            "or add --certfile/--keyfile"
        )
    scheme = "https" if tls else "http"
    url = f"{scheme}://{_url_host(ip)}:{port}/lab"
    if token:
        url += f"?token={token}"
    return LabCommand(argv=argv, env={}, config=config, url=url, token=token, auth=auth,
                      warnings=warnings, ip=ip, port=port, tls=tls)


def port_free(ip: str, port: int) -> bool:
    """Whether ``ip:port`` can be bound now (the server would fail otherwise)."""
    host = "0.0.0.0" if ip in ("", "*") else ip
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise RklabError(f"--ip {ip} is not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of `hostname -I`") from exc
            return False
    return True


def write_private_config(cmd: LabCommand, directory: str | os.PathLike | None = None) -> Path:
    """Write the auth config to a 0600 file in a private (0700) temp dir; returns its path."""
    d = Path(tempfile.mkdtemp(prefix="rklab-lab-", dir=directory))
    os.chmod(d, 0o700)
    path = d / "jupyter_server_config.py"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(cmd.config_text())
    return path


def print_banner(cmd: LabCommand, out=None) -> None:
    out = out or sys.stdout
    for w in cmd.warnings:
        print(f"rklab: warning: {w}", file=sys.stderr)
    print(f"JupyterLab ({cmd.auth} auth) — open: {cmd.url}", file=out)
    if is_loopback(cmd.ip):
        print(
            f"from a laptop: ssh -N -L {cmd.port}:127.0.0.1:{cmd.port} user@board  then open the URL above "
            f"with 127.0.0.1 as the host",
            file=out,
        )
    print("stop with Ctrl-C (twice)", file=out)
    out.flush()


def run_lab(cmd: LabCommand, *, check_port: bool = True) -> int:
    """Start JupyterLab with the private config, print the URL, wait; returns its exit code."""
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in cmd.argv:
        raise RklabError(
            "rklab lab is running as root, which gives every notebook root on the board; "
            "run it as a normal user, or add `-- --allow-root` if you really mean it"
        )
    if check_port and not port_free(cmd.ip, cmd.port):
        raise RklabError(f"--port {cmd.port} on {cmd.ip} is already in use; pick another with --port N")
    config_path = write_private_config(cmd)
    argv = cmd.argv[:3] + [f"--config={config_path}"] + cmd.argv[3:]
    env = dict(os.environ)
    env.pop("JUPYTER_TOKEN", None)  # the token is in the private config; keep it out of kernels' env
    env.pop("JUPYTER_TOKEN_FILE", None)
    env.update(cmd.env)
    print_banner(cmd)
    proc = subprocess.Popen(argv, env=env, cwd=str(PROJECT_ROOT), preexec_fn=_die_with_parent(os.getpid()))

    def _on_term(signum, frame):  # `kill <rklab pid>` stops JupyterLab too and removes the config
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _on_term)
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:  # Jupyter handles Ctrl-C itself (asks to confirm)
                continue
    finally:
        # a second SIGTERM (or Ctrl-C) during shutdown must not leave the token config behind
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _remove_config(config_path)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                proc.kill()
        signal.signal(signal.SIGTERM, previous)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent_pid: int):
    """``preexec_fn`` for the server: the kernel sends it SIGTERM when this process dies, even by
    SIGKILL (Linux ``prctl(PR_SET_PDEATHSIG)``), so JupyterLab never keeps serving without rklab lab."""
    def preexec() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # not Linux: the finally block of run_lab still stops it
            return
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def _remove_config(config_path: Path) -> None:
    try:
        config_path.unlink()
    except OSError:
        pass
    try:
        config_path.parent.rmdir()
    except OSError:
        pass


def format_command(cmd: LabCommand) -> str:
    """The command line (no secret in it) for ``rklab lab --print-command``."""
    return " ".join(shlex.quote(a) for a in cmd.argv)
