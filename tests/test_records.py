"""rklab.records: durable JSON Lines records (fsync per record), tolerant loader, flattening."""

import json
import os
import shutil

import pandas as pd
import pytest

from rklab import __version__
from rklab.errors import RklabError
from rklab.records import (RECORDS_FILE, SCHEMA, DiskFull, RecordWriter, check_schemas, ensure_free_space,
                           flatten_record, load_records, read_records, scan_records)


def _rec(i, **extra):
    return {"kind": "llm", "status": "ok", "entry": "e", "model": {"name": "M", "hash": "h"},
            "host": {"soc": "rk3588", "machine": "aarch64"}, "params": {"reps": 2, "cases": [[8, 2]]},
            "metrics": {"case": "pp8/tg2", "rep": i, "decode_tps": 10.0 + i, "token_offsets_ms": [1.0, 2.0]}, **extra}


def test_append_stamps_and_fsyncs_every_record(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    w = RecordWriter(tmp_path / "run")
    first = w.append(_rec(0))
    w.append(_rec(1))
    assert len(synced) == 2  # one fsync per record, not per file close
    assert first["schema"] == SCHEMA and first["rklab_version"] == __version__ and len(first["record_id"]) == 32
    lines = (tmp_path / "run" / RECORDS_FILE).read_text().splitlines()
    assert [json.loads(x)["metrics"]["rep"] for x in lines] == [0, 1]


def test_record_is_on_disk_before_the_next_one(tmp_path):
    w = RecordWriter(tmp_path)
    w.append(_rec(0))
    # a second process reading now (as after a SIGKILL) sees the complete first record
    assert [r["metrics"]["rep"] for r in read_records(tmp_path / RECORDS_FILE)] == [0]


def test_truncated_last_line_is_skipped(tmp_path):
    w = RecordWriter(tmp_path)
    w.append(_rec(0))
    w.append(_rec(1))
    with open(tmp_path / RECORDS_FILE, "a") as fh:
        fh.write(json.dumps({"schema": SCHEMA, **_rec(2)})[:57])  # killed mid-write
    recs = read_records(tmp_path / RECORDS_FILE)
    assert [r["metrics"]["rep"] for r in recs] == [0, 1]
    df = load_records(tmp_path)
    assert len(df) == 2 and list(df["rep"]) == [0, 1]


def test_foreign_lines_and_missing_files(tmp_path):
    p = tmp_path / RECORDS_FILE
    p.write_text('{"not": "a record"}\n\n[1, 2]\n')
    assert read_records(p) == []
    assert read_records(tmp_path / "nope.jsonl") == []
    assert load_records([tmp_path / "missing-dir"]).empty


def test_flattening_lifts_metrics_and_dots_the_rest():
    row = flatten_record({"schema": SCHEMA, **_rec(3)})
    assert row["decode_tps"] == 13.0 and row["case"] == "pp8/tg2"
    assert row["model.name"] == "M" and row["host.soc"] == "rk3588"
    assert row["params"] == {"reps": 2, "cases": [[8, 2]]}  # kept whole
    assert row["token_offsets_ms"] == [1.0, 2.0]
    assert "metrics" not in row


def test_load_records_merges_run_dirs_recursively(tmp_path):
    RecordWriter(tmp_path / "a" / "attempt-1").append(_rec(0, entry="a"))
    RecordWriter(tmp_path / "b").append(_rec(1, entry="b"))
    RecordWriter(tmp_path / "b").append({"kind": "entry", "status": "oom", "entry": "b",
                                         "error": {"type": "oom", "message": "killed"}})
    df = load_records([tmp_path / "a", tmp_path / "b"])
    assert isinstance(df, pd.DataFrame) and len(df) == 3
    assert sorted(df["entry"]) == ["a", "b", "b"]
    assert set(df["status"]) == {"ok", "oom"}
    assert df.loc[df["status"] == "oom", "error.type"].item() == "oom"
    assert {str(tmp_path / "a" / "attempt-1"), str(tmp_path / "b")} == set(df["run_dir"])
    # one string path works too
    assert len(load_records(str(tmp_path))) == 3


def test_non_json_values_are_stored(tmp_path):
    import numpy as np

    rec = RecordWriter(tmp_path).append({"kind": "llm", "metrics": {"x": np.float32(1.5), "arr": np.arange(3)},
                                         "path": tmp_path})
    back = read_records(tmp_path / RECORDS_FILE)[0]
    assert back["metrics"] == {"x": 1.5, "arr": [0, 1, 2]} and back["path"] == str(tmp_path)
    assert rec["record_id"] == back["record_id"]


# --------------------------------------------------------------------------- never lose a good record
def test_append_after_a_cut_line_starts_a_new_line(tmp_path):
    """A run killed mid-write leaves a partial last line; the next record must not glue onto it."""
    w = RecordWriter(tmp_path)
    w.append(_rec(0))
    with open(tmp_path / RECORDS_FILE, "a") as fh:
        fh.write('{"schema": "rklab.record/1", "metrics": {"rep": ')  # killed here
    w.append(_rec(2))
    assert [r["metrics"]["rep"] for r in read_records(tmp_path / RECORDS_FILE)] == [0, 2]
    recs, skipped = scan_records(tmp_path / RECORDS_FILE)
    assert [(s.line, s.reason.split(" (")[0]) for s in skipped] == [(2, "not JSON")]


def test_full_disk_raises_one_line_and_leaves_no_partial_line(tmp_path, monkeypatch):
    w = RecordWriter(tmp_path)
    w.append(_rec(0))
    before = (tmp_path / RECORDS_FILE).read_bytes()
    real_write = os.write

    def short_write(fd, data):  # the disk fills after 10 bytes of this record
        return real_write(fd, data[:10])

    monkeypatch.setattr(os, "write", short_write)
    with pytest.raises(DiskFull) as exc:
        w.append(_rec(1))
    assert "the disk is full: cannot write" in str(exc.value) and "--resume" in str(exc.value)
    assert "\n" not in str(exc.value)
    monkeypatch.undo()
    assert (tmp_path / RECORDS_FILE).read_bytes() == before  # cut back to the last complete record
    w.append(_rec(2))
    assert [r["metrics"]["rep"] for r in read_records(tmp_path / RECORDS_FILE)] == [0, 2]


def test_enospc_from_the_kernel_is_disk_full(tmp_path):
    (tmp_path / RECORDS_FILE).symlink_to("/dev/full")  # every write: ENOSPC
    with pytest.raises(DiskFull, match="No space left on device"):
        RecordWriter(tmp_path).append(_rec(0))


def test_free_space_is_checked_before_a_run(tmp_path):
    free = shutil.disk_usage(tmp_path).free / 1e6
    assert ensure_free_space(tmp_path, 1.0) == pytest.approx(free, rel=0.01)
    with pytest.raises(DiskFull, match=r"--out .* is on a disk with only [\d,]+ MB free, a run needs about"):
        ensure_free_space(tmp_path / "not" / "yet", need_mb=free * 1000)


def test_every_skipped_line_is_kept_with_file_and_line(tmp_path):
    w = RecordWriter(tmp_path / "a")
    w.append(_rec(0))
    path = tmp_path / "a" / RECORDS_FILE
    with open(path, "a") as fh:
        fh.write("garbage in the middle\n")
        fh.write(json.dumps({**_rec(5), "schema": "rklab.record/2"}) + "\n")
        fh.write(json.dumps({"hello": 1}) + "\n")
    w.append(_rec(1))
    df = load_records(tmp_path)
    assert list(df["rep"]) == [0, 1]
    assert [str(x) for x in df.attrs["skipped_lines"]] == [f"{path}:2: not JSON (a run killed mid-write, or an edit)",
                                         f"{path}:3: schema rklab.record/2, this rklab {__version__} reads {SCHEMA}",
                                         f"{path}:4: not an rklab record"]
    with pytest.raises(RklabError, match=rf"{path}:3 has records of schema rklab.record/2, which rklab .* does not know"):
        check_schemas(scan_records(path)[1])


def test_any_full_disk_error_is_one_cli_line(monkeypatch, capsys):
    """ENOSPC from a write outside rklab.records (papermill's notebook, the manifest) is one line too."""
    import errno as _errno

    from rklab import cli

    def boom(args):
        raise OSError(_errno.ENOSPC, os.strerror(_errno.ENOSPC), "/runs/x/sweep.json")

    monkeypatch.setattr(cli, "build_parser", lambda: _parser_running(boom))
    assert cli.main(["whatever"]) == 2
    err = capsys.readouterr().err
    assert err == ("rklab: error: the disk is full: cannot write /runs/x/sweep.json (No space left on device); "
                   "free some space, then run again (a sweep continues with --resume)\n")


def _parser_running(func):
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("command")
    p.set_defaults(func=func)
    return p
