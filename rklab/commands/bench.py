"""``rklab bench llm ...`` (LLM protocol on llama.cpp or RKLLM) and ``rklab bench vlm --demo``.

Thin shell: :func:`rklab.measure.protocol.run_llm_benchmark` does the work. Progress bars go to
stderr, so ``--json`` output on stdout stays clean.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

from rklab.errors import RklabError
from rklab.paths import ensure_writable_dir
from rklab.records import ensure_free_space, json_default
from rklab.runfolder import is_sweep


def _cases(prompt_tokens: list[int] | None, new_tokens: list[int] | None) -> list[tuple[int, int]]:
    """Pair --prompt-tokens with --new-tokens (a single value on either side is broadcast)."""
    from rklab.measure.protocol import DEFAULT_CASES

    if not prompt_tokens and not new_tokens:
        return list(DEFAULT_CASES)
    pps = prompt_tokens or [128]
    tgs = new_tokens or [64]
    if len(pps) == 1:
        pps = pps * len(tgs)
    if len(tgs) == 1:
        tgs = tgs * len(pps)
    if len(pps) != len(tgs):
        raise RklabError(
            f"--prompt-tokens has {len(pps)} values and --new-tokens {len(tgs)}; give the same number, or one of either"
        )
    return list(zip(pps, tgs))


def _check_numbers(args, **minimums) -> None:
    """Refuse option values below their minimum, naming the option (``--reps 0``)."""
    for name, low in minimums.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            if v < low:
                opt = "--" + name.replace("_", "-")
                raise RklabError(f"{opt} {v} is not allowed; it must be at least {low}")


def _fmt(v, digits=1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{digits}f}"


def format_llm_table(result, load: dict | None = None) -> str:
    """Human-readable summary: one line per case with medians and the decode CI."""
    s = result.summary
    b = result.backend
    h = result.host
    lines = [
        f"backend {b.get('name')} ({b.get('runtime_version')}), model {b.get('model_path')}, "
        f"context {b.get('max_context')}" + (f", threads {b['n_threads']}" if b.get("n_threads") else ""),
        f"measured on {h.get('board_model') or h.get('cpu_model')} ({h.get('machine')}, kernel {h.get('kernel')}), "
        f"clocks pinned: {h.get('clocks_pinned')}",
    ]
    if load:
        lines.append(f"load {_fmt(load.get('load_ms'), 0)} ms, VmHWM after load {_fmt(load.get('vmhwm_mb'))} MB")
    header = f"{'case':<16}{'n':>3}{'TTFT ms':>10}{'prefill t/s':>13}{'decode t/s':>12}{'95% CI':>17}" \
             f"{'runtime dec t/s':>17}{'VmHWM MB':>10}"
    lines += [header, "-" * len(header)]

    def get(case, metric, col="median"):
        row = s[(s["case"] == case) & (s["metric"] == metric)]
        return None if row.empty else row.iloc[0][col]

    for case in dict.fromkeys(r["case"] for r in result.runs):
        ci = f"[{_fmt(get(case, 'decode_tps', 'ci_low'))}, {_fmt(get(case, 'decode_tps', 'ci_high'))}]"
        n = get(case, "decode_tps", "n") or get(case, "ttft_ms", "n") or 0
        lines.append(
            f"{case:<16}{int(n):>3}{_fmt(get(case, 'ttft_ms')):>10}{_fmt(get(case, 'prefill_tps')):>13}"
            f"{_fmt(get(case, 'decode_tps')):>12}{ci:>17}{_fmt(get(case, 'runtime_decode_tps')):>17}"
            f"{_fmt(get(case, 'vmhwm_mb')):>10}"
        )
    lines.append("medians over the measured runs; TTFT and rates are wall-clock (docs/measurement.md)")
    if result.aborted:
        lines.append("ABORTED: the benchmark was stopped before all runs finished")
    return "\n".join(lines)


def _bench_llm(args) -> int:
    from rklab.measure.modelfiles import check_context, check_model_file, describe, require_identity
    from rklab.measure.monitor import Monitor, read_memory
    from rklab.measure.protocol import BenchConfig, run_llm_benchmark
    from rklab.measure.runtimes.factory import BACKENDS, open_backend, resolve_model_path

    _check_numbers(args, prompt_tokens=1, new_tokens=1, reps=1, warmup=0, context=1, threads=1, hz=0)
    cases = _cases(args.prompt_tokens, args.new_tokens)
    config = BenchConfig(cases=cases, warmup=args.warmup, reps=args.reps, adaptive=not args.no_adaptive).validate()
    from rklab.measure.protocol import context_error

    for pp, tg in cases:
        if pp + tg >= args.context:  # checked before the model is loaded
            raise context_error(pp, tg, args.context, "raise --context or shorten the prompt", name="--context")
    out_dir = ensure_writable_dir(args.out) if args.out else None
    if out_dir is not None:
        if is_sweep(out_dir):
            raise RklabError(f"--out {out_dir} is a sweep folder: its report would mix these runs with the plan's; "
                             "give another folder")
        ensure_free_space(out_dir)
    model_file = resolve_model_path(args.backend, args.model)
    fmt = BACKENDS[args.backend]
    check_model_file(model_file, fmt)
    name, dtype = _name_and_dtype(args, model_file)
    check_context(args.context, name, model_file, fmt)
    identity = require_identity(model_file, fmt, name, dtype, force=args.force_model, how="cli")
    kwargs = {"max_context": args.context}
    if args.backend == "llamacpp" and args.threads:
        kwargs["n_threads"] = args.threads
    if args.backend == "rkllm":
        # 1.2.3 fixes it at load: the first case's count; the protocol reloads when it changes
        kwargs["max_new_tokens"] = cases[0][1]
    monitor = Monitor(interval_s=1.0 / args.hz) if args.hz > 0 else None
    baseline = read_memory()
    if monitor:
        monitor.start()
        monitor.mark("load")
    try:
        t0 = time.perf_counter_ns()
        backend = open_backend(args.backend, model_file, **kwargs)
        load_ms = (time.perf_counter_ns() - t0) / 1e6
        after = read_memory()
        load = {
            "load_ms": load_ms,
            "vmhwm_mb": after.get("vmhwm_mb"),
            "mem_available_drop_mb": (baseline["mem_available_mb"] - after["mem_available_mb"])
            if baseline.get("mem_available_mb") is not None and after.get("mem_available_mb") is not None else None,
            "shmem_rise_mb": (after["shmem_mb"] - baseline["shmem_mb"])
            if baseline.get("shmem_mb") is not None and after.get("shmem_mb") is not None else None,
        }
        if monitor:
            monitor.mark("idle")
        with backend:
            model_info = describe(backend.model_path)
            recorder = None
            if out_dir is not None:
                model = {"name": name, "dtype": dtype, "kind": "llm", **model_info, "identity": identity}
                recorder = _recorder(args, backend, model, load, out_dir)

            def on_run(run: dict) -> None:
                if recorder is not None:
                    recorder.run({**run, "llm_load_ms": load["load_ms"]})

            result = run_llm_benchmark(backend, config, monitor=monitor, progress=not args.no_progress,
                                       on_run=on_run, baseline=baseline)
    finally:
        if monitor:
            monitor.stop()
    if args.json:
        out = result.to_dict()
        out["load"] = load
        out["model"] = model_info
        if monitor:
            out["monitor"] = {"interval_s": monitor.interval_s, "samples": len(monitor.samples),
                              "cpu_time_s": monitor.cpu_time_s, "errors": monitor.errors}
        json.dump(out, sys.stdout, default=json_default, allow_nan=False, indent=None)
        sys.stdout.write("\n")
    else:
        print(format_llm_table(result, load))
    return 3 if result.aborted else 0


def _name_and_dtype(args, model_file) -> tuple[str, str | None]:
    """The catalog name and dtype the records give the model (from the file name; the demo's own)."""
    from rklab.measure.session import DEMO_DTYPE, DEMO_LLM, catalog_name_for

    if args.model == "demo":
        return DEMO_LLM, DEMO_DTYPE
    return catalog_name_for(model_file), ("w8a8" if args.backend == "rkllm" else _gguf_dtype(model_file))


def _recorder(args, backend, model: dict, load: dict, out_dir):
    """Records with the same conditions as notebook 02 writes (rklab.measure.session.record_base)."""
    from rklab.measure.session import RunRecorder, record_base, runtime_block

    params = {k: v for k, v in vars(args).items() if k != "func"}
    base = record_base(kind="llm", backend=args.backend, model=model, max_context=args.context, params=params,
                       runtime=runtime_block(args.backend, backend), load_ms={"llm_load_ms": load["load_ms"]},
                       source="rklab bench llm")
    return RunRecorder(out_dir, base)


def _gguf_dtype(path: str) -> str | None:
    """The quantisation a GGUF file name states (``...-Q4_K_M.gguf`` -> ``q4_k_m``), else None."""
    import re

    m = re.search(r"(?i)[-_.](q\d(?:_[a-z0-9]+)*|f16|bf16|f32)(?=\.gguf$)", str(path))
    return m.group(1).lower() if m else None


def _bench_vlm(args) -> int:
    if not args.demo:
        raise RklabError(
            "rklab bench vlm runs the demo pair only (use --demo); benchmark a real VLM with notebook 03 or `rklab sweep`"
        )
    _check_numbers(args, reps=1, new_tokens=1)
    if args.image is not None and not os.path.isfile(args.image):
        raise RklabError(f"--image {args.image} does not exist or is not a file; give an image file (PNG/JPEG)")
    from rklab.measure.vlm import run_demo_vlm

    out = run_demo_vlm(reps=args.reps, image=args.image, new_tokens=args.new_tokens)
    if args.json:
        json.dump(_nan_to_none(out), sys.stdout, default=json_default, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    print("VLM demo (SYNTHETIC vision encoder: real timings, meaningless answer)")
    for key, label in (("preprocess_ms", "preprocess ms"), ("encoder_ms", "encoder ms"),
                       ("image_tokens", "image tokens"), ("prefill_ms", "prefill ms"), ("ttft_ms", "TTFT ms"),
                       ("ttft_e2e_ms", "image->first token ms"), ("decode_tps", "decode tok/s"),
                       ("vmhwm_mb", "VmHWM MB")):
        if key in out:
            v = out[key]
            print(f"  {label:<24}{_fmt(v) if isinstance(v, float) else v}")
    if out.get("answer"):
        print(f"  answer: {out['answer']!r}")
    return 0


def _nan_to_none(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nan_to_none(v) for v in obj]
    return obj


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="benchmark an LLM (llama.cpp or RKLLM) or the demo VLM")
    sub = p.add_subparsers(dest="bench_command", metavar="WHAT", required=True)

    llm = sub.add_parser(
        "llm", help="warmup + repeated runs per (prompt, new tokens) case; medians, CIs, memory",
        description="Benchmark protocol of docs/measurement.md. Default cases: pp128/tg64, pp512/tg128, pp1024/tg128.",
    )
    llm.add_argument("--backend", choices=["llamacpp", "rkllm"], default="llamacpp")
    llm.add_argument("--model", required=True, metavar="PATH_OR_demo",
                     help="model file (.gguf for llamacpp, .rkllm for rkllm) or 'demo' (SmolLM2-135M GGUF)")
    llm.add_argument("--prompt-tokens", type=int, nargs="+", metavar="N", help="prompt lengths (default 128 512 1024)")
    llm.add_argument("--new-tokens", type=int, nargs="+", metavar="N", help="tokens to generate (default 64 128 128)")
    llm.add_argument("--reps", type=int, default=5, help="measured runs per case (default 5; adaptive up to 3x)")
    llm.add_argument("--warmup", type=int, default=1, help="warmup runs per case (default 1)")
    llm.add_argument("--context", type=int, default=4096, help="max context of the runtime (default 4096)")
    llm.add_argument("--threads", type=int,
                     help="llama.cpp threads (default: the big cores, RK3588: 4 A76; else physical cores)")
    llm.add_argument("--no-adaptive", action="store_true", help="exactly --reps runs, no extra runs for noisy cases")
    llm.add_argument("--hz", type=float, default=10.0, help="monitor sampling rate (default 10; 0 = off)")
    llm.add_argument("--out", metavar="DIR", help="also append one record per run to DIR/records.jsonl")
    llm.add_argument("--json", action="store_true", help="print a JSON object (runs, summary, host) instead of a table")
    llm.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    llm.add_argument("--force-model", action="store_true",
                     help="measure a file whose header does not match the catalog model its name gives "
                     "(the records say so)")
    llm.set_defaults(func=_bench_llm)

    vlm = sub.add_parser("vlm", help="the demo VLM pair (synthetic encoder + SmolLM2): stage timings")
    vlm.add_argument("--demo", action="store_true", help="run the demo pair (required)")
    vlm.add_argument("--reps", type=int, default=3, help="measured runs (default 3)")
    vlm.add_argument("--new-tokens", type=int, default=32, help="tokens to generate (default 32)")
    vlm.add_argument("--image", metavar="PATH", help="image file (default: the bundled test image)")
    vlm.add_argument("--json", action="store_true", help="print a JSON object")
    vlm.set_defaults(func=_bench_vlm)
