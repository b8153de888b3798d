"""The layout of a run folder, and the statuses its records carry: the one place that names them.

A sweep (``rklab sweep``) writes::

    <sweep>/sweep.json                  MANIFEST_FILE: plan path, board, board_id, start time, lang,
                                        entry names in plan order, excluded models, force
    <sweep>/plan.yaml                   PLAN_COPY: the plan as run
    <sweep>/.sweep.lock                 LOCK_FILE: flock'ed by the one sweep writing here (its pid)
    <sweep>/_feasibility/attempt-1/     FEASIBILITY_DIR: notebook 01, its log and its entry record
    <sweep>/<entry>/attempt-<n>/        one folder per try of an entry (attempt_dirs, next_attempt):
        parameters.yaml                 PARAMETERS_FILE: the notebook parameters
        <notebook>.ipynb                the executed notebook 02 or 03
        papermill.log                   LOG_FILE (+ papermill.kernel.log: the kernel's own output)
        records.jsonl                   RECORDS_FILE (rklab.records): one record per measured run,
                                        then one record of kind "entry" written by the sweep
        samples-<kind>.jsonl            samples_file(kind): the 10 Hz monitor samples
        guard-heartbeat.json            HEARTBEAT_FILE: the memory guard's last sample
    <sweep>/04_report.ipynb, report.html, benchmark_log.md, 04_report.log      (REPORT_*)

A fleet folder (``rklab fleet run``; :mod:`rklab.orchestrate.fleet`) holds::

    <fleet>/fleet.json                  FLEET_MANIFEST_FILE: fleet run id, inventory, plan, boards, runs
    <fleet>/.fleet.lock                 FLEET_LOCK_FILE: flock'ed by the one `rklab fleet run` writing here
    <fleet>/boards.jsonl                FLEET_BOARDS_FILE: one record of kind "board" per board and fleet
                                        run (reached? sweep ended how? the error)
    <fleet>/boards/<board_id>/          FLEET_BOARDS_DIR: each board's sweep folder as pulled back

``rklab bench llm --out DIR`` and a benchmark notebook run by hand write ``records.jsonl`` (and
the samples) straight into their folder, without attempts.

Which attempt counts: an entry is *complete* when one of its attempts ends with an entry record
whose status is in :data:`COMPLETE_STATUSES`; the report reads one attempt per entry
(:func:`select_attempt`: the latest complete one, else the latest finished, else the latest), so
the partial records of an interrupted attempt stay on disk but are never mixed with a re-run.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import json
import os
import re
from pathlib import Path
from typing import Iterable, Iterator

from rklab.errors import RklabError
from rklab.records import ENTRY_KIND, RECORDS_FILE, read_records

__all__ = [
    "ABORTED_OR_OOM", "ATTEMPT_RE", "COMPLETE_STATUSES", "FAILED_STATUSES", "FEASIBILITY_DIR", "FLEET_BOARDS_DIR",
    "FLEET_BOARDS_FILE", "FLEET_LOCK_FILE", "FLEET_MANIFEST_FILE", "GUARD_PRECEDENCE", "HEARTBEAT_FILE", "LOCK_FILE",
    "LOG_FILE", "MANIFEST_FILE", "PARAMETERS_FILE", "PLAN_COPY", "RECORDS_FILE", "REPORT_HTML",
    "REPORT_LOG", "REPORT_MD", "REPORT_NOTEBOOK", "Status", "attempt_dirs", "completed_attempt",
    "entry_outcome_record", "is_sweep", "kernel_log_for", "newest_sweep", "next_attempt", "partial_name",
    "read_manifest", "record_files", "samples_file", "select_attempt", "sweep_folders", "sweep_lock", "write_manifest",
]


class Status(str, enum.Enum):
    """How a run or a sweep entry ended (the ``status`` of a record). A str: compares equal to,
    prints as and is written to JSON as the plain string stored in records.jsonl."""

    __str__ = str.__str__
    __format__ = str.__format__

    OK = "ok"
    FAILED = "failed"  # an error in the notebook, or a kernel that died of something else
    TIMEOUT = "timeout"  # the sweep's watchdog killed the kernel after the entry's time limit
    OOM = "oom"  # the kernel was SIGKILLed (the OOM killer)
    ABORTED_MEMORY = "aborted_memory"  # rklab's memory guard stopped the run at the MemAvailable floor
    SKIPPED_PREDICTED_OOM = "skipped_predicted_oom"  # the pre-load memory check said it would not fit


# Outcomes that describe the model on this board: --resume does not run these again.
COMPLETE_STATUSES = frozenset({Status.OK, Status.SKIPPED_PREDICTED_OOM, Status.ABORTED_MEMORY, Status.OOM})
# Outcomes that make `rklab sweep` exit non-zero (an oom of a limit-test entry excepted).
FAILED_STATUSES = frozenset({Status.FAILED, Status.OOM, Status.TIMEOUT})
# "Ran out of memory on the board": beats a VmHWM measured before it in the verdict.
ABORTED_OR_OOM = (Status.OOM, Status.ABORTED_MEMORY)
# The entry's status when its runs disagree: the first of these any run reports wins over "ok".
GUARD_PRECEDENCE = (Status.OOM, Status.ABORTED_MEMORY, Status.SKIPPED_PREDICTED_OOM, Status.TIMEOUT, Status.FAILED)

MANIFEST_FILE = "sweep.json"
PLAN_COPY = "plan.yaml"
FLEET_MANIFEST_FILE = "fleet.json"
FLEET_LOCK_FILE = ".fleet.lock"
FLEET_BOARDS_FILE = "boards.jsonl"
FLEET_BOARDS_DIR = "boards"
FEASIBILITY_DIR = "_feasibility"
PARAMETERS_FILE = "parameters.yaml"
LOG_FILE = "papermill.log"
HEARTBEAT_FILE = "guard-heartbeat.json"
SAMPLES_FILE = "samples-{kind}.jsonl"
REPORT_NOTEBOOK = "04_report.ipynb"
REPORT_HTML = "report.html"
REPORT_MD = "benchmark_log.md"
REPORT_LOG = "04_report.log"
LOCK_FILE = ".sweep.lock"  # sweep_lock: one sweep process per run folder
ATTEMPT_RE = re.compile(r"^attempt-(\d+)$")


def samples_file(kind: str) -> str:
    """``samples-llm.jsonl`` / ``samples-vlm.jsonl``: the monitor samples of a benchmark notebook."""
    return SAMPLES_FILE.format(kind=kind)


def kernel_log_for(log_path: str | os.PathLike) -> Path:
    """Where a notebook kernel's own stdout/stderr go: beside its papermill log (``*.kernel.log``)."""
    return Path(log_path).with_suffix(".kernel.log")


def partial_name(name: str) -> str:
    """The temporary name a file is written under until it is complete (then renamed)."""
    return f".partial-{name}"


# --------------------------------------------------------------------------- one process per run folder
@contextlib.contextmanager
def sweep_lock(folder: str | os.PathLike, option: str = "--out", *, name: str = LOCK_FILE, what: str = "rklab sweep",
               then: str = "continue with --resume") -> Iterator[Path]:
    """Hold the run folder's lock (:data:`LOCK_FILE`, ``flock``) while a sweep writes into it.

    The kernel drops an flock when its holder dies (even by SIGKILL), so a stale lock never blocks
    a ``--resume``; the file keeps the holder's pid for the one-line refusal of a second process.
    A fleet folder is locked the same way (``name=FLEET_LOCK_FILE``, ``what="rklab fleet run"``).
    """
    path = Path(folder) / name
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by the notebook kernels
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip() or "unknown"
        os.close(fd)
        raise RklabError(f"{option} {Path(folder)} is in use by another {what} (pid {holder}); wait for it to "
                         f"finish, or stop it (kill {holder}) and {then}") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# --------------------------------------------------------------------------- the manifest
def is_sweep(folder: str | os.PathLike) -> bool:
    return (Path(folder) / MANIFEST_FILE).is_file()


def read_manifest(folder: str | os.PathLike) -> dict:
    """The sweep's manifest; ``{}`` when the folder is no sweep or the file is unreadable."""
    try:
        data = json.loads((Path(folder) / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_manifest(folder: str | os.PathLike, manifest: dict) -> Path:
    path = Path(folder) / MANIFEST_FILE
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def sweep_folders(folder: str | os.PathLike) -> list[Path]:
    """The sweeps a folder stands for: itself when it is one, else the board sweeps of a fleet folder
    (``boards/<board_id>/``, sorted), else none."""
    folder = Path(folder)
    if is_sweep(folder):
        return [folder]
    return sorted(p.parent for p in (folder / FLEET_BOARDS_DIR).glob(f"*/{MANIFEST_FILE}"))


def newest_sweep(parent: str | os.PathLike) -> Path | None:
    """The most recently modified sweep folder directly under ``parent`` (None if there is none)."""
    sweeps = sorted((p.parent for p in Path(parent).glob(f"*/{MANIFEST_FILE}")), key=lambda d: d.stat().st_mtime)
    return sweeps[-1] if sweeps else None


# --------------------------------------------------------------------------- attempts
def attempt_dirs(entry_dir: str | os.PathLike) -> list[Path]:
    """``attempt-<n>`` folders of an entry, oldest first."""
    d = Path(entry_dir)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if p.is_dir() and (m := ATTEMPT_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def next_attempt(entry_dir: str | os.PathLike) -> Path:
    """Create and return the entry's next ``attempt-<n>`` folder (never reuses one)."""
    entry_dir = Path(entry_dir)
    atts = attempt_dirs(entry_dir)
    n = int(ATTEMPT_RE.match(atts[-1].name).group(1)) + 1 if atts else 1
    d = entry_dir / f"attempt-{n}"
    d.mkdir(parents=True, exist_ok=False)
    return d


def entry_outcome_record(attempt_dir: str | os.PathLike) -> dict | None:
    """The final ``kind: entry`` record of an attempt, or None if the attempt never finished."""
    recs = [r for r in read_records(Path(attempt_dir) / RECORDS_FILE) if r.get("kind") == ENTRY_KIND]
    return recs[-1] if recs else None


def completed_attempt(entry_dir: str | os.PathLike) -> Path | None:
    """Latest attempt whose entry record has a complete status (see :data:`COMPLETE_STATUSES`)."""
    for att in reversed(attempt_dirs(entry_dir)):
        rec = entry_outcome_record(att)
        if rec is not None and rec.get("status") in COMPLETE_STATUSES:
            return att
    return None


def select_attempt(entry_dir: str | os.PathLike) -> Path | None:
    """The one attempt of an entry the report reads: latest complete, else latest finished, else latest."""
    atts = attempt_dirs(entry_dir)
    if not atts:
        return None
    outcomes = [(att, entry_outcome_record(att)) for att in reversed(atts)]  # each records file read once
    for att, rec in outcomes:
        if rec is not None and rec.get("status") in COMPLETE_STATUSES:
            return att
    for att, rec in outcomes:
        if rec is not None:
            return att
    return atts[-1]


def record_files(run_dirs: Iterable[str | os.PathLike] | str | os.PathLike) -> list[Path]:
    """The records files a report reads, one attempt per sweep entry.

    A sweep folder contributes the selected attempt of each entry (:func:`select_attempt`); a
    records file outside any ``attempt-<n>`` folder (``rklab bench``, a notebook run by hand) is
    taken as is; a file given directly is taken as is.
    """
    if isinstance(run_dirs, (str, os.PathLike)):
        run_dirs = [run_dirs]
    out: list[Path] = []
    seen: set[Path] = set()
    for d in run_dirs:
        d = Path(d)
        if d.is_file():
            files = [d]
        elif d.is_dir():
            files = sorted(d.rglob(RECORDS_FILE))
        else:
            raise RklabError(f"run folder {d} does not exist; give a folder made by `rklab sweep` or `rklab bench`")
        chosen: dict[Path, Path | None] = {}  # entry folder -> its selected attempt, selected once per entry
        for f in files:
            parent = f.parent
            if ATTEMPT_RE.match(parent.name):
                if parent.parent not in chosen:
                    chosen[parent.parent] = select_attempt(parent.parent)
                att = chosen[parent.parent]
                target = att / RECORDS_FILE if att is not None else None
            else:
                target = f
            if target is not None and target.exists() and target.resolve() not in seen:
                seen.add(target.resolve())
                out.append(target)
    return out
