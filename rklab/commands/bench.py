"""``rklab bench llm ...`` (LLM protocol on llama.cpp or RKLLM) and ``rklab bench vlm --demo``.

Thin shell over the benchmark session notebooks 02/03 run (:func:`rklab.measure.session.bench_llm`,
:func:`~rklab.measure.session.bench_vlm`), so the CLI keeps the same promises: the pre-load memory
check, the OOM score, the memory guard (``--mem-floor-mb``). Progress bars go to stderr, so
``--json`` output on stdout stays clean. A guard outcome (predicted out of memory, memory abort) is
one line on stderr and exit status 3.
"""

from __future__ import annotations

import json
import math
import os
import sys

from rklab.errors import RklabError
from rklab.nbparams import DEFAULT_FLOOR_MB
from rklab.paths import ensure_writable_dir


def _cases(prompt_tokens: list[int] | None, new_tokens: list[int] | None,
           default: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Pair --prompt-tokens with --new-tokens (a single value on either side is broadcast); ``default``
    when neither is given."""
    if not prompt_tokens and not new_tokens:
        return list(default)
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
    # the session, the protocol, the runtimes and the records (pandas, numpy, gguf) are imported when the
    # command runs: every `rklab` command builds this parser, and `rklab --help` should not pay for them
    from rklab.measure import modelfiles, protocol, session
    from rklab.measure.runtimes import factory  # as above: start-up cost
    from rklab.records import json_default  # as above: start-up cost
    from rklab.runfolder import is_sweep  # as above: start-up cost (records -> pandas)

    _check_numbers(args, prompt_tokens=1, new_tokens=1, reps=1, warmup=0, context=1, threads=1, hz=0,
                   mem_floor_mb=0)
    cases = _cases(args.prompt_tokens, args.new_tokens, protocol.DEFAULT_CASES)
    protocol.BenchConfig(cases=cases, warmup=args.warmup, reps=args.reps, adaptive=not args.no_adaptive).validate()
    for pp, tg in cases:
        if pp + tg >= args.context:  # checked before the model is loaded
            raise protocol.context_error(pp, tg, args.context, "raise --context or shorten the prompt", name="--context")
    out_dir = ensure_writable_dir(args.out) if args.out else None
    if out_dir is not None and is_sweep(out_dir):
        raise RklabError(f"--out {out_dir} is a sweep folder: its report would mix these runs with the plan's; "
                         "give another folder")
    # the model's own context limit first (named --context), before the notebook parameters' generic ranges
    model_file = factory.resolve_model_path(args.backend, args.model)  # the demo GGUF is llama.cpp's only: said here
    fmt = factory.BACKENDS[args.backend]
    modelfiles.check_model_file(model_file, fmt)
    name = session.DEMO_LLM if args.model == "demo" else session.catalog_name_for(model_file)
    modelfiles.check_context(args.context, name, model_file, fmt)
    kwargs = {"n_threads": args.threads} if args.backend == "llamacpp" and args.threads else {}
    outcome = session.bench_llm(model_path=args.model, backend=args.backend, max_context=args.context, cases=cases,
                                reps=args.reps, warmup=args.warmup, adaptive=not args.no_adaptive,
                                out_dir=str(out_dir) if out_dir else None, record=out_dir is not None,
                                mem_floor_mb=args.mem_floor_mb, force=args.force, force_model=args.force_model,
                                progress=not args.no_progress, backend_kwargs=kwargs, monitor_hz=args.hz,
                                source="rklab bench llm", cli=True)
    _raise_guard_outcome(outcome)
    result = outcome.result
    if args.json:
        out = result.to_dict()
        out["load"] = outcome.load_memory
        out["model"] = outcome.model
        out["preflight"] = outcome.preflight
        if outcome.monitor:
            out["monitor"] = outcome.monitor
        json.dump(out, sys.stdout, default=json_default, allow_nan=False, indent=None)
        sys.stdout.write("\n")
    else:
        print(format_llm_table(result, outcome.load_memory))
    return 3 if result.aborted else 0


def _raise_guard_outcome(outcome) -> None:
    """A predicted OOM or a memory abort as the CLI's one line (exit status 3); records, if any, are kept."""
    if not outcome.ok:
        where = f" (records: {outcome.records_path})" if outcome.recorded else ""
        raise RklabError(f"{outcome.status}: {outcome.message}{where}", exit_code=3)


def _bench_vlm(args) -> int:
    if not args.demo:
        raise RklabError(
            "rklab bench vlm runs the demo pair only (use --demo); benchmark a real VLM with notebook 03 or `rklab sweep`"
        )
    _check_numbers(args, reps=1, new_tokens=1, mem_floor_mb=0)
    if args.image is not None and not os.path.isfile(args.image):
        raise RklabError(f"--image {args.image} does not exist or is not a file; give an image file (PNG/JPEG)")
    # imported when the command runs, as in _bench_llm
    from rklab.measure import outcome, session
    from rklab.records import json_default  # as above: start-up cost

    result = session.bench_vlm(encoder_path="demo", llm_path="demo", images=[args.image] if args.image else [],
                               new_tokens=args.new_tokens, reps=args.reps, warmup=1, max_context=1024,
                               mem_floor_mb=args.mem_floor_mb, force=args.force, progress=False, record=False,
                               source="rklab bench vlm")
    _raise_guard_outcome(result)
    out = outcome.vlm_medians(result)
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
    _guard_options(llm)
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
    _guard_options(vlm)
    vlm.set_defaults(func=_bench_vlm)


def _guard_options(p) -> None:
    """The memory options notebooks 02/03 have as parameters (mem_floor_mb, force)."""
    p.add_argument("--mem-floor-mb", type=float, default=DEFAULT_FLOOR_MB, metavar="MB",
                   help=f"memory guard: stop the run when MemAvailable falls below this (default {DEFAULT_FLOOR_MB:g})")
    p.add_argument("--force", action="store_true",
                   help="run even when the pre-load check predicts the model does not fit in MemAvailable")
