"""Durable run records: one JSON object per line in ``<run_dir>/records.jsonl``.

Each record is flushed and fsync'ed as soon as it is written, so killing the process
(even with SIGKILL) loses at most the record being written. The loader tolerates a
truncated last line. Records are never rewritten: a re-run appends.

Record layout (schema ``rklab.record/1``)::

    schema, record_id, created_at, rklab_version,
    kind        "llm" | "vlm" (RUN_KINDS) | "entry" (ENTRY_KIND: a sweep entry's outcome)
    status      a rklab.runfolder.Status: ok | failed | aborted_memory | skipped_predicted_oom | oom | timeout
    entry       plan entry name (sweeps) or model name
    backend     "rkllm" | "llamacpp" (+ "vision_backend" for VLMs)
    model       {name, path, size_bytes, hash, dtype, kind}
    max_context, prompt_tokens, new_tokens
    runtime     {name, version, library}        driver_version
    host        host snapshot (rklab.measure.monitor.host_snapshot)
    params      the notebook parameters
    synthetic   true when any number comes from the synthetic demo encoder
    metrics     the measurements of one run (ttft_ms, decode_tps, vmhwm_mb, ...): checked against
                the registry rklab.metrics.METRICS before the record is written
    error       {type, message, log_tail} for non-ok statuses

:func:`load_records` flattens this: ``metrics.*`` become plain columns
(``decode_tps``), other nested keys keep a dotted name (``model.name``, ``host.soc``).
Where the records file sits in a run folder, and which attempt's records count: :mod:`rklab.runfolder`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

import numpy as np

from rklab import __version__, metrics

SCHEMA = "rklab.record/1"
RECORDS_FILE = "records.jsonl"
RUN_KINDS = ("llm", "vlm")  # a record of one measured run
ENTRY_KIND = "entry"  # the sweep's record of how an entry ended


def json_default(obj: Any):
    """``json.dumps(default=...)`` for what records hold besides JSON types (numpy, paths, times)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (Path,)):
        return str(obj)
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    return str(obj)


class RecordWriter:
    """Appends records to ``<run_dir>/records.jsonl`` with flush + fsync per record."""

    def __init__(self, run_dir: str | os.PathLike, filename: str = RECORDS_FILE):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / filename

    def append(self, record: dict) -> dict:
        """Stamp the record (schema, id, time, version), write it durably and return it.

        ``ValueError`` (nothing written) when a metric does not fit :data:`rklab.metrics.METRICS`.
        """
        metrics.validate(record.get("metrics"))
        full = {
            "schema": SCHEMA,
            "record_id": uuid.uuid4().hex,
            "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "rklab_version": __version__,
            **record,
        }
        line = json.dumps(full, default=json_default, ensure_ascii=False, allow_nan=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # One write call per record: a kill leaves at most one partial last line.
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return full


def read_records(path: str | os.PathLike) -> list[dict]:
    """All complete records of one JSONL file; a truncated or corrupt line is skipped."""
    out: list[dict] = []
    p = Path(path)
    if not p.exists():
        return out
    with open(p, "r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a run killed mid-write
            if isinstance(rec, dict) and str(rec.get("schema", "")).startswith("rklab.record/"):
                out.append(rec)
    return out


def iter_record_files(run_dirs: Iterable[str | os.PathLike]) -> list[Path]:
    """records.jsonl files in the given run directories (searched recursively)."""
    files: list[Path] = []
    for d in run_dirs:
        d = Path(d)
        if d.is_file():
            files.append(d)
        elif d.is_dir():
            files.extend(sorted(d.rglob(RECORDS_FILE)))
    return files


def flatten_record(rec: dict) -> dict:
    """One record as a flat row: metrics.* lifted to plain columns, other nesting dotted."""
    row: dict[str, Any] = {}

    def walk(prefix: str, obj: Any):
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            row[prefix] = obj

    for key, value in rec.items():
        if key == "metrics" and isinstance(value, dict):
            for mk, mv in value.items():
                row[mk] = mv
        elif key in ("params",) and isinstance(value, dict):
            row[key] = value  # kept whole: parameters differ per notebook
        else:
            walk(key, value)
    return row


def load_records(run_dirs: Iterable[str | os.PathLike] | str | os.PathLike) -> pd.DataFrame:
    """One tidy DataFrame (a row per record) from any set of run directories or files."""
    if isinstance(run_dirs, (str, os.PathLike)):
        run_dirs = [run_dirs]
    rows = []
    for f in iter_record_files(run_dirs):
        for rec in read_records(f):
            row = flatten_record(rec)
            row["run_dir"] = str(f.parent)
            rows.append(row)
    return pd.DataFrame(rows)
