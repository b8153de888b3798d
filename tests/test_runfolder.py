"""rklab.runfolder: the names of a run folder, the status enum and which attempt counts."""

from __future__ import annotations

import json

from rklab import runfolder as rf
from rklab.measure.protocol import match_case
from rklab.records import RecordWriter
from rklab.runfolder import Status


def test_status_is_the_string_of_the_records():
    assert Status.ABORTED_MEMORY == "aborted_memory" and f"{Status.OOM}" == "oom" and str(Status.OK) == "ok"
    assert json.dumps({"status": Status.SKIPPED_PREDICTED_OOM}) == '{"status": "skipped_predicted_oom"}'
    assert Status("timeout") is Status.TIMEOUT
    assert rf.COMPLETE_STATUSES == {"ok", "skipped_predicted_oom", "aborted_memory", "oom"}
    assert rf.FAILED_STATUSES == {"failed", "oom", "timeout"}
    assert set(rf.GUARD_PRECEDENCE) | {Status.OK} == set(Status)


def test_attempts_manifest_and_the_attempt_that_counts(tmp_path):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    assert not rf.is_sweep(sweep) and rf.read_manifest(sweep) == {}
    rf.write_manifest(sweep, {"entries": ["a"], "lang": "zh"})
    assert rf.is_sweep(sweep) and rf.read_manifest(sweep)["lang"] == "zh"
    assert rf.newest_sweep(tmp_path) == sweep
    (sweep / rf.MANIFEST_FILE).write_text("{ not json")
    assert rf.read_manifest(sweep) == {}  # unreadable: no manifest, no crash

    entry = sweep / "a"
    a1, a2, a3 = rf.next_attempt(entry), rf.next_attempt(entry), rf.next_attempt(entry)
    assert [p.name for p in rf.attempt_dirs(entry)] == ["attempt-1", "attempt-2", "attempt-3"]
    RecordWriter(a1).append({"kind": "entry", "status": "ok", "entry": "a"})
    RecordWriter(a2).append({"kind": "llm", "status": "ok", "entry": "a"})  # interrupted: no entry record
    RecordWriter(a3).append({"kind": "entry", "status": "failed", "entry": "a"})
    assert rf.entry_outcome_record(a2) is None
    assert rf.completed_attempt(entry) == a1 and rf.select_attempt(entry) == a1
    RecordWriter(a3).append({"kind": "entry", "status": "oom", "entry": "a"})
    assert rf.completed_attempt(entry) == a3  # the latest entry record of an attempt decides
    assert rf.record_files(sweep) == [a3 / rf.RECORDS_FILE]


def test_file_names():
    assert rf.samples_file("vlm") == "samples-vlm.jsonl"
    assert rf.kernel_log_for("/x/papermill.log").name == "papermill.kernel.log"
    assert rf.partial_name(rf.REPORT_NOTEBOOK) == ".partial-04_report.ipynb"


def test_match_case_is_one_rule_for_notebook_02_and_the_report():
    cases = [(512, 128), (128, 64), (1024, 128)]
    assert match_case(cases) == 1  # Rockchip's 128/64
    assert match_case(cases, 1000, 128) == 2
    assert match_case(cases, 400, 128) == 0  # 10 * |400-512| < 10 * |400-128| + |128-64|
    assert match_case([(128, 512), (128, 64)], 128, None) == 0  # a missing side: no difference, first wins
    assert match_case([(128, 16), (128, 64)], 128, float("nan")) == 0
    assert match_case([]) is None
