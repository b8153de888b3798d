"""Durable run records: one JSON object per line in ``<run_dir>/records.jsonl``.

Each record is flushed and fsync'ed as soon as it is written, so killing the process
(even with SIGKILL) loses at most the record being written. Records are never rewritten:
a re-run appends. Three rules keep a file whole:

- an append never glues onto an incomplete last line (a run killed mid-write): it starts
  a new line first, so the good record stays readable and the broken line stays visible;
- a write that hits a full disk (ENOSPC) is cut back to the last complete record and
  raises :class:`DiskFull`, one line saying what to free;
- :func:`ensure_free_space` refuses to start a run on a disk with less than it needs.

The loader (:func:`scan_records`) keeps every line it skips, with its file and line
number, so a report can show what it left out instead of dropping it silently.

Record layout (schema ``rklab.record/1``)::

    schema, record_id, created_at, rklab_version,
    board_id    the board the record was measured on: its fleet inventory name, else the host name
                (two boards with the same host name stay apart in a fleet; see :func:`board_identity`)
    board_profile  the board profile (``data/boards/<name>.yaml``) of the sweep, when known
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
import errno
import json
import os
import platform
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

import numpy as np

from rklab import __version__, metrics
from rklab.errors import RklabError

SCHEMA = "rklab.record/1"
SCHEMA_PREFIX = "rklab.record/"
RECORDS_FILE = "records.jsonl"
RUN_KINDS = ("llm", "vlm")  # a record of one measured run
ENTRY_KIND = "entry"  # the sweep's record of how an entry ended
MIN_FREE_MB = 50.0  # a bench run's records and samples stay far below this


class DiskFull(RklabError):
    """The disk filled up while writing results; the file was cut back to its last complete line."""


def free_disk_mb(folder: str | os.PathLike) -> tuple[Path, float]:
    """The nearest existing folder at or above ``folder`` (it may not exist yet) and its disk's free MB."""
    p = Path(folder).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p, shutil.disk_usage(p).free / 1e6


def ensure_free_space(folder: str | os.PathLike, need_mb: float = MIN_FREE_MB, option: str = "--out") -> float:
    """Refuse to start a run when the disk holding ``folder`` has less than ``need_mb`` free; returns the free MB."""
    _, free = free_disk_mb(folder)
    if free < need_mb:
        raise DiskFull(f"{option} {folder} is on a disk with only {free:,.0f} MB free, a run needs about "
                       f"{need_mb:,.0f} MB; free some space or give {option} a folder on another disk")
    return free


def append_lines(path: str | os.PathLike, lines: Iterable[str]) -> None:
    """Append text lines durably in one write (flush + fsync), never onto an incomplete last line.

    On ENOSPC the file is cut back to its size before the write and :class:`DiskFull` is raised.
    """
    p = Path(path)
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    fd = os.open(p, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # the last line was cut (a killed run): keep it apart from this record
        try:
            # One write call: a kill leaves at most one partial last line.
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.fsync(fd)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            try:
                os.ftruncate(fd, size)  # no partial line left behind
            except OSError:  # not a regular file (a device): nothing to cut back
                pass
            raise DiskFull(f"the disk is full: cannot write {p} ({exc.strerror}); free some space, then run "
                           "again (a sweep continues with --resume)") from exc
    finally:
        os.close(fd)


# Set by `rklab sweep` for itself and the notebook kernels it starts (they inherit the environment).
BOARD_ID_ENV = "RKLAB_BOARD_ID"
BOARD_PROFILE_ENV = "RKLAB_BOARD_PROFILE"
# "0": the benchmark session in a kernel draws no progress bars (the sweep draws its own).
PROGRESS_ENV = "RKLAB_PROGRESS"


def board_identity() -> dict[str, str | None]:
    """``{"board_id", "board_profile"}`` stamped on every record written now.

    ``board_id`` is ``$RKLAB_BOARD_ID`` (``rklab fleet run`` sets the inventory name; ``rklab sweep
    --board-id``), else the host name; ``board_profile`` is ``$RKLAB_BOARD_PROFILE`` or None.
    """
    return {"board_id": os.environ.get(BOARD_ID_ENV) or platform.node() or None,
            "board_profile": os.environ.get(BOARD_PROFILE_ENV) or None}


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
        """Stamp the record (schema, id, time, version, board), write it durably and return it.

        ``ValueError`` (nothing written) when a metric does not fit :data:`rklab.metrics.METRICS`.
        """
        metrics.validate(record.get("metrics"))
        full = {
            "schema": SCHEMA,
            "record_id": uuid.uuid4().hex,
            "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "rklab_version": __version__,
            **board_identity(),
            **record,
        }
        line = json.dumps(full, default=json_default, ensure_ascii=False, allow_nan=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        append_lines(self.path, [line])
        return full


@dataclass(frozen=True)
class SkippedLine:
    """A line of a records file that the loader left out, and why."""

    path: str
    line: int
    reason: str  # "not JSON (a run killed mid-write?)" | "not an rklab record" | "schema rklab.record/9 ..."

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def scan_records(path: str | os.PathLike) -> tuple[list[dict], list[SkippedLine]]:
    """The records of one JSONL file of schema :data:`SCHEMA`, and every line left out.

    A record of another ``rklab.record/N`` schema is skipped too (its reason names the schema):
    :func:`check_schemas` turns those into a refusal.
    """
    out: list[dict] = []
    skipped: list[SkippedLine] = []
    p = Path(path)
    if not p.exists():
        return out, skipped
    with open(p, "r", encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                skipped.append(SkippedLine(str(p), n, "not JSON (a run killed mid-write, or an edit)"))
                continue
            schema = str(rec.get("schema", "")) if isinstance(rec, dict) else ""
            if schema == SCHEMA:
                out.append(rec)
            elif schema.startswith(SCHEMA_PREFIX):
                skipped.append(SkippedLine(str(p), n, f"schema {schema}, this rklab {__version__} reads {SCHEMA}"))
            else:
                skipped.append(SkippedLine(str(p), n, "not an rklab record"))
    return out, skipped


def check_schemas(skipped: Iterable[SkippedLine]) -> None:
    """Refuse records of a schema this rklab does not know (written by a newer rklab), in one line."""
    for s in skipped:
        if s.reason.startswith("schema "):
            raise RklabError(f"{s.path}:{s.line} has records of {s.reason.split(',')[0]}, which rklab {__version__} "
                             f"does not know; update rklab (git pull && make setup) to report them")


def read_records(path: str | os.PathLike) -> list[dict]:
    """All complete records of one JSONL file; a truncated or corrupt line is skipped
    (:func:`scan_records` says which)."""
    return scan_records(path)[0]


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
    skipped: list[SkippedLine] = []
    for f in iter_record_files(run_dirs):
        recs, left_out = scan_records(f)
        skipped += left_out
        for rec in recs:
            row = flatten_record(rec)
            row["run_dir"] = str(f.parent)
            rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["skipped_lines"] = skipped  # SkippedLine: shown by the report, never dropped silently
    return df
