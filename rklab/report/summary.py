"""Per entry and case: the medians and spread of the measured runs, and the VLM stage breakdown.

Which case stands for an entry in the comparisons (:func:`headline_cases`): the one
:func:`rklab.measure.protocol.match_case` picks for Rockchip's benchmark condition (128 prompt
tokens, 64 new tokens), the same rule notebook 02 uses for its reference rows; all cases stay in
the measured table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rklab.measure.protocol import OFFICIAL_CASE, match_case
from rklab.measure.stats import summarize as summary_of
from rklab.report.frames import any_true, as_float, col, first, max_of, median_of, or_nan

# The stages of a VLM run, image file in -> last token out (see vlm_stages).
VLM_STAGES = ("preprocess_ms", "encoder_ms", "llm_prefill_ms", "other_ms", "decode_ms")
SUMMARY_KEYS = ["board", "entry", "model_name", "backend", "dtype", "kind", "case"]  # board first: one board's entry


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per board, entry and case: medians and spread of the measured runs, memory peaks, stage times.

    Median, sample std, min/max, relative std and the bootstrap CI of the median come from
    :func:`rklab.measure.stats.summarize` (the one summary of repeated measurements in rklab); a single
    run has std and rsd 0 here (nothing to spread).
    """
    if runs.empty:
        return pd.DataFrame()
    rows = []
    for key, g in runs.groupby(SUMMARY_KEYS, dropna=False, sort=False):
        d = dict(zip(SUMMARY_KEYS, key))
        dec = summary_of(col(g, "decode_tps"))
        ttft = summary_of(col(g, "ttft_ms"))
        d.update({
            "board_profile": first(col(g, "board_profile")),
            "n": int(len(g)),
            "prompt_tokens": first(col(g, "prompt_tokens")),
            "new_tokens": first(col(g, "new_tokens")),
            "generated_tokens": median_of(g, "generated_tokens"),
            "max_context": first(col(g, "max_context")),
            "decode_tps": or_nan(dec["median"]),
            "decode_tps_std": dec["std"] or 0.0,
            "decode_tps_min": or_nan(dec["min"]),
            "decode_tps_max": or_nan(dec["max"]),
            "decode_tps_ci_low": or_nan(dec["ci_low"]),
            "decode_tps_ci_high": or_nan(dec["ci_high"]),
            "decode_rsd": dec["rsd"] or 0.0,
            "ttft_ms": or_nan(ttft["median"]),
            "ttft_ms_std": ttft["std"] or 0.0,
            "ttft_rsd": ttft["rsd"] or 0.0,
            "prefill_tps": median_of(g, "prefill_tps"),
            "vmhwm_mb": max_of(g, "vmhwm_mb"),
            "rss_shmem_mb": max_of(g, "rss_shmem_mb"),
            "mem_available_drop_mb": max_of(g, "mem_available_drop_mb"),
            "runtime_memory_mb": max_of(g, "runtime_memory_mb"),
            "encoder_ms": median_of(g, "encoder_ms"),
            "preprocess_ms": median_of(g, "preprocess_ms"),
            "image_prefill_ms": median_of(g, "image_prefill_ms"),
            "ttft_e2e_ms": median_of(g, "ttft_e2e_ms"),
            "e2e_ms": median_of(g, "e2e_ms"),
            "image_tokens": first(col(g, "image_tokens")),
            "text_tokens": first(col(g, "text_tokens")),
            "throttled": any_true(g, "throttled"),  # None: not readable on this host
            "clocks_below_max": any_true(g, "clocks_below_max"),
            "cache_suspected": int(col(g, "cache_suspected").eq(True).sum()),  # runs flagged (rklab.measure.cachecheck)
            "temp_max_c": max_of(g, "temp_end_c"),
            "synthetic": bool(g["synthetic"].any()),
            "model_size_bytes": first(col(g, "model.size_bytes")),
            "runtime_version": first(col(g, "runtime.version")),
            "host_soc": first(col(g, "host.soc")),
            "host_cpu": first(col(g, "host.cpu_model")),
            "host_name": first(col(g, "host.hostname")),
            "clocks_pinned": first(col(g, "host.clocks_pinned")),
            # what the predictions beside the measurement need (rklab.predict.measured.run_prediction)
            "model.path": first(col(g, "model.path")),
            "rss_before_load_mb": first(col(g, "rss_before_load_mb")),
            "host.mem_bandwidth.gbs": first(col(g, "host.mem_bandwidth.gbs")),
            "host.ddr_governor": first(col(g, "host.ddr_governor")),
            "host.npu_governor": first(col(g, "host.npu_governor")),
            "ddr_mhz_mean": median_of(g, "ddr_mhz_mean"),
            "npu_mhz_mean": median_of(g, "npu_mhz_mean"),
            "cpu_mhz_mean": median_of(g, "cpu_mhz_mean"),
            "vision_backend": first(col(g, "vision_backend")),
        })
        rows.append(d)
    return pd.DataFrame(rows)


def matched_case(rows: pd.DataFrame, prompt_tokens=OFFICIAL_CASE[0], new_tokens=OFFICIAL_CASE[1]) -> pd.DataFrame:
    """The row of ``rows`` (one per case) that :func:`match_case` picks for the target; empty if none."""
    i = match_case(zip(col(rows, "prompt_tokens"), col(rows, "new_tokens")), prompt_tokens, new_tokens)
    return rows.iloc[:0] if i is None else rows.iloc[[i]]


def headline_cases(measured: pd.DataFrame) -> pd.DataFrame:
    """One row per board and entry: the case closest to Rockchip's 128 prompt / 64 new tokens."""
    if measured.empty:
        return measured
    picked = [matched_case(g) for _, g in measured.groupby(["board", "entry"], sort=True)]
    return pd.concat(picked).reset_index(drop=True)


def vlm_stages(measured: pd.DataFrame) -> pd.DataFrame:
    """Per VLM entry (headline case): medians of the stages from image file in to last token out.

    ``preprocess_ms``, ``encoder_ms``; ``llm_prefill_ms`` = the runtime's TTFT, i.e. the LLM
    prefill of image + text tokens up to the first token; ``other_ms`` = what ``ttft_e2e_ms``
    (image in -> first token) holds beyond those three (embedding hand-over, prompt building);
    ``decode_ms`` = ``e2e_ms - ttft_e2e_ms`` (first -> last token), as notebook 03 does, because
    RKLLM can stop at EOS before ``new_tokens``; for records without ``e2e_ms`` it is
    (median ``generated_tokens`` - 1) / decode_tps. ``e2e_ms`` is the measured median end to end
    when recorded (else the sum); the stages add up to it (``other_ms`` is clipped at 0 when the
    medians of the parts exceed the median TTFT e2e).
    """
    cols = ["board", "entry", "synthetic", *VLM_STAGES, "e2e_ms", "e2e_measured"]
    if measured.empty or "kind" not in measured.columns:
        return pd.DataFrame(columns=cols)
    m = headline_cases(measured[measured["kind"] == "vlm"]) if (measured["kind"] == "vlm").any() else measured.iloc[:0]
    rows = []
    for _, r in m.iterrows():
        pre, enc, ttft = (as_float(r.get(k)) for k in ("preprocess_ms", "encoder_ms", "ttft_ms"))
        parts = np.nansum([pre, enc, ttft])
        ttft_e2e, e2e = as_float(r.get("ttft_e2e_ms")), as_float(r.get("e2e_ms"))
        other = max(ttft_e2e - parts, 0.0) if np.isfinite(ttft_e2e) else 0.0
        if np.isfinite(e2e):
            first_token = ttft_e2e if np.isfinite(ttft_e2e) else parts + other
            decode = max(e2e - first_token, 0.0)
        else:
            gen = as_float(r.get("generated_tokens"))
            if not np.isfinite(gen):
                gen = as_float(r.get("new_tokens"))
            tps = as_float(r.get("decode_tps"))
            decode = max(gen - 1, 0.0) / tps * 1000.0 if np.isfinite(gen) and np.isfinite(tps) and tps > 0 else 0.0
        stages = {"preprocess_ms": pre, "encoder_ms": enc, "llm_prefill_ms": ttft, "other_ms": other,
                  "decode_ms": decode}
        total = e2e if np.isfinite(e2e) else float(np.nansum(list(stages.values())))
        rows.append({"board": r["board"], "entry": r["entry"], "synthetic": bool(r.get("synthetic")), **stages, "e2e_ms": total,
                     "e2e_measured": bool(np.isfinite(e2e))})
    return pd.DataFrame(rows, columns=cols)
