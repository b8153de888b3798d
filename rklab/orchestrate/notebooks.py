"""Executing a notebook: papermill in a fresh kernel process, and how that execution ended.

The sweep (notebooks 01-03 per plan entry) and the report (notebook 04, then its HTML export)
both call :func:`execute_notebook`; it never raises for what happens inside the notebook and
returns a :class:`NotebookExecution`:

* ``ok``; ``failed`` (an error in a cell, or a kernel that died of something else);
* ``timeout``: a watchdog SIGKILLs the kernel and its children after ``timeout_s``;
* ``oom``: the kernel died from SIGKILL — the kernel's OOM killer (:func:`classify_kernel_death`,
  with the kernel log's OOM line when ``dmesg`` is readable).

Papermill only reports "Kernel died", so the exit status comes from the kernel's provisioner:
a ``RecordingProvisioner`` (jupyter_client's public provisioner API: ``launch_kernel``,
``poll``, ``wait``; see :func:`_kernel_manager_for`) remembers the pid and the exit status of the kernel it launched, and sends the
kernel's own stdout/stderr (where llama.cpp and librkllmrt print) to a log file beside the
papermill log, so the console stays free for the sweep's progress bar.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from rklab.records import PROGRESS_ENV
from rklab.runfolder import LOG_FILE, Status, kernel_log_for

KERNEL_NAME = "python3"
LOG_TAIL_LINES = 40
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class NotebookExecution:
    """How one papermill execution of a notebook ended."""

    status: str  # a rklab.runfolder.Status: ok | failed | oom | timeout
    seconds: float
    output: Path
    log: Path
    error: dict[str, Any] | None = None  # {type, message, death?, log_tail, kernel_log_tail}
    kernel_pid: int | None = None


@dataclass
class _KernelWatch:
    """What the provisioner saw of one kernel process."""

    kernel_log: Path
    pid: int | None = None
    exit_code: int | None = None

    def exited(self, code: int | None) -> int | None:
        if code is not None:
            self.exit_code = int(code)
        return code


# --------------------------------------------------------------------------- the kernel process
def _kernel_manager_for(watch: _KernelWatch) -> type:
    """An ``AsyncKernelManager`` class (papermill wants a class) whose kernel is launched by a
    ``RecordingProvisioner``: jupyter_client's ``LocalProvisioner`` through its public provisioner
    API (``launch_kernel``, ``poll``, ``wait``), recording into ``watch`` the kernel's pid and exit
    status and sending the kernel process's own output to ``watch.kernel_log``.

    Why the provisioner is handed over in ``__init__``: jupyter_client picks a provisioner by name
    from the ``jupyter_client.kernel_provisioners`` entry points, through the kernelspec's metadata or
    the process-wide ``KernelProvisionerFactory.default_provisioner_name``. Both would switch every
    kernel this Python process starts (and need an installed entry point), not just this one; a
    manager whose ``provisioner`` is already set keeps it (``pre_start_kernel`` creates one only
    when it is None), which is the per-kernel hook.
    """
    # jupyter_client is imported here, not at the top: `rklab --help` should not pay for it
    from jupyter_client import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner

    class RecordingProvisioner(LocalProvisioner):
        async def launch_kernel(self, cmd: list[str], **kwargs: Any):
            with open(watch.kernel_log, "ab") as fh:  # the child keeps its own descriptor
                kwargs.setdefault("stdout", fh)
                kwargs.setdefault("stderr", fh)
                info = await super().launch_kernel(cmd, **kwargs)
            watch.pid = self.pid
            return info

        async def poll(self) -> int | None:
            return watch.exited(await super().poll())

        async def wait(self) -> int | None:
            return watch.exited(await super().wait())

    class RklabKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any):
            super().__init__(**kwargs)
            self.kernel_id = self.kernel_id or str(uuid.uuid4())
            self.provisioner = RecordingProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                    parent=self)

    return RklabKernelManager


def kill_process_tree(pid: int) -> None:
    """SIGKILL ``pid`` and all its descendants (a kernel and the runtimes it started)."""
    try:
        proc = psutil.Process(pid)
        procs = proc.children(recursive=True) + [proc]
    except psutil.Error:
        procs = []
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    if not procs:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# --------------------------------------------------------------------------- executing a notebook
def execute_notebook(
    notebook: str | os.PathLike,
    output: str | os.PathLike,
    parameters: dict[str, Any],
    *,
    timeout_s: float | None = None,
    cwd: str | os.PathLike | None = None,
    kernel_name: str = KERNEL_NAME,
    log_path: str | os.PathLike | None = None,
) -> NotebookExecution:
    """Execute one notebook with papermill in a fresh kernel; never raises for notebook errors.

    ``output``: the executed notebook; ``log_path``: papermill's log (default ``papermill.log``
    beside ``output``), the kernel's own output goes beside it (``*.kernel.log``). The kernel
    inherits ``RKLAB_PROGRESS=0``: no per-run bars in saved notebooks (the sweep shows its own).
    """
    # papermill is imported here, not at the top: `rklab --help` should not pay for it (~2 s)
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    # absolute: the kernel runs in ``cwd``, so relative paths would point elsewhere
    output = Path(output).absolute()
    output.parent.mkdir(parents=True, exist_ok=True)
    log_path = Path(log_path).absolute() if log_path else output.with_name(LOG_FILE)
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    pm_logger = logging.getLogger("papermill")
    pm_logger.addHandler(handler)
    old_level = pm_logger.level
    pm_logger.setLevel(logging.INFO)
    pm_logger.propagate = False  # keep cell output off the console (the tqdm bar owns it)

    watch = _KernelWatch(kernel_log=kernel_log_for(log_path))
    timed_out = threading.Event()

    def on_timeout() -> None:
        if watch.pid is not None:
            timed_out.set()
            kill_process_tree(watch.pid)

    timer = threading.Timer(timeout_s, on_timeout) if timeout_s else None
    oom_before = oom_kill_count()
    t0 = time.monotonic()
    error: dict[str, Any] | None = None
    status = Status.OK
    old_progress = os.environ.get(PROGRESS_ENV)
    os.environ[PROGRESS_ENV] = "0"
    try:
        if timer:
            timer.daemon = True
            timer.start()
        pm.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name=kernel_name,
            progress_bar=False,
            log_output=True,
            cwd=str(cwd) if cwd else None,
            kernel_manager_class=_kernel_manager_for(watch),
        )
    except PapermillExecutionError as exc:
        status = Status.FAILED
        error = {"type": exc.ename, "message": _one_line(exc.evalue)}
        # the traceback lives in the output notebook; put it in the log too, for the log tail
        pm_logger.error("%s", _ANSI_RE.sub("", "\n".join(exc.traceback or [])))
    except Exception as exc:  # noqa: BLE001 - DeadKernelError, timeouts, anything from the engine
        if timed_out.is_set():
            status = Status.TIMEOUT
            error = {"type": "Timeout", "message": f"notebook did not finish within {timeout_s:g} s; its kernel was killed"}
        else:
            status, details = classify_kernel_death(exc, watch.pid, returncode=watch.exit_code,
                                                    oom_kills_before=oom_before)
            ename, evalue = _notebook_error(output)
            error = {
                "type": type(exc).__name__ if not ename else ename,
                "message": _one_line(evalue or details.get("reason") or str(exc)),
                "death": details,
            }
    finally:
        if old_progress is None:
            os.environ.pop(PROGRESS_ENV, None)
        else:
            os.environ[PROGRESS_ENV] = old_progress
        if timer:
            timer.cancel()
        pm_logger.removeHandler(handler)
        pm_logger.setLevel(old_level)
        pm_logger.propagate = True
        handler.close()
    seconds = time.monotonic() - t0
    if status != Status.OK and error is not None:
        error["log_tail"] = log_tail(log_path)
        error["kernel_log_tail"] = log_tail(watch.kernel_log, 20)
    return NotebookExecution(status=status, seconds=seconds, output=output, log=log_path, error=error,
                             kernel_pid=watch.pid)


def log_tail(path: Path, n: int = LOG_TAIL_LINES) -> str:
    """The last ``n`` lines of a log file ("" when it cannot be read)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def _notebook_error(nb_path: Path) -> tuple[str | None, str | None]:
    """(ename, evalue) of the first error output in an executed notebook."""
    import nbformat  # start-up cost, as papermill above

    try:
        nb = nbformat.read(str(nb_path), as_version=4)
    except Exception:  # noqa: BLE001 - a half-written notebook is possible after a kill
        return None, None
    for cell in nb.cells:
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "error" and out.get("ename") != "PapermillExecutionError":
                return out.get("ename"), str(out.get("evalue", ""))
    return None, None


def _one_line(text: Any) -> str:
    s = " ".join(str(text or "").split())
    return s[:500]


# --------------------------------------------------------------------------- why a kernel died
_OOM_PATTERNS = (
    # "Out of memory: Killed process 1234 (python) total-vm:..."   (4.x / 5.x)
    # "Memory cgroup out of memory: Killed process 1234 (python) ..."
    r"[Kk]illed process {pid}\b",
    # "oom-kill:constraint=CONSTRAINT_NONE,...,task=python,pid=1234,uid=1000"
    r"oom-kill:.*\bpid={pid}\b",
    # "oom_reaper: reaped process 1234 (python), now anon-rss:0kB, ..."
    r"oom_reaper: reaped process {pid}\b",
)


def oom_kill_count(proc_root: str | os.PathLike = "/proc") -> int | None:
    """System-wide count of OOM-killer kills (``oom_kill`` in /proc/vmstat, Linux >= 4.13).

    Readable without root, unlike dmesg: a rise across a run whose kernel died is evidence
    the OOM killer was involved.
    """
    try:
        with open(Path(proc_root) / "vmstat", "r", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def dmesg_oom_line(pid: int | None = None, *, text: str | None = None, timeout_s: float = 5.0) -> str | None:
    """The kernel log's OOM-killer line for ``pid`` (or the latest one when ``pid`` is None).

    Reads ``dmesg`` (needs root or ``kernel.dmesg_restrict = 0``); returns None when the log
    is unreadable or holds no such line. ``text`` lets tests pass a log.
    """
    if text is None:
        try:
            proc = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=timeout_s, errors="replace")
        except (OSError, subprocess.SubprocessError):
            return None
        if proc.returncode != 0:
            return None
        text = proc.stdout
    lines = text.splitlines()
    if pid is None:
        pats = [re.compile(r"Out of memory|oom-kill:|[Kk]illed process \d+")]
    else:
        pats = [re.compile(p.format(pid=int(pid))) for p in _OOM_PATTERNS]
    # prefer the "Killed process" line: it names the process and its memory
    for pat in pats:
        for line in reversed(lines):
            if pat.search(line):
                return line.strip()
    return None


def _signal_from_returncode(code: int) -> int | None:
    if code < 0:
        return -code
    if 128 < code < 128 + 65:  # a shell reports "killed by signal N" as 128 + N
        return code - 128
    return None


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def classify_kernel_death(
    returncode_or_exception: int | BaseException | None,
    pid: int | None = None,
    *,
    returncode: int | None = None,
    oom_kills_before: int | None = None,
    proc_root: str | os.PathLike = "/proc",
    dmesg_text: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Decide the record status of a notebook kernel / child process that ended badly.

    ``returncode_or_exception``: a ``Popen.returncode`` (``-9`` or shell-style ``137`` =
    SIGKILL) or the exception papermill raised (``DeadKernelError``, ``PapermillExecutionError``,
    ``CalledProcessError``...). ``returncode``: the process's exit status when the exception does
    not carry one (:func:`execute_notebook` passes what the provisioner saw). ``pid``: the
    kernel's pid, to find its OOM line in dmesg. ``oom_kills_before``: the :func:`oom_kill_count`
    taken before the run.

    Returns ``("oom", details)`` when the process was killed by SIGKILL, or when the kernel
    log / the OOM-kill counter show the OOM killer took it; ``("failed", details)`` otherwise.
    ``details`` holds ``pid``, ``returncode``, ``signal``, ``exception``, ``dmesg_oom_line``,
    ``oom_kills_during_run`` and a one-line ``reason``.
    """
    details: dict[str, Any] = {
        "pid": pid,
        "returncode": None,
        "signal": None,
        "exception": None,
        "dmesg_oom_line": None,
        "oom_kills_during_run": None,
        "reason": "",
    }
    code: int | None = None
    exc = returncode_or_exception if isinstance(returncode_or_exception, BaseException) else None
    if isinstance(returncode_or_exception, bool):
        returncode_or_exception = int(returncode_or_exception)
    if isinstance(returncode_or_exception, int):
        code = returncode_or_exception
    elif exc is not None:
        details["exception"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}".rstrip(": ")
        rc = getattr(exc, "returncode", None)
        if isinstance(rc, int):
            code = rc
    if code is None:
        code = returncode
    details["returncode"] = code
    sig = _signal_from_returncode(code) if code is not None else None
    details["signal"] = sig

    line = dmesg_oom_line(pid, text=dmesg_text) if pid is not None else None
    details["dmesg_oom_line"] = line
    if oom_kills_before is not None:
        now = oom_kill_count(proc_root)
        if now is not None:
            details["oom_kills_during_run"] = max(0, now - int(oom_kills_before))

    if sig == signal.SIGKILL:
        src = "the kernel log confirms the OOM killer" if line else "most likely the OOM killer (dmesg not readable or silent)"
        details["reason"] = f"killed by SIGKILL: {src}"
        return Status.OOM, details
    if line:
        details["reason"] = "the kernel log shows the OOM killer took this process"
        return Status.OOM, details
    kernel_gone = exc is not None and ("DeadKernel" in type(exc).__name__ or "died" in str(exc).lower())
    if kernel_gone and sig is None and code is None and details["oom_kills_during_run"]:
        # a kernel gone without a known exit status while the system's OOM-kill counter rose
        details["reason"] = "the kernel died while the system OOM-kill counter rose"
        return Status.OOM, details
    if sig is not None:
        details["reason"] = f"killed by {_signal_name(sig)}"
    elif code is not None:
        details["reason"] = f"exited with status {code}"
    elif details["exception"]:
        details["reason"] = details["exception"]
    else:
        details["reason"] = "ended for an unknown reason"
    return Status.FAILED, details
