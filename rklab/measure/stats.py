"""Robust summaries of repeated measurements: median, IQR, min/max, bootstrap CI, n.

Why the median and a bootstrap CI: a benchmark on a shared or thermally limited board has
occasional slow outliers (a background job, a throttled second); the median ignores them
and the percentile bootstrap gives a confidence interval without assuming normality.
The bootstrap is seeded, so the same samples always give the same interval.
Mean, sample standard deviation and relative stddev (``rsd`` = std/mean) are kept too:
``rsd`` drives the adaptive repetition rule (as in the Phoronix Test Suite) and the mean
± stddev is what llama-bench prints, for comparison.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

SUMMARY_METRICS = (
    "ttft_ms", "prefill_tps", "decode_tps", "e2e_ms",
    "runtime_prefill_tps", "runtime_decode_tps", "runtime_memory_mb",
    "vmhwm_mb", "vmrss_mb", "rss_shmem_mb", "mem_available_drop_mb", "shmem_rise_mb",
    "npu_load_mean", "npu_load_max", "temp_end_c",
)


def clean(values: Iterable) -> np.ndarray:
    """Finite floats only (None / NaN / inf dropped)."""
    out = []
    for v in values:
        if v is None or isinstance(v, bool):
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return np.asarray(out, dtype=float)


def rsd(values: Iterable) -> float | None:
    """Relative sample standard deviation (std with ddof=1 / mean); None for n < 2 or mean 0."""
    a = clean(values)
    if a.size < 2 or a.mean() == 0:
        return None
    return float(a.std(ddof=1) / abs(a.mean()))


def bootstrap_ci(values: Iterable, *, stat=np.median, ci: float = 0.95, n_boot: int = 2000,
                 seed: int = 0) -> tuple[float | None, float | None]:
    """Percentile bootstrap confidence interval of ``stat`` (default the median)."""
    a = clean(values)
    if a.size == 0:
        return None, None
    if a.size == 1:
        return float(a[0]), float(a[0])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a.size, size=(n_boot, a.size))
    boots = stat(a[idx], axis=1)
    lo, hi = np.quantile(boots, [(1 - ci) / 2, 1 - (1 - ci) / 2])
    return float(lo), float(hi)


def summarize(values: Iterable, *, ci: float = 0.95, n_boot: int = 2000, seed: int = 0) -> dict:
    """n, median, q1, q3, iqr, min, max, mean, std, rsd, ci_low, ci_high (None when n = 0).

    **The** summary of repeated measurements in rklab: use it instead of computing median /
    std / rsd by hand (``rklab.report.summarize`` builds on it; the per-case summaries of the
    LLM and VLM benches can too). Definitions, so every table agrees:

    - ``values``: any iterable; None, NaN, inf and booleans are dropped (:func:`clean`), so a
      pandas column with missing runs can be passed as is; ``n`` counts what is left.
    - ``median``, ``q1``, ``q3``: numpy linear-interpolated quantiles (= pandas ``median()``).
    - ``std``: sample standard deviation (ddof=1), None for n < 2; ``rsd`` = std / |mean|,
      None for n < 2 or mean 0 (callers wanting 0 for "no spread" write ``x["rsd"] or 0.0``).
    - ``ci_low``/``ci_high``: seeded percentile bootstrap of the median (:func:`bootstrap_ci`);
      ``n_boot=0`` skips it (both None) when only the point statistics are needed.
    """
    a = clean(values)
    keys = ("median", "q1", "q3", "iqr", "min", "max", "mean", "std", "rsd", "ci_low", "ci_high")
    if a.size == 0:
        return {"n": 0, **{k: None for k in keys}}
    q1, med, q3 = (float(x) for x in np.quantile(a, [0.25, 0.5, 0.75]))
    lo, hi = bootstrap_ci(a, ci=ci, n_boot=n_boot, seed=seed) if n_boot > 0 else (None, None)
    return {
        "n": int(a.size),
        "median": med,
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
        "min": float(a.min()),
        "max": float(a.max()),
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if a.size > 1 else None,
        "rsd": rsd(a),
        "ci_low": lo,
        "ci_high": hi,
    }


def summary_table(runs: Sequence[dict], metrics: Sequence[str] = SUMMARY_METRICS, by: str = "case",
                  *, seed: int = 0) -> pd.DataFrame:
    """Long table: one row per (case, metric) with :func:`summarize` columns and the raw ``samples``.

    Metrics with no value in any run of a case are left out.
    """
    rows = []
    groups: dict = {}
    for r in runs:
        groups.setdefault(r.get(by), []).append(r)
    for key, rs in groups.items():
        for m in metrics:
            vals = [r.get(m) for r in rs]
            raw = clean(vals)
            if raw.size == 0:
                continue
            rows.append({by: key, "metric": m, **summarize(raw, seed=seed), "samples": raw.tolist()})
    cols = [by, "metric", "n", "median", "q1", "q3", "iqr", "min", "max", "mean", "std", "rsd",
            "ci_low", "ci_high", "samples"]
    return pd.DataFrame(rows, columns=cols)
