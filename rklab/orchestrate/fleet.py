"""``rklab fleet``: one plan on many boards through Ansible, one merged report.

Why Ansible: it is agentless. Between its tasks nothing of it stays on a board except the
sweep and the small async wrapper waiting for it, so no resident worker distorts the memory
figures rklab measures on an 8 GB board. The playbook (``fleet/playbook.yaml``) and the
inventory are ordinary Ansible files; this module checks the inputs, packs the project, runs
the playbook with ansible-runner, turns its events into progress per board, records each
board's outcome and merges the results.

Fleet folder (``runs/fleet-<plan>-<inventory>/`` by default, or ``--out DIR``)::

    fleet.json              fleet run id, inventory, plan, boards (profile, address, sweep job), runs
    boards.jsonl            one record (kind "board") per board per fleet run: status, error, times
    boards/<board_id>/      the board's sweep folder as pulled back (plan.yaml, sweep.json, entries)
    ansible/                ansible-runner's folder: project.tar.gz, pulled/*.tar.gz, artifacts/<run>/
    logs/<board_id>.log     what Ansible did on the board, task by task, with errors and sweep output
    04_report.ipynb, report.html, benchmark_log.md     the merged report

Running the same command again continues the same fleet run: each board's sweep is resumed
(``rklab sweep --resume``: complete entries are skipped) and pulled again; a board whose sweep
from the interrupted run is still going is waited for (its async job id is in fleet.json).
Pulled files are added and updated, never deleted, so a board that cannot be reached keeps
the results pulled before.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import io
import json
import os
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rklab.errors import RklabError
from rklab.i18n import check_lang
from rklab.orchestrate.inventory import FleetBoard, ansible_command, load_inventory
from rklab.orchestrate.plans import load_plan
from rklab.orchestrate.publish import build_html_report
from rklab.orchestrate.sweep import check_seconds
from rklab.paths import PROJECT_ROOT, ensure_writable_dir, runs_dir
from rklab.records import RecordWriter, read_records
from rklab.runfolder import (FAILED_STATUSES, FLEET_BOARDS_DIR, FLEET_BOARDS_FILE, FLEET_LOCK_FILE, FLEET_MANIFEST_FILE, LOCK_FILE,
                             MANIFEST_FILE, REPORT_MD, entry_outcome_record, read_manifest, select_attempt,
                             sweep_folders, sweep_lock)

PLAYBOOK = PROJECT_ROOT / "fleet" / "playbook.yaml"
DEFAULT_POLL_S = 30.0
DEFAULT_TIMEOUT_S = 2 * 86400.0
# Left out of the copy sent to the boards: environments, outputs, caches.
EXCLUDE_TOP = frozenset({".venv", ".git", "runs", "results", "build", ".pytest_cache"})
EXCLUDE_ANY = frozenset({"__pycache__", ".ipynb_checkpoints"})
SWEEP_START_TASK = "start the sweep"
SWEEP_WAIT_TASK = "wait for the sweep"
SWEEP_RESULT_TASK = "the sweep's outcome"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- the project copy
def pack_project(dest: str | os.PathLike, root: str | os.PathLike = PROJECT_ROOT,
                 skip: tuple[Path, ...] = ()) -> Path:
    """The project as a .tar.gz for the boards, without .venv, runs/, results/, .git and caches.

    The archive is byte-identical as long as the files are (sorted names, file mtimes, gzip
    time 0), so Ansible's copy task sends it, and the board unpacks it, only after a change.
    The files keep their mtimes: ``make setup`` on the board re-runs only when pyproject.toml changed.
    """
    root = Path(root).resolve()
    skip_resolved = tuple(Path(s).resolve() for s in skip)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            dirnames[:] = sorted(
                d for d in dirnames
                if d not in EXCLUDE_ANY and not d.endswith(".egg-info")
                and not (here == root and d in EXCLUDE_TOP)
                and not any((here / d).resolve() == s for s in skip_resolved)
            )
            for name in sorted(filenames):
                path = here / name
                if not path.is_file() or path.is_symlink():
                    continue
                info = tar.gettarinfo(str(path), arcname=str(path.relative_to(root)))
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with open(path, "rb") as fh:
                    tar.addfile(info, fh)
    data = buf.getvalue()
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists() or dest.read_bytes() != data:
        tmp = dest.with_name(dest.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    return dest


# --------------------------------------------------------------------------- state of a fleet run
@dataclass
class BoardOutcome:
    """What happened on one board in one fleet run."""

    board: FleetBoard
    status: str = "pending"  # ok | failed | unreachable | interrupted | pending
    task: str = ""  # the last task Ansible started on the board
    error: str = ""
    sweep_rc: int | None = None
    sweep_seconds: float | None = None  # how long `rklab sweep` ran (the command's own delta)
    seconds: float = 0.0  # from the board's first to its last task
    sweep_started: bool = False
    attached: bool = False  # waited for a sweep an earlier, interrupted fleet run had started
    entries: dict[str, str] = field(default_factory=dict)  # entry -> status, from the pulled results
    t_first: float | None = None
    t_last: float | None = None
    t_sweep: float | None = None  # when the wait for the sweep began

    @property
    def ansible_seconds(self) -> float | None:
        """Time the board spent in the playbook outside the sweep: Ansible's overhead for this board
        (unknown when this run only waited for a sweep an earlier run had started)."""
        if self.sweep_seconds is None or self.attached:
            return None
        return max(0.0, self.seconds - self.sweep_seconds)

    @property
    def failed_entries(self) -> list[str]:
        return [e for e, s in self.entries.items() if s in FAILED_STATUSES]


@dataclass
class FleetResult:
    out_dir: Path
    fleet_run_id: str
    outcomes: list[BoardOutcome] = field(default_factory=list)
    resumed: bool = False
    interrupted: bool = False
    html_path: Path | None = None
    report_error: str | None = None
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """2: a board could not be reached or set up (check the inventory); 1: a sweep or an entry
        failed, or the report; 0: every board measured its plan; 130: interrupted."""
        if self.interrupted:
            return 130
        if any(o.status in ("unreachable",) or (o.status == "failed" and not o.sweep_started) for o in self.outcomes):
            return 2
        if any(o.status != "ok" or o.sweep_rc not in (0, None) for o in self.outcomes) or self.report_error:
            return 1
        return 0


def _load_state(out_dir: Path) -> dict:
    try:
        return json.loads((out_dir / FLEET_MANIFEST_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise RklabError(f"{out_dir / FLEET_MANIFEST_FILE} is corrupt ({exc}); give another --out folder") from None


def _save_state(out_dir: Path, state: dict) -> None:
    tmp = out_dir / (FLEET_MANIFEST_FILE + ".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, out_dir / FLEET_MANIFEST_FILE)


def default_out_dir(inventory: Path, plan_name: str) -> Path:
    """``runs/fleet-<plan>-<inventory>``: the same command finds the same folder and continues it."""
    return runs_dir() / f"fleet-{plan_name}-{inventory.stem}"


# --------------------------------------------------------------------------- progress from Ansible's events
class FleetProgress:
    """ansible-runner event handler: progress lines per board and each board's outcome."""

    def __init__(self, outcomes: dict[str, BoardOutcome], echo: Callable[[str], None], on_job: Callable,
                 logs: Path, wait_note_s: float = 60.0):
        self.outcomes = outcomes
        self.echo = echo
        self.on_job = on_job
        self.logs = logs
        self.t0 = time.monotonic()
        self.wait_note_s = wait_note_s
        self._last_wait_note: dict[str, float] = {}
        self._width = max([len(b) for b in outcomes] + [8])

    def _line(self, host: str, text: str) -> None:
        t = int(time.monotonic() - self.t0)
        self.echo(f"[{t // 60:02d}:{t % 60:02d}] {host:<{self._width}}  {text}")

    def _log(self, host: str, text: str) -> None:
        with open(self.logs / f"{host}.log", "a", encoding="utf-8") as fh:
            fh.write(f"{_now()} {text}\n")

    def __call__(self, event: dict) -> bool:
        data = event.get("event_data") or {}
        host = data.get("host")
        kind = event.get("event", "")
        if host not in self.outcomes:
            return True
        o = self.outcomes[host]
        now = time.monotonic()
        task = str(data.get("task") or "")
        res = data.get("res") or {}
        if kind == "runner_on_start":
            o.t_first = o.t_first if o.t_first is not None else now
            o.task = task
            if task == SWEEP_WAIT_TASK:  # the one that takes hours: announced when it starts
                o.t_sweep = now
                self._line(host, f"{task} ...")
            self._log(host, f"start {task}")
            return True
        o.t_last = now
        o.seconds = (o.t_last - o.t_first) if o.t_first is not None else 0.0
        if kind == "runner_retry":
            started = self._last_wait_note.setdefault(host, now)
            if now - started >= self.wait_note_s:
                self._last_wait_note[host] = now
                self._line(host, f"sweep running for {_duration(now - (o.t_sweep or now))}")
            return True
        if kind == "runner_on_ok":
            self._log(host, f"ok {task}")
            if task != SWEEP_WAIT_TASK and not str(data.get("task_action", "")).endswith("set_fact"):
                found = " (it reported problems: exit 1; its report goes with the results)" if res.get("rc") == 1 else ""
                self._line(host, f"{task}: {'changed' if res.get('changed') else 'ok'}{found}")
            if task == SWEEP_START_TASK and res.get("ansible_job_id"):
                o.sweep_started = True
                self.on_job(host, {"jid": res["ansible_job_id"], "results_file": res.get("results_file")})
            elif task == SWEEP_RESULT_TASK:
                o.attached = not o.sweep_started
                o.sweep_started = True
                self._sweep_ended(o, res)
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            if task == SWEEP_RESULT_TASK:
                o.attached = not o.sweep_started
                o.sweep_started = True
                self._sweep_ended(o, res)
            elif task == SWEEP_WAIT_TASK:
                o.sweep_started = True
                o.error = "the sweep did not end within the fleet's --timeout"
            o.status = "failed"
            o.error = o.error or _message(res)
            self._line(host, f"FAILED at '{task}': {o.error}")
            self._log(host, f"FAILED {task}: {json.dumps(_loggable(res), ensure_ascii=False)}")
        elif kind == "runner_on_unreachable":
            o.status = "unreachable"
            o.error = _message(res)
            self._line(host, f"UNREACHABLE at '{task}': {o.error}")
            self._log(host, f"UNREACHABLE {task}: {json.dumps(_loggable(res), ensure_ascii=False)}")
        return True

    def _sweep_ended(self, o: BoardOutcome, res: dict) -> None:
        o.sweep_rc = res.get("rc")
        o.sweep_seconds = _delta_seconds(res.get("delta"))
        tail = "\n".join(str(res.get("stdout", "")).splitlines()[-20:])
        self._log(o.board.board_id, f"sweep rc {o.sweep_rc} after {res.get('delta')}; stdout tail:\n{tail}\n"
                                    f"stderr tail:\n{_tail(res.get('stderr'), 20)}")
        if o.sweep_rc not in (0, 1):
            o.error = f"the sweep ended with rc {o.sweep_rc}: {_tail(res.get('stderr'), 1) or res.get('msg', '')}"
        self._line(o.board.board_id, f"sweep ended (rc {o.sweep_rc}, {res.get('delta', '?')})")


def _tail(text: Any, n: int) -> str:
    return "\n".join(str(text or "").strip().splitlines()[-n:])


def _message(res: dict) -> str:
    """One line from a failed task's result: its stderr's last line, else Ansible's message."""
    msg = _tail(res.get("stderr"), 1) or str(res.get("msg") or "").removeprefix("Task failed: ") or _tail(res.get("stdout"), 1)
    if res.get("module_stdout"):  # the module did not even start (no Python on the board, ...)
        msg += ": " + next((ln for ln in str(res["module_stdout"]).splitlines() if ln.strip()), "")
    return " ".join(msg.split())[:400] or "no message (see the board's log)"


def _loggable(res: dict) -> dict:
    return {k: res.get(k) for k in ("msg", "rc", "cmd", "stderr", "stdout", "delta") if k in res}


def _delta_seconds(delta: Any) -> float | None:
    """``0:01:02.345678`` (Ansible's command delta) -> 62.3."""
    try:
        h, m, s = str(delta).split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    except (ValueError, AttributeError):
        return None


def _duration(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min" if h else (f"{m} min {s:02d} s" if m else f"{s} s")


# --------------------------------------------------------------------------- the fleet run
def _pulled_entries(board_dir: Path) -> dict[str, str]:
    """entry -> status of the selected attempt of each entry in a pulled sweep folder."""
    out: dict[str, str] = {}
    for name in read_manifest(board_dir).get("entries", []):
        att = select_attempt(board_dir / name)
        rec = entry_outcome_record(att) if att is not None else None
        out[name] = (rec or {}).get("status", "not run" if att is None else "interrupted")
    return out


def check_fleet_inputs(inventory: str | os.PathLike, plan: str | os.PathLike, *, limit: str | None = None,
                       lang: str = "zh", poll_s: float | None = None,
                       timeout_s: float | None = None) -> tuple[list[FleetBoard], dict[str, Path], Any]:
    """Everything that can be checked on the control machine, before any board is touched.

    Returns the boards, ``{board_id: plan file}`` and the command's plan.
    """
    check_lang(lang, "--lang")
    check_seconds(poll_s, "--poll", "the time between two looks at a board's sweep")
    check_seconds(timeout_s, "--timeout", "the longest a board's sweep may run")
    main_plan = load_plan(plan)  # names the file when it is missing or wrong
    boards = load_inventory(inventory, limit)
    plans: dict[str, Path] = {}
    for b in boards:
        path = b.plan or Path(main_plan.path)
        load_plan(path)
        plans[b.board_id] = Path(path).resolve()
    return boards, plans, main_plan


def run_fleet(
    inventory: str | os.PathLike,
    plan: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    limit: str | None = None,
    lang: str = "zh",
    poll_s: float = DEFAULT_POLL_S,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    report: bool = True,
    echo: Callable[[str], None] | None = None,
) -> FleetResult:
    """Run ``plan`` on every board of ``inventory`` (see the module docstring)."""
    import ansible_runner  # here, not at the top: ~0.3 s of imports that `rklab fleet report` does not need

    echo = echo or (lambda s: print(s, flush=True))
    if not PLAYBOOK.is_file():
        raise RklabError(f"{PLAYBOOK} is missing: `rklab fleet` syncs the project folder to the boards, so run it "
                         "from a clone of the project (with its fleet/ folder), not from an installed package")
    inventory = Path(inventory).expanduser().absolute()
    boards, plans, main_plan = check_fleet_inputs(inventory, plan, limit=limit, lang=lang, poll_s=poll_s,
                                                  timeout_s=timeout_s)
    out_dir = Path(out).expanduser().absolute() if out else default_out_dir(inventory, main_plan.name)
    state = _load_state(out_dir) if out_dir.is_dir() else {}
    if state and state.get("plan_name") != main_plan.name:
        raise RklabError(f"--out {out_dir} holds fleet run {state.get('fleet_run_id')} of plan "
                         f"{state.get('plan_name')!r}, not {main_plan.name!r}; give that plan to continue it, "
                         "or another --out folder")
    out_dir = ensure_writable_dir(out_dir, "--out")
    t0 = time.monotonic()
    with sweep_lock(out_dir, "--out", name=FLEET_LOCK_FILE, what="rklab fleet run",
                    then="run the same command again"):
        resumed = bool(state)
        if not state:
            state = {"fleet_run_id": f"{main_plan.name}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}",
                     "created_at": _now(), "plan_name": main_plan.name, "boards": {}, "runs": []}
        state.update(inventory=str(inventory), plan=str(Path(main_plan.path).resolve()), lang=lang)
        fleet_id = state["fleet_run_id"]
        result = FleetResult(out_dir=out_dir, fleet_run_id=fleet_id, resumed=resumed)
        for b in boards:
            state["boards"].setdefault(b.board_id, {}).update(
                profile=b.profile, address=b.where, plan=str(plans[b.board_id]))
        run_no = len(state["runs"]) + 1
        state["runs"].append({"n": run_no, "started_at": _now(), "limit": limit,
                              "boards": [b.board_id for b in boards]})
        _save_state(out_dir, state)
        echo(f"fleet run {fleet_id} ({'continued, run ' + str(run_no) if resumed else 'new'}): "
             f"{len(boards)} board{'s' if len(boards) != 1 else ''} ({', '.join(b.board_id for b in boards)}) -> {out_dir}")

        pdd = out_dir / "ansible"
        logs = out_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        archive = pack_project(pdd / "project.tar.gz", skip=(out_dir,))
        outcomes = {b.board_id: BoardOutcome(b) for b in boards}

        def on_job(host: str, job: dict) -> None:
            state["boards"][host]["job"] = job  # a re-run waits for it if it still runs
            _save_state(out_dir, state)

        handler = FleetProgress(outcomes, echo, on_job, logs, wait_note_s=max(60.0, poll_s))
        extravars = {
            "fleet_run_id": fleet_id, "fleet_out": str(out_dir), "fleet_archive": str(archive),
            "fleet_plans": {k: str(v) for k, v in plans.items()}, "fleet_lang": lang,
            "fleet_poll_s": max(1, int(round(poll_s))), "fleet_timeout_s": int(timeout_s),
            "fleet_jobs": {h: v["job"] for h, v in state["boards"].items() if v.get("job")},
            # the run-folder names of rklab.runfolder, so that the playbook's checks match the sweep's
            "fleet_sweep_lock": LOCK_FILE, "fleet_sweep_manifest": MANIFEST_FILE, "fleet_boards_dir": FLEET_BOARDS_DIR,
        }
        try:
            runner = ansible_runner.run(
                private_data_dir=str(pdd), project_dir=str(PLAYBOOK.parent), playbook=str(PLAYBOOK),
                inventory=str(inventory), limit=limit, extravars=extravars, envvars=ansible_environment(),
                forks=max(1, len(boards)), event_handler=handler, quiet=True, rotate_artifacts=20,
                ident=f"run-{run_no}",
            )
            artifacts = Path(runner.config.artifact_dir)
            result.interrupted = runner.status == "canceled"  # ansible-runner's SIGINT/SIGTERM handler
            if runner.rc != 0 and not result.interrupted and all(o.t_first is None for o in outcomes.values()):
                tail = _tail((artifacts / "stdout").read_text(encoding="utf-8", errors="replace"), 1)
                raise RklabError(f"ansible-playbook {PLAYBOOK} failed before reaching any board (rc {runner.rc}: "
                                 f"{' '.join(tail.split())[:300]}); see {artifacts / 'stdout'}")
        except KeyboardInterrupt:
            result.interrupted = True
            artifacts = pdd / "artifacts" / f"run-{run_no}"
        if result.interrupted:
            for o in outcomes.values():
                if o.status == "pending" and o.sweep_rc is None:
                    o.status = "interrupted"
                    o.error = ("the fleet command was interrupted" + (
                        "; the sweep goes on on the board" if o.sweep_started else ""))
            echo("interrupted: sweeps already started go on on their boards; run the same command again "
                 "to wait for them and pull their results")
        for o in outcomes.values():
            if o.status == "pending":
                if o.sweep_rc is not None:
                    o.status = "ok" if o.sweep_rc in (0, 1) else "failed"
                else:
                    o.status = "failed"
                    o.error = o.error or f"Ansible gave no result for this board; see {artifacts / 'stdout'}"
            o.entries = _pulled_entries(out_dir / FLEET_BOARDS_DIR / o.board.board_id)
            _record_board(out_dir, fleet_id, run_no, o)
            state["boards"][o.board.board_id].update(status=o.status, updated_at=_now())
            if o.status == "ok" or o.sweep_rc is not None:
                state["boards"][o.board.board_id].pop("job", None)  # that sweep has ended
        result.outcomes = list(outcomes.values())
        state["runs"][-1].update(finished_at=_now(), artifacts=str(artifacts),
                                 outcomes={o.board.board_id: o.status for o in result.outcomes})
        _save_state(out_dir, state)
        if report and sweep_folders(out_dir):
            try:
                result.html_path = fleet_report(out_dir, lang=lang)
            except RklabError as exc:
                result.report_error = str(exc)
    result.seconds = time.monotonic() - t0
    return result


def ansible_environment() -> dict[str, str]:
    """Ansible's settings for the fleet playbook (environment of ansible-playbook)."""
    return {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_PYTHON_INTERPRETER": "auto_silent", "ANSIBLE_DEPRECATION_WARNINGS": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            # modules go through the open SSH connection instead of a file copy each: far fewer round trips
            "ANSIBLE_PIPELINING": "1",
            # this environment's ansible-playbook first, also when .venv/bin is not on PATH
            "PATH": os.pathsep.join([str(Path(ansible_command("ansible-playbook")).parent), os.environ.get("PATH", "")])}


def _record_board(out_dir: Path, fleet_id: str, run_no: int, o: BoardOutcome) -> None:
    rec: dict[str, Any] = {
        "kind": "board", "status": o.status, "board_id": o.board.board_id, "board_profile": o.board.profile,
        "address": o.board.where, "fleet_run_id": fleet_id, "fleet_run": run_no, "task": o.task,
        "sweep_rc": o.sweep_rc, "seconds": round(o.seconds, 3),
        "sweep_seconds": None if o.sweep_seconds is None else round(o.sweep_seconds, 3),
        "ansible_seconds": None if o.ansible_seconds is None else round(o.ansible_seconds, 3),
        "entries": o.entries,
    }
    if o.error:
        rec["error"] = {"task": o.task, "message": o.error}
    RecordWriter(out_dir, filename=FLEET_BOARDS_FILE).append(rec)


def board_records(out_dir: str | os.PathLike) -> list[dict]:
    """The ``kind: board`` records of a fleet folder (every board, every fleet run), oldest first."""
    return read_records(Path(out_dir) / FLEET_BOARDS_FILE)


def fleet_report(out_dir: str | os.PathLike, *, lang: str = "zh", html_path: str | os.PathLike | None = None) -> Path:
    """Merge every board's pulled results into one report (notebook 04 + HTML) in the fleet folder."""
    out_dir = Path(out_dir).expanduser().absolute()
    if not (out_dir / FLEET_MANIFEST_FILE).is_file():
        raise RklabError(f"{out_dir} is not a fleet folder (no {FLEET_MANIFEST_FILE}); give a folder made by `rklab fleet run`")
    if not sweep_folders(out_dir):
        raise RklabError(f"{out_dir} holds no board results yet ({FLEET_BOARDS_DIR}/<board>/{MANIFEST_FILE}); "
                         "run `rklab fleet run` first")
    state = _load_state(out_dir)
    profiles = [v.get("profile") for v in state.get("boards", {}).values() if v.get("profile")]
    return build_html_report(out_dir, html_path=html_path, lang=lang, board=profiles[0] if profiles else "rk3588-8gb",
                             results_md=out_dir / REPORT_MD)


def format_fleet_summary(result: FleetResult) -> tuple[str, list[str]]:
    """(stdout summary, one error line per board that did not get through) of ``rklab fleet run``."""
    lines = [f"fleet run {result.fleet_run_id} in {result.seconds:.0f} s: {result.out_dir}"]
    errors = []
    for o in result.outcomes:
        b = o.board
        times = ""
        if o.ansible_seconds is not None:
            times = f", sweep {o.sweep_seconds:.0f} s + Ansible {o.ansible_seconds:.0f} s"
        elif o.sweep_seconds is not None:
            times = f", sweep {o.sweep_seconds:.0f} s (started by an earlier run)"
        entries = ", ".join(f"{k} {v}" for k, v in o.entries.items()) or "no results pulled"
        lines.append(f"  {b.board_id} [{b.profile}] {o.status}{times}: {entries}")
        if o.status == "unreachable":
            errors.append(f"board {b.board_id} ({b.where}) is unreachable at '{o.task}': {o.error}; check its address, "
                          "port, user and ssh key in the inventory, then run the same command again (results pulled "
                          "before are kept)")
        elif o.status != "ok":
            errors.append(f"board {b.board_id} ({b.where}) {o.status} at '{o.task}': {o.error}; see "
                          f"{result.out_dir / 'logs' / (b.board_id + '.log')}, then run the same command again")
        elif o.failed_entries:
            lines.append(f"    failed entries on {b.board_id}: {', '.join(o.failed_entries)} "
                         f"(see {result.out_dir / FLEET_BOARDS_DIR / b.board_id})")
    if result.report_error:
        lines.append(f"  merged report not written: {result.report_error}")
    if result.html_path:
        lines.append(f"merged HTML report: {result.html_path}")
    return "\n".join(lines), errors
