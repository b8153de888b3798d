"""`rklab fleet`: two local boards through Ansible, one killed mid-sweep and resumed, one merged report.

The end-to-end scenario runs once (tests/fixtures/fleet.py); the quick tests below it need no board.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from rklab.errors import RklabError
from rklab.records import read_records
from tests.fixtures.browser import open_page, plots_without_svg, severe_console_entries


def _records(folder: Path) -> list[dict]:
    return [r for f in sorted(folder.rglob("records.jsonl")) for r in read_records(f)]


# ----------------------------------------------------------------------------- end to end
def test_first_run_records_the_killed_board_and_finishes_the_other(fleet_kill_and_resume):
    scen = fleet_kill_and_resume
    first = scen.runs[0]
    print(f"\nFLEET run 1 (board-b powered off mid-sweep): {first.seconds:.0f} s, rc {first.rc}; "
          f"run 2 (resume): {scen.runs[1].seconds:.0f} s, rc {scen.runs[1].rc}")
    assert scen.killed_pids and scen.killed_pids != [-1], "board-b was never seen measuring"
    assert first.rc == 2, first.stdout[-3000:] + first.stderr[-2000:]
    errors = [ln for ln in first.stderr.splitlines() if ln.strip()]
    assert len(errors) == 1 and errors[0].startswith("rklab: error: board board-b ") and "unreachable" in errors[0], errors
    boards = [r for r in read_records(scen.out / "boards.jsonl") if r["fleet_run"] == 1]
    status = {r["board_id"]: r for r in boards}
    assert status["board-a"]["status"] == "ok" and status["board-a"]["entries"] == {"smoke-llm": "ok"}
    assert status["board-b"]["status"] == "unreachable"
    assert status["board-b"]["error"]["task"] == "wait for the sweep" and status["board-b"]["error"]["message"]
    assert "board-a" in first.stdout and "sweep ended (rc 0" in first.stdout  # progress per board


def test_second_run_resumes_the_killed_sweep_and_leaves_the_finished_one(fleet_kill_and_resume):
    from rklab.runfolder import attempt_dirs, completed_attempt, entry_outcome_record

    scen = fleet_kill_and_resume
    second = scen.runs[1]
    assert second.rc == 0, second.stdout[-3000:] + second.stderr[-2000:]
    assert "continued, run 2" in second.stdout
    b = scen.out / "boards" / "board-b"
    # killed during attempt-1 (no entry record); the resumed sweep measured it again in attempt-2
    atts = attempt_dirs(b / "smoke-llm")
    assert [a.name for a in atts] == ["attempt-1", "attempt-2"]
    assert entry_outcome_record(atts[0]) is None and any(r["kind"] == "llm" for r in read_records(atts[0] / "records.jsonl"))
    assert completed_attempt(b / "smoke-llm") == atts[1] and entry_outcome_record(atts[1])["status"] == "ok"
    assert [p.name for p in (b / "_feasibility").iterdir() if p.is_dir()] == ["attempt-1"]  # not run again
    # board-a was complete: resumed without running anything, its pulled records are unchanged
    a = scen.out / "boards" / "board-a"
    assert [p.name for p in attempt_dirs(a / "smoke-llm")] == ["attempt-1"]
    now = {str(f): f.read_text() for f in a.rglob("records.jsonl")}
    assert now == scen.records_after_first
    state = json.loads((scen.out / "fleet.json").read_text())
    assert [r["outcomes"] for r in state["runs"]] == [{"board-a": "ok", "board-b": "unreachable"},
                                                     {"board-a": "ok", "board-b": "ok"}]


def test_every_record_names_its_board_and_profile(fleet_kill_and_resume):
    scen = fleet_kill_and_resume
    hostnames = set()
    for board, profile in scen.profiles.items():
        recs = _records(scen.out / "boards" / board)
        assert recs and {r["kind"] for r in recs} >= {"llm", "entry"}
        assert {r["board_id"] for r in recs} == {board}
        assert {r["board_profile"] for r in recs} == {profile}
        hostnames |= {r["host"]["hostname"] for r in recs if r["kind"] == "llm"}
    # both boards are this machine: the same hostname, kept apart by board_id
    assert len(hostnames) == 1


def test_the_board_ran_its_synced_copy_of_the_project(fleet_kill_and_resume):
    scen = fleet_kill_and_resume
    for board, folder in scen.boards.items():
        check = (scen.out / "boards" / board / "models-check.txt").read_text()
        assert f"free disk at {folder / 'rklab'}" in check, check  # rklab.paths.PROJECT_ROOT of the board's copy
        assert "free memory" in (scen.out / "boards" / board / "doctor.txt").read_text()  # rklab doctor ran there
        assert not (folder / "rklab" / ".venv").exists() and not (folder / "rklab" / "runs").exists()
        assert (folder / "rklab" / "rklab" / "orchestrate" / "fleet.py").is_file()


def test_ansible_overhead_per_board_is_recorded(fleet_kill_and_resume):
    scen = fleet_kill_and_resume
    for r in read_records(scen.out / "boards.jsonl"):
        if r["status"] == "ok":
            assert r["sweep_seconds"] > 0 and 0 <= r["ansible_seconds"] < r["seconds"]
            print(f"\nFLEET run {r['fleet_run']} {r['board_id']}: {r['seconds']:.0f} s in the playbook, "
                  f"sweep {r['sweep_seconds']:.0f} s, Ansible {r['ansible_seconds']:.0f} s")


def test_merged_report_holds_both_boards_in_chromium(fleet_kill_and_resume, browser):
    scen = fleet_kill_and_resume
    html = scen.out / "report.html"
    assert html.is_file() and f"merged HTML report: {html}" in scen.runs[1].stdout
    open_page(browser, html, n_plots_min=3)
    plots, missing = plots_without_svg(browser)
    assert plots and not missing, plots
    assert not severe_console_entries(browser)
    text = browser.find_element("tag name", "body").text
    assert "board-a" in text and "board-b" in text
    assert "rk3588-8gb" in text and "rk3588-16gb" in text


# ----------------------------------------------------------------------------- no board needed
def test_project_archive_leaves_out_environments_outputs_and_caches(tmp_path):
    from rklab.orchestrate.fleet import pack_project

    root = tmp_path / "proj"
    for rel in ("rklab/__init__.py", "rklab/__pycache__/x.pyc", ".venv/bin/python", "runs/r/records.jsonl",
                "results/benchmark_log.md", ".git/HEAD", "rklab.egg-info/PKG-INFO", "data/plans/demo.yaml",
                "notebooks/.ipynb_checkpoints/a.ipynb", "out/fleet.json", "Makefile"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    a = pack_project(tmp_path / "a.tar.gz", root=root, skip=(root / "out",))
    with tarfile.open(a) as tar:
        names = sorted(tar.getnames())
    assert names == ["Makefile", "data/plans/demo.yaml", "rklab/__init__.py"]
    first = a.read_bytes()
    b = pack_project(tmp_path / "a.tar.gz", root=root, skip=(root / "out",))
    assert b.read_bytes() == first  # same files, same bytes: Ansible's copy task sends nothing


def test_inventory_hosts_keep_their_order_and_variables(tmp_path):
    from rklab.orchestrate.inventory import load_inventory

    inv = tmp_path / "inv.yaml"
    (tmp_path / "small.yaml").write_text((Path(__file__).parents[1] / "data/plans/demo.yaml").read_text())
    inv.write_text("all:\n  vars:\n    ansible_user: pi\n  children:\n    g1:\n      hosts:\n"
                   "        z-board: {ansible_host: 10.9.9.9, ansible_port: 2222, rklab_board: rk3588-16gb}\n"
                   "    g2:\n      hosts:\n        a-board: {rklab_board: rk3576-8gb, rklab_plan: small.yaml}\n")
    boards = load_inventory(inv)
    assert [(b.board_id, b.profile, b.where) for b in boards] == [
        ("z-board", "rk3588-16gb", "pi@10.9.9.9:2222"), ("a-board", "rk3576-8gb", "pi@a-board")]
    assert boards[1].plan == tmp_path / "small.yaml"
    assert [b.board_id for b in load_inventory(inv, limit="g2")] == ["a-board"]
    with pytest.raises(RklabError, match="--limit nope matches no host"):
        load_inventory(inv, limit="nope")


def test_progress_turns_ansible_events_into_board_outcomes(tmp_path):
    """Ansible's events (as ansible-runner hands them over) -> one line per board and task, each
    board's outcome, the sweep's job id (for a re-run to wait on), and the sweep's own run time."""
    from rklab.orchestrate.fleet import BoardOutcome, FleetProgress, FleetResult
    from rklab.orchestrate.inventory import FleetBoard

    boards = {n: BoardOutcome(FleetBoard(n, "rk3588-8gb", "127.0.0.1", 22, "pi")) for n in ("a", "b", "c")}
    lines, jobs = [], {}
    progress = FleetProgress(boards, lines.append, lambda host, job: jobs.update({host: job}), tmp_path, wait_note_s=0)

    def ev(kind, host, task, res=None, action="ansible.builtin.command"):
        progress({"event": kind, "event_data": {"host": host, "task": task, "res": res or {}, "task_action": action}})

    for host in boards:
        ev("runner_on_start", host, "connect")
        ev("runner_on_ok", host, "connect", {"changed": False})
    ev("runner_on_unreachable", "b", "connect", {"msg": "Task failed: Failed to connect to the host via ssh: refused"})
    for host in ("a", "c"):
        ev("runner_on_start", host, "start the sweep")
        ev("runner_on_ok", host, "start the sweep", {"ansible_job_id": f"j-{host}", "results_file": f"/x/j-{host}"})
        ev("runner_on_start", host, "wait for the sweep", action="ansible.builtin.raw")
        ev("runner_retry", host, "wait for the sweep")
        ev("runner_on_ok", host, "wait for the sweep")
    ev("runner_on_ok", "a", "the sweep's outcome", {"rc": 0, "delta": "0:01:02.500000", "stdout": "sweep ok"})
    ev("runner_on_failed", "c", "the sweep's outcome",
       {"rc": 2, "delta": "0:00:03.000000", "stderr": "rklab: error: plan.yaml:3: entries: bad"})
    a, b, c = boards["a"], boards["b"], boards["c"]
    assert jobs == {"a": {"jid": "j-a", "results_file": "/x/j-a"}, "c": {"jid": "j-c", "results_file": "/x/j-c"}}
    assert a.status == "pending" and a.sweep_rc == 0 and a.sweep_seconds == pytest.approx(62.5) and a.sweep_started
    assert (b.status, b.task) == ("unreachable", "connect") and b.error.startswith("Failed to connect")
    assert c.status == "failed" and c.sweep_rc == 2 and "rklab: error: plan.yaml:3" in c.error
    assert any("b         UNREACHABLE at 'connect'" in ln for ln in lines)
    assert any("a         sweep running for" in ln for ln in lines)
    assert any("a         sweep ended (rc 0, 0:01:02.500000)" in ln for ln in lines)
    assert "start the sweep" in (tmp_path / "a.log").read_text()
    # exit status: unreachable (2) wins over a failed sweep (1)
    assert FleetResult(tmp_path, "x", outcomes=[a, b, c]).exit_code == 2
    assert FleetResult(tmp_path, "x", outcomes=[c]).exit_code == 1
    a.status = "ok"
    assert FleetResult(tmp_path, "x", outcomes=[a]).exit_code == 0
    assert FleetResult(tmp_path, "x", outcomes=[a], interrupted=True).exit_code == 130
