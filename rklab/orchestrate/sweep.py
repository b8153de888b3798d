"""``rklab sweep``: run a plan's notebooks one after the other and keep going when one fails.

Order: notebook 01 (feasibility) once, then 02 (LLM) or 03 (VLM) for each plan entry, then
04 (report) and its HTML export. Every notebook runs through papermill in its own kernel
process (kernel ``python3``), so a model that crashes or is OOM-killed takes only its kernel
down; the sweep records the outcome and moves on.

Output layout (``runs/<timestamp>/`` by default)::

    <out>/plan.yaml                       copy of the plan as run
    <out>/sweep.json                      plan path, start time, lang, entry names
    <out>/_feasibility/attempt-1/         01_feasibility.ipynb, papermill.log, records.jsonl
    <out>/<entry>/attempt-<n>/            02/03 executed notebook, parameters.yaml, papermill.log,
                                          records.jsonl (the notebook's run records + one final
                                          record of kind "entry" written by the sweep)
    <out>/04_report.ipynb, report.html, benchmark_log.md

Resume and crash safety: an entry is *complete* when one of its attempts ends with a record
of kind ``entry`` whose status is in :data:`COMPLETE_STATUSES`; that record is written only
after the notebook has ended. ``--resume DIR`` skips complete entries and runs every other
entry again in a **fresh** ``attempt-<n+1>`` folder, so the partial records of an interrupted
attempt are kept on disk but never mixed with the new ones: :func:`record_dirs` (used by the
report) picks exactly one attempt per entry (the latest complete one, else the latest).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from rklab.errors import RklabError
from rklab.orchestrate.plans import Plan, PlanEntry, load_plan
from rklab.records import RECORDS_FILE, RecordWriter, read_records

KERNEL_NAME = "python3"
FEASIBILITY_DIR = "_feasibility"
ATTEMPT_RE = re.compile(r"^attempt-(\d+)$")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
LOG_FILE = "papermill.log"
LOG_TAIL_LINES = 40
DEFAULT_TIMEOUT_S = 1800.0

# Outcomes that describe the model on this board: --resume does not run these again.
COMPLETE_STATUSES = frozenset({"ok", "skipped_predicted_oom", "aborted_memory", "oom"})
# Outcomes that make `rklab sweep` exit non-zero.
FAILED_STATUSES = frozenset({"failed", "oom", "timeout"})


@dataclass
class NotebookRun:
    """How one papermill execution ended."""

    status: str  # ok | failed | oom | timeout
    seconds: float
    output: Path
    log: Path
    error: dict[str, Any] | None = None  # {type, message, log_tail, ...}
    kernel_pid: int | None = None


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
                if o.status in FAILED_STATUSES and not (o.limit_test and o.status == "oom")]

    @property
    def exit_code(self) -> int:
        return 1 if (self.failed or self.report_error) else 0


# --------------------------------------------------------------------------- attempts and resume
def attempt_dirs(entry_dir: str | os.PathLike) -> list[Path]:
    """``attempt-<n>`` folders of an entry, oldest first."""
    d = Path(entry_dir)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if p.is_dir() and (m := ATTEMPT_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def entry_outcome_record(attempt_dir: str | os.PathLike) -> dict | None:
    """The final ``kind: entry`` record of an attempt, or None if the attempt never finished."""
    recs = [r for r in read_records(Path(attempt_dir) / RECORDS_FILE) if r.get("kind") == "entry"]
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
    done = completed_attempt(entry_dir)
    if done is not None:
        return done
    for att in reversed(atts):
        if entry_outcome_record(att) is not None:
            return att
    return atts[-1]


def record_dirs(run_dirs: Iterable[str | os.PathLike] | str | os.PathLike) -> list[Path]:
    """Folders/files whose records the report should load, one attempt per sweep entry.

    A sweep folder contributes the selected attempt of each entry (:func:`select_attempt`);
    a records.jsonl outside any ``attempt-<n>`` folder (e.g. from ``rklab bench``) is taken as is.
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
        for f in files:
            parent = f.parent
            if ATTEMPT_RE.match(parent.name):
                chosen = select_attempt(parent.parent)
                target = chosen / RECORDS_FILE if chosen is not None else None
            else:
                target = f
            if target is not None and target.exists() and target.resolve() not in seen:
                seen.add(target.resolve())
                out.append(target)
    return out


def _next_attempt(entry_dir: Path) -> Path:
    atts = attempt_dirs(entry_dir)
    n = int(ATTEMPT_RE.match(atts[-1].name).group(1)) + 1 if atts else 1
    d = entry_dir / f"attempt-{n}"
    d.mkdir(parents=True, exist_ok=False)
    return d


# --------------------------------------------------------------------------- notebook execution
def _log_tail(path: Path, n: int = LOG_TAIL_LINES) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def _notebook_error(nb_path: Path) -> tuple[str | None, str | None]:
    """(ename, evalue) of the first error output in an executed notebook."""
    try:
        import nbformat

        nb = nbformat.read(str(nb_path), as_version=4)
    except Exception:  # noqa: BLE001 - a half-written notebook is possible after a kill
        return None, None
    for cell in nb.cells:
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "error" and out.get("ename") != "PapermillExecutionError":
                return out.get("ename"), str(out.get("evalue", ""))
    return None, None


def _kill_pid(pid: int) -> None:
    try:
        import psutil

        proc = psutil.Process(pid)
        procs = proc.children(recursive=True) + [proc]
        for p in procs:
            try:
                p.kill()
            except psutil.Error:
                pass
    except Exception:  # noqa: BLE001 - psutil missing or the process is already gone
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _logging_kernel_manager(base: type, kernel_log: Path) -> type:
    """``base`` (rklab.measure.guard's exit-recording kernel manager) with the kernel's stdout/stderr
    sent to ``kernel_log``: native runtimes (llama.cpp, librkllmrt) print there, and the
    console stays free for the progress bar."""

    class KernelLogManager(base):  # type: ignore[misc, valid-type]
        async def _async_launch_kernel(self, kernel_cmd, **kw):  # type: ignore[override]
            fh = open(kernel_log, "ab")
            try:
                kw.setdefault("stdout", fh)
                kw.setdefault("stderr", fh)
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:
                fh.close()  # the child keeps its own descriptor

    KernelLogManager.last_pid = None
    return KernelLogManager


def run_notebook(
    notebook: str | os.PathLike,
    output: str | os.PathLike,
    parameters: dict[str, Any],
    *,
    timeout_s: float | None = None,
    cwd: str | os.PathLike | None = None,
    kernel_name: str = KERNEL_NAME,
    log_path: str | os.PathLike | None = None,
) -> NotebookRun:
    """Execute one notebook with papermill in a fresh kernel; never raises for notebook errors.

    ``timeout_s`` bounds the whole notebook: a watchdog SIGKILLs the kernel (and its children)
    when it expires and the run is reported as ``timeout``. A kernel that dies on its own is
    classified by :func:`rklab.measure.guard.classify_kernel_death` (SIGKILL -> ``oom``).
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from rklab.measure import guard
    from rklab.measure.session import PROGRESS_ENV

    # absolute: the kernel runs in ``cwd``, so relative paths would point elsewhere
    output = Path(output).absolute()
    output.parent.mkdir(parents=True, exist_ok=True)
    log_path = Path(log_path).absolute() if log_path else output.with_name(LOG_FILE)
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    pm_logger = logging.getLogger("papermill")
    pm_logger.addHandler(handler)
    old_level = pm_logger.level
    pm_logger.setLevel(logging.INFO)
    pm_logger.propagate = False  # keep cell output off the console (the tqdm bar owns it)

    kernel_log = log_path.with_suffix(".kernel.log")
    km_class = _logging_kernel_manager(guard.kernel_manager_class(), kernel_log)
    km_class.last_pid = None
    timed_out = threading.Event()
    kill_pid: list[int] = []

    def on_timeout() -> None:
        pid = km_class.last_pid
        if pid is not None:
            timed_out.set()
            kill_pid.append(pid)
            _kill_pid(pid)

    timer = threading.Timer(timeout_s, on_timeout) if timeout_s else None
    oom_before = guard.oom_kill_count()
    t0 = time.monotonic()
    error: dict[str, Any] | None = None
    status = "ok"
    # the kernel inherits this: no per-run bars in saved notebooks (the sweep shows its own)
    old_progress = os.environ.get(PROGRESS_ENV)
    os.environ[PROGRESS_ENV] = "0"
    try:
        if timer:
            timer.daemon = True
            timer.start()
        pm.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name=kernel_name,
            progress_bar=False,
            log_output=True,
            cwd=str(cwd) if cwd else None,
            kernel_manager_class=km_class,
        )
    except PapermillExecutionError as exc:
        status = "failed"
        error = {"type": exc.ename, "message": _one_line(exc.evalue)}
        # the traceback lives in the output notebook; put it in the log too, for the log tail
        pm_logger.error("%s", _ANSI_RE.sub("", "\n".join(exc.traceback or [])))
    except Exception as exc:  # noqa: BLE001 - DeadKernelError, timeouts, anything from the engine
        if timed_out.is_set():
            status = "timeout"
            error = {"type": "Timeout", "message": f"notebook did not finish within {timeout_s:g} s; its kernel was killed"}
        else:
            status, details = guard.classify_kernel_death(exc, km_class.last_pid, oom_kills_before=oom_before)
            ename, evalue = _notebook_error(output)
            error = {
                "type": type(exc).__name__ if not ename else ename,
                "message": _one_line(evalue or details.get("reason") or str(exc)),
                "death": details,
            }
    finally:
        if old_progress is None:
            os.environ.pop(PROGRESS_ENV, None)
        else:
            os.environ[PROGRESS_ENV] = old_progress
        if timer:
            timer.cancel()
        pm_logger.removeHandler(handler)
        pm_logger.setLevel(old_level)
        pm_logger.propagate = True
        handler.close()
    seconds = time.monotonic() - t0
    if status != "ok" and error is not None:
        error["log_tail"] = _log_tail(log_path)
        error["kernel_log_tail"] = _log_tail(kernel_log, 20)
    return NotebookRun(status=status, seconds=seconds, output=output, log=log_path, error=error,
                       kernel_pid=km_class.last_pid)


def _one_line(text: Any) -> str:
    s = " ".join(str(text or "").split())
    return s[:500]


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
    recs = [r for r in read_records(attempt / RECORDS_FILE) if r.get("kind") in ("llm", "vlm")]
    if not recs:
        return "failed", f"the notebook finished but wrote no records to {attempt}"
    statuses = [r.get("status", "ok") for r in recs]
    n_ok = statuses.count("ok")
    for s in ("oom", "aborted_memory", "skipped_predicted_oom", "timeout", "failed"):
        if s in statuses:
            msg = next((str((r.get("error") or {}).get("message", "")) for r in recs if r.get("status") == s), "")
            if n_ok:
                msg = f"{msg} ({n_ok} run{'s' if n_ok != 1 else ''} measured before)".strip()
            return s, msg
    if n_ok:
        return "ok", f"{n_ok} measured runs"
    return statuses[-1], ""


def _heartbeat(attempt: Path) -> dict | None:
    from rklab.measure.guard import read_heartbeat

    for hb in sorted(attempt.glob("*heartbeat*.json")):
        data = read_heartbeat(hb)
        if data:
            return data
    return None


def run_entry(entry: PlanEntry, entry_dir: Path, *, lang: str, notebooks: Path,
              timeout_s: float | None, kernel_name: str = KERNEL_NAME, force: bool = False) -> EntryOutcome:
    """Run one plan entry into a fresh attempt folder and append its final ``entry`` record.

    ``force=True`` (``rklab sweep --force``) sets the notebook parameter ``force`` to True,
    overriding the plan: the notebook's pre-flight then runs a model predicted not to fit
    instead of recording ``skipped_predicted_oom`` (the memory guard still watches the run).
    """
    attempt = _next_attempt(entry_dir)
    params = entry.notebook_parameters(attempt, lang)
    if force:
        params["force"] = True
    (attempt / "parameters.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False),
                                             encoding="utf-8")
    run = run_notebook(notebooks / entry.notebook, attempt / entry.notebook, params, timeout_s=timeout_s,
                       cwd=attempt, kernel_name=kernel_name)
    status, message = run.status, ""
    if run.status == "ok":
        status, message = _entry_status_from_records(attempt)
    elif run.error:
        message = f"{run.error.get('type')}: {run.error.get('message')}"
    record: dict[str, Any] = {
        "kind": "entry",
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
    if status != "ok":
        err = dict(run.error or {"type": status, "message": message})
        err.setdefault("log_tail", _log_tail(run.log))
        record["error"] = err
    hb = _heartbeat(attempt) if status != "ok" else None
    if hb:
        record["last_sample"] = hb.get("last_sample", hb)
    RecordWriter(attempt).append(record)
    return EntryOutcome(entry.name, status, attempt, run.seconds, message=message,
                        limit_test=record["limit_test"])


def _run_feasibility(plan: Plan, out: Path, lang: str, notebooks: Path, resume: bool,
                     kernel_name: str) -> EntryOutcome:
    fdir = out / FEASIBILITY_DIR
    if resume and completed_attempt(fdir) is not None:
        return EntryOutcome("01_feasibility", "ok", completed_attempt(fdir), skipped=True)
    attempt = _next_attempt(fdir)
    # the board overview uses the seed's 4096-token context, or the plan's largest if bigger
    context = max([4096] + [int(e.settings.get("max_context", 4096)) for e in plan.entries])
    params = {"board": plan.board, "context": int(context), "lang": lang}
    run = run_notebook(notebooks / "01_feasibility.ipynb", attempt / "01_feasibility.ipynb", params,
                       timeout_s=600, cwd=attempt, kernel_name=kernel_name)
    rec: dict[str, Any] = {"kind": "entry", "status": run.status, "entry": FEASIBILITY_DIR, "params": params,
                           "notebook": str(run.output), "attempt": attempt.name, "seconds": round(run.seconds, 3)}
    if run.error:
        rec["error"] = run.error
    RecordWriter(attempt).append(rec)
    msg = f"{run.error.get('type')}: {run.error.get('message')}" if run.error else ""
    return EntryOutcome("01_feasibility", run.status, attempt, run.seconds, message=msg)


def default_results_md() -> Path:
    """``results/benchmark_log.md`` in the project (the seed report links to it)."""
    from rklab.paths import PROJECT_ROOT

    return Path(os.environ.get("RKLAB_RESULTS_MD", PROJECT_ROOT / "results" / "benchmark_log.md"))


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
) -> SweepResult:
    """Run a plan (see the module docstring); returns what happened to each entry.

    ``timeout_s`` overrides every entry's ``timeout_s`` (default :data:`DEFAULT_TIMEOUT_S`).
    ``results_md``: where the report writes benchmark_log.md (default :func:`default_results_md`).
    ``notebooks``: folder holding 01..03 (default the project's ``notebooks/``; tests pass doubles).
    ``force``: run entries the pre-flight predicts to run out of memory (notebook parameter
    ``force=True`` for every entry run now; see :func:`run_entry`).
    """
    from tqdm.auto import tqdm

    from rklab.paths import ensure_writable_dir, notebooks_dir, runs_dir

    if lang not in ("zh", "en"):
        raise RklabError(f"--lang {lang!r} is not supported; use zh or en")
    plan = load_plan(plan_path)
    entries = plan.select(only)
    if out and resume:
        raise RklabError("give either --out DIR (new sweep) or --resume DIR (continue one), not both")
    if resume:
        out_dir = Path(resume).expanduser().absolute()
        if not (out_dir / "sweep.json").exists():
            raise RklabError(f"--resume {out_dir}: not a sweep folder (no sweep.json); give a folder made by `rklab sweep`")
    elif out:
        out_dir = Path(out).expanduser().absolute()
        if (out_dir / "sweep.json").exists():
            raise RklabError(f"--out {out_dir} already holds a sweep; use --resume {out_dir} to continue it, or another folder")
    else:
        out_dir = _timestamp_dir(runs_dir())
    out_dir = ensure_writable_dir(out_dir, "--resume" if resume else "--out")
    if not (out_dir / "sweep.json").exists():
        shutil.copyfile(plan.path, out_dir / "plan.yaml")
        manifest = {"plan": str(Path(plan.path).resolve()), "plan_name": plan.name, "board": plan.board,
                    "started_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    "lang": lang, "entries": [e.name for e in entries],
                    "excluded": plan.excluded, "force": bool(force)}
        (out_dir / "sweep.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    notebooks = Path(notebooks) if notebooks else notebooks_dir()
    result = SweepResult(out_dir=out_dir)
    t_start = time.monotonic()
    bar = tqdm(total=len(entries) + 2, unit="step", disable=not progress, dynamic_ncols=True,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]")
    try:
        bar.set_description_str("01_feasibility: 01 feasibility")
        feas = _run_feasibility(plan, out_dir, lang, notebooks, bool(resume), kernel_name)
        result.outcomes.append(feas)
        _note(bar, feas)
        bar.update(1)
        for entry in entries:
            edir = out_dir / entry.name
            if resume and completed_attempt(edir) is not None:
                rec = entry_outcome_record(completed_attempt(edir)) or {}
                outcome = EntryOutcome(entry.name, rec.get("status", "ok"), completed_attempt(edir), skipped=True,
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
            from rklab.report.html import build_html_report

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
    elif outcome.status == "ok":
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
