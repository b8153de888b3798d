"""How well does the engine predict official rows it was never fitted on? Leave-one-model-out.

For each language-model shape in data/reference (Qwen3-0.6B; Qwen3-1.7B = Qwen3-VL-2B's language model;
Qwen3-4B; Llama3-8B; ChatGLM3-6B; Phi-3-mini; Qwen2-VL-2B; MiniCPM-V-2.6) the calibration is refitted
without that shape's rows and predicts them. Prints the mean absolute residual per SoC and dtype class, the
averages against the targets (memory 5 %, decode 8 %, TTFT 15 %) as ratios, the largest misses, and the
in-sample residuals for comparison. "soc unseen" rows had no row of their SoC left in the fold, so they
were predicted from the shared physics and the SoC's facts alone.

    .venv/bin/python benchmarks/calibration_loo.py
"""

import time

import pandas as pd

from rklab.predict.calibration import bus_width_evidence, leave_one_model_out, residuals_by_soc, summarize

TARGETS = {"memory_mb": 5.0, "decode_tps": 8.0, "ttft_ms": 15.0}

pd.set_option("display.width", 200)
pd.set_option("display.max_columns", 20)

t0 = time.perf_counter()
loo = leave_one_model_out()
elapsed = time.perf_counter() - t0
rows = loo.dropna(subset=["residual_pct"])

print("Leave-one-model-out: mean |residual| % (and rows) per SoC and dtype class, unseen rows only")
print(summarize(loo).to_string())
print()
print("Per dtype class (all SoCs):")
print(summarize(loo, by=("dtype_class",)).to_string())
print()
print("Averages over all unseen rows against the targets:")
for q, target in TARGETS.items():
    r = rows[rows["quantity"] == q]["residual_pct"].abs()
    print(f"  {q:11s} mean |residual| {r.mean():5.1f} % over {len(r):2d} rows; target {target:4.1f} %; "
          f"ratio {r.mean() / target:.2f} ({'met' if r.mean() <= target else 'MISSED'})")
seen = rows[~rows["soc_unseen"]]
print("  (rows whose SoC still had rows in the fold: " + ", ".join(
    f"{q} {seen[seen['quantity'] == q]['residual_pct'].abs().mean():.1f} %" for q in TARGETS) + ")")
print()
print("Largest misses:")
worst = rows.reindex(rows["residual_pct"].abs().sort_values(ascending=False).index).head(12)
print(worst[["fold", "soc", "model", "dtype", "runtime", "quantity", "quoted", "predicted", "residual_pct",
             "soc_unseen"]].round(1).to_string(index=False))
print()
ins = residuals_by_soc().dropna(subset=["residual_pct"])
print("In sample (fitted on every row), mean |residual| %: " + ", ".join(
    f"{q} {ins[ins['quantity'] == q]['residual_pct'].abs().mean():.1f}" for q in TARGETS))
print()
print("Inferred bus width / DDR clock, decided from calibration (decode residuals of that SoC):")
print(bus_width_evidence().to_string(index=False))
print(f"\n(leave-one-model-out: {rows['fold'].nunique()} folds in {elapsed:.1f} s)")
