"""The benchmark session: what runs in notebook 02's / 03's kernel, and in ``rklab bench``.

:func:`bench_llm` (notebook 02, ``rklab bench llm``) and :func:`bench_vlm` (notebook 03,
``rklab bench vlm``) do, in order:

1. validate the parameters (one-line :class:`RklabError` naming the bad one);
2. check the model files, hash them for the records;
3. the pre-load memory check: the engine's predicted VmHWM (``rklab.predict.feasibility.estimate``)
   against the live MemAvailable (:func:`rklab.measure.guard.check_predicted_memory`); a predicted
   OOM is recorded as ``skipped_predicted_oom`` and nothing is loaded (unless ``force``);
4. ``raise_oom_score`` (this process is the OOM killer's first choice, not JupyterLab), then a
   :class:`rklab.measure.guard.MemoryGuard` (aborts the generation when MemAvailable drops below
   ``mem_floor_mb``; recorded as ``aborted_memory`` with the last sample) and a
   :class:`rklab.measure.monitor.Monitor` (10 Hz samples);
5. open the backend(s) and run the protocol; every measured run is appended at once to
   ``<out_dir>/records.jsonl`` through :class:`rklab.records.RecordWriter` (fsync per record);
6. write the monitor samples beside the records (``<out_dir>/samples-<kind>.jsonl``);
7. return a :class:`rklab.measure.outcome.BenchOutcome`; :mod:`rklab.measure.outcome` turns it into what
   the notebook cells (or the CLI) show.

With ``record=False`` (``rklab bench`` without ``--out``) nothing is written to disk; steps 3-5
are the same. Guard outcomes (predicted OOM, memory abort) do not raise: the notebook still
finishes and shows why nothing (or only part) was measured; the sweep reads the status from the
records. Any other error writes a ``failed`` record and is raised again so the notebook shows it —
except a bad model file or runtime library found while loading (an :class:`RklabError` before the
model is loaded): that is bad input, and bad input never touches the results folder.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from rklab.errors import MemoryAborted, PredictedOOM, RklabError
from rklab.measure import vlm as vlm_mod
from rklab.measure.demo_model import DEMO_DTYPE, fetch_demo
from rklab.measure.demo_model import DEMO_MODEL_NAME as DEMO_LLM
from rklab.measure.guard import DEFAULT_FLOOR_MB, MemoryGuard, check_predicted_memory, outcome_fields, raise_oom_score
from rklab.measure.modelfiles import check_context, check_model_file, describe, require_identity
from rklab.measure.monitor import Monitor, host_snapshot, read_memory
from rklab.measure.outcome import BenchOutcome
from rklab.measure.protocol import DEFAULT_CASES, BenchConfig, context_error, run_llm_benchmark
from rklab.measure.runtimes import factory
from rklab.measure.runtimes.factory import BACKENDS as BACKEND_FORMATS
from rklab.measure.vision.preprocess import load_image
from rklab.measure.vision.testimages import demo_image_path
from rklab.nbparams import NOTEBOOK_PARAMETERS, parse_parameters, parse_value
from rklab.paths import PROJECT_ROOT, runs_dir
from rklab.predict.catalog import load_catalog
from rklab.predict.feasibility import estimate
from rklab.records import PROGRESS_ENV, RecordWriter, append_lines, ensure_free_space
from rklab.runfolder import HEARTBEAT_FILE, Status, samples_file

BACKENDS = tuple(BACKEND_FORMATS)
VLM_TEXT_TOKENS = 32  # text tokens of a VLM prompt for the memory pre-flight (image tokens come from the catalog)


# --------------------------------------------------------------------------- progress bars



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


_COMMON_DEFAULTS = dict(reps=5, warmup=1, lang="zh", mem_floor_mb=DEFAULT_FLOOR_MB, force=False, force_model=False, max_context=4096)
LLM_DEFAULTS = dict(_COMMON_DEFAULTS, backend="llamacpp", cases=[[128, 64]], adaptive=True)
VLM_DEFAULTS = dict(_COMMON_DEFAULTS, reps=3, llm_backend="llamacpp", vision_backend="onnx", image_size=448,
                    new_tokens=64)


def validate_llm_params(p: dict) -> dict:
    q = _typed("02_llm_bench", p, LLM_DEFAULTS)
    if not q.get("model_path"):
        raise RklabError("parameter model_path is empty; give a .gguf/.rkllm path or 'demo'")
    if q["model_path"] == "demo" and q["backend"] != "llamacpp":
        raise RklabError("parameter model_path='demo' is the SmolLM2 GGUF, which needs backend='llamacpp'")
    q["model"] = q.get("model") or (DEMO_LLM if q["model_path"] == "demo" else catalog_name_for(q["model_path"]))
    q["dtype"] = q.get("dtype") or default_dtype(q["model_path"], q["backend"])
    q["cases"] = [tuple(c) for c in q["cases"]]
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
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return runs_dir() / f"{stamp}-{'02_llm_bench' if kind == 'llm' else '03_vlm_bench'}"


def _resolve_image(path) -> Path:
    """A relative image path as given (cwd), else relative to the project (``data/images/...`` in plans)."""
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
def _resolve_model_file(path: str, backend: str) -> Path:
    if path == "demo":
        return fetch_demo()  # returns at once when cached
    return check_model_file(path, BACKEND_FORMATS[backend])


def _model_block(name: str, path: Path, dtype: str, kind: str) -> dict:
    return {"name": name, "dtype": dtype, "kind": kind, **describe(path)}


def predicted_memory(model: str, dtype: str, max_context: int, prompt_tokens: int, new_tokens: int,
                     with_vision: bool | None = None) -> dict:
    """The engine's prediction for the pre-load memory check, or ``{"why": ...}`` when it has none."""
    try:
        return estimate(model, dtype=dtype, max_context=max_context, prompt_tokens=prompt_tokens,
                        new_tokens=new_tokens, with_vision=with_vision).to_dict()
    except RklabError as exc:
        return {"why": str(exc)}


def _preflight(est: dict, force: bool, what: str) -> dict:
    """The pre-load memory check's numbers for the record (raises PredictedOOM unless forced)."""
    mem = est.get("memory_mb")
    if mem is None:
        return {"skipped": True, "why": est.get("why", "no prediction for this model/dtype")}
    return check_predicted_memory(float(mem), force=force, what=what)


def _write_samples(out_dir: Path, kind: str, samples: list[dict]) -> Path:
    """Append the monitor samples beside the records (fsync'ed, as the records are)."""
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
    return host_snapshot(runtime_version=runtime_version)


def catalog_name_for(path: str | os.PathLike) -> str:
    """The catalog model whose name the file name carries (``Qwen3-0.6B-w8a8.rkllm`` -> ``Qwen3-0.6B``),
    else the file's stem. The longest matching catalog name wins."""
    stem = Path(str(path)).stem
    names = list(load_catalog())
    low = stem.lower()
    hits = [n for n in names if low == n.lower() or low.startswith(n.lower() + "-") or low.startswith(n.lower() + "_")
            or low.startswith(n.lower() + ".")]
    return max(hits, key=len) if hits else stem


def dtype_from_file_name(path: str | os.PathLike) -> str | None:
    """The quantisation a GGUF file name states (``...-Q4_K_M.gguf`` -> ``q4_k_m``), else None."""
    m = re.search(r"(?i)[-_.](q\d(?:_[a-z0-9]+)*|f16|bf16|f32)(?=\.gguf$)", str(path))
    return m.group(1).lower() if m else None


def default_dtype(model_path: str, backend: str) -> str | None:
    """The dtype to record when none is given: the demo's, else what a GGUF file name says, else
    w8a8 for RKLLM (the family RK3588 runs); None when a GGUF name does not say."""
    if model_path == "demo":
        return DEMO_DTYPE
    if backend == "llamacpp":
        return dtype_from_file_name(model_path)
    return "w8a8"


def record_base(*, kind: str, backend: str, model: dict, max_context: int, params: dict, host: dict | None = None,
                runtime: dict | None = None, entry: str | None = None, synthetic: bool = False, **extra) -> dict:
    """The conditions every record of a run carries (records.py layout), for notebooks 02/03 and
    ``rklab bench --out`` alike."""
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
    """Builds records with all conditions (``base``, see :func:`record_base`) and appends them durably;
    with ``out_dir`` None it only builds them (``rklab bench`` without ``--out``)."""

    def __init__(self, out_dir: Path | None, base: dict):
        self.writer = RecordWriter(out_dir) if out_dir is not None else None
        self.base = base
        self.count = 0

    def _write(self, rec: dict) -> dict:
        return self.writer.append(rec) if self.writer is not None else rec

    def run(self, metrics: dict) -> dict:
        rec = {**self.base, "status": Status.OK, "metrics": metrics, "case": metrics.get("case"),
               "prompt_tokens": metrics.get("prompt_tokens"), "new_tokens": metrics.get("new_tokens")}
        self.count += 1
        return self._write(rec)

    def outcome(self, exc: BaseException, extra: dict | None = None) -> dict:
        rec = {**self.base, **outcome_fields(exc), **(extra or {})}
        if isinstance(exc, MemoryAborted):
            rec["metrics"] = {"runs_before_abort": self.count}
        return self._write(rec)


# --------------------------------------------------------------------------- the guarded run both notebooks share
def _run_guarded(outcome: BenchOutcome, base: dict, *, what: str,
                 load: Callable[[Any, dict], tuple[Any, Any]], run: Callable[..., Any], keep: Callable[[Any], None],
                 partial_summary: Callable[[list[dict]], pd.DataFrame], run_label: Callable[[dict], str],
                 merge_load_ms: bool, monitor_hz: float = 10.0) -> BenchOutcome:
    """Steps 3-7 of the module docstring, the same for LLM and VLM sessions.

    ``load(monitor, baseline) -> (opened, llm_backend)`` opens what is measured (``opened.close()`` is called at
    the end; ``llm_backend`` gives the runtime block and the guard's abort) and may fill
    ``outcome.load_ms``; ``run(opened, monitor=, baseline=, guard=, on_run=)`` runs the benchmark and
    returns its result (``.summary``; ``keep(result)`` takes the rest). ``run_label(run)`` names a run
    in a guard message; ``merge_load_ms`` copies ``outcome.load_ms`` into every run's metrics.
    ``partial_summary(runs)`` summarises the runs measured before a memory abort. ``monitor_hz``
    0: no monitor (the guard still reads MemAvailable itself).
    """
    out, p = outcome.out_dir, outcome.params
    on_disk = out if outcome.recorded else None
    rec = RunRecorder(on_disk, base)
    try:
        outcome.preflight = _preflight(outcome.estimate, p["force"], what)
    except PredictedOOM as exc:
        rec.outcome(exc, {"estimate": outcome.estimate})
        outcome.status, outcome.message = Status.SKIPPED_PREDICTED_OOM, str(exc)
        return outcome
    base["preflight"] = outcome.preflight

    raise_oom_score()
    monitor = Monitor(interval_s=1.0 / monitor_hz) if monitor_hz > 0 else None
    opened = None
    baseline = read_memory()  # before the model is loaded: the MemAvailable drop includes the model
    try:
        with monitor if monitor is not None else contextlib.nullcontext():
            opened, backend = load(monitor, baseline)
            outcome.loaded = True
            runtime = runtime_block(base["backend"], backend)
            base["runtime"] = outcome.runtime = runtime
            base["host"] = outcome.host = _host(runtime["version"])
            with MemoryGuard(floor_mb=p["mem_floor_mb"], on_trip=getattr(backend, "abort", None), monitor=monitor,
                             heartbeat_path=on_disk / HEARTBEAT_FILE if on_disk is not None else None) as guard:
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
        outcome.result = result
        keep(result)
    except (MemoryAborted, PredictedOOM) as exc:
        rec.outcome(exc)
        outcome.status = Status.ABORTED_MEMORY if isinstance(exc, MemoryAborted) else Status.SKIPPED_PREDICTED_OOM
        outcome.message = str(exc)
        outcome.summary = partial_summary(outcome.runs) if outcome.runs else pd.DataFrame()
    except BaseException as exc:
        if outcome.loaded or not isinstance(exc, RklabError):
            rec.outcome(exc)  # a bad model file or runtime library (RklabError before loading) writes nothing
        raise
    finally:
        if opened is not None:
            opened.close()
        if monitor is not None:
            outcome.samples = list(monitor.samples)
            outcome.monitor = {"interval_s": monitor.interval_s, "samples": len(monitor.samples),
                               "cpu_time_s": monitor.cpu_time_s, "errors": monitor.errors}
        if on_disk is not None and outcome.loaded:
            _write_samples(on_disk, outcome.kind, outcome.samples)
    return outcome


# --------------------------------------------------------------------------- LLM: notebook 02, rklab bench llm
def bench_llm(*, entry: str | None = None, model: str | None = None, backend: str = "llamacpp",
              model_path: str = "demo", dtype: str | None = None, max_context: int = 4096,
              cases=DEFAULT_CASES, reps: int = 5, warmup: int = 1, out_dir: str | None = None, lang: str = "zh",
              mem_floor_mb: float = DEFAULT_FLOOR_MB, force: bool = False, adaptive: bool = True,
              force_model: bool = False, progress: bool | None = None, backend_kwargs: dict | None = None,
              monitor_hz: float = 10.0, record: bool = True, source: str | None = None,
              cli: bool = False) -> BenchOutcome:
    """Benchmark one LLM with the protocol, guarded; a record per measured run.

    ``adaptive``: add repetitions (up to 3x ``reps``) until the decode rate's relative stddev is
    below 3 %, as the protocol does. ``force_model``: run a model file whose identity does not match the
    catalog entry (:func:`rklab.measure.modelfiles.require_identity`). ``record=False``: write nothing
    (``out_dir`` unused). ``cli``: messages name the CLI's options (``--context``, ``--force-model``).
    ``monitor_hz``: the monitor's sampling rate (0 = no monitor). ``source`` goes into the records
    (``"rklab bench llm"``); ``backend_kwargs`` to the backend (e.g. ``n_threads``).
    """
    params = dict(entry=entry, model=model, backend=backend, model_path=model_path, dtype=dtype,
                  max_context=max_context, cases=[list(c) for c in cases], reps=reps, warmup=warmup,
                  out_dir=out_dir, lang=lang, mem_floor_mb=mem_floor_mb, force=force, adaptive=adaptive,
                  force_model=force_model)
    p = validate_llm_params(params)
    params = _recorded_params("02_llm_bench", params, p)
    out = Path(p["out_dir"])
    if record:
        out.mkdir(parents=True, exist_ok=True)
        ensure_free_space(out, option="out_dir")
    model_file = _resolve_model_file(p["model_path"], p["backend"])
    model_block = _model_block(p["model"], model_file, p["dtype"], "llm")
    check_context(p["max_context"], p["model"], model_file, BACKEND_FORMATS[p["backend"]],
                  option="--context" if cli else "max_context")
    model_block["identity"] = require_identity(model_file, BACKEND_FORMATS[p["backend"]], p["model"], p["dtype"],
                                               force=p["force_model"], how="cli" if cli else "notebook")
    biggest = max(p["cases"], key=lambda c: c[0] + c[1])
    est = predicted_memory(p["model"], p["dtype"], p["max_context"], biggest[0], biggest[1])
    host = _host(None)
    extra = {"source": source} if source else {}
    base = record_base(kind="llm", entry=p.get("entry") or p["model"], backend=p["backend"], model=model_block,
                       max_context=p["max_context"], host=host, params=params, **extra)
    outcome = BenchOutcome(kind="llm", status=Status.OK, message="", params=p, out_dir=out, model=model_block,
                           host=host, estimate=est, runtime={"name": p["backend"]}, recorded=record)

    def load(monitor, baseline):
        if monitor is not None:
            monitor.mark("load")
        t0 = time.perf_counter_ns()
        kwargs = {"max_context": p["max_context"], **(backend_kwargs or {})}
        if p["backend"] == "rkllm":
            # runtime 1.2.3 takes max_new_tokens at init: load with the first case's count; the
            # protocol reloads (set_max_new_tokens) only when a later case asks a different one,
            # so the runtime ends every case itself and reports its perf block (1.3.0: no reload)
            kwargs.setdefault("max_new_tokens", p["cases"][0][1])
        backend_obj = factory.open_backend(p["backend"], model_file, **kwargs)
        load_ms = (time.perf_counter_ns() - t0) / 1e6
        outcome.load_ms = base["load_ms"] = {"llm_load_ms": load_ms}
        outcome.load_memory = _load_memory(load_ms, baseline, read_memory())
        if monitor is not None:
            monitor.mark("idle")
        return backend_obj, backend_obj

    def run(backend_obj, *, monitor, baseline, guard, on_run):
        cfg = BenchConfig(cases=[tuple(c) for c in p["cases"]], warmup=p["warmup"], reps=p["reps"],
                          adaptive=p["adaptive"])
        return run_llm_benchmark(backend_obj, cfg, monitor=monitor, progress=show_progress(progress),
                                 on_run=on_run, baseline=baseline, should_stop=guard.should_stop)

    def keep(result):
        if getattr(result, "host", None):
            outcome.host = result.host

    return _run_guarded(outcome, base, what=f"{p['model']} ({p['dtype']}, context {p['max_context']})",
                        load=load, run=run, keep=keep, partial_summary=_summary_from_runs, merge_load_ms=True,
                        run_label=lambda r: f"{p['model']} run {r.get('case')}#{r.get('rep')}", monitor_hz=monitor_hz)


def _load_memory(load_ms: float, before: dict, after: dict) -> dict:
    """What loading the model cost: time, VmHWM right after, MemAvailable drop and Shmem rise."""
    def rise(key: str, sign: int) -> float | None:
        if before.get(key) is None or after.get(key) is None:
            return None
        return sign * (after[key] - before[key])

    return {"load_ms": load_ms, "vmhwm_mb": after.get("vmhwm_mb"),
            "mem_available_drop_mb": rise("mem_available_mb", -1), "shmem_rise_mb": rise("shmem_mb", 1)}


def _summary_from_runs(runs: list[dict]) -> pd.DataFrame:
    if not runs:
        return pd.DataFrame()
    df = pd.DataFrame(runs)
    cols = [c for c in ("ttft_ms", "prefill_tps", "decode_tps", "vmhwm_mb") if c in df]
    return df.groupby("case")[cols].median().reset_index()


# --------------------------------------------------------------------------- VLM: notebook 03, rklab bench vlm
def bench_vlm(*, entry: str | None = None, model: str | None = None, encoder_path: str = "demo",
              llm_path: str = "demo", llm_backend: str = "llamacpp", vision_backend: str = "onnx",
              images=(), image_size: int = 448, core_mask: str = "NPU_CORE_0_1_2",
              max_context: int = 4096, new_tokens: int = 64, reps: int = 3, warmup: int = 1,
              out_dir: str | None = None, lang: str = "zh", mem_floor_mb: float = DEFAULT_FLOOR_MB,
              force: bool = False, dtype: str | None = None, prompt: str | None = None, force_model: bool = False,
              progress: bool | None = None, backend_kwargs: dict | None = None, record: bool = True,
              source: str | None = None) -> BenchOutcome:
    """Image -> encoder -> LLM, stage by stage, guarded; a record per measured run.

    ``record=False``: write nothing (``out_dir`` unused); ``source`` goes into the records.
    """
    params = dict(entry=entry, model=model, encoder_path=encoder_path, llm_path=llm_path, llm_backend=llm_backend,
                  vision_backend=vision_backend, images=images, image_size=image_size,
                  core_mask=core_mask, max_context=max_context, new_tokens=new_tokens, reps=reps,
                  warmup=warmup, out_dir=out_dir, lang=lang, mem_floor_mb=mem_floor_mb, force=force,
                  force_model=force_model)
    p = validate_vlm_params({**params, "dtype": dtype})
    params = _recorded_params("03_vlm_bench", params, p)
    out = Path(p["out_dir"])
    if record:
        out.mkdir(parents=True, exist_ok=True)
        ensure_free_space(out, option="out_dir")
    images_list = p["images"] or [str(demo_image_path())]
    for img in images_list:  # bad images fail before anything is loaded
        load_image(img)
    llm_file = _resolve_model_file(p["llm_path"], p["llm_backend"])
    enc_file = vlm_mod.resolve_encoder_path(p["encoder_path"])
    if p["encoder_path"] != "demo":
        check_model_file(enc_file, p["vision_backend"], what="vision encoder")
    model_block = _model_block(p["model"], llm_file, p["dtype"], "vlm")
    check_context(p["max_context"], p["model"], llm_file, BACKEND_FORMATS[p["llm_backend"]], option="max_context")
    model_block["identity"] = require_identity(llm_file, BACKEND_FORMATS[p["llm_backend"]], p["model"], p["dtype"],
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
    extra = {"source": source} if source else {}
    base = record_base(kind="vlm", entry=p.get("entry") or p["model"], backend=p["llm_backend"],
                       vision_backend=p["vision_backend"], model=model_block, max_context=p["max_context"],
                       host=host, params=params, synthetic=synthetic_guess, **extra)
    outcome = BenchOutcome(kind="vlm", status=Status.OK, message="", params=p, out_dir=out, model=model_block,
                           host=host, estimate=est, synthetic=synthetic_guess, runtime={"name": p["llm_backend"]},
                           recorded=record)

    def load(monitor, baseline):
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
