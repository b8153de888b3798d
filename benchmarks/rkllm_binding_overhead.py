"""How much the RKLLM binding itself perturbs what it measures (run against the fake runtime).

Prints, for both ABIs:
- decode ratio = harness decode tok/s ((N-1)/(t_last-t_first), timestamps taken in the callback)
  divided by the runtime's own decode tok/s (perf block); target >= 0.98. The fake sleeps a fixed
  time per token, like a real runtime spends NPU time, so the ratio shows what the ctypes callback,
  the worker thread and the waiting main thread add.
- callback cost per token in microseconds (0 ms per token: pure binding overhead).

Usage: .venv/bin/python benchmarks/rkllm_binding_overhead.py [--tokens 200] [--delay-ms 10]
Needs gcc (builds tests/fakes/rkllm into a temporary folder). Not a test: it prints ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rklab.measure.runtimes.rkllm import RKLLM  # noqa: E402
from tests.fixtures.fake_rkllm import build_fake_rkllm, make_fake_rkllm_model  # noqa: E402


def measure(abi: str, tmp: Path, tokens: int, delay_ms: int, reps: int) -> tuple[float, float]:
    lib = build_fake_rkllm(abi, tmp / abi)
    model = make_fake_rkllm_model(tmp / "model.rkllm")
    os.environ.pop("RKLLM_VERSION", None)
    with RKLLM(model, library=lib, max_context=tokens + 64, max_new_tokens=tokens) as llm:
        os.environ["FAKE_RKLLM_TOKEN_DELAY_MS"] = str(delay_ms)
        ratios = []
        for _ in range(reps):
            res = llm.generate(prompt="benchmark", max_new_tokens=tokens)
            # the fake's generate_time_ms spans first..last token, like the harness's (N-1) interval
            runtime_tps = (res.perf.decode_tokens - 1) / (res.perf.decode_ms / 1000.0)
            ratios.append(res.decode_tps / runtime_tps)
        os.environ["FAKE_RKLLM_TOKEN_DELAY_MS"] = "0"
        costs = []
        for _ in range(reps):
            res = llm.generate(prompt="benchmark", max_new_tokens=tokens)
            costs.append((res.token_ns[-1] - res.token_ns[0]) / 1e3 / (res.n_tokens - 1))
    return statistics.median(ratios), statistics.median(costs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--delay-ms", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        for abi in ("1.2.3", "1.3.0"):
            ratio, cost = measure(abi, Path(d), args.tokens, args.delay_ms, args.reps)
            print(f"RKLLM {abi} (fake runtime, {args.tokens} tokens, {args.delay_ms} ms/token, median of {args.reps}): "
                  f"harness/runtime decode ratio {ratio:.4f} (target >= 0.98); "
                  f"binding cost {cost:.1f} us/token at 0 ms/token")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
