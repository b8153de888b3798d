"""Executing a notebook (rklab.orchestrate.notebooks): how a kernel that died is classified.

SIGKILL (the OOM killer) -> ``oom``, with the kernel log's OOM line when dmesg has one or the
system's OOM-kill counter when it rose; any other death -> ``failed``. The last test runs a real
ipykernel through :func:`execute_notebook` and SIGKILLs it mid-cell, as the sweep will see it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from rklab.orchestrate import notebooks as nbx
from tests.test_guard import write_proc

DMESG = textwrap.dedent("""\
    [ 812.1] python3 invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=1000
    [ 812.2] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/user.slice,task=python3,pid=4242,uid=1000
    [ 812.3] Out of memory: Killed process 4242 (python3) total-vm:9123456kB, anon-rss:5123456kB, file-rss:0kB, shmem-rss:812345kB, UID:1000 pgtables:12345kB oom_score_adj:1000
    [ 812.4] oom_reaper: reaped process 4242 (python3), now anon-rss:0kB, file-rss:0kB, shmem-rss:812345kB
""")


def test_oom_kill_count_reads_vmstat(tmp_path):
    write_proc(tmp_path, avail_kb=100)  # vmstat oom_kill 3
    assert nbx.oom_kill_count(tmp_path) == 3
    assert nbx.oom_kill_count(tmp_path / "nope") is None


def test_dmesg_oom_line_finds_the_killed_process_line():
    line = nbx.dmesg_oom_line(4242, text=DMESG)
    assert line.startswith("[ 812.3] Out of memory: Killed process 4242 (python3)")
    assert nbx.dmesg_oom_line(42, text=DMESG) is None  # pid 42 is not pid 4242
    assert "Killed process 4242" in nbx.dmesg_oom_line(None, text=DMESG)


def test_classify_uses_dmesg_and_vmstat(tmp_path):
    status, d = nbx.classify_kernel_death(RuntimeError("Kernel died"), pid=4242, dmesg_text=DMESG)
    assert status == "oom" and "Killed process 4242" in d["dmesg_oom_line"]
    status, d = nbx.classify_kernel_death(1, pid=7, dmesg_text=DMESG)
    assert status == "failed" and d["returncode"] == 1 and d["reason"] == "exited with status 1"
    write_proc(tmp_path, avail_kb=100)  # vmstat oom_kill 3

    class DeadKernelError(RuntimeError):
        pass

    status, d = nbx.classify_kernel_death(DeadKernelError("Kernel died"), pid=99, oom_kills_before=2,
                                          proc_root=tmp_path, dmesg_text="")
    assert status == "oom" and d["oom_kills_during_run"] == 1
    status, d = nbx.classify_kernel_death(DeadKernelError("Kernel died"), pid=99, oom_kills_before=3,
                                          proc_root=tmp_path, dmesg_text="")
    assert status == "failed" and d["exception"] == "DeadKernelError: Kernel died"
    assert nbx.classify_kernel_death(137)[0] == "oom"  # shell-style 128 + 9
    # the exit status the provisioner saw counts when the exception carries none
    status, d = nbx.classify_kernel_death(DeadKernelError("Kernel died"), pid=99, returncode=-9, dmesg_text="")
    assert status == "oom" and d["signal"] == 9


@pytest.mark.parametrize("sig, expected", [(signal.SIGKILL, "oom"), (signal.SIGSEGV, "failed"), (None, "failed")])
def test_classify_a_real_child_process(sig, expected):
    code = "import time, sys; print('ready', flush=True); time.sleep(60)" if sig else "import sys; sys.exit(3)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    if sig:
        assert proc.stdout.readline().strip() == "ready"
        os.kill(proc.pid, sig)
    rc = proc.wait(timeout=30)
    proc.stdout.close()
    status, d = nbx.classify_kernel_death(rc, pid=proc.pid)
    assert status == expected
    if sig == signal.SIGKILL:
        assert d["signal"] == 9 and d["reason"].startswith("killed by SIGKILL")
    elif sig == signal.SIGSEGV:
        assert d["reason"] == "killed by SIGSEGV"
    else:
        assert d["returncode"] == 3


def test_sigkilled_papermill_kernel_is_classified_oom(tmp_path):
    """A real ipykernel run through execute_notebook, SIGKILLed mid-cell, as the sweep will see it."""
    import nbformat

    pidfile = tmp_path / "kernel.pid"
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(f"pidfile = {str(pidfile)!r}")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell("import os, sys, time\nprint('kernel stdout', file=sys.__stdout__, flush=True)\n"
                                  "open(pidfile, 'w').write(str(os.getpid()))\ntime.sleep(120)"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "sleep.ipynb"
    nbformat.write(nb, src)

    outcome = {}

    def run():
        outcome["run"] = nbx.execute_notebook(src, tmp_path / "out.ipynb", {"pidfile": str(pidfile)}, cwd=tmp_path)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = time.monotonic() + 90
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    kernel_pid = int(pidfile.read_text())
    before = nbx.oom_kill_count()
    os.kill(kernel_pid, signal.SIGKILL)
    t.join(timeout=90)
    assert not t.is_alive(), "papermill hung after the kernel was killed"
    run = outcome["run"]
    assert run.status == "oom", run.error
    assert run.kernel_pid == kernel_pid
    d = run.error["death"]
    assert d["returncode"] == -9 and d["signal"] == 9 and d["exception"].startswith("DeadKernelError")
    if before is not None and nbx.oom_kill_count() == before:
        assert d["oom_kills_during_run"] == 0  # we killed it, not the OOM killer
    assert d["dmesg_oom_line"] is None
    # the kernel process's own output went to the kernel log beside papermill's log
    assert run.log == tmp_path / "papermill.log"
    assert "kernel stdout" in (tmp_path / "papermill.kernel.log").read_text()
    assert "kernel stdout" in run.error["kernel_log_tail"]
