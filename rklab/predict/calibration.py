"""Fits the engine's few free constants on ``data/reference`` and shows the residuals.

Reproducible: plain (weighted) least squares with numpy on the rows selected below; nothing random.

- Memory: ``runtime_mb = fixed + fraction x weights_mb`` on the official VmHWM rows, runtime >= 1.2.1
  (not the 1.2.1b1 beta), catalog models, text prompts (language model only).
- Vision buffers: bytes per (patch x vision width) from the official Qwen2-VL-2B encoder memory row
  (1.2.1b1 README, encoder measured alone) and that ViT's quoted size (``reference_models.yaml``).
- Decode: ``1/tps = bytes/BW_eff + fixed`` on the official decode rows of catalog models, weighted so that
  relative errors count (weights 1/y).
- TTFT: ``ttft = fixed + tokens x (per_token + Gparams x k)`` on the official TTFT / prefill rows.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rklab.predict.boards import load_board
from rklab.predict.catalog import get_model, with_llm_only
from rklab.predict.memory import MIB, MemoryConstants, breakdown, kv_bytes_per_token, weight_bytes
from rklab.predict.reference import load_reference, reference_models, runtime_key
from rklab.predict.speed import CALIBRATION_CEILING_GBS, SpeedConstants, decode_bytes_per_token, predict
from rklab.predict.params import compute_params

CALIBRATION_MIN_RUNTIME = runtime_key("1.2.1")
DEFAULT_TOKENS = (128, 64)   # Rockchip's benchmark case, assumed where a row does not state its tokens


@dataclass(frozen=True)
class Calibration:
    memory: MemoryConstants
    speed: SpeedConstants
    memory_rows: int
    decode_rows: int
    ttft_rows: int

    def summary(self) -> dict:
        return {
            "runtime_fixed_mb": round(self.memory.runtime_fixed_mb, 1),
            "runtime_weight_fraction": round(self.memory.runtime_weight_fraction, 4),
            "vision_buffer_bytes_per_patch_dim": round(self.memory.vision_buffer_bytes_per_patch_dim, 1),
            "effective_bandwidth_gbs_rk3588": round(self.speed.bandwidth_efficiency * CALIBRATION_CEILING_GBS, 2),
            "bandwidth_efficiency": round(self.speed.bandwidth_efficiency, 3),
            "decode_fixed_per_token_ms": round(self.speed.fixed_per_token_ms, 2),
            "prefill_fixed_ms": round(self.speed.prefill_fixed_ms, 1),
            "prefill_per_token_ms": round(self.speed.prefill_per_token_ms, 3),
            "prefill_ms_per_token_per_gparam": round(self.speed.prefill_ms_per_token_per_gparam, 3),
            "rows": {"memory": self.memory_rows, "decode": self.decode_rows, "ttft": self.ttft_rows},
        }


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _tokens(row) -> tuple[int, int, bool]:
    """(prompt, new, assumed) of a reference row."""
    p, n = _num(row["prompt_tokens"]), _num(row["new_tokens"])
    assumed = p is None or n is None
    return int(p if p is not None else DEFAULT_TOKENS[0]), int(n if n is not None else DEFAULT_TOKENS[1]), assumed


def _official(df: pd.DataFrame) -> pd.Series:
    return (df["source"] == "official") & df["in_catalog"]


def memory_fit_rows(df: pd.DataFrame) -> pd.Series:
    return (_official(df) & (df["memory_kind"] == "VmHWM") & df["memory_mb"].notna()
            & df["runtime_key"].map(lambda k: k >= CALIBRATION_MIN_RUNTIME))


def _fit_memory(df: pd.DataFrame) -> tuple[float, float, int]:
    rows = df[memory_fit_rows(df)]
    X, y = [], []
    for _, r in rows.iterrows():
        spec = with_llm_only(get_model(r["model"]))
        p, n, _ = _tokens(r)
        w = weight_bytes(spec, r["dtype"]) / MIB
        kv = (p + n) * kv_bytes_per_token(spec) / MIB
        X.append([1.0, w])
        y.append(r["memory_mb"] - w - kv)
    coef, *_ = np.linalg.lstsq(np.array(X), np.array(y), rcond=None)
    return float(coef[0]), float(coef[1]), len(rows)


def _fit_vision_buffers(df: pd.DataFrame) -> float:
    facts = reference_models()
    values = []
    for _, r in df[(df["source"] == "official") & df["vision_memory_mb"].notna()].iterrows():
        f = facts.get(r["model"])
        if not f:
            continue
        patches = (int(r["image_size"]) // int(f["patch"])) ** 2
        rest = r["vision_memory_mb"] - f["vision_params"] * 2 / MIB
        values.append(rest * MIB / (patches * f["vision_hidden"]))
    return float(np.mean(values)) if values else 0.0


def _decode_rows(df):
    return _official(df) & df["decode_tps"].notna()


def _ttft_rows(df):
    return _official(df) & (df["ttft_ms"].notna() | df["prefill_tps"].notna())


def _ttft_of(row) -> float:
    if _num(row["ttft_ms"]) is not None:
        return float(row["ttft_ms"])
    return float(row["prompt_tokens"]) / float(row["prefill_tps"]) * 1000.0


def _fit_speed(df: pd.DataFrame) -> tuple[SpeedConstants, int, int]:
    X, y = [], []
    for _, r in df[_decode_rows(df)].iterrows():
        spec = with_llm_only(get_model(r["model"]))
        p, n, _ = _tokens(r)
        X.append([decode_bytes_per_token(spec, r["dtype"], p + n / 2) / 1e9, 1.0])
        y.append(1.0 / r["decode_tps"])
    X, y = np.array(X), np.array(y)
    coef, *_ = np.linalg.lstsq(X / y[:, None], np.ones_like(y), rcond=None)
    bw = 1.0 / coef[0]
    n_dec = len(y)
    X, y = [], []
    for _, r in df[_ttft_rows(df)].iterrows():
        spec = with_llm_only(get_model(r["model"]))
        p = float(r["prompt_tokens"])
        X.append([1.0, p, p * compute_params(spec) / 1e9])
        y.append(_ttft_of(r))
    X, y = np.array(X), np.array(y)
    tc, *_ = np.linalg.lstsq(X / y[:, None], np.ones_like(y), rcond=None)
    speed = SpeedConstants(bandwidth_efficiency=bw / CALIBRATION_CEILING_GBS, fixed_per_token_ms=coef[1] * 1000,
                           prefill_fixed_ms=float(tc[0]), prefill_per_token_ms=float(tc[1]),
                           prefill_ms_per_token_per_gparam=float(tc[2]))
    return speed, n_dec, len(y)


@functools.lru_cache(maxsize=1)
def calibrate() -> Calibration:
    """The fitted constants (cached: the fit runs once per process)."""
    df = load_reference()
    fixed, frac, n_mem = _fit_memory(df)
    vis = _fit_vision_buffers(df)
    speed, n_dec, n_ttft = _fit_speed(df)
    return Calibration(memory=MemoryConstants(fixed, frac, vis), speed=speed, memory_rows=n_mem,
                       decode_rows=n_dec, ttft_rows=n_ttft)


def _explain_memory(r, pred, used_in_fit, assumed, spec) -> str:
    if not r["in_catalog"]:
        return "model not in the catalog: no prediction"
    kind = str(r["memory_kind"])
    if "RKLLM log" in kind:
        return ("runtime log 'Peak Memory Usage' of one process holding encoder + LLM (runtime 1.2.2), not documented "
                "as VmHWM: not used in the fit; a gap this size is worth measuring on the board")
    if kind != "VmHWM" and kind != "as quoted":
        return f"not comparable: '{kind}' is not the process VmHWM (may count page cache and other processes)"
    if kind == "as quoted":
        return f"seed copy, not a new measurement: {r['notes']}"
    if used_in_fit:
        return "calibration row"
    if "b" in str(r["runtime"]):
        return ("older runtime 1.2.1b1 (beta): its runtime buffers were smaller than 1.2.1+; the residual is that "
                "difference, within 10 % anyway")
    if assumed and _num(r["max_context"]) and r["max_context"] >= 8192:
        gap = r["memory_mb"] - pred
        n = gap * MIB / kv_bytes_per_token(spec)
        return (f"context {int(r['max_context'])} with used tokens not stated (192 assumed): the gap equals the "
                f"resident KV of ~{n:,.0f} more tokens")
    return ""


def memory_residuals() -> pd.DataFrame:
    """Predicted vs quoted memory for every reference row with a memory figure, with an explanation."""
    df = load_reference()
    cal = calibrate()
    fit = memory_fit_rows(df)
    out = []
    for i, r in df[df["memory_mb"].notna()].iterrows():
        pred = spec = None
        p, n, assumed = _tokens(r)
        if r["in_catalog"]:
            spec = get_model(r["model"])
            llm_only = "language model only" in str(r["notes"]) or r["memory_kind"] == "VmHWM"
            if llm_only:
                spec = with_llm_only(spec)
            img = spec.vision.image_tokens if spec.vision else 0
            ctx = int(_num(r["max_context"]) or 4096)
            b = breakdown(spec, r["dtype"], used_tokens=p + n + img, max_context=ctx, with_vision=spec.is_vlm,
                          constants=cal.memory)
            pred = b.memory_mb
        out.append({
            "source": r["source"], "reference": r["reference"], "runtime": r["runtime"], "model": r["model"],
            "memory_kind": r["memory_kind"], "tokens": f"{p}+{n}" + (" (assumed)" if assumed else ""),
            "quoted_mb": r["memory_mb"], "predicted_mb": None if pred is None else round(pred, 1),
            "residual_pct": None if pred is None else round(100 * (pred - r["memory_mb"]) / r["memory_mb"], 1),
            "used_in_fit": bool(fit[i]),
            "explanation": _explain_memory(r, pred, bool(fit[i]), assumed, spec),
        })
    return pd.DataFrame(out)


def speed_residuals() -> pd.DataFrame:
    """Predicted vs quoted decode tok/s and TTFT for every reference row with a speed figure."""
    df = load_reference()
    cal = calibrate()
    board = load_board("rk3588-8gb")
    dec_fit, ttft_fit = _decode_rows(df), _ttft_rows(df)
    out = []
    for i, r in df[df["decode_tps"].notna() | df["ttft_ms"].notna() | df["prefill_tps"].notna()].iterrows():
        if not r["in_catalog"]:
            out.append({"source": r["source"], "reference": r["reference"], "runtime": r["runtime"],
                        "model": r["model"], "explanation": "model not in the catalog: no prediction"})
            continue
        spec = with_llm_only(get_model(r["model"]))
        p, n, assumed = _tokens(r)
        pr = predict(spec, r["dtype"], board, cal.speed, prefill_tokens=p, new_tokens=n)
        q_dec = _num(r["decode_tps"])
        q_ttft = _ttft_of(r) if (_num(r["ttft_ms"]) is not None or (_num(r["prefill_tps"]) and _num(r["prompt_tokens"]))) else None
        note = ""
        if r["source"] == "community":
            note = ("community board: clocks and DDR frequency not stated as pinned (issue 409: 11.29 -> 16.02 tok/s "
                    "after fixing frequencies)")
            if _num(r["max_context"]) and r["max_context"] >= 8192:
                note += "; long context, KV read per token not known"
        elif r["source"] == "seed":
            note = "seed copy of a published figure"
        elif bool(dec_fit[i]) or bool(ttft_fit[i]):
            note = "calibration row"
        out.append({
            "source": r["source"], "reference": r["reference"], "runtime": r["runtime"], "model": r["model"],
            "tokens": f"{p}+{n}" + (" (assumed)" if assumed else ""),
            "quoted_decode_tps": q_dec, "predicted_decode_tps": round(pr.decode_tps, 2),
            "decode_residual_pct": None if q_dec is None else round(100 * (pr.decode_tps - q_dec) / q_dec, 1),
            "quoted_ttft_ms": q_ttft, "predicted_ttft_ms": round(pr.ttft_ms, 1),
            "ttft_residual_pct": None if q_ttft is None else round(100 * (pr.ttft_ms - q_ttft) / q_ttft, 1),
            "bandwidth_pct": round(pr.bandwidth_pct, 1),
            "used_in_fit": bool(dec_fit[i]) or bool(ttft_fit[i]), "explanation": note,
        })
    return pd.DataFrame(out)
