"""SIGKILL a real demo sweep mid-run, resume it, and SIGKILL a kernel (recorded as oom).

The sweep itself runs once per session (fixture ``killed_and_resumed_sweep`` in
tests/fixtures/reliability.py); these tests check what it left on disk.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rklab.records import load_records, read_records


def _lines_parse(lines: list[str]) -> tuple[int, int]:
    """(complete records, unparseable lines) of a raw JSONL file; only a last line may be partial."""
    ok = bad = 0
    for i, line in enumerate(lines):
        try:
            json.loads(line)
            ok += 1
        except ValueError:
            assert i == len(lines) - 1 and not line.endswith("\n"), f"a complete line {i} is corrupt: {line[:200]!r}"
            bad += 1
    return ok, bad


def test_sigkill_leaves_every_records_file_intact(killed_and_resumed_sweep):
    run = killed_and_resumed_sweep
    assert run.first_rc == -9
    assert run.records_at_kill, "no records file existed when the sweep was killed"
    measured = 0
    for path, lines in run.records_at_kill.items():
        ok, bad = _lines_parse(lines)
        assert bad <= 1
        measured += sum(1 for ln in lines[:ok] if json.loads(ln).get("kind") in ("llm", "vlm"))
    assert measured >= 1


def test_orphaned_kernel_exits_by_itself(killed_and_resumed_sweep):
    """After SIGKILL of the sweep, its kernel must not keep measuring (and writing) unattended."""
    assert killed_and_resumed_sweep.orphan_kernel_exited is True


def test_resume_never_rewrites_what_was_on_disk(killed_and_resumed_sweep):
    run = killed_and_resumed_sweep
    checked = 0
    for path, lines in run.records_at_kill.items():
        now = Path(path).read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        # the killed attempt's records stay as they were (the kernel was killed with the sweep)
        assert now[: len(lines)] == lines, f"{path} was rewritten"
        checked += bool(lines)
    # at least the killed entry's measured records and notebook 01's entry record were compared
    assert checked >= 2, f"only {checked} non-empty records files were on disk at the kill: nothing to compare"


def test_resume_completes_the_rest_with_one_attempt_per_entry(killed_and_resumed_sweep):
    from rklab.runfolder import completed_attempt, entry_outcome_record

    run = killed_and_resumed_sweep
    assert run.resume_rc == 0, run.resume_stdout[-3000:]
    out = run.out
    # 01 finished before the kill: not run again
    assert [p.name for p in (out / "_feasibility").iterdir() if p.is_dir()] == ["attempt-1"]
    # llm-a was killed mid-run: its first attempt has no outcome, the resume's attempt-2 is complete
    a1 = out / "llm-a" / "attempt-1"
    assert entry_outcome_record(a1) is None
    done = completed_attempt(out / "llm-a")
    assert done is not None and done.name == "attempt-2"
    assert entry_outcome_record(done)["status"] == "ok"
    assert entry_outcome_record(completed_attempt(out / "llm-b"))["status"] == "ok"
    assert (out / "report.html").exists() or "HTML report:" in run.resume_stdout


def test_no_duplicate_records_after_resume(killed_and_resumed_sweep):
    from rklab.runfolder import record_files

    run = killed_and_resumed_sweep
    all_ids = [r["record_id"] for f in run.out.rglob("records.jsonl") for r in read_records(f)]
    assert len(all_ids) == len(set(all_ids))
    df = load_records(record_files(run.out))
    runs = df[df["kind"] == "llm"]
    per_key = Counter(zip(runs["entry"], runs["case"], runs["rep"]))
    dupes = {k: n for k, n in per_key.items() if n > 1}
    assert not dupes, f"duplicate measured runs in the report's records: {dupes}"
    entries = df[df["kind"] == "entry"]
    assert Counter(entries["entry"])["llm-a"] == 1
    assert set(runs["entry"]) >= {"llm-a", "llm-b"}
    # the report reads only attempt-2 of llm-a, whose runs are all there
    a = runs[runs["entry"] == "llm-a"]
    assert len(a) >= 4  # reps: 4 (more if the adaptive protocol added some)
    assert set(a["run_dir"].map(lambda p: Path(p).name)) == {"attempt-2"}


def test_sigkilled_kernel_is_recorded_as_oom_and_the_sweep_goes_on(killed_and_resumed_sweep):
    from rklab.runfolder import entry_outcome_record

    run = killed_and_resumed_sweep
    print(f"\nCRASH sweep killed (rc {run.first_rc}) with {sum(len(v) for v in run.records_at_kill.values())} "
          f"record lines on disk; resume rc {run.resume_rc}; victim kernel {run.victim_pid}; {run.seconds:.0f} s total")
    assert run.victim_pid, "the victim's kernel was never seen measuring"
    att = sorted((run.out / "victim").glob("attempt-*"))[-1]
    rec = entry_outcome_record(att)
    assert rec is not None and rec["status"] == "oom", rec
    death = rec["error"]["death"]
    print(f"VICTIM status={rec['status']} death={death} last_sample={rec.get('last_sample')}")
    assert death["signal"] == 9 and death["pid"] == run.victim_pid
    assert death["reason"].startswith("killed by SIGKILL")
    # the victim's measured runs before the kill are kept
    assert any(r.get("kind") == "llm" for r in read_records(att / "records.jsonl"))
    # with the guard's heartbeat the entry record carries the last memory sample
    if list(att.glob("*heartbeat*.json")):
        assert rec["last_sample"]["mem_available_mb"] > 0
    else:
        pytest.fail("the victim's notebook wrote no guard heartbeat (MemoryGuard(heartbeat_path=...)), "
                    "so its oom record has no last sample")
