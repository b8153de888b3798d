"""`rklab sweep`: failures are recorded and the sweep goes on; timeout; SIGKILLed kernel = oom; resume.

Most tests drive the real sweep (papermill, one real kernel per entry) over notebook doubles
(tests/fakes/sweep_notebooks.py) that succeed, raise, hang, die or skip on demand. One test runs
the real notebooks 01/02/04 on a one-case SmolLM2 plan, end to end.
"""

from __future__ import annotations

import os
import json
from pathlib import Path

import psutil
import pytest
import yaml

from rklab.errors import RklabError
from rklab.records import BOARD_ID_ENV, BOARD_PROFILE_ENV, read_records
from rklab.orchestrate.sweep import run_sweep
from rklab.runfolder import attempt_dirs, completed_attempt, entry_outcome_record, record_files
from tests.fakes.sweep_notebooks import write_fake_notebooks

PLAN = """\
plan: fake
defaults: {timeout_s: 120}
entries:
  - {name: good, kind: llm, model: Qwen3-0.6B, backend: llamacpp, model_path: "fake:ok"}
  - {name: boom, kind: llm, model: Qwen3-1.7B, backend: llamacpp, model_path: "fake:boom"}
  - {name: hang, kind: llm, model: Qwen3-4B, backend: llamacpp, model_path: "fake:hang", timeout_s: 4}
  - {name: die, kind: vlm, model: Qwen3-VL-2B, llm_path: "fake:die", encoder_path: demo, vision_backend: onnx}
  - {name: skip, kind: vlm, model: Qwen3-VL-4B, llm_path: "fake:skip", encoder_path: demo, vision_backend: onnx}
  - {name: quiet, kind: llm, model: Qwen3-0.6B, backend: llamacpp, model_path: "fake:norecord"}
  - {name: partial, kind: llm, model: Qwen3-1.7B, backend: llamacpp, model_path: "fake:partial"}
"""


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    nbs = write_fake_notebooks(root / "notebooks")
    plan = root / "plan.yaml"
    plan.write_text(PLAN)
    out = root / "out"
    result = run_sweep(plan, out=out, lang="en", report=False, progress=False, notebooks=nbs)
    return plan, nbs, out, result


def test_each_entry_outcome_is_recorded_and_the_sweep_goes_on(fake_run):
    plan, nbs, out, result = fake_run
    status = {o.name: o.status for o in result.outcomes}
    assert status == {"01_feasibility": "ok", "good": "ok", "boom": "failed", "hang": "timeout", "die": "oom",
                      "skip": "skipped_predicted_oom", "quiet": "failed", "partial": "aborted_memory"}
    assert result.exit_code == 1
    assert sorted(o.name for o in result.failed) == ["boom", "die", "hang", "quiet"]
    for name in ("good", "boom", "hang", "die", "skip", "quiet", "partial"):
        (att,) = attempt_dirs(out / name)
        rec = entry_outcome_record(att)
        assert rec["entry"] == name and rec["status"] == status[name]
        nb = "03_vlm_bench.ipynb" if name in ("die", "skip") else "02_llm_bench.ipynb"
        assert (att / nb).exists() and (att / "parameters.yaml").exists()
    boom = entry_outcome_record(out / "boom" / "attempt-1")
    assert boom["error"]["type"] == "ValueError" and boom["error"]["message"] == "TEST boom in boom"
    assert "ValueError" in boom["error"]["log_tail"]
    assert "fake notebook llm boom boom" in boom["error"]["log_tail"]  # cell output reaches the log
    assert "no records" in entry_outcome_record(out / "quiet" / "attempt-1")["error"]["message"]
    die = entry_outcome_record(out / "die" / "attempt-1")
    assert die["error"]["death"]["signal"] == 9
    hang = entry_outcome_record(out / "hang" / "attempt-1")
    assert "within 4 s" in hang["error"]["message"]
    assert 3.5 < hang["seconds"] < 60
    # the parameters the notebook got follow docs/architecture.md
    params = entry_outcome_record(out / "good" / "attempt-1")["params"]
    assert params["entry"] == "good" and params["out_dir"] == str(out / "good" / "attempt-1") and params["lang"] == "en"
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["entries"] == ["good", "boom", "hang", "die", "skip", "quiet", "partial"]
    assert manifest["force"] is False
    assert "force" not in yaml.safe_load((out / "good" / "attempt-1" / "parameters.yaml").read_text())
    assert (out / "plan.yaml").read_text() == plan.read_text()


def test_a_memory_abort_after_measured_runs_is_not_ok(fake_run):
    """Two ok runs, then the memory guard stopped the notebook: the entry is aborted_memory."""
    _, _, out, result = fake_run
    rec = entry_outcome_record(out / "partial" / "attempt-1")
    assert rec["status"] == "aborted_memory"
    assert rec["error"]["message"] == "TEST MemAvailable 250 MB < floor (2 runs measured before)"
    by = {o.name: o for o in result.outcomes}
    assert by["partial"].message == rec["error"]["message"]
    runs = [r for r in read_records(out / "partial" / "attempt-1" / "records.jsonl") if r["kind"] == "llm"]
    assert [r["status"] for r in runs] == ["ok", "ok", "aborted_memory"]  # the measured runs are kept


def test_entry_status_from_records_guard_statuses_win(tmp_path):
    from rklab.records import RecordWriter
    from rklab.orchestrate.sweep import _entry_status_from_records

    def status(*sts):
        d = tmp_path / "-".join(sts)
        w = RecordWriter(d)
        for s in sts:
            w.append({"kind": "llm", "status": s, "entry": "x", **({"error": {"message": f"TEST {s}"}} if s != "ok" else {})})
        return _entry_status_from_records(d)

    assert status("ok", "ok") == ("ok", "2 measured runs")
    assert status("ok", "oom") == ("oom", "TEST oom (1 run measured before)")
    assert status("ok", "skipped_predicted_oom")[0] == "skipped_predicted_oom"
    assert status("ok", "timeout", "aborted_memory")[0] == "aborted_memory"
    assert status("failed") == ("failed", "TEST failed")


def test_cli_force_reaches_every_notebook(fake_run, tmp_path, monkeypatch, capsys):
    from rklab import paths
    from rklab.cli import main

    plan, nbs, _, _ = fake_run
    monkeypatch.setattr(paths, "notebooks_dir", lambda: nbs)
    out = tmp_path / "forced"
    rc = main(["sweep", str(plan), "--out", str(out), "--only", "good", "--force", "--no-report", "--no-progress"])
    assert rc == 0, capsys.readouterr()
    params = yaml.safe_load((out / "good" / "attempt-1" / "parameters.yaml").read_text())
    assert params["force"] is True and params["entry"] == "good"
    assert entry_outcome_record(out / "good" / "attempt-1")["params"]["force"] is True
    assert json.loads((out / "sweep.json").read_text())["force"] is True


def test_every_record_carries_the_board_id_and_profile(fake_run, tmp_path, monkeypatch):
    plan, nbs, _, _ = fake_run
    monkeypatch.delenv(BOARD_ID_ENV, raising=False)
    out = tmp_path / "unit7"
    run_sweep(plan, out=out, only="good", board_id="unit-7", board="rk3588-16gb", report=False, progress=False,
              notebooks=nbs)
    recs = [r for f in out.rglob("records.jsonl") for r in read_records(f)]
    # written by the kernel (run records) and by the sweep (entry records)
    assert {r["kind"] for r in recs} == {"llm", "entry"}
    assert {(r["board_id"], r["board_profile"]) for r in recs} == {("unit-7", "rk3588-16gb")}
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["board_id"] == "unit-7" and manifest["board"] == "rk3588-16gb"
    assert BOARD_ID_ENV not in os.environ and BOARD_PROFILE_ENV not in os.environ  # restored after the sweep
    # a resume keeps the board: another id is refused, none given means the stored one
    with pytest.raises(RklabError, match="measures board 'unit-7', not 'unit-8'"):
        run_sweep(plan, resume=out, only="good", board_id="unit-8", report=False, progress=False, notebooks=nbs)
    with pytest.raises(RklabError, match="unknown board 'rk3588-4gb'"):
        run_sweep(plan, out=tmp_path / "x", board="rk3588-4gb", report=False, progress=False, notebooks=nbs)
    assert not (tmp_path / "x").exists()


def test_timed_out_kernel_is_gone(fake_run):
    _, _, out, _ = fake_run
    hang = entry_outcome_record(out / "hang" / "attempt-1")
    pid = hang["error"].get("death", {}).get("pid") if "death" in hang["error"] else None
    # no kernel of ours is left running the hang notebook
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        assert "ipykernel" not in cmd or str(out) not in cmd
    assert pid is None or not psutil.pid_exists(pid)


def test_resume_skips_complete_entries_and_reruns_the_rest_in_a_new_attempt(fake_run, tmp_path):
    plan, nbs, out, _ = fake_run
    before = {f: f.read_bytes() for f in out.rglob("records.jsonl")}
    result = run_sweep(plan, resume=out, only="good,boom,die,skip", lang="en", report=False, progress=False,
                       notebooks=nbs)
    by = {o.name: o for o in result.outcomes}
    assert by["01_feasibility"].skipped and by["good"].skipped and by["skip"].skipped and by["die"].skipped
    assert not by["boom"].skipped and by["boom"].status == "failed"
    assert [a.name for a in attempt_dirs(out / "boom")] == ["attempt-1", "attempt-2"]
    assert [a.name for a in attempt_dirs(out / "good")] == ["attempt-1"]
    for f, data in before.items():  # nothing written before is changed
        assert f.read_bytes() == data
    # the report reads one attempt per entry: boom's latest, good's only one
    dirs = [str(p) for p in record_files(out)]
    assert sum("/boom/" in d for d in dirs) == 1 and any("/boom/attempt-2/" in d for d in dirs)
    assert completed_attempt(out / "good").name == "attempt-1"
    ids = [r["record_id"] for f in out.rglob("records.jsonl") for r in read_records(f)]
    assert len(ids) == len(set(ids))


def test_out_and_resume_are_checked(fake_run, tmp_path):
    plan, nbs, out, _ = fake_run
    with pytest.raises(RklabError, match="already holds a sweep; use --resume"):
        run_sweep(plan, out=out, report=False, progress=False, notebooks=nbs)
    with pytest.raises(RklabError, match="not a sweep folder"):
        run_sweep(plan, resume=tmp_path, report=False, progress=False, notebooks=nbs)
    with pytest.raises(RklabError, match="either --out DIR"):
        run_sweep(plan, out=tmp_path / "a", resume=out, report=False, progress=False, notebooks=nbs)
    with pytest.raises(RklabError, match="unknown entries nope"):
        run_sweep(plan, out=tmp_path / "b", only="nope", report=False, progress=False, notebooks=nbs)


def test_default_output_is_a_timestamped_folder_under_runs(monkeypatch, tmp_path):
    from rklab.orchestrate import sweep

    monkeypatch.setenv("RKLAB_RUNS", str(tmp_path / "runs"))
    a = sweep._timestamp_dir(tmp_path / "runs")
    a.mkdir(parents=True)
    b = sweep._timestamp_dir(tmp_path / "runs")
    assert a.parent == b.parent == tmp_path / "runs" and a != b
    assert a.name[:8].isdigit() and "-" in a.name


def test_cli_bad_plan_is_one_line(tmp_path, capsys):
    from rklab.cli import main

    p = tmp_path / "p.yaml"
    p.write_text("entries: []\n")
    assert main(["sweep", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"rklab: error: {p}:1: entries:") and "\n" not in err


def test_real_notebooks_end_to_end(demo_sweep):
    """01 + 02 (SmolLM2 on llama.cpp, one tiny case) + 03 (synthetic encoder) + 04 + HTML, through the CLI
    (the demo sweep of tests/fixtures/browser.py, whose report the browser tests read too)."""
    out, md, stdout, rc = demo_sweep
    assert rc == 0, stdout
    assert f"HTML report: {out / 'report.html'}" in stdout
    rec = entry_outcome_record(completed_attempt(out / "tiny-llm"))
    assert rec["status"] == "ok"
    vlm = [r for r in read_records(completed_attempt(out / "tiny-vlm") / "records.jsonl") if r["kind"] == "vlm"]
    assert len(vlm) == 1 and vlm[0]["synthetic"] is True
    runs = [r for r in read_records(completed_attempt(out / "tiny-llm") / "records.jsonl") if r["kind"] == "llm"]
    assert len(runs) == 2 and all(r["metrics"]["decode_tps"] > 0 for r in runs)
    assert (out / "_feasibility" / "attempt-1" / "01_feasibility.ipynb").exists()
    text = md.read_text()
    assert "tiny-llm" in text and (out / "benchmark_log.md").read_text() == text
    html = (out / "report.html").read_text()
    assert html.count('class="plotly-graph-div"') >= 3
    # the sweep shows its own bar: the saved 02 notebook carries no per-run progress output
    import nbformat

    nb = nbformat.read(completed_attempt(out / "tiny-llm") / "02_llm_bench.ipynb", 4)
    streams = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert "pp16/tg8" not in streams and "run/s" not in streams and "IProgress" not in streams
    assert os.environ.get("RKLAB_PROGRESS") is None  # restored after the kernel ran
