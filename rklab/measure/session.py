"""What notebooks 02 (LLM bench) and 03 (VLM bench) call: one function per notebook.

:func:`run_llm_notebook` / :func:`run_vlm_notebook` do, in order:

1. validate the papermill parameters (one-line :class:`RklabError` naming the bad one);
2. check the model files, hash them for the records;
3. memory pre-flight: the engine's predicted VmHWM (``rklab.predict.feasibility.estimate``) against the
   live MemAvailable (``rklab.measure.guard.preflight``); a predicted OOM is recorded as
   ``skipped_predicted_oom`` and nothing is loaded (unless ``force``);
4. ``raise_oom_score`` (this kernel is the OOM killer's first choice, not JupyterLab), then a
   :class:`rklab.measure.guard.MemoryGuard` (aborts the generation when MemAvailable drops below
   ``mem_floor_mb``; recorded as ``aborted_memory`` with the last sample) and a
   :class:`rklab.measure.monitor.Monitor` (10 Hz samples);
5. open the backend(s) and run the protocol; every measured run is appended at once to
   ``<out_dir>/records.jsonl`` through :class:`rklab.records.RecordWriter` (fsync per record);
6. write the monitor samples beside the records (``<out_dir>/samples-<kind>.jsonl``);
7. return a :class:`BenchOutcome` holding what the notebook cells show.

Guard outcomes (predicted OOM, memory abort) do not raise: the notebook still finishes and shows
why nothing (or only part) was measured; the sweep reads the status from the records. Any other
error writes a ``failed`` record and is raised again so the notebook shows it.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from rklab import i18n, metrics
from rklab.measure.cachecheck import suspected_count
from rklab.measure.demo_model import DEMO_DTYPE
from rklab.measure.demo_model import DEMO_MODEL_NAME as DEMO_LLM
from rklab.errors import MemoryAborted, PredictedOOM, RklabError
from rklab.measure.modelfiles import check_context, check_model_file, describe, require_identity
from rklab.measure.runtimes.factory import BACKENDS as BACKEND_FORMATS
from rklab.nbparams import NOTEBOOK_PARAMETERS, parse_parameters, parse_value
from rklab.records import append_lines, ensure_free_space
from rklab.runfolder import HEARTBEAT_FILE, samples_file

BACKENDS = tuple(BACKEND_FORMATS)
VLM_TEXT_TOKENS = 32  # text tokens of a VLM prompt for the memory pre-flight (image tokens come from the catalog)


@dataclass
class BenchOutcome:
    """Everything a benchmark notebook shows, plus where its records went."""

    kind: str  # "llm" | "vlm"
    status: str  # ok | skipped_predicted_oom | aborted_memory | failed
    message: str
    params: dict
    out_dir: Path
    model: dict
    host: dict = field(default_factory=dict)
    runs: list[dict] = field(default_factory=list)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    samples: list[dict] = field(default_factory=list)
    preflight: dict = field(default_factory=dict)
    estimate: dict = field(default_factory=dict)
    answers: list[dict] = field(default_factory=list)
    synthetic: bool = False
    runtime: dict = field(default_factory=dict)
    encoder: dict = field(default_factory=dict)
    load_ms: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def records_path(self) -> Path:
        from rklab.records import RECORDS_FILE

        return self.out_dir / RECORDS_FILE

    @property
    def measured_on(self) -> str:
        """'measured on <board or machine>, <backend/runtime>' for captions, in the notebook's ``lang``."""
        return self.measured_on_in(self.params.get("lang") or "en")

    def measured_on_in(self, lang: str) -> str:
        """:attr:`measured_on` in ``lang``."""
        t = lambda key, **kw: i18n.text(f"session.{key}", lang, **kw)  # noqa: E731
        h = self.host or {}
        where = h.get("board_model") or t("host", machine=h.get("machine") or platform.machine(),
                                          hostname=h.get("hostname") or "").strip()
        parts = [t("measured_on", where=where)]
        parts += [x for x in (h.get("cpu_model"), self.runtime.get("version") or self.runtime.get("name")) if x]
        if self.encoder:
            parts.append(t("encoder_runtime", backend=self.encoder.get("backend"),
                           version=self.encoder.get("runtime_version") or "-"))
        return ", ".join(parts) + (f" — {t('synthetic_mark')}" if self.synthetic else "")


# --------------------------------------------------------------------------- progress bars

PROGRESS_ENV = "RKLAB_PROGRESS"


def show_progress(progress: bool | None = None) -> bool:
    """Progress bars in the notebook: on by default; ``rklab sweep`` sets RKLAB_PROGRESS=0 for its
    kernels (it shows its own bar), so the saved notebooks carry no bar output."""
    if progress is not None:
        return bool(progress)
    return os.environ.get(PROGRESS_ENV, "1") != "0"


# --------------------------------------------------------------------------- validation

def _typed(notebook: str, p: dict, defaults: dict) -> dict:
    """``p`` with every notebook parameter parsed to its type (rklab.nbparams; a missing or None
    value takes the notebook's default)."""
    given = {k: v for k, v in p.items() if not (v is None and k in defaults)}
    return {**p, **parse_parameters(notebook, {**defaults, **given})}


def validate_cases(cases) -> list[tuple[int, int]]:
    """``[[pp, tg], ...]`` -> list of (prompt tokens, new tokens) with one-line errors."""
    return [tuple(c) for c in parse_value("cases", cases, NOTEBOOK_PARAMETERS["02_llm_bench"]["cases"])]


_COMMON_DEFAULTS = dict(reps=5, warmup=1, lang="zh", mem_floor_mb=300, force=False, force_model=False, max_context=4096)
LLM_DEFAULTS = dict(_COMMON_DEFAULTS, backend="llamacpp", cases=[[128, 64]], adaptive=True)
VLM_DEFAULTS = dict(_COMMON_DEFAULTS, reps=3, llm_backend="llamacpp", vision_backend="onnx", image_size=448,
                    new_tokens=64)


def validate_llm_params(p: dict) -> dict:
    q = _typed("02_llm_bench", p, LLM_DEFAULTS)
    if not q.get("model_path"):
        raise RklabError("parameter model_path is empty; give a .gguf/.rkllm path or 'demo'")
    if q["model_path"] == "demo" and q["backend"] != "llamacpp":
        raise RklabError("parameter model_path='demo' is the SmolLM2 GGUF, which needs backend='llamacpp'")
    q["model"] = q.get("model") or (DEMO_LLM if q["model_path"] == "demo" else Path(str(q["model_path"])).stem)
    q["dtype"] = q.get("dtype") or (DEMO_DTYPE if q["model_path"] == "demo" else "w8a8")
    q["cases"] = [tuple(c) for c in q["cases"]]
    from rklab.measure.protocol import context_error

    for pp, tg in q["cases"]:
        if pp + tg >= q["max_context"]:
            raise context_error(pp, tg, q["max_context"], "raise max_context or use smaller cases")
    q["out_dir"] = str(q.get("out_dir") or default_out_dir("llm"))
    return q


def _recorded_params(notebook: str, given: dict, checked: dict) -> dict:
    """The parameters as the records keep them: as given, but bools and numbers as parsed
    (``force="false"`` is recorded as false) and the output folder as used."""
    specs = NOTEBOOK_PARAMETERS[notebook]
    typed = {k: checked[k] for k, v in given.items()
             if v is not None and k in specs and specs[k].kind in ("bool", "int", "float", "pairs")}
    return {**given, **typed, "out_dir": checked["out_dir"]}


def default_out_dir(kind: str) -> Path:
    """``runs/<timestamp>-02_llm_bench`` (or 03_vlm_bench) when a notebook is run by hand."""
    import datetime as _dt

    from rklab.paths import runs_dir

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return runs_dir() / f"{stamp}-{'02_llm_bench' if kind == 'llm' else '03_vlm_bench'}"


def _resolve_image(path) -> Path:
    """A relative image path as given (cwd), else relative to the project (``data/images/...`` in plans)."""
    from rklab.paths import PROJECT_ROOT

    p = Path(str(path)).expanduser()
    if not p.is_absolute() and not p.exists() and (PROJECT_ROOT / p).exists():
        return PROJECT_ROOT / p
    return p


def validate_vlm_params(p: dict) -> dict:
    q = _typed("03_vlm_bench", p, VLM_DEFAULTS)
    for k in ("encoder_path", "llm_path"):
        if not q.get(k):
            raise RklabError(f"parameter {k} is empty; give a file path or 'demo'")
    if q["llm_path"] == "demo" and q["llm_backend"] != "llamacpp":
        raise RklabError("parameter llm_path='demo' is the SmolLM2 GGUF, which needs llm_backend='llamacpp'")
    if q["encoder_path"] == "demo" and q["vision_backend"] != "onnx":
        raise RklabError("parameter encoder_path='demo' is the synthetic ONNX encoder, which needs vision_backend='onnx'")
    if not q.get("model"):
        q["model"] = DEMO_LLM if q["llm_path"] == "demo" else None
        if q["model"] is None:
            raise RklabError("parameter model is empty; name the VLM as in the catalog, e.g. 'Qwen3-VL-2B'")
    q["images"] = [str(_resolve_image(i)) for i in q.get("images") or []]
    q["core_mask"] = "NPU_CORE_0_1_2" if q.get("core_mask") is None else q["core_mask"]  # 0 is a mask
    q["out_dir"] = str(q.get("out_dir") or default_out_dir("vlm"))
    q["dtype"] = q.get("dtype") or (DEMO_DTYPE if q["llm_path"] == "demo" else "w8a8")
    return q


# --------------------------------------------------------------------------- helpers
def _format(backend: str) -> str:
    return "gguf" if backend == "llamacpp" else "rkllm"


def _resolve_model_file(path: str, backend: str) -> Path:
    if path == "demo":
        from rklab.measure.demo_model import fetch_demo

        return fetch_demo()  # returns at once when cached
    return check_model_file(path, _format(backend))


def _model_block(name: str, path: Path, dtype: str, kind: str) -> dict:
    return {"name": name, "dtype": dtype, "kind": kind, **describe(path)}


def predicted_memory(model: str, dtype: str, max_context: int, prompt_tokens: int, new_tokens: int,
                     with_vision: bool | None = None) -> dict:
    """The engine's prediction for the pre-flight, or ``{}`` (with ``why``) when it has none."""
    try:
        from rklab.predict.feasibility import estimate

        est = estimate(model, dtype=dtype, max_context=max_context, prompt_tokens=prompt_tokens,
                       new_tokens=new_tokens, with_vision=with_vision)
        d = est.to_dict() if hasattr(est, "to_dict") else dict(est)
        return d
    except RklabError as exc:
        return {"why": str(exc)}
    except ImportError as exc:  # the engine module is missing (development tree)
        return {"why": f"no engine ({exc})"}


def _preflight(est: dict, force: bool, what: str) -> dict:
    from rklab.measure.guard import check_predicted_memory

    mem = est.get("memory_mb")
    if mem is None:
        return {"skipped": True, "why": est.get("why", "no prediction for this model/dtype")}
    return check_predicted_memory(float(mem), force=force, what=what)


def _write_samples(out_dir: Path, kind: str, samples: list[dict]) -> Path:
    p = out_dir / samples_file(kind)
    out_dir.mkdir(parents=True, exist_ok=True)
    append_lines(p, [json.dumps(s, default=str) for s in samples])
    return p


def read_samples(out_dir: str | os.PathLike, kind: str) -> list[dict]:
    p = Path(out_dir) / samples_file(kind)
    out = []
    if p.exists():
        for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def _library_of(backend) -> str | None:
    for attr in ("library_path", "library", "lib_path"):
        v = getattr(backend, attr, None)
        if isinstance(v, (str, os.PathLike)):
            return str(v)
    return None


def _host(runtime_version: str | None) -> dict:
    from rklab.measure.monitor import host_snapshot

    return host_snapshot(runtime_version=runtime_version)


def catalog_name_for(path: str | os.PathLike) -> str:
    """The catalog model whose name the file name carries (``Qwen3-0.6B-w8a8.rkllm`` -> ``Qwen3-0.6B``),
    else the file's stem. The longest matching catalog name wins."""
    stem = Path(str(path)).stem
    try:
        from rklab.predict.catalog import load_catalog

        names = list(load_catalog())
    except Exception:  # no catalog in a development tree: the stem is still a name
        return stem
    low = stem.lower()
    hits = [n for n in names if low == n.lower() or low.startswith(n.lower() + "-") or low.startswith(n.lower() + "_")
            or low.startswith(n.lower() + ".")]
    return max(hits, key=len) if hits else stem


def record_base(*, kind: str, backend: str, model: dict, max_context: int, params: dict, host: dict | None = None,
                runtime: dict | None = None, entry: str | None = None, synthetic: bool = False, **extra) -> dict:
    """The conditions every record of a run carries (records.py layout): the one builder used by the
    notebooks and ``rklab bench llm --out``."""
    host = host if host is not None else _host((runtime or {}).get("version"))
    return {"kind": kind, "entry": entry or model.get("name"), "backend": backend, "model": model,
            "max_context": max_context, "host": host, "params": params, "synthetic": synthetic,
            "runtime": runtime or {"name": backend}, "driver_version": host.get("npu_driver_version"), **extra}


def runtime_block(backend_name: str, backend) -> dict:
    """``{name, version, library}`` plus what the backend records about itself (RKLLM: the detected
    header release and how, and the runtime / driver versions and platform its init banner reported)."""
    return {"name": backend_name, "version": getattr(backend, "runtime_version", ""), "library": _library_of(backend),
            **(getattr(backend, "runtime_record", None) or {})}


class RunRecorder:
    """Builds records with all conditions (``base``, see :func:`record_base`) and appends them durably."""

    def __init__(self, out_dir: Path, base: dict):
        from rklab.records import RecordWriter

        self.writer = RecordWriter(out_dir)
        self.base = base
        self.count = 0

    def run(self, metrics: dict) -> dict:
        rec = {**self.base, "status": "ok", "metrics": metrics, "case": metrics.get("case"),
               "prompt_tokens": metrics.get("prompt_tokens"), "new_tokens": metrics.get("new_tokens")}
        self.count += 1
        return self.writer.append(rec)

    def outcome(self, exc: BaseException, extra: dict | None = None) -> dict:
        from rklab.measure.guard import outcome_fields

        rec = {**self.base, **outcome_fields(exc), **(extra or {})}
        if isinstance(exc, MemoryAborted):
            rec["metrics"] = {"runs_before_abort": self.count}
        return self.writer.append(rec)


# --------------------------------------------------------------------------- the guarded run both notebooks share
def _run_guarded(outcome: BenchOutcome, base: dict, *, what: str,
                 load: Callable[[Any], tuple[Any, Any]], run: Callable[..., Any], keep: Callable[[Any], None],
                 partial_summary: Callable[[list[dict]], pd.DataFrame], run_label: Callable[[dict], str],
                 merge_load_ms: bool) -> BenchOutcome:
    """Steps 3-7 of the module docstring, the same for notebooks 02 and 03.

    ``load(monitor) -> (opened, llm_backend)`` opens what is measured (``opened.close()`` is called at
    the end; ``llm_backend`` gives the runtime block and the guard's abort) and may fill
    ``outcome.load_ms``; ``run(opened, monitor=, baseline=, guard=, on_run=)`` runs the benchmark and
    returns its result (``.summary``; ``keep(result)`` takes the rest). ``run_label(run)`` names a run
    in a guard message; ``merge_load_ms`` copies ``outcome.load_ms`` into every run's metrics.
    ``partial_summary(runs)`` summarises the runs measured before a memory abort.
    """
    out, p = outcome.out_dir, outcome.params
    rec = RunRecorder(out, base)
    try:
        outcome.preflight = _preflight(outcome.estimate, p["force"], what)
    except PredictedOOM as exc:
        rec.outcome(exc, {"estimate": outcome.estimate})
        outcome.status, outcome.message = "skipped_predicted_oom", str(exc)
        return outcome
    base["preflight"] = outcome.preflight

    from rklab.measure.guard import MemoryGuard, raise_oom_score
    from rklab.measure.monitor import Monitor, read_memory

    raise_oom_score()
    monitor = Monitor(interval_s=0.1)
    opened = None
    baseline = read_memory()  # before the model is loaded: the MemAvailable drop includes the model
    try:
        with monitor:
            opened, backend = load(monitor)
            runtime = runtime_block(base["backend"], backend)
            base["runtime"] = outcome.runtime = runtime
            base["host"] = outcome.host = _host(runtime["version"])
            with MemoryGuard(floor_mb=p["mem_floor_mb"], on_trip=getattr(backend, "abort", None), monitor=monitor,
                             heartbeat_path=out / HEARTBEAT_FILE) as guard:
                guard.check(f"{p['model']} before the first run")  # already below the floor: do not start

                def on_run(measured: dict):
                    # a run cut short by the guard is not a measurement: record the abort instead
                    guard.check(run_label(measured))
                    if merge_load_ms:
                        measured = {**measured, **outcome.load_ms}
                    rec.run(measured)
                    outcome.runs.append(measured)

                result = run(opened, monitor=monitor, baseline=baseline, guard=guard, on_run=on_run)
                guard.check(f"{p['model']}")  # tripped between runs: the loop stopped, record the abort
        outcome.summary = result.summary
        keep(result)
    except (MemoryAborted, PredictedOOM) as exc:
        rec.outcome(exc)
        outcome.status = "aborted_memory" if isinstance(exc, MemoryAborted) else "skipped_predicted_oom"
        outcome.message = str(exc)
        outcome.summary = partial_summary(outcome.runs) if outcome.runs else pd.DataFrame()
    except BaseException as exc:
        rec.outcome(exc)
        raise
    finally:
        if opened is not None:
            opened.close()
        outcome.samples = list(monitor.samples)
        _write_samples(out, outcome.kind, outcome.samples)
    return outcome


# --------------------------------------------------------------------------- notebook 02
def run_llm_notebook(*, entry: str | None = None, model: str | None = None, backend: str = "llamacpp",
                     model_path: str = "demo", dtype: str | None = None, max_context: int = 4096,
                     cases=((128, 64), (512, 128), (1024, 128)), reps: int = 5, warmup: int = 1,
                     out_dir: str | None = None, lang: str = "zh", mem_floor_mb: float = 300, force: bool = False,
                     adaptive: bool = True, force_model: bool = False, progress: bool | None = None,
                     backend_kwargs: dict | None = None) -> BenchOutcome:
    """Notebook 02: benchmark one LLM with the protocol; a record per measured run.

    ``adaptive`` (an extra parameter, default on): add repetitions (up to 3x ``reps``) until the
    decode rate's relative stddev is below 3 %, as the protocol does.
    """
    params = dict(entry=entry, model=model, backend=backend, model_path=model_path, dtype=dtype,
                  max_context=max_context, cases=[list(c) for c in cases], reps=reps, warmup=warmup,
                  out_dir=out_dir, lang=lang, mem_floor_mb=mem_floor_mb, force=force, adaptive=adaptive,
                  force_model=force_model)
    p = validate_llm_params(params)
    params = _recorded_params("02_llm_bench", params, p)
    out = Path(p["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    ensure_free_space(out, option="out_dir")
    model_file = _resolve_model_file(p["model_path"], p["backend"])
    model_block = _model_block(p["model"], model_file, p["dtype"], "llm")
    check_context(p["max_context"], p["model"], model_file, _format(p["backend"]), option="max_context")
    model_block["identity"] = require_identity(model_file, _format(p["backend"]), p["model"], p["dtype"],
                                               force=p["force_model"])
    biggest = max(p["cases"], key=lambda c: c[0] + c[1])
    est = predicted_memory(p["model"], p["dtype"], p["max_context"], biggest[0], biggest[1])
    host = _host(None)
    base = record_base(kind="llm", entry=p.get("entry") or p["model"], backend=p["backend"], model=model_block,
                       max_context=p["max_context"], host=host, params=params)
    outcome = BenchOutcome(kind="llm", status="ok", message="", params=p, out_dir=out, model=model_block,
                           host=host, estimate=est, runtime={"name": p["backend"]})

    from rklab.measure.protocol import BenchConfig, run_llm_benchmark
    from rklab.measure.runtimes.factory import open_backend

    def load(monitor):
        monitor.mark("load")
        t0 = time.perf_counter_ns()
        kwargs = {"max_context": p["max_context"], **(backend_kwargs or {})}
        if p["backend"] == "rkllm":
            # runtime 1.2.3 takes max_new_tokens at init: load with the first case's count; the
            # protocol reloads (set_max_new_tokens) only when a later case asks a different one,
            # so the runtime ends every case itself and reports its perf block (1.3.0: no reload)
            kwargs.setdefault("max_new_tokens", p["cases"][0][1])
        backend = open_backend(p["backend"], model_file, **kwargs)
        outcome.load_ms = base["load_ms"] = {"llm_load_ms": (time.perf_counter_ns() - t0) / 1e6}
        monitor.mark("idle")
        return backend, backend

    def run(backend, *, monitor, baseline, guard, on_run):
        cfg = BenchConfig(cases=[tuple(c) for c in p["cases"]], warmup=p["warmup"], reps=p["reps"],
                          adaptive=p["adaptive"])
        return run_llm_benchmark(backend, cfg, monitor=monitor, progress=show_progress(progress),
                                 on_run=on_run, baseline=baseline, should_stop=guard.should_stop)

    def keep(result):
        if getattr(result, "host", None):
            outcome.host = result.host

    return _run_guarded(outcome, base, what=f"{p['model']} ({p['dtype']}, context {p['max_context']})",
                        load=load, run=run, keep=keep, partial_summary=_summary_from_runs, merge_load_ms=True,
                        run_label=lambda r: f"{p['model']} run {r.get('case')}#{r.get('rep')}")


def _summary_from_runs(runs: list[dict]) -> pd.DataFrame:
    if not runs:
        return pd.DataFrame()
    df = pd.DataFrame(runs)
    cols = [c for c in ("ttft_ms", "prefill_tps", "decode_tps", "vmhwm_mb") if c in df]
    return df.groupby("case")[cols].median().reset_index()


# --------------------------------------------------------------------------- notebook 03
def run_vlm_notebook(*, entry: str | None = None, model: str | None = None, encoder_path: str = "demo",
                     llm_path: str = "demo", llm_backend: str = "llamacpp", vision_backend: str = "onnx",
                     images=(), image_size: int = 448, core_mask: str = "NPU_CORE_0_1_2",
                     max_context: int = 4096, new_tokens: int = 64, reps: int = 3, warmup: int = 1,
                     out_dir: str | None = None, lang: str = "zh", mem_floor_mb: float = 300, force: bool = False,
                     dtype: str | None = None, prompt: str | None = None, force_model: bool = False,
                     progress: bool | None = None, backend_kwargs: dict | None = None) -> BenchOutcome:
    """Notebook 03: image -> encoder -> LLM, stage by stage; a record per measured run."""
    from rklab.measure import vlm as vlm_mod

    params = dict(entry=entry, model=model, encoder_path=encoder_path, llm_path=llm_path, llm_backend=llm_backend,
                  vision_backend=vision_backend, images=images, image_size=image_size,
                  core_mask=core_mask, max_context=max_context, new_tokens=new_tokens, reps=reps,
                  warmup=warmup, out_dir=out_dir, lang=lang, mem_floor_mb=mem_floor_mb, force=force,
                  force_model=force_model)
    p = validate_vlm_params({**params, "dtype": dtype})
    params = _recorded_params("03_vlm_bench", params, p)
    out = Path(p["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    ensure_free_space(out, option="out_dir")
    images_list = p["images"]
    if not images_list:
        from rklab.measure.vision.testimages import demo_image_path

        images_list = [str(demo_image_path())]
    from rklab.measure.vision.preprocess import load_image

    for img in images_list:  # bad images fail before anything is loaded
        load_image(img)
    llm_file = _resolve_model_file(p["llm_path"], p["llm_backend"])
    enc_file = vlm_mod.resolve_encoder_path(p["encoder_path"])
    if p["encoder_path"] != "demo":
        check_model_file(enc_file, p["vision_backend"], what="vision encoder")
    model_block = _model_block(p["model"], llm_file, p["dtype"], "vlm")
    check_context(p["max_context"], p["model"], llm_file, _format(p["llm_backend"]), option="max_context")
    model_block["identity"] = require_identity(llm_file, _format(p["llm_backend"]), p["model"], p["dtype"],
                                               force=p["force_model"])
    model_block["encoder"] = {"backend": p["vision_backend"], **describe(enc_file)}
    if p["encoder_path"] != "demo":
        model_block["encoder"]["identity"] = require_identity(enc_file, p["vision_backend"], p["model"],
                                                              force=p["force_model"], part="vision",
                                                              what="vision encoder")
    # estimate() adds the model's image tokens itself: pass only the text tokens of the prompt
    est = predicted_memory(p["model"], p["dtype"], p["max_context"], VLM_TEXT_TOKENS, p["new_tokens"],
                           with_vision=True)
    host = _host(None)
    synthetic_guess = p["encoder_path"] == "demo"
    base = record_base(kind="vlm", entry=p.get("entry") or p["model"], backend=p["llm_backend"],
                       vision_backend=p["vision_backend"], model=model_block, max_context=p["max_context"],
                       host=host, params=params, synthetic=synthetic_guess)
    outcome = BenchOutcome(kind="vlm", status="ok", message="", params=p, out_dir=out, model=model_block,
                           host=host, estimate=est, synthetic=synthetic_guess, runtime={"name": p["llm_backend"]})

    def load(monitor):
        kwargs = backend_kwargs
        if p["llm_backend"] == "rkllm":
            kwargs = {"max_new_tokens": p["new_tokens"], **(backend_kwargs or {})}
        pipe = vlm_mod.open_vlm(model=p["model"], encoder_path=str(enc_file), llm_path=str(llm_file),
                                vision_backend=p["vision_backend"], llm_backend=p["llm_backend"],
                                core_mask=p["core_mask"], max_context=p["max_context"],
                                image_size=p["image_size"], monitor=monitor, backend_kwargs=kwargs)
        outcome.synthetic = base["synthetic"] = bool(pipe.synthetic)
        outcome.encoder = base["encoder"] = pipe.encoder.describe()
        outcome.load_ms = {"encoder_load_ms": pipe.encoder.load_ms, "llm_load_ms": pipe.llm_load_ms}
        return pipe, pipe.backend

    def run(pipe, *, monitor, baseline, guard, on_run):
        cfg = vlm_mod.VlmConfig(prompt=prompt or vlm_mod.DEFAULT_PROMPT, new_tokens=p["new_tokens"],
                                reps=p["reps"], warmup=p["warmup"])
        return vlm_mod.run_vlm_benchmark(pipe, images_list, cfg, on_run=on_run, progress=show_progress(progress),
                                         check=lambda: guard.check(f"{p['model']} VLM run"),
                                         should_stop=guard.should_stop)

    def keep(result):
        outcome.answers = result.answers

    return _run_guarded(outcome, base, what=f"{p['model']} with its vision encoder", load=load, run=run,
                        keep=keep, partial_summary=vlm_mod.summarize_vlm_runs, merge_load_ms=False,
                        run_label=lambda r: f"{p['model']} VLM run {r.get('image')}#{r.get('rep')}")


# --------------------------------------------------------------------------- reference rows
_LOAD_TIME_NOTE = re.compile(r"load time|caveat on 0\.8", re.I)


def _nearest_case(runs: pd.DataFrame, prompt_tokens) -> pd.DataFrame:
    if "prompt_tokens" not in runs or runs.empty:
        return runs
    if prompt_tokens is None or pd.isna(prompt_tokens):
        return runs
    target = float(prompt_tokens)
    pts = runs["prompt_tokens"].dropna().unique()
    if len(pts) == 0:
        return runs
    best = min(pts, key=lambda v: abs(float(v) - target))
    return runs[runs["prompt_tokens"] == best]


def reference_comparison(outcome: BenchOutcome, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Reference rows for the same model next to the measured medians, with measured/reference ratios.

    LLM: TTFT, decode tok/s, prefill tok/s, memory (VmHWM) — measured at the case whose prompt
    length is closest to the reference's. VLM: also the vision encoder, where a seed "encoder" time
    that is really a *load* time (its notes say so) is compared with ``encoder_load_ms``.
    Ratios are measured / reference (> 1 means the measured number is larger). Only rows of the SoC
    the run was on count (RK3588 for a host that is not a Rockchip board).
    """
    if reference is None:
        from rklab.predict.reference import load_reference

        reference = load_reference()
    # rows of the SoC the run was on (the reference tables hold four SoCs); off-board hosts: RK3588, the target
    soc = str((outcome.host or {}).get("soc") or "RK3588").upper()
    if "platform" in reference.columns:
        reference = reference[reference["platform"].astype(str).str.upper() == soc]
    lang = outcome.params.get("lang") or "en"  # the conditions in the notebook's language
    ref = reference[reference["model"] == outcome.model.get("name")]
    runs = pd.DataFrame(outcome.runs)
    rows = []
    if ref.empty or runs.empty:
        return pd.DataFrame(columns=["metric", "measured", "reference", "ratio", "source", "reference_by",
                                     "runtime", "board", "conditions", "notes"])
    for _, r in ref.iterrows():
        sel = _nearest_case(runs, r.get("prompt_tokens")) if outcome.kind == "llm" else runs
        measured_case = ", ".join(sorted(map(str, sel["case"].unique()))) if "case" in sel else ""
        cond = []
        for k in ("prompt_tokens", "new_tokens", "max_context", "image_tokens", "memory_kind"):
            v = r.get(k)
            if v is not None and not pd.isna(v) and v != "":
                cond.append(i18n.text(f"session.cond.{k}", lang, value=v if k == "memory_kind" else int(v)))
        pairs = [("ttft_ms", "ttft_ms", 1.0), ("decode_tps", "decode_tps", 1.0), ("prefill_tps", "prefill_tps", 1.0),
                 ("vmhwm_mb", "memory_mb", 1.0)]
        if outcome.kind == "vlm":
            multimodal_row = not (pd.isna(r.get("image_tokens")) and pd.isna(r.get("vision_encoder_s")))
            if not multimodal_row:
                # a text-only row (e.g. "language model only"): its TTFT/prefill are not an image prompt's
                pairs = [x for x in pairs if x[0] not in ("ttft_ms", "prefill_tps")]
            note = str(r.get("notes") or "")
            if _LOAD_TIME_NOTE.search(note):
                pairs.append(("encoder_load_ms", "vision_encoder_s", 1000.0))
            else:
                pairs.append(("encoder_ms", "vision_encoder_s", 1000.0))
        for mkey, rkey, scale in pairs:
            refv = r.get(rkey)
            if refv is None or pd.isna(refv) or mkey not in sel:
                continue
            vals = pd.to_numeric(sel[mkey], errors="coerce").dropna()
            if vals.empty:
                continue
            measured = float(vals.median())
            reference_v = float(refv) * scale
            rows.append({
                "metric": mkey,
                "measured": measured,
                "reference": reference_v,
                "ratio": measured / reference_v if reference_v else None,
                "measured_case": measured_case,
                "source": r.get("source"),
                "reference_by": r.get("reference"),
                "runtime": r.get("runtime"),
                "board": r.get("board"),
                "dtype": r.get("dtype"),
                "conditions": "; ".join(cond),
                "notes": r.get("notes") if not pd.isna(r.get("notes")) else "",
            })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- what the cells show
LLM_VIEW_METRICS = ("ttft_ms", "prefill_tps", "decode_tps", "vmhwm_mb", "mem_available_drop_mb")
VLM_VIEW_METRICS = ("preprocess_ms", "encoder_ms", "encoder_first_ms", "encoder_load_ms", "prefill_ms",
                    "image_prefill_ms", "prefill_tps", "ttft_ms", "ttft_e2e_ms", "decode_tps", "vmhwm_mb",
                    "mem_available_drop_mb")


def llm_summary_view(outcome: BenchOutcome) -> pd.DataFrame:
    """One row per case: runs and the median of each headline metric (with the rsd of decode)."""
    s = outcome.summary
    if s is None or s.empty:
        return pd.DataFrame()
    if "metric" not in s:  # already wide (e.g. after a memory abort)
        return s
    wide = s.pivot_table(index="case", columns="metric", values="median", aggfunc="first")
    cols = [m for m in LLM_VIEW_METRICS if m in wide]
    view = wide[cols].copy()
    n = s.groupby("case")["n"].max()
    view.insert(0, "runs", n)
    if "decode_tps" in set(s["metric"]):
        view["decode_rsd_%"] = s[s["metric"] == "decode_tps"].set_index("case")["rsd"] * 100
    order = [c for c in dict.fromkeys(r.get("case") for r in outcome.runs) if c in view.index]
    view = view.loc[order or list(view.index)]
    view["cache_suspected"] = [cache_suspected_count(outcome.runs, "case", c) for c in view.index]
    return view.reset_index()


def cache_suspected_count(runs: list[dict], key: str, value) -> int:
    """Repetitions flagged ``cache_suspected`` (rklab.measure.cachecheck) among ``runs`` with ``run[key] == value``."""
    return suspected_count([r for r in runs if r.get(key) == value])


def vlm_summary_view(outcome: BenchOutcome) -> pd.DataFrame:
    s = outcome.summary
    if s is None or s.empty:
        return pd.DataFrame()
    cols = ["image", "runs", "image_tokens", "prompt_tokens"] + [m for m in VLM_VIEW_METRICS if m in s]
    view = s[[c for c in cols if c in s]].copy()
    if "image" in view:
        view["cache_suspected"] = [cache_suspected_count(outcome.runs, "image", i) for i in view["image"]]
    return view


def status_markdown(outcome: BenchOutcome, lang: str = "zh") -> str:
    """A short Markdown block in ``lang``: status, where it was measured, pre-flight, records path."""
    t = lambda key, **kw: i18n.text(f"session.{key}", lang, **kw)  # noqa: E731
    st = t(f"status.{outcome.status}") if i18n.has_text(f"session.status.{outcome.status}") else outcome.status
    lines = [f"**{t('status')}: {st}**" + (f" — {outcome.message}" if outcome.message else "")]
    lines.append(f"- {t('model')}: `{outcome.model.get('name')}` ({outcome.model.get('dtype')}), "
                 f"`{outcome.model.get('path')}` [{outcome.model.get('hash')}]")
    lines.append(f"- {outcome.measured_on_in(lang)}")
    pf = outcome.preflight or {}
    if pf.get("skipped"):
        lines.append(f"- {t('preflight_none')} ({pf.get('why')})")
    elif pf:
        lines.append(f"- {t('preflight')}: {_mb(pf.get('predicted_mb'))} MB {t('vs_available')} "
                     f"{_mb(pf.get('available_mb'))} MB" + (f" — {t('forced')}" if pf.get("forced") else ""))
    if outcome.load_ms:
        loads = [f"{metrics.label(k, lang) if k in metrics.METRICS else k}: {v:,.0f}"
                 for k, v in outcome.load_ms.items() if v is not None]
        lines.append("- " + ("；" if lang == "zh" else "; ").join(loads) + f" {t('measured')}")
    lines.append(f"- {t('records')}: `{outcome.records_path}` ({len(outcome.runs)} {t('measured_runs')})")
    flagged = [r for r in outcome.runs if r.get("cache_suspected") is True]
    if flagged:
        lines.append(f"- **{t('cache_flagged', n=len(flagged))}** ("
                     + "; ".join(f"{r.get('case') or r.get('image')}#{r.get('rep')}: {r.get('cache_check')}"
                                 for r in flagged[:3]) + ")")
    if outcome.synthetic:
        lines.append(f"- **{t('synthetic_note')}**")
    return "\n".join(lines)


def _mb(v) -> str:
    try:
        return f"{float(v):,.0f}"
    except (TypeError, ValueError):
        return "-"
