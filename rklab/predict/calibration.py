"""Fits the engine's few free constants on ``data/reference`` and shows the residuals.

Reproducible: plain (weighted) least squares with numpy on the rows selected below; nothing random.
Only the two reference tables are used (``rk3588.csv``, ``other_socs.csv``): official rows of models whose
shape the engine knows (the catalog, or ``reference_models.yaml`` for the older rows' models).

- Memory (VmHWM rows, runtime >= 1.2.1, not the 1.2.1b1 beta; four SoCs)::

      VmHWM - weights - KV(used tokens) = fixed(SoC) + k x Gparams + group_bytes x groups

- Vision buffers: bytes per (patch x vision width) from the official Qwen2-VL-2B encoder memory row
  (1.2.1b1 README, encoder measured alone) and that ViT's quoted size (``reference_models.yaml``).
- Decode (all official decode rows, four SoCs, relative least squares)::

      1000 / tps = bytes / (eff[class] x DRAM GB/s(SoC)) + (F + g x grouped x Gweights) / (cores x NPU GHz)

- TTFT (all official TTFT / prefill rows): the prefill model of :mod:`rklab.predict.speed`. The weight read
  (one pass at the decode's effective bandwidth) is physics, not fitted; (a, b, bg) are fitted on the rows
  with prompts of <= 128 tokens, the attention term on the longer prompts (the only rows where the prompt
  length varies: image prompts of 196 and 256 tokens), the per-SoC scales S on all rows (S(RK3588) = 1);
  alternated until stable. Coefficients that come out negative are dropped (set to 0).

Each SoC enters through its board profile (:data:`CALIBRATION_BOARDS`): DRAM bus, pinned clocks, NPU cores.
:func:`bus_width_evidence` refits with the other candidate buses / DDR clocks of the SoCs whose facts are
not published, :func:`leave_one_model_out` refits without each model in turn and predicts it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from rklab import i18n
from rklab.predict.boards import Board, load_board
from rklab.predict.catalog import get_model
from rklab.predict.memory import (MIB, SCALE_BYTES, MemoryConstants, breakdown, dtype_class, is_grouped,
                                  kv_bytes_per_token, weight_parts)
from rklab.predict.params import count
from rklab.predict.reference import load_reference, reference_models, reference_spec, runtime_key
from rklab.predict.speed import (REFERENCE_CORES, SpeedConstants, attention_units, decode_bytes_per_token,
                                 predict, prefill_gparams, prefill_read_ms, prefill_scale_law, streamed_gweights)

CALIBRATION_MIN_RUNTIME = runtime_key("1.2.1")
DEFAULT_TOKENS = (128, 64)   # Rockchip's benchmark case, assumed where a row does not state its tokens
CALIBRATION_BOARDS = {"RK3588": "rk3588-8gb", "RK3576": "rk3576-8gb", "RK3562": "rk3562-4gb",
                      "RV1126B": "rv1126b-4gb"}
DECODE_CLASSES = ("w8a8", "w4a16")


@dataclass(frozen=True)
class Calibration:
    memory: MemoryConstants
    speed: SpeedConstants
    memory_rows: int
    decode_rows: int
    ttft_rows: int

    def summary(self) -> dict:
        m, s = self.memory, self.speed
        return {
            "runtime_fixed_mb_by_soc": {k: round(v, 1) for k, v in m.runtime_fixed_by_soc.items()},
            "runtime_fixed_mb_other_socs": round(m.runtime_fixed_mb, 1),
            "runtime_mb_per_gparam": round(m.runtime_mb_per_gparam, 1),
            "group_bytes": round(m.group_bytes, 2),
            "vision_buffer_bytes_per_patch_dim": round(m.vision_buffer_bytes_per_patch_dim, 1),
            "decode_efficiency": {k: round(float(v), 3) for k, v in s.efficiency.items()},
            "effective_bandwidth_gbs": {soc: {k: round(float(v) * soc_board(soc).bandwidth_gbs, 2)
                                              for k, v in s.efficiency.items()} for soc in CALIBRATION_BOARDS},
            "decode_fixed_ms_x_cores_ghz": round(s.fixed_ms_core_ghz, 2),
            "decode_grouped_ms_per_gweight_x_cores_ghz": round(s.grouped_ms_per_gparam_core_ghz, 2),
            "prefill_ms_per_token": round(s.prefill_ms_per_token, 3),
            "prefill_ms_per_token_per_gparam": round(s.prefill_ms_per_token_gparam, 3),
            "prefill_grouped_ms_per_token_per_gparam": round(s.prefill_grouped_ms_per_token_gparam, 3),
            "prefill_attention_ms_per_unit": round(s.attention_ms, 2),
            "prefill_scale_by_soc": {k: round(v, 2) for k, v in s.prefill_scale_by_soc.items()},
            "prefill_core_exponent": round(s.prefill_core_exponent, 2),
            "rows": {"memory": self.memory_rows, "decode": self.decode_rows, "ttft": self.ttft_rows},
        }


    def summary_frame(self, lang: str = "en") -> pd.DataFrame:
        """:meth:`summary` as a table for people: what each constant means (in ``lang``), its name in code,
        its value as text (per-SoC and per-class values as ``RK3588 173.0; RK3576 ...``)."""
        rows = []
        for name, value in self.summary().items():
            if name == "rows":
                value = i18n.text("calib.rows", lang, **value)
            meaning = i18n.text(f"calib.c.{name}", lang) if i18n.has_text(f"calib.c.{name}") else name
            rows.append({"meaning": meaning, "constant": name, "value": _plain(value)})
        return pd.DataFrame(rows, columns=["meaning", "constant", "value"])


def _plain(value) -> str:
    """A constant as text: nested per-SoC / per-class values as ``key value`` pairs, never a raw dict."""
    if isinstance(value, dict):
        sep = "; " if any(isinstance(v, dict) for v in value.values()) else ", "
        return sep.join(f"{k}: {_plain(v)}" if isinstance(v, dict) else f"{k} {_plain(v)}" for k, v in value.items())
    return f"{value:g}" if isinstance(value, float) else str(value)


def soc_board(soc: str) -> Board:
    """The board profile the reference rows of ``soc`` are predicted with (its bus, clocks, cores)."""
    return load_board(CALIBRATION_BOARDS[str(soc).upper()])


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _tokens(row) -> tuple[int, int, bool]:
    """(prompt, new, assumed) of a reference row."""
    p, n = _num(row["prompt_tokens"]), _num(row["new_tokens"])
    assumed = p is None or n is None
    return int(p if p is not None else DEFAULT_TOKENS[0]), int(n if n is not None else DEFAULT_TOKENS[1]), assumed


def _tokens_text(p: int, n: int, assumed: bool, lang: str) -> str:
    return f"{p}+{n}" + (i18n.text("calib.assumed", lang) if assumed else "")


# The columns of the residual tables in the order a reader wants them: the numbers and why, then where from.
MEMORY_RESIDUAL_VIEW = ["source", "soc", "model", "dtype", "memory_kind", "tokens", "quoted_mb", "predicted_mb",
                        "residual_pct", "used_in_fit", "explanation", "reference", "runtime"]
SPEED_RESIDUAL_VIEW = ["source", "soc", "model", "dtype", "tokens", "quoted_decode_tps", "predicted_decode_tps",
                       "decode_residual_pct", "quoted_ttft_ms", "predicted_ttft_ms", "ttft_residual_pct", "used_in_fit",
                       "explanation", "reference", "runtime"]


def _official(df: pd.DataFrame) -> pd.Series:
    return (df["source"] == "official") & df["has_spec"]


def memory_fit_rows(df: pd.DataFrame) -> pd.Series:
    return (_official(df) & (df["memory_kind"] == "VmHWM") & df["memory_mb"].notna()
            & df["runtime_key"].map(lambda k: k >= CALIBRATION_MIN_RUNTIME))


def decode_fit_rows(df: pd.DataFrame) -> pd.Series:
    return _official(df) & df["decode_tps"].notna()


def ttft_fit_rows(df: pd.DataFrame) -> pd.Series:
    return _official(df) & (df["ttft_ms"].notna() | (df["prefill_tps"].notna() & df["prompt_tokens"].notna()))


def _ttft_of(row) -> float:
    if _num(row["ttft_ms"]) is not None:
        return float(row["ttft_ms"])
    return float(row["prompt_tokens"]) / float(row["prefill_tps"]) * 1000.0


def _relative_lstsq(X: np.ndarray, y: np.ndarray, target: np.ndarray | None = None,
                    nonneg: bool = False) -> np.ndarray:
    """Least squares of X b ~ y weighted by 1/target (relative errors; target defaults to y). Columns that
    are all zero get 0; with ``nonneg`` a negative coefficient is dropped (set to 0) and the rest refitted."""
    t = y if target is None else target
    active = [j for j in range(X.shape[1]) if np.any(X[:, j])]
    while True:
        coef = np.zeros(X.shape[1])
        if active:
            sol, *_ = np.linalg.lstsq(X[:, active] / t[:, None], y / t, rcond=None)
            coef[active] = sol
        neg = [j for j in active if coef[j] < 0]
        if not (nonneg and neg):
            return coef
        active.remove(min(neg, key=lambda j: coef[j]))


# ---- memory --------------------------------------------------------------------------------------------

def _fit_memory(df: pd.DataFrame, socs: list[str]) -> tuple[dict, float, float, int]:
    rows = df[memory_fit_rows(df)]
    present = [s for s in socs if (rows["platform"] == s).any()]
    X, y, t = [], [], []
    for _, r in rows.iterrows():
        spec = reference_spec(r["model"])
        p, n, _ = _tokens(r)
        payload, groups = weight_parts(spec, r["dtype"])
        kv = (p + n) * kv_bytes_per_token(spec)
        X.append([groups / MIB, count(spec).llm / 1e9] + [float(r["platform"] == s) for s in present])
        y.append(r["memory_mb"] - (payload + kv) / MIB)
        t.append(r["memory_mb"])
    if not X:
        return {}, SCALE_BYTES, 0.0, 0
    X = np.array(X)
    if len({round(x, 6) for x in X[:, 1]}) < 2:   # one model size only: k cannot be told from fixed(SoC)
        X[:, 1] = 0.0
    coef = _relative_lstsq(X, np.array(y), np.array(t))
    group_bytes = float(coef[0]) if any(x[0] for x in X) else SCALE_BYTES
    fixed = {s: float(v) for s, v in zip(present, coef[2:])}
    return fixed, group_bytes, float(coef[1]), len(rows)


def _fit_vision_buffers(df: pd.DataFrame) -> float:
    facts = reference_models()
    values = []
    for _, r in df[(df["source"] == "official") & df["vision_memory_mb"].notna()].iterrows():
        f = facts.get(r["model"])
        if not f or "vision_params" not in f:
            continue
        patches = (int(r["image_size"]) // int(f["patch"])) ** 2
        rest = r["vision_memory_mb"] - f["vision_params"] * 2 / MIB
        values.append(rest * MIB / (patches * f["vision_hidden"]))
    return float(np.mean(values)) if values else 0.0


# ---- decode ----------------------------------------------------------------------------------------------

def _decode_design(r, boards: dict, group_bytes: float) -> list[float]:
    spec = reference_spec(r["model"])
    b = boards[r["platform"]]
    p, n, _ = _tokens(r)
    bytes_s = decode_bytes_per_token(spec, r["dtype"], p + n / 2, group_bytes) / (b.bandwidth_gbs * 1e9) * 1000
    core_ghz = b.npu_cores * b.clocks.npu_mhz / 1000
    cls = dtype_class(r["dtype"])
    return ([bytes_s if cls == c else 0.0 for c in DECODE_CLASSES]
            + [1 / core_ghz, streamed_gweights(spec) / core_ghz if is_grouped(r["dtype"]) else 0.0])


def _fit_decode(df: pd.DataFrame, boards: dict, group_bytes: float) -> tuple[dict, float, float, int]:
    rows = df[decode_fit_rows(df)]
    X = np.array([_decode_design(r, boards, group_bytes) for _, r in rows.iterrows()])
    y = 1000.0 / rows["decode_tps"].to_numpy(float)
    coef = _relative_lstsq(X, y, nonneg=True)
    eff = {c: 1.0 / coef[i] for i, c in enumerate(DECODE_CLASSES) if coef[i] > 0}
    for c in DECODE_CLASSES:      # a class without rows in this fit: the other class's efficiency
        eff.setdefault(c, next(iter(eff.values())) if eff else 0.9)
    return eff, float(coef[-2]), float(coef[-1]), len(rows)


# ---- TTFT ------------------------------------------------------------------------------------------------

LONG_PROMPT = 128   # the attention term is fitted on the rows with longer prompts (see _fit_ttft)


def _ttft_parts(r, boards: dict, c: SpeedConstants) -> tuple[list[float], float, float]:
    """(compute columns P, P x Gp, P x Gp x grouped; attention units; weight-read ms) of a TTFT row."""
    spec = reference_spec(r["model"])
    b = boards[r["platform"]]
    p = float(r["prompt_tokens"]) if _num(r["prompt_tokens"]) is not None else DEFAULT_TOKENS[0]
    gp = prefill_gparams(spec)
    return ([p, p * gp, p * gp if is_grouped(r["dtype"]) else 0.0], attention_units(spec, p),
            prefill_read_ms(spec, r["dtype"], b, c))


def _fit_ttft(df: pd.DataFrame, boards: dict, c: SpeedConstants) -> tuple[np.ndarray, float, dict, float, int]:
    """(a, b, bg), attention, per-SoC scales, gamma, rows. The weight read is physics (one pass at the decode's
    effective bandwidth, ``c``), not fitted. Rows with prompts <= LONG_PROMPT fit (a, b, bg); the attention
    term, which grows with the prompt, is fitted on the longer-prompt rows; the per-SoC scales on all rows.
    Alternated until stable."""
    rows = df[ttft_fit_rows(df)]
    parts = [_ttft_parts(r, boards, c) for _, r in rows.iterrows()]
    X = np.array([p[0] for p in parts])
    att = np.array([p[1] for p in parts])
    read = np.array([p[2] for p in parts])
    y = np.array([_ttft_of(r) for _, r in rows.iterrows()])
    socs = rows["platform"].to_numpy()
    present = list(dict.fromkeys(socs))
    ref = "RK3588" if "RK3588" in present else present[0]
    short, long_ = X[:, 0] <= LONG_PROMPT, X[:, 0] > LONG_PROMPT
    scale = {s: 1.0 for s in present}
    coef, attn = np.zeros(X.shape[1]), 0.0
    for _ in range(200):
        sc = np.array([scale[s] for s in socs])
        coef = _relative_lstsq((X * sc[:, None])[short], (y - read - sc * attn * att)[short], y[short], nonneg=True)
        if long_.any():
            xa, rest = (sc * att)[long_], (y - read - sc * (X @ coef))[long_]
            w = 1 / y[long_] ** 2
            attn = max(0.0, float(np.sum(w * xa * rest) / np.sum(w * xa * xa)))
        base, rest = X @ coef + attn * att, y - read
        new = {s: float(np.sum((base * rest / y ** 2)[socs == s]) / np.sum((base ** 2 / y ** 2)[socs == s]))
               for s in present}
        new = {s: v / new[ref] for s, v in new.items()}
        done = all(abs(new[s] - scale[s]) < 1e-9 for s in present)
        scale = new
        if done:
            break
    if ref != "RK3588":   # express the scales relative to RK3588 through the core/clock law (gamma 1)
        b = boards[ref]
        k = prefill_scale_law(b.npu_cores, b.clocks.npu_mhz, 1.0)
        scale = {s: v * k for s, v in scale.items()}
        coef, attn = coef / k, attn / k
    return coef, attn, scale, _core_exponent(scale, boards), len(rows)


def _core_exponent(scale: dict, boards: dict) -> float:
    """gamma of S = (3 / cores)^gamma x (1 GHz / NPU clock), through the origin over SoCs with rows."""
    xs, ys = [], []
    for soc, s in scale.items():
        b = boards[soc]
        if b.npu_cores != REFERENCE_CORES:
            xs.append(math.log(REFERENCE_CORES / b.npu_cores))
            ys.append(math.log(s * b.clocks.npu_mhz / 1000))
    return float(np.dot(xs, ys) / np.dot(xs, xs)) if xs else 1.0


# ---- the fit ---------------------------------------------------------------------------------------------

def fit(df: pd.DataFrame, boards: dict | None = None) -> Calibration:
    """Fit every constant on the rows of ``df`` (a subset of :func:`load_reference`), with the SoCs' boards."""
    boards = boards or {soc: soc_board(soc) for soc in CALIBRATION_BOARDS}
    fixed, group_bytes, per_g, n_mem = _fit_memory(df, list(boards))
    vis = _fit_vision_buffers(df)
    memory = MemoryConstants(runtime_fixed_mb=float(np.mean(list(fixed.values()))) if fixed else 0.0,
                             runtime_mb_per_gparam=per_g, group_bytes=group_bytes,
                             vision_buffer_bytes_per_patch_dim=vis, runtime_fixed_by_soc=fixed)
    eff, f, g, n_dec = _fit_decode(df, boards, group_bytes)
    decode_only = SpeedConstants(efficiency=eff, fixed_ms_core_ghz=f, grouped_ms_per_gparam_core_ghz=g,
                                 prefill_ms_per_token=0.0, prefill_ms_per_token_gparam=0.0,
                                 prefill_grouped_ms_per_token_gparam=0.0, attention_ms=0.0, group_bytes=group_bytes)
    tc, attn, scale, gamma, n_ttft = _fit_ttft(df, boards, decode_only)
    speed = replace(decode_only, prefill_ms_per_token=float(tc[0]), prefill_ms_per_token_gparam=float(tc[1]),
                    prefill_grouped_ms_per_token_gparam=float(tc[2]), attention_ms=attn,
                    prefill_scale_by_soc=scale, prefill_core_exponent=gamma)
    return Calibration(memory=memory, speed=speed, memory_rows=n_mem, decode_rows=n_dec, ttft_rows=n_ttft)


@functools.lru_cache(maxsize=1)
def calibrate() -> Calibration:
    """The fitted constants (cached: the fit runs once per process)."""
    return fit(load_reference())


# ---- predictions of reference rows -------------------------------------------------------------------------

def _predict_row(r, cal: Calibration, board: Board | None = None) -> dict:
    """Predicted memory (language model), decode and TTFT of one reference row (None where no shape)."""
    spec = reference_spec(r["model"])
    if spec is None:
        return {}
    b = board or soc_board(r["platform"])
    p, n, _ = _tokens(r)
    mem = breakdown(spec, r["dtype"], used_tokens=p + n, max_context=max(p + n, int(_num(r["max_context"]) or 4096)),
                    with_vision=False, constants=cal.memory, soc=b.soc)
    sp = predict(spec, r["dtype"], b, cal.speed, prefill_tokens=p, new_tokens=n)
    return {"memory_mb": mem.memory_mb, "decode_tps": sp.decode_tps, "ttft_ms": sp.ttft_ms,
            "bandwidth_pct": sp.bandwidth_pct}


def _quoted(r) -> dict:
    has_ttft = _num(r["ttft_ms"]) is not None or (_num(r["prefill_tps"]) and _num(r["prompt_tokens"]))
    return {"memory_mb": _num(r["memory_mb"]), "decode_tps": _num(r["decode_tps"]),
            "ttft_ms": _ttft_of(r) if has_ttft else None}


def _pct(pred, quoted) -> float | None:
    return None if pred is None or quoted is None else round(100 * (pred - quoted) / quoted, 1)


def _explain_memory(r, pred, used_in_fit, assumed, spec, lang: str = "en") -> str:
    t = lambda key, **kw: i18n.text(f"calib.why.{key}", lang, **kw)  # noqa: E731
    if spec is None:
        return t("no_shape")
    kind = str(r["memory_kind"])
    if "RKLLM log" in kind:
        return t("rkllm_log")
    if kind != "VmHWM" and kind != "as quoted":
        return t("not_comparable", kind=kind)
    if kind == "as quoted":
        return t("seed_copy", notes=r["notes"])
    if used_in_fit:
        return t("calibration_row")
    if "b" in str(r["runtime"]):
        if not r["in_catalog"]:
            low = pred < r["memory_mb"] * 0.95
            return t("older_conversion") + (t("older_conversion_low") if low else "")
        return t("beta_runtime")
    if assumed and _num(r["max_context"]) and r["max_context"] >= 8192:
        gap = r["memory_mb"] - pred
        n = gap * MIB / kv_bytes_per_token(spec)
        return t("long_context", context=int(r["max_context"]), tokens=n)
    if pred is not None and abs(pred / r["memory_mb"] - 1) <= 0.10:
        return t("close")
    return ""


def memory_residuals(lang: str = "en") -> pd.DataFrame:
    """Predicted vs quoted memory for every reference row with a memory figure, with an explanation (in ``lang``).
    Rows of official VmHWM and of runtime-log kind are the language model alone; other kinds (seed copies,
    community totals) are predicted with the vision encoder and one image for VLMs, as they were measured."""
    df = load_reference()
    cal = calibrate()
    fit_rows = memory_fit_rows(df)
    out = []
    for i, r in df[df["memory_mb"].notna()].iterrows():
        pred = None
        p, n, assumed = _tokens(r)
        spec = reference_spec(r["model"])
        if spec is not None:
            llm_only = ("language model only" in str(r["notes"]) or r["memory_kind"] == "VmHWM"
                        or not r["in_catalog"])
            full = spec if llm_only else get_model(r["model"])
            img = full.vision.image_tokens if full.vision else 0
            ctx = max(p + n + img, int(_num(r["max_context"]) or 4096))
            pred = breakdown(full, r["dtype"], used_tokens=p + n + img, max_context=ctx, with_vision=full.is_vlm,
                             constants=cal.memory, soc=r["platform"]).memory_mb
        out.append({
            "source": r["source"], "reference": r["reference"], "runtime": r["runtime"], "soc": r["platform"],
            "model": r["model"], "dtype": r["dtype"], "memory_kind": r["memory_kind"],
            "tokens": _tokens_text(p, n, assumed, lang),
            "quoted_mb": r["memory_mb"], "predicted_mb": None if pred is None else round(pred, 1),
            "residual_pct": _pct(pred, r["memory_mb"]), "used_in_fit": bool(fit_rows[i]),
            "explanation": _explain_memory(r, pred, bool(fit_rows[i]), assumed, spec, lang),
        })
    return pd.DataFrame(out)


def speed_residuals(lang: str = "en") -> pd.DataFrame:
    """Predicted vs quoted decode tok/s and TTFT for every reference row with a speed figure.

    The predictions are for the language model alone with a text prompt, as Rockchip's tables measure
    them; a VLM's full-pipeline prediction (image included) is :func:`rklab.predict.feasibility.estimate`'s.
    ``explanation`` is in ``lang``."""
    t = lambda key, **kw: i18n.text(f"calib.why.{key}", lang, **kw)  # noqa: E731
    df = load_reference()
    cal = calibrate()
    dec_fit, ttft_fit = decode_fit_rows(df), ttft_fit_rows(df)
    out = []
    for i, r in df[df["decode_tps"].notna() | df["ttft_ms"].notna() | df["prefill_tps"].notna()].iterrows():
        base = {"source": r["source"], "reference": r["reference"], "runtime": r["runtime"], "soc": r["platform"],
                "model": r["model"], "dtype": r["dtype"]}
        if not r["has_spec"]:
            out.append({**base, "explanation": t("no_shape")})
            continue
        p, n, assumed = _tokens(r)
        pr, q = _predict_row(r, cal), _quoted(r)
        note = ""
        if r["source"] == "community":
            note = i18n.text("engine.why.community_clocks", lang)
            if _num(r["max_context"]) and r["max_context"] >= 8192:
                note += "; " + t("long_context_speed")
        elif r["source"] == "seed":
            note = t("seed_copy_speed")
        elif bool(dec_fit[i]) or bool(ttft_fit[i]):
            note = t("calibration_row")
        out.append({
            **base, "tokens": _tokens_text(p, n, assumed, lang),
            "quoted_decode_tps": q["decode_tps"], "predicted_decode_tps": round(pr["decode_tps"], 2),
            "decode_residual_pct": _pct(pr["decode_tps"], q["decode_tps"]),
            "quoted_ttft_ms": q["ttft_ms"], "predicted_ttft_ms": round(pr["ttft_ms"], 1),
            "ttft_residual_pct": _pct(pr["ttft_ms"], q["ttft_ms"]),
            "bandwidth_pct": round(pr["bandwidth_pct"], 1),
            "used_in_fit": bool(dec_fit[i]) or bool(ttft_fit[i]), "explanation": note,
        })
    return pd.DataFrame(out)


QUANTITIES = ("memory_mb", "decode_tps", "ttft_ms")


def _fit_row_masks(df: pd.DataFrame) -> dict:
    return {"memory_mb": memory_fit_rows(df), "decode_tps": decode_fit_rows(df), "ttft_ms": ttft_fit_rows(df)}


def _long_rows(df: pd.DataFrame, cal: Calibration, fold: str = "", missing_socs=(),
               boards: dict | None = None) -> list[dict]:
    """One row per (reference row, quantity) the calibration uses: quoted, predicted, residual
    (each SoC predicted with ``boards[soc]``, default its board profile)."""
    masks = _fit_row_masks(df)
    out = []
    for i, r in df.iterrows():
        wanted = [q for q in QUANTITIES if bool(masks[q][i])]
        if not wanted:
            continue
        pr, qu = _predict_row(r, cal, (boards or {}).get(r["platform"])), _quoted(r)
        for q in wanted:
            out.append({"fold": fold, "soc": r["platform"], "model": r["model"], "dtype": r["dtype"],
                        "dtype_class": dtype_class(r["dtype"]) + ("_grouped" if is_grouped(r["dtype"]) else ""),
                        "runtime": r["runtime"], "quantity": q, "quoted": qu[q], "predicted": pr[q],
                        "residual_pct": _pct(pr[q], qu[q]),
                        "soc_unseen": r["platform"] in missing_socs})
    return out


def residuals_by_soc() -> pd.DataFrame:
    """In-sample residuals of every calibration row (the fit on all rows), one row per (row, quantity)."""
    df = load_reference()
    return pd.DataFrame(_long_rows(df, calibrate()))


def model_group(model: str) -> str:
    """Models with the same language-model shape form one group (Qwen3-VL-2B's LM is Qwen3-1.7B)."""
    return _groups()[model]


@functools.lru_cache(maxsize=1)
def _groups() -> dict:
    df = load_reference()
    shapes: dict = {}
    for m in df.loc[df["has_spec"], "model"].unique():
        s = reference_spec(m)
        key = (s.layers, s.hidden, s.intermediate, s.heads, s.kv_heads, s.head_dim, s.vocab, s.tie_embeddings)
        shapes.setdefault(key, []).append(m)
    return {m: " / ".join(sorted(ms)) for ms in shapes.values() for m in ms}


def leave_one_model_out(boards: dict | None = None) -> pd.DataFrame:
    """For each model group: fit on every other row, predict this group's calibration rows.
    ``soc_unseen`` marks rows whose SoC had no row left in that fold (predicted from the shared physics only)."""
    df = load_reference()
    df = df[df["has_spec"]].copy()
    df["group"] = df["model"].map(model_group)
    out = []
    for group in sorted(df["group"].unique()):
        train, test = df[df["group"] != group], df[df["group"] == group]
        masks = _fit_row_masks(train)
        seen = set(train.loc[masks["memory_mb"] | masks["decode_tps"] | masks["ttft_ms"], "platform"])
        cal = fit(train, boards)
        out += _long_rows(test, cal, fold=group, missing_socs=set(test["platform"]) - seen, boards=boards)
    return pd.DataFrame(out)


def summarize(res: pd.DataFrame, by=("soc", "dtype_class")) -> pd.DataFrame:
    """Mean absolute residual (%) and row count per group and quantity (wide: one column per quantity)."""
    g = res.dropna(subset=["residual_pct"]).assign(abs_pct=lambda d: d["residual_pct"].abs())
    t = g.groupby(list(by) + ["quantity"])["abs_pct"].agg(["mean", "count"]).unstack("quantity")
    t.columns = [f"{q}_{stat}" for stat, q in t.columns]
    return t.reindex(columns=[f"{q}_{s}" for q in QUANTITIES for s in ("mean", "count") if f"{q}_{s}" in t.columns]).round(1)


def bus_width_evidence() -> pd.DataFrame:
    """For each SoC whose DRAM bus or DDR clock is inferred: refit the decode model with every candidate
    (16/32-bit bus, the loader's and fix_freq's DDR clocks) and report that SoC's decode residuals."""
    df = load_reference()
    rows = []
    for soc, name in CALIBRATION_BOARDS.items():
        board = load_board(name)
        if not board.inferred:
            continue
        for bus in (16, 32):
            ddrs = {1332.0, 2112.0} if "clocks.ddr_mhz" in board.inferred else set()
            for ddr in sorted(ddrs | {board.clocks.ddr_mhz}):
                cand = replace(board, dram_bus_bits=bus, clocks=replace(board.clocks, ddr_mhz=ddr))
                boards = {s: (cand if s == soc else soc_board(s)) for s in CALIBRATION_BOARDS}
                cal = fit(df, boards)
                res = pd.DataFrame(_long_rows(df[df["platform"] == soc], cal, boards=boards))
                dec = res[res["quantity"] == "decode_tps"]["residual_pct"]
                rows.append({"soc": soc, "bus_bits": bus, "ddr_mhz": ddr,
                             "bandwidth_gbs": round(cand.bandwidth_gbs, 2),
                             "chosen": bus == board.dram_bus_bits and ddr == board.clocks.ddr_mhz,
                             "decode_mean_abs_pct": round(float(dec.abs().mean()), 1),
                             "decode_worst_pct": round(float(dec.loc[dec.abs().idxmax()]), 1)})
    return pd.DataFrame(rows)
