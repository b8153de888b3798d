"""``rklab sweep``: run a plan's notebooks one after the other and keep going when one fails.

Order: notebook 01 (feasibility) once, then 02 (LLM) or 03 (VLM) for each plan entry, then
04 (report) and its HTML export (:mod:`rklab.orchestrate.publish`). Every notebook runs through
papermill in its own kernel process (:mod:`rklab.orchestrate.notebooks`), so a model that crashes
or is OOM-killed takes only its kernel down; the sweep records the outcome and moves on.

Output: a run folder (``runs/<timestamp>/`` by default) laid out as :mod:`rklab.runfolder`
describes: the manifest, a copy of the plan, ``<entry>/attempt-<n>/`` per try of an entry, the
report files at the top.

Resume and crash safety: the sweep appends an entry's final record (kind ``entry``) only after
its notebook has ended; an entry is complete when an attempt has such a record with a status in
:data:`rklab.runfolder.COMPLETE_STATUSES`. ``--resume DIR`` skips complete entries and runs every
other entry again in a **fresh** ``attempt-<n+1>`` folder, so the partial records of an
interrupted attempt are kept on disk but never mixed with the new ones: the report reads one
attempt per entry (:func:`rklab.runfolder.record_files`).

Nothing run twice, nothing mixed: one sweep process per run folder (:func:`rklab.runfolder.sweep_lock`, an
flock that dies with its holder); ``--resume`` only with the plan the folder was made with; ``--out`` never
a folder that already holds records; ``--timeout`` > 0; a free-space check before the start.

Board identity: every record the sweep and its kernels write carries ``board_id`` and
``board_profile`` (:func:`rklab.records.board_identity`, passed to the kernels through the
environment). ``board_id`` defaults to the host name; ``rklab fleet run`` gives each board its
inventory name, so two boards with the same host name stay apart.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import math
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tqdm.auto import tqdm

from rklab import paths
from rklab.errors import RklabError
from rklab.i18n import check_lang
from rklab.measure.guard import read_heartbeat
from rklab.orchestrate.notebooks import KERNEL_NAME, execute_notebook, log_tail
from rklab.orchestrate.plans import Plan, PlanEntry, load_plan
from rklab.orchestrate.publish import build_html_report, default_results_md
from rklab.orchestrate.plancheck import MIN_DISK_MB
from rklab.predict.boards import load_board
from rklab.records import (BOARD_ID_ENV, BOARD_PROFILE_ENV, ENTRY_KIND, RUN_KINDS, RecordWriter, ensure_free_space,
                           read_records)
from rklab.runfolder import (FAILED_STATUSES, FEASIBILITY_DIR, GUARD_PRECEDENCE, HEARTBEAT_FILE, PARAMETERS_FILE,
                             PLAN_COPY, RECORDS_FILE, Status, completed_attempt, entry_outcome_record, is_sweep,
                             MANIFEST_FILE, next_attempt, read_manifest, sweep_lock, write_manifest)

DEFAULT_TIMEOUT_S = 1800.0
FEASIBILITY_TIMEOUT_S = 600.0


@dataclass
class EntryOutcome:
    name: str
    status: str
    attempt_dir: Path | None
    seconds: float = 0.0
    skipped: bool = False  # complete in an earlier run (--resume)
    message: str = ""
    limit_test: bool = False  # an OOM here is the answer to the test, not a failure


@dataclass
class SweepResult:
    out_dir: Path
    outcomes: list[EntryOutcome] = field(default_factory=list)
    html_path: Path | None = None
    report_error: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> list[EntryOutcome]:
        return [o for o in self.outcomes
                if o.status in FAILED_STATUSES and not (o.limit_test and o.status == Status.OOM)]

    @property
    def exit_code(self) -> int:
        return 1 if (self.failed or self.report_error) else 0


# --------------------------------------------------------------------------- the kernels' environment
@contextlib.contextmanager
def environment(**values: str | None):
    """Set (or, for None, remove) environment variables for the block; restore them afterwards.

    Notebook kernels inherit the sweep's environment: this is how the sweep gives every kernel
    the board identity without a notebook parameter.
    """
    old = {k: os.environ.get(k) for k in values}
    try:
        _set_environment(values)
        yield
    finally:
        _set_environment(old)


def _set_environment(values: dict[str, str | None]) -> None:
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


# --------------------------------------------------------------------------- the sweep
def _timestamp_dir(parent: Path) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    d = parent / stamp
    i = 1
    while d.exists():
        i += 1
        d = parent / f"{stamp}-{i}"
    return d


def _entry_status_from_records(attempt: Path) -> tuple[str, str]:
    """Status of a finished notebook from its run records.

    A guard outcome wins over measured runs: ``[ok, ok, aborted_memory]`` is ``aborted_memory``
    ("... (2 runs measured before)"), because the model did not get through the plan's cases on
    this board; the measured runs stay in the records and the report shows them. Only when no
    run reports oom / aborted_memory / skipped_predicted_oom / timeout / failed is the entry ``ok``.
    """
    recs = [r for r in read_records(attempt / RECORDS_FILE) if r.get("kind") in RUN_KINDS]
    if not recs:
        return Status.FAILED, f"the notebook finished but wrote no records to {attempt}"
    statuses = [r.get("status", Status.OK) for r in recs]
    n_ok = statuses.count(Status.OK)
    for s in GUARD_PRECEDENCE:
        if s in statuses:
            msg = next((str((r.get("error") or {}).get("message", "")) for r in recs if r.get("status") == s), "")
            if n_ok:
                msg = f"{msg} ({n_ok} run{'s' if n_ok != 1 else ''} measured before)".strip()
            return s, msg
    if n_ok:
        return Status.OK, f"{n_ok} measured runs"
    return statuses[-1], ""


def run_entry(entry: PlanEntry, entry_dir: Path, *, lang: str, notebooks: Path,
              timeout_s: float | None, kernel_name: str = KERNEL_NAME, force: bool = False) -> EntryOutcome:
    """Run one plan entry into a fresh attempt folder and append its final ``entry`` record.

    ``force=True`` (``rklab sweep --force``) sets the notebook parameter ``force`` to True,
    overriding the plan: the notebook's pre-flight then runs a model predicted not to fit
    instead of recording ``skipped_predicted_oom`` (the memory guard still watches the run).
    """
    attempt = next_attempt(entry_dir)
    params = entry.notebook_parameters(attempt, lang)
    if force:
        params["force"] = True
    (attempt / PARAMETERS_FILE).write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False),
                                           encoding="utf-8")
    run = execute_notebook(notebooks / entry.notebook, attempt / entry.notebook, params, timeout_s=timeout_s,
                           cwd=attempt, kernel_name=kernel_name)
    status, message = run.status, ""
    if run.status == Status.OK:
        status, message = _entry_status_from_records(attempt)
    elif run.error:
        message = f"{run.error.get('type')}: {run.error.get('message')}"
    record: dict[str, Any] = {
        "kind": ENTRY_KIND,
        "status": status,
        "entry": entry.name,
        "backend": entry.backend,
        "model": {"name": entry.model, "dtype": entry.settings.get("dtype"), "kind": entry.kind},
        "params": params,
        "notebook": str(run.output),
        "attempt": attempt.name,
        "seconds": round(run.seconds, 3),
        "limit_test": bool(entry.settings.get("limit_test", False)),
    }
    if status != Status.OK:
        err = dict(run.error or {"type": status, "message": message})
        err.setdefault("log_tail", log_tail(run.log))
        record["error"] = err
    hb = read_heartbeat(attempt / HEARTBEAT_FILE) if status != Status.OK else None
    if hb:
        record["last_sample"] = hb.get("last_sample", hb)
    RecordWriter(attempt).append(record)
    return EntryOutcome(entry.name, status, attempt, run.seconds, message=message,
                        limit_test=record["limit_test"])


def _run_feasibility(plan: Plan, out: Path, lang: str, notebooks: Path, resume: bool,
                     kernel_name: str) -> EntryOutcome:
    fdir = out / FEASIBILITY_DIR
    done = completed_attempt(fdir) if resume else None
    if done is not None:
        return EntryOutcome("01_feasibility", Status.OK, done, skipped=True)
    attempt = next_attempt(fdir)
    # the board overview uses the seed's 4096-token context, or the plan's largest if bigger
    context = max([4096] + [int(e.settings.get("max_context", 4096)) for e in plan.entries])
    params = {"board": plan.board, "context": int(context), "lang": lang}
    run = execute_notebook(notebooks / "01_feasibility.ipynb", attempt / "01_feasibility.ipynb", params,
                           timeout_s=FEASIBILITY_TIMEOUT_S, cwd=attempt, kernel_name=kernel_name)
    rec: dict[str, Any] = {"kind": ENTRY_KIND, "status": run.status, "entry": FEASIBILITY_DIR, "params": params,
                           "notebook": str(run.output), "attempt": attempt.name, "seconds": round(run.seconds, 3)}
    if run.error:
        rec["error"] = run.error
    RecordWriter(attempt).append(rec)
    msg = f"{run.error.get('type')}: {run.error.get('message')}" if run.error else ""
    return EntryOutcome("01_feasibility", run.status, attempt, run.seconds, message=msg)


def run_sweep(
    plan_path: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    only: str | list[str] | None = None,
    lang: str = "zh",
    timeout_s: float | None = None,
    results_md: str | os.PathLike | None = None,
    report: bool = True,
    progress: bool = True,
    kernel_name: str = KERNEL_NAME,
    notebooks: str | os.PathLike | None = None,
    force: bool = False,
    board_id: str | None = None,
    board: str | None = None,
) -> SweepResult:
    """Run a plan (see the module docstring); returns what happened to each entry.

    ``timeout_s`` overrides every entry's ``timeout_s`` (default :data:`DEFAULT_TIMEOUT_S`).
    ``results_md``: where the report writes benchmark_log.md (default :func:`default_results_md`).
    ``notebooks``: folder holding 01..03 (default the project's ``notebooks/``; tests pass doubles).
    ``force``: run entries the pre-flight predicts to run out of memory (notebook parameter
    ``force=True`` for every entry run now; see :func:`run_entry`).
    ``board_id``: name of the board in every record (default: the one in the manifest when
    resuming, else the host name); ``board``: board profile overriding the plan's ``board``.
    """
    check_lang(lang, "--lang")
    check_timeout(timeout_s)
    plan = load_plan(plan_path)
    if board:
        try:
            load_board(board)  # an unknown profile is refused before anything is written
        except RklabError as exc:
            raise RklabError(f"--board {board}: {exc}") from None
        plan = dataclasses.replace(plan, board=board)
    entries = plan.select(only)
    with contextlib.ExitStack() as held:
        out_dir = _open_run_folder(held, plan, entries, out=out, resume=resume, lang=lang, force=force,
                                   board_id=board_id)
        return _run_steps(plan, entries, out_dir, resume=bool(resume), lang=lang, timeout_s=timeout_s,
                          results_md=results_md, report=report, progress=progress, kernel_name=kernel_name,
                          notebooks=notebooks, force=force)


def check_seconds(value: float | None, option: str, what: str, note: str = "") -> None:
    """A duration option must be a number of seconds above 0 (0, a negative number or NaN used to mean
    no limit at all); one line naming ``option`` and saying ``what`` it is."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise RklabError(f"{option} {value:g} is not allowed; give {what} in seconds, more than 0{note}")


def check_timeout(timeout_s: float | None) -> None:
    """``rklab sweep --timeout``: the time limit per entry."""
    check_seconds(timeout_s, "--timeout", "the time limit per entry",
                  f" (default: the plan's timeout_s, else {DEFAULT_TIMEOUT_S:g})")


def _open_run_folder(held: contextlib.ExitStack, plan: Plan, entries: list[PlanEntry], *, out, resume, lang: str,
                     force: bool, board_id: str | None) -> Path:
    """The sweep's folder, checked, locked for this process and with its manifest; ``held`` keeps the lock
    and the board identity in the environment (:func:`environment`) until the sweep ends."""
    if out and resume:
        raise RklabError("give either --out DIR (new sweep) or --resume DIR (continue one), not both")
    option = "--resume" if resume else "--out"
    if resume:
        out_dir = Path(resume).expanduser().absolute()
        if not is_sweep(out_dir):
            raise RklabError(f"--resume {out_dir}: not a sweep folder (no {MANIFEST_FILE}); "
                             "give a folder made by `rklab sweep`")
        _check_same_plan(out_dir, plan)
    elif out:
        out_dir = Path(out).expanduser().absolute()
        _check_new_folder(out_dir)
    else:
        out_dir = _timestamp_dir(paths.runs_dir())
    board_id = _board_id(out_dir, board_id, option)
    out_dir = paths.ensure_writable_dir(out_dir, option)
    held.enter_context(sweep_lock(out_dir, option))
    if not resume:
        _check_new_folder(out_dir)  # again, now that no other sweep can write here
    ensure_free_space(out_dir, MIN_DISK_MB, option)
    # the kernels inherit the environment: every record they write names this board
    held.enter_context(environment(**{BOARD_ID_ENV: board_id, BOARD_PROFILE_ENV: plan.board}))
    if not is_sweep(out_dir):
        shutil.copyfile(plan.path, out_dir / PLAN_COPY)
        manifest = {"plan": str(Path(plan.path).resolve()), "plan_name": plan.name, "board": plan.board,
                    "board_id": board_id,
                    "started_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    "lang": lang, "entries": [e.name for e in entries],
                    "excluded": plan.excluded, "force": bool(force)}
        write_manifest(out_dir, manifest)
    return out_dir


def _board_id(out_dir: Path, board_id: str | None, option: str) -> str:
    """The board id of a sweep: the one its manifest holds (a resume cannot change it), else the
    given one, else the host name."""
    stored = read_manifest(out_dir).get("board_id")
    if stored and board_id and stored != board_id:
        raise RklabError(f"{option} {out_dir}: this sweep measures board {stored!r}, not {board_id!r}; "
                         f"give --board-id {stored} or another folder")
    return stored or board_id or platform.node() or "localhost"


def _check_new_folder(out_dir: Path) -> None:
    """A new sweep's ``--out`` holds no sweep and no records: the report would mix them in."""
    if is_sweep(out_dir):
        raise RklabError(f"--out {out_dir} already holds a sweep; use --resume {out_dir} to continue it, or another folder")
    found = next(iter(sorted(out_dir.rglob(RECORDS_FILE))), None) if out_dir.is_dir() else None
    if found is not None:
        raise RklabError(f"--out {out_dir} already holds records ({found}, e.g. from `rklab bench --out`) that the "
                         "sweep's report would mix with its own; give a new or empty folder")


def _check_same_plan(out_dir: Path, plan: Plan) -> None:
    """``--resume`` continues the plan the folder was made with: another plan would mix its entries in."""
    copy = out_dir / PLAN_COPY
    try:
        before = yaml.safe_load(copy.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return  # an old sweep without a readable copy: nothing to compare with
    if before == yaml.safe_load(Path(plan.path).read_text(encoding="utf-8")):
        return  # the same plan (comments and layout may differ)
    original = read_manifest(out_dir).get("plan") or str(copy)
    raise RklabError(f"--resume {out_dir} was started with another plan ({copy} differs from {plan.path}); continue "
                     f"it with `rklab sweep {original} --resume {out_dir}`, or start a new sweep with --out")


def _run_steps(plan: Plan, entries: list[PlanEntry], out_dir: Path, *, resume: bool, lang: str,
               timeout_s: float | None, results_md, report: bool, progress: bool, kernel_name: str,
               notebooks, force: bool) -> SweepResult:
    """Notebook 01, each entry, then the report, into ``out_dir`` (made and locked by the caller)."""
    notebooks = Path(notebooks) if notebooks else paths.notebooks_dir()
    result = SweepResult(out_dir=out_dir)
    t_start = time.monotonic()
    bar = tqdm(total=len(entries) + 2, unit="step", disable=not progress, dynamic_ncols=True,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]")
    try:
        bar.set_description_str("01_feasibility: 01 feasibility")
        feas = _run_feasibility(plan, out_dir, lang, notebooks, resume, kernel_name)
        result.outcomes.append(feas)
        _note(bar, feas)
        bar.update(1)
        for entry in entries:
            edir = out_dir / entry.name
            done = completed_attempt(edir) if resume else None
            if done is not None:
                rec = entry_outcome_record(done) or {}
                outcome = EntryOutcome(entry.name, rec.get("status", Status.OK), done, skipped=True,
                                       limit_test=bool(rec.get("limit_test")))
            else:
                stage = "02 LLM bench" if entry.kind == "llm" else "03 VLM bench"
                bar.set_description_str(f"{entry.name}: {stage}")
                outcome = run_entry(entry, edir, lang=lang, notebooks=notebooks,
                                    timeout_s=timeout_s or entry.timeout_s or DEFAULT_TIMEOUT_S,
                                    kernel_name=kernel_name, force=force)
            result.outcomes.append(outcome)
            _note(bar, outcome)
            bar.update(1)
        if report:
            bar.set_description_str("report: 04 report + HTML")
            try:
                result.html_path = build_html_report(out_dir, lang=lang, board=plan.board,
                                                     results_md=results_md or default_results_md(),
                                                     kernel_name=kernel_name)
            except RklabError as exc:
                result.report_error = str(exc)
                bar.write(f"rklab: report failed: {exc}")
        bar.update(1)
    finally:
        bar.close()
    result.seconds = time.monotonic() - t_start
    return result


def _note(bar, outcome: EntryOutcome) -> None:
    if outcome.skipped:
        bar.write(f"  {outcome.name}: {outcome.status} (complete in an earlier attempt, skipped)")
    elif outcome.status == Status.OK:
        bar.write(f"  {outcome.name}: ok ({outcome.seconds:.0f} s)")
    else:
        bar.write(f"  {outcome.name}: {outcome.status.upper()} ({outcome.seconds:.0f} s) {outcome.message}")


def format_summary(result: SweepResult) -> str:
    """The closing lines of ``rklab sweep``: per-status counts, failures, the HTML path."""
    lines = []
    counts: dict[str, int] = {}
    for o in result.outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    lines.append(f"sweep {result.out_dir}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
                 + f" in {result.seconds:.0f} s")
    for o in result.failed:
        lines.append(f"  FAILED {o.name}: {o.status} {o.message} (see {o.attempt_dir})")
    if result.report_error:
        lines.append(f"  report not written: {result.report_error}")
    if result.html_path:
        lines.append(f"HTML report: {result.html_path}")
    return "\n".join(lines)
