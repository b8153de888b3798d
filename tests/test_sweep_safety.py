"""Nothing run twice, nothing mixed: one sweep process per run folder, and what the report skips is shown.

Before (issue 13): two ``--resume`` of the same sweep ran the same entry at once (both "ok", 25.6 tok/s
against 110 alone); a corrupt line in the middle of records.jsonl vanished from the report.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rklab.errors import RklabError
from rklab.paths import PROJECT_ROOT
from rklab.runfolder import LOCK_FILE, sweep_lock

RKLAB = [sys.executable, "-m", "rklab"]
DEMO_PLAN = PROJECT_ROOT / "data" / "plans" / "demo.yaml"


def _wait_for(predicate, seconds: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_a_second_sweep_on_the_same_folder_is_refused_naming_the_holder(tmp_path, demo_gguf):
    out = tmp_path / "sweep"
    env = {**os.environ, "RKLAB_RESULTS_MD": str(tmp_path / "benchmark_log.md")}
    first = subprocess.Popen(RKLAB + ["sweep", str(DEMO_PLAN), "--out", str(out), "--no-progress", "--no-report"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        _wait_for(lambda: (out / LOCK_FILE).exists() and (out / LOCK_FILE).read_text().strip() == str(first.pid),
                  what="the first sweep to take the lock")
        second = subprocess.run(RKLAB + ["sweep", str(DEMO_PLAN), "--resume", str(out), "--no-progress"],
                                capture_output=True, text=True, env=env, timeout=120)
        assert second.returncode == 2 and "Traceback" not in second.stderr
        lines = second.stderr.strip().splitlines()
        assert lines == [f"rklab: error: --resume {out} is in use by another rklab sweep (pid {first.pid}); wait for it "
                         f"to finish, or stop it (kill {first.pid}) and continue with --resume"]
        assert second.stdout == ""  # refused before it ran or wrote anything
        os.killpg(first.pid, signal.SIGKILL)  # the holder dies without cleaning up ...
        first.wait(timeout=30)
        with sweep_lock(out, "--resume"):  # ... and its lock died with it
            pass
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left of its process group
            os.killpg(first.pid, signal.SIGKILL)


def test_lock_is_per_folder_and_released_on_exit(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    with sweep_lock(a):
        with sweep_lock(b):  # another folder: no conflict
            pass
        with pytest.raises(RklabError, match=rf"--out {a} is in use by another rklab sweep \(pid {os.getpid()}\)"):
            with sweep_lock(a):
                pass
    with sweep_lock(a):
        pass


def test_resume_accepts_the_same_plan_with_other_comments(tmp_path):
    from rklab.orchestrate.plans import load_plan
    from rklab.orchestrate.sweep import _check_same_plan

    (tmp_path / "plan.yaml").write_text(DEMO_PLAN.read_text(encoding="utf-8"), encoding="utf-8")
    edited = tmp_path / "edited.yaml"
    edited.write_text("# a new comment\n" + DEMO_PLAN.read_text(encoding="utf-8"), encoding="utf-8")
    _check_same_plan(tmp_path, load_plan(edited))
    edited.write_text(DEMO_PLAN.read_text(encoding="utf-8").replace("reps: 3", "reps: 4"), encoding="utf-8")
    with pytest.raises(RklabError, match="was started with another plan"):
        _check_same_plan(tmp_path, load_plan(edited))


def test_report_cli_lists_every_skipped_line_and_the_html_shows_it(fake_sweep, tmp_path):
    sweep = tmp_path / "sweep"
    shutil.copytree(fake_sweep, sweep)
    target = next(f for f in sorted(sweep.rglob("records.jsonl"))
                  if "attempt-" in str(f) and len(f.read_text().splitlines()) > 1)
    lines = target.read_text().splitlines()
    target.write_text("\n".join([lines[0], "{broken", *lines[1:]]) + "\n")
    env = {**os.environ, "RKLAB_RESULTS_MD": str(tmp_path / "benchmark_log.md")}
    r = subprocess.run(RKLAB + ["report", str(sweep), "--lang", "en"], capture_output=True, text=True, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"rklab: skipped {target}:2: not JSON" in r.stderr
    assert "1 line(s) of the records are not in the report" in r.stderr
    assert f"{target}:2" in (sweep / "report.html").read_text(encoding="utf-8")
    # the report's own file may be written again: it is rklab's
    again = subprocess.run(RKLAB + ["report", str(sweep), "--lang", "en", "--html", str(sweep / "report.html")],
                           capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
