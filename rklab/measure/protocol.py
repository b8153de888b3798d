"""The LLM benchmark protocol: warmup, repetitions (adaptive), exact-length prompts, per-run metrics.

For each case ``(prompt_tokens, new_tokens)`` (default pp128/tg64 — the case of Rockchip's
table — plus pp512/tg128 and pp1024/tg128):

1. ``warmup`` runs that are measured but not summarised (kept in ``BenchResult.warmups``);
2. ``reps`` measured runs; with ``adaptive`` more runs are added, up to
   ``reps * max_rep_factor``, until the decode rate's relative stddev is below
   ``target_rsd`` (3 %);
3. before each run the process's VmHWM is reset (``echo 5 > /proc/<pid>/clear_refs``) so
   each run's peak is its own (``vmhwm_reset`` says whether that worked; if not, VmHWM is
   the peak since the process started);
4. before each run (warm-ups too) the backend's KV cache is emptied and the prompt starts with
   a per-run prefix, so no runtime prefix cache can serve a repetition's prefill; a repetition
   more than 30 % faster than the median of the earlier ones is flagged ``cache_suspected``
   (:mod:`rklab.measure.cachecheck`).

Per-run metrics (see docs/measurement.md for definitions and sources): wall-clock TTFT
(call to first token), prefill rate = prompt tokens / TTFT, decode rate =
(N-1)/(t_last - t_first), the runtime's own counters, peak VmHWM, MemAvailable drop and
Shmem rise (relative to ``baseline`` — a :func:`rklab.measure.monitor.read_memory` taken before the
model was loaded — when given, else to the start of the run), NPU load mean/max,
temperatures at start/end and two clock flags from the monitor's samples (``clocks_below_max``:
clocks not at max; ``throttled``: thermal/firmware caps lowered). :func:`run_metrics` computes
them for LLM and VLM runs alike.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

import pandas as pd

from rklab.errors import RklabError
from rklab.measure.cachecheck import clear_cache, flag_run
from rklab.measure.monitor import Monitor, host_snapshot, read_memory, reset_peak_rss
from rklab.measure.prompts import BASE_TEXT, approx_text_prompt, exact_token_prompt, run_prefix
from rklab.measure.stats import rsd, summary_table
from rklab.predict.boards import Clocks

DEFAULT_CASES = [(128, 64), (512, 128), (1024, 128)]


@dataclass
class BenchConfig:
    cases: list = field(default_factory=lambda: list(DEFAULT_CASES))
    warmup: int = 1
    reps: int = 5
    adaptive: bool = True
    max_rep_factor: int = 3
    target_rsd: float = 0.03
    ignore_eos: bool = True
    seed: int = 0  # for the bootstrap CI

    def validate(self) -> "BenchConfig":
        cases = []
        for c in self.cases:
            try:
                pp, tg = (int(x) for x in c)
            except (TypeError, ValueError):
                raise RklabError(f"benchmark case {c!r} is not a (prompt_tokens, new_tokens) pair, e.g. (128, 64)")
            if pp < 1 or tg < 1:
                raise RklabError(f"benchmark case pp{pp}/tg{tg}: prompt and new tokens must be at least 1")
            cases.append((pp, tg))
        if not cases:
            raise RklabError("no benchmark cases given; e.g. --prompt-tokens 128 --new-tokens 64")
        self.cases = cases
        if self.reps < 1:
            raise RklabError(f"reps must be at least 1, got {self.reps}")
        if self.warmup < 0:
            raise RklabError(f"warmup must be 0 or more, got {self.warmup}")
        if self.max_rep_factor < 1:
            raise RklabError(f"max_rep_factor must be at least 1, got {self.max_rep_factor}")
        return self


@dataclass
class BenchResult:
    runs: list
    summary: pd.DataFrame
    samples: list
    host: dict
    warmups: list = field(default_factory=list)
    config: dict = field(default_factory=dict)
    backend: dict = field(default_factory=dict)
    aborted: bool = False

    def to_dict(self, with_samples: bool = False) -> dict:
        """JSON-ready: runs, summary (records with raw samples), host, config, backend."""
        summary = self.summary.astype(object).where(self.summary.notna(), None).to_dict(orient="records")
        d = {"backend": self.backend, "config": self.config, "host": self.host, "runs": self.runs,
             "summary": summary, "warmups": self.warmups, "aborted": self.aborted}
        if with_samples:
            d["samples"] = self.samples
        return d


def case_label(prompt_tokens: int, new_tokens: int) -> str:
    return f"pp{prompt_tokens}/tg{new_tokens}"


# Rockchip's benchmark condition (rknn-llm benchmark.md): 128 prompt tokens, 64 new tokens.
OFFICIAL_CASE = (128, 64)


def match_case(cases: Iterable[tuple], prompt_tokens=OFFICIAL_CASE[0], new_tokens=OFFICIAL_CASE[1]) -> int | None:
    """Which of ``cases`` ((prompt tokens, new tokens) pairs) to put beside a number measured at
    ``prompt_tokens`` / ``new_tokens`` (default: Rockchip's 128 / 64): its index, None if there is none.

    The nearest prompt length weighs ten times the nearest new-token count
    (distance ``10 * |dprompt| + |dnew|``); a side that is missing (None/NaN) in the target or in a
    case counts as no difference. Ties go to the first case. Notebook 02 (reference rows) and the
    report (headline case, deviation warnings) both use it, so they compare the same measured case
    with the same reference row.
    """
    def gap(a, b) -> float:
        try:
            d = abs(float(a) - float(b))
        except (TypeError, ValueError):
            return 0.0
        return 0.0 if math.isnan(d) else d

    best, best_d = None, math.inf
    for i, (pp, tg) in enumerate(cases):
        d = 10 * gap(pp, prompt_tokens) + gap(tg, new_tokens)
        if d < best_d:
            best, best_d = i, d
    return best


def _backend_info(backend) -> dict:
    info = {k: getattr(backend, k, None) for k in ("name", "runtime_version", "model_path", "max_context")}
    for k in ("n_threads", "load_ms", "hidden_size"):
        if getattr(backend, k, None) is not None:
            info[k] = getattr(backend, k)
    return info


def _below(f, mx) -> bool:
    return f is not None and mx is not None and f + 0.5 < mx


def throttle_flags(samples: list[dict], max_mhz: dict | None) -> dict:
    """The two clock flags of one run from the monitor samples taken while it ran.

    ``clocks_below_max``: some sampled CPU/NPU/DDR *current* frequency was below its hardware
    maximum (an idle A55 under ondemand counts; it says the clocks were not pinned);
    ``throttled``: thermal/firmware throttling only — a cpufreq policy's ``scaling_max_freq``
    below its ``cpuinfo_max_freq``, or a devfreq ``max_freq`` below the highest of its
    ``available_frequencies``, at some sample of the run. Each is True/False, or None when no
    sample could read the files. ``throttle_detail`` names the first evidence of each.
    """
    max_mhz = max_mhz or {}
    cpu_max = max_mhz.get("cpu") or {}
    below = capped = None
    why_below = why_capped = None
    for s in samples:
        for pol, f in (s.get("cpu_freq_mhz") or {}).items():
            mx = cpu_max.get(pol)
            if f is None or mx is None:
                continue
            below = below or False
            if why_below is None and _below(f, mx):
                below, why_below = True, f"{pol} at {f:.0f} MHz < max {mx:.0f} MHz"
        for pol, cap in (s.get("cpu_cap_mhz") or {}).items():
            mx = cpu_max.get(pol)
            if cap is None or mx is None:
                continue
            capped = capped or False
            if why_capped is None and _below(cap, mx):
                capped, why_capped = True, f"{pol} capped at {cap:.0f} MHz < max {mx:.0f} MHz (throttling)"
        for key in ("npu", "ddr"):
            mx = max_mhz.get(key)
            if mx is None:
                continue
            f, cap = s.get(f"{key}_freq_mhz"), s.get(f"{key}_cap_mhz")
            if f is not None:
                below = below or False
                if why_below is None and _below(f, mx):
                    below, why_below = True, f"{key.upper()} at {f:.0f} MHz < max {mx:.0f} MHz"
            if cap is not None:
                capped = capped or False
                if why_capped is None and _below(cap, mx):
                    capped, why_capped = True, f"{key.upper()} capped at {cap:.0f} MHz < max {mx:.0f} MHz (throttling)"
    detail = "; ".join(w for w in (why_capped, why_below) if w) or None
    return {"clocks_below_max": below, "throttled": capped, "throttle_detail": detail}


def _max_temp(sample: dict | None) -> float | None:
    temps = (sample or {}).get("temps_c") or {}
    vals = [v for v in temps.values() if v is not None]
    return max(vals) if vals else None


def _opt(values) -> list:
    return [v for v in values if v is not None]


def run_samples(monitor: Monitor | None, start_ns: int, res) -> list[dict]:
    """The monitor samples of one run (``start_ns`` .. ``res.end_ns``); those after the first
    token are relabelled ``decode``."""
    if monitor is None or getattr(monitor, "t0_ns", None) is None:
        return []
    window = monitor.samples_between(start_ns, res.end_ns)
    if res.token_ns:
        first = (res.token_ns[0] - monitor.t0_ns) / 1e9
        for s in window:
            if s.get("t_s", 0) >= first and s.get("phase") in ("prefill", "decode", None):
                s["phase"] = "decode"
    return window


def run_metrics(res, *, prompt_tokens: int | None, monitor: Monitor | None = None, start_ns: int | None = None,
                mem_start: dict | None = None, mem_end: dict | None = None, baseline: dict | None = None,
                sample_start: dict | None = None, sample_end: dict | None = None,
                vmhwm_reset: bool | None = None) -> dict:
    """The per-run metrics shared by LLM (:func:`measure_run`) and VLM (``rklab.measure.vlm``) runs.

    ``res`` is the backend's GenerationResult; ``start_ns`` where the run's monitor window
    starts (default: the generate call; a VLM run starts at image-in); ``mem_start`` /
    ``mem_end`` are :func:`rklab.measure.monitor.read_memory` readings around the run, ``baseline``
    one from before the model was loaded (then the MemAvailable drop and Shmem rise include
    the model); ``sample_start`` / ``sample_end`` monitor samples taken just before and after
    (temperatures). ``prefill_ms`` / ``prefill_tps`` are always wall-clock (call -> first
    token); the runtime's own counters are in ``runtime_*``.
    """
    mem_start = mem_start or {}
    mem_end = mem_end or {}
    window = run_samples(monitor, res.start_ns if start_ns is None else start_ns, res)
    mems = window + [mem_end]
    ref = baseline if baseline is not None else mem_start
    avail = _opt(m.get("mem_available_mb") for m in mems)
    shm = _opt(m.get("shmem_mb") for m in mems)
    loads = [s["npu_load"] for s in window if s.get("npu_load")]
    perf = res.perf
    ttft = res.ttft_ms
    if prompt_tokens is None:
        prompt_tokens = res.prompt_tokens or perf.prefill_tokens
    flags = throttle_flags(window, getattr(monitor, "max_freq_mhz", None) if monitor is not None else None)
    return {
        "prompt_tokens": prompt_tokens,
        "generated_tokens": res.n_tokens,
        "ttft_ms": ttft,
        "prefill_ms": ttft,
        "prefill_tps": (prompt_tokens / (ttft / 1000.0)) if ttft and prompt_tokens else None,
        "decode_tps": res.decode_tps,
        "e2e_ms": res.e2e_ms,
        "runtime_prefill_ms": perf.prefill_ms,
        "runtime_prefill_tokens": perf.prefill_tokens,
        "runtime_decode_ms": perf.decode_ms,
        "runtime_decode_tokens": perf.decode_tokens,
        "runtime_prefill_tps": perf.prefill_tps,
        "runtime_decode_tps": perf.decode_tps,
        "runtime_memory_mb": perf.memory_mb,
        "vmhwm_mb": max(_opt([mem_end.get("vmhwm_mb")] + [s.get("vmhwm_mb") for s in window]), default=None),
        "vmrss_mb": max(_opt(m.get("vmrss_mb") for m in mems), default=None),
        "rss_shmem_mb": max(_opt(m.get("rss_shmem_mb") for m in mems), default=None),
        "mem_available_drop_mb": (ref["mem_available_mb"] - min(avail))
        if avail and ref.get("mem_available_mb") is not None else None,
        "shmem_rise_mb": (max(shm) - ref["shmem_mb"]) if shm and ref.get("shmem_mb") is not None else None,
        "npu_load_mean": (sum(sum(l) / len(l) for l in loads) / len(loads)) if loads else None,
        "npu_load_max": max(max(l) for l in loads) if loads else None,
        "temp_start_c": _max_temp(sample_start),
        "temp_end_c": _max_temp(sample_end),
        **flags,
        "final_state": res.final_state,
        "vmhwm_reset": vmhwm_reset,
        "memory_baseline": "before_load" if baseline is not None else "run_start",
        # the process's RSS before the model was loaded: what a predicted model memory adds to
        "rss_before_load_mb": baseline.get("vmrss_mb") if baseline is not None else None,
        # mean clocks while decoding (prefill when no decode sample): the clocks a prediction can be made at
        **{f"{k}_mean": v for k, v in Clocks.mean_of(
            [s for s in window if s.get("phase") == "decode"] or window).to_dict().items()},
        "monitor_samples": len(window),
        "token_offsets_ms": [round(x, 3) for x in res.token_offsets_ms()],
    }


def measure_run(backend, prompt_input: dict, prompt_tokens: int | None, new_tokens: int, *,
                ignore_eos: bool = True, monitor: Monitor | None = None, baseline: dict | None = None,
                label: str = "", pid: int | None = None, proc_root: str = "/proc", cache_prefix: str = "") -> dict:
    """One measured generation from an empty KV cache -> the per-run metrics dict (docs/architecture.md).

    ``cache_prefix`` is the per-run prefix the prompt starts with (recorded, see :mod:`rklab.measure.cachecheck`).
    """
    if monitor is not None:
        pid, proc_root = monitor.pid, monitor.proc_root
    cleared = clear_cache(backend)
    reset_ok = reset_peak_rss(pid, proc_root)
    mem0 = read_memory(pid, proc_root)
    s0 = monitor.sample() if monitor is not None else None
    if monitor is not None:
        monitor.mark("prefill", run=label)
    try:
        res = backend.generate(max_new_tokens=new_tokens, ignore_eos=ignore_eos, **prompt_input)
    finally:
        if monitor is not None:
            monitor.mark("idle")
    mem1 = read_memory(pid, proc_root)
    s1 = monitor.sample() if monitor is not None else None
    metrics = run_metrics(res, prompt_tokens=prompt_tokens, monitor=monitor, mem_start=mem0, mem_end=mem1,
                          baseline=baseline, sample_start=s0, sample_end=s1, vmhwm_reset=reset_ok)
    return {"case": label.split("#")[0], "new_tokens": new_tokens, **metrics, "kv_cache_cleared": cleared,
            "cache_prefix": cache_prefix}


def run_prompt(backend, prompt_tokens: int, n: int, exact: bool, words_per_token: float) -> tuple[dict, str]:
    """The input of the benchmark's ``n``-th run and its prefix: :func:`rklab.measure.prompts.run_prefix`, then
    the passage; exactly ``prompt_tokens`` token ids when ``exact`` (the backend tokenizes), else text of
    about that many tokens."""
    prefix = run_prefix(n)
    if exact:
        return {"token_ids": exact_token_prompt(backend.tokenize, prompt_tokens, text=prefix + BASE_TEXT)}, prefix
    return {"prompt": approx_text_prompt(prompt_tokens, words_per_token=words_per_token, prefix=prefix)}, prefix


def context_error(pp: int, tg: int, max_context: int, fix: str = "use a larger --context or a shorter prompt",
                  name: str = "max_context"):
    """The one-line error for a case that does not fit: prompt + new tokens must be < the context.

    RKLLM needs ``max_context_len`` to exceed prompt + new tokens; rklab applies the same rule to
    every backend so a case is refused (or not) the same way everywhere.
    """
    return RklabError(f"case {case_label(pp, tg)} needs {pp + tg} tokens but {name} is {max_context}: "
                      f"prompt + new tokens must be less than the context; {fix}")


def run_llm_benchmark(backend, config: BenchConfig | None = None, *, monitor: Monitor | None = None,
                      progress: bool = True, on_run: Callable[[dict], None] | None = None,
                      baseline: dict | None = None, should_stop: Callable[[], bool] | None = None) -> BenchResult:
    """Run every case of ``config`` on an open backend and summarise.

    ``on_run(run_dict)`` is called after each measured (not warmup) run. ``baseline`` is a
    :func:`rklab.measure.monitor.read_memory` reading taken before the model was loaded; with it the
    MemAvailable drop and Shmem rise include the model itself. ``should_stop()`` (e.g.
    ``MemoryGuard.should_stop``) is asked before every run: when True no further run starts and
    the result is ``aborted``.

    On a backend with ``set_max_new_tokens`` (RKLLM) the load-time token limit is set to each
    case's new tokens; on runtime 1.2.3 that reloads the model whenever the limit changes
    between consecutive cases, and the first measured run after a reload carries the reload's
    wall time as ``reload_ms``.
    """
    cfg = (config or BenchConfig()).validate()
    max_ctx = int(getattr(backend, "max_context", 0) or 0)
    for pp, tg in cfg.cases:
        if max_ctx and pp + tg >= max_ctx:
            raise context_error(pp, tg, max_ctx)
    from tqdm.auto import tqdm

    total = sum(cfg.warmup + cfg.reps for _ in cfg.cases)
    bar = tqdm(total=total, disable=not progress, desc="bench", unit="run", leave=False)
    runs: list[dict] = []
    warmups: list[dict] = []
    aborted = False
    pid = monitor.pid if monitor is not None else os.getpid()
    proc_root = monitor.proc_root if monitor is not None else "/proc"
    stop = should_stop or (lambda: False)
    n_run = 0  # runs started so far (warm-ups included): numbers the per-run prompt prefix
    try:
        for pp, tg in cfg.cases:
            label = case_label(pp, tg)
            if stop():
                aborted = True
                break
            set_limit = getattr(backend, "set_max_new_tokens", None)
            reload_ms = None
            if set_limit is not None:
                # RKLLM 1.2.3 fixes max_new_tokens at load: reload with this case's length so the
                # runtime's own counters cover exactly the asked tokens (1.3.0: no reload).
                if set_limit(tg):
                    reload_ms = getattr(backend, "load_ms", None)
            can_tokenize = backend.tokenize("a") is not None
            exact = pp if can_tokenize else None
            words_per_token = 0.75

            def one_run(tag: str) -> dict:
                """One run of this case (its own prompt prefix: no cache can serve it), not yet recorded."""
                nonlocal n_run
                prompt_input, prefix = run_prompt(backend, pp, n_run, exact is not None, words_per_token)
                n_run += 1
                r = measure_run(backend, prompt_input, exact, tg, ignore_eos=cfg.ignore_eos, monitor=monitor,
                                baseline=baseline, label=f"{label}#{tag}", pid=pid, proc_root=proc_root,
                                cache_prefix=prefix)
                r["prompt_tokens_source"] = "exact" if exact else "runtime"
                return r

            bar.set_description(label)
            for w in range(cfg.warmup):
                if stop():
                    aborted = True
                    break
                r = one_run(f"w{w}")
                r.update(rep=-(w + 1), warmup=True)
                warmups.append(r)
                bar.update(1)
                if r["final_state"] == "aborted":
                    aborted = True
                    break
                if exact is None and r.get("runtime_prefill_tokens"):
                    # recalibrate the text length towards pp tokens
                    words_per_token *= pp / r["runtime_prefill_tokens"]
            if aborted:
                break
            decode_rates: list = []
            case_runs: list = []
            limit = cfg.reps * (cfg.max_rep_factor if cfg.adaptive else 1)
            rep = 0
            while rep < limit:
                if rep >= cfg.reps:
                    spread = rsd(decode_rates)
                    if spread is None or spread < cfg.target_rsd:
                        break
                    bar.total += 1
                    bar.refresh()
                if stop():
                    aborted = True
                    break
                r = one_run(str(rep))
                r.update(rep=rep, warmup=False)
                flag_run(r, case_runs)
                if reload_ms is not None:
                    r["reload_ms"], reload_ms = reload_ms, None
                runs.append(r)
                case_runs.append(r)
                decode_rates.append(r["decode_tps"])
                bar.update(1)
                if on_run is not None:
                    on_run(r)
                rep += 1
                if r["final_state"] == "aborted":
                    aborted = True
                    break
            if aborted:
                break
    finally:
        bar.close()
    sys_root = monitor.sys_root if monitor is not None else "/sys"
    host = host_snapshot(proc_root=proc_root, sys_root=sys_root,
                         runtime_version=getattr(backend, "runtime_version", None))
    return BenchResult(
        runs=runs,
        summary=summary_table(runs, seed=cfg.seed),
        samples=list(monitor.samples) if monitor is not None else [],
        host=host,
        warmups=warmups,
        config=asdict(cfg),
        backend=_backend_info(backend),
        aborted=aborted,
    )
