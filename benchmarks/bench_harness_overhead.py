"""How much does rklab's measuring cost? Prints two ratios (not a test: run it by hand).

1. Harness decode rate / llama.cpp's own decode rate on the demo model (target >= 0.98).
   Both cover the same N-1 tokens of each run: the harness's wall clock from the first to
   the last token (including Python's per-token loop, argmax and timestamps, with the
   monitor sampling at 10 Hz) against llama.cpp's perf-context eval time.
2. The monitor's CPU cost at 10 Hz as % of one core (target < 1 %): process CPU time over
   ``--seconds`` with the sampler running minus the same span idle; also the sampler
   thread's own CPU time (``Monitor.cpu_time_s``) and the cost per sample.

    .venv/bin/python benchmarks/bench_harness_overhead.py [--reps 5] [--seconds 10] [--threads N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

from rklab.measure.demo_model import fetch_demo
from rklab.measure.monitor import Monitor
from rklab.measure.protocol import BenchConfig, run_llm_benchmark
from rklab.measure.runtimes.llamacpp import LlamaCpp


def harness_ratio(reps: int, threads: int | None, prompt_tokens: int, new_tokens: int) -> dict:
    with LlamaCpp(fetch_demo(), max_context=prompt_tokens + new_tokens + 16, n_threads=threads) as b, \
            Monitor(interval_s=0.1) as mon:
        res = run_llm_benchmark(b, BenchConfig(cases=[(prompt_tokens, new_tokens)], warmup=1, reps=reps,
                                               adaptive=False), monitor=mon, progress=False)
        n_threads = b.n_threads
    ratios = [r["decode_tps"] / r["runtime_decode_tps"] for r in res.runs]
    return {
        "n_threads": n_threads,
        "harness_tps": [round(r["decode_tps"], 2) for r in res.runs],
        "runtime_tps": [round(r["runtime_decode_tps"], 2) for r in res.runs],
        "ratios": [round(x, 4) for x in ratios],
        "median_ratio": statistics.median(ratios),
    }


def monitor_cost(seconds: float, hz: float = 10.0) -> dict:
    c0, t0 = time.process_time(), time.perf_counter()
    time.sleep(seconds)
    idle_cpu, idle_wall = time.process_time() - c0, time.perf_counter() - t0
    mon = Monitor(interval_s=1.0 / hz)
    c0, t0 = time.process_time(), time.perf_counter()
    with mon:
        time.sleep(seconds)
    busy_cpu, busy_wall = time.process_time() - c0, time.perf_counter() - t0
    n = len(mon.samples)
    return {
        "samples": n,
        "idle_cpu_s": idle_cpu,
        "process_pct_of_core": 100.0 * (busy_cpu / busy_wall - idle_cpu / idle_wall),
        "thread_pct_of_core": 100.0 * mon.cpu_time_s / busy_wall,
        "us_per_sample": 1e6 * mon.cpu_time_s / max(n, 1),
        "errors": mon.errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: physical cores)")
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=128)
    args = ap.parse_args()
    print(f"host: {platform.machine()} {platform.node()}, python {platform.python_version()}")
    h = harness_ratio(args.reps, args.threads, args.prompt_tokens, args.new_tokens)
    print(f"demo model SmolLM2-135M Q4_1, pp{args.prompt_tokens}/tg{args.new_tokens}, {h['n_threads']} threads, "
          f"monitor at 10 Hz")
    print(f"  harness decode tok/s : {h['harness_tps']}")
    print(f"  runtime decode tok/s : {h['runtime_tps']}")
    print(f"  ratio per run        : {h['ratios']}")
    print(f"harness/runtime decode ratio (median): {h['median_ratio']:.4f}  (target >= 0.98)")
    m = monitor_cost(args.seconds)
    print(f"monitor at 10 Hz over {args.seconds:.0f} s: {m['samples']} samples, {m['us_per_sample']:.0f} us CPU per sample")
    print(f"monitor CPU cost, process time vs idle: {m['process_pct_of_core']:.3f} % of one core  (target < 1 %)")
    print(f"monitor CPU cost, sampler thread time : {m['thread_pct_of_core']:.3f} % of one core")


if __name__ == "__main__":
    main()
