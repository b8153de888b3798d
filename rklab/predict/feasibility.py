"""Feasibility engine: memory + speed prediction and a verdict per (model, dtype, board, context).

Verdicts against the board: ``fits`` (predicted peak <= tight_fraction x budget), ``tight`` (<= budget),
``exceeds`` (over the usable budget, under physical RAM), ``infeasible`` (over physical RAM),
``unsupported`` (dtype not available on the platform, or a context above the model's maximum
positions; a context too small for the image tokens is raised to fit in the tables, see :func:`table_estimate`).
All numbers here are **predicted** by :mod:`rklab.predict.memory` / :mod:`rklab.predict.speed` with the constants of
:mod:`rklab.predict.calibration`; the seed's numbers in :func:`seed_comparison` are **quoted**.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from rklab import i18n
from rklab.errors import RklabError
from rklab.paths import data_dir
from rklab.predict.boards import Board, Clocks, load_board
from rklab.predict.calibration import calibrate
from rklab.predict.catalog import ModelSpec, get_model, load_catalog
from rklab.predict.memory import NPU_DOMAIN_MB, breakdown, check_dtype
from rklab.predict.params import count
from rklab.predict.speed import predict

VERDICT_ORDER = {v: i for i, v in enumerate(("fits", "tight", "exceeds", "infeasible", "unsupported"))}
RKLLM_MAX_CONTEXT = 16384    # socs.md [official, SDK 1.3.0]: max_context at conversion <= 16384, a multiple of 32
CONTEXT_MULTIPLE = 32
DEFAULT_CONTEXT = 4096


def default_context(spec: ModelSpec) -> int:
    """``estimate``'s context when none is given: the smaller of 4096 and the model's maximum positions
    (rounded down to a multiple of 32)."""
    limit = min(DEFAULT_CONTEXT, spec.max_position or DEFAULT_CONTEXT)
    return max(CONTEXT_MULTIPLE, limit // CONTEXT_MULTIPLE * CONTEXT_MULTIPLE)


def context_limit(spec: ModelSpec) -> int:
    """The largest max_context RKLLM accepts for this model: <= 16384, <= max_position, a multiple of 32."""
    limit = min(RKLLM_MAX_CONTEXT, spec.max_position or RKLLM_MAX_CONTEXT)
    return limit // CONTEXT_MULTIPLE * CONTEXT_MULTIPLE


def check_positions(spec: ModelSpec, max_context: int, option: str = "--context", largest: int | None = None) -> int:
    """The model's own limit (every runtime): not above its maximum positions. One RklabError line otherwise,
    suggesting ``largest`` (default: the maximum positions)."""
    if spec.max_position and max_context > spec.max_position:
        raise RklabError(f"context {max_context} is over {spec.name}'s limit of {spec.max_position:,} positions "
                         f"(max_position_embeddings in {spec.config_file}); use {option} "
                         f"{largest or spec.max_position} or less")
    return max_context


def check_context(spec: ModelSpec, max_context: int, option: str = "--context") -> int:
    """RKLLM's max_context rules as the toolkit and runtime enforce them (socs.md): not above the model's
    maximum positions, at most 16384, a multiple of 32. One clear line (RklabError) otherwise.
    ``rklab estimate`` and ``rklab bench --backend rkllm`` refuse the same values (``option`` names the input)."""
    check_positions(spec, max_context, option, largest=context_limit(spec))
    if max_context > RKLLM_MAX_CONTEXT:
        raise RklabError(f"context {max_context} is over RKLLM's maximum of {RKLLM_MAX_CONTEXT} (max_context at "
                         f"conversion); use {option} {RKLLM_MAX_CONTEXT} or less")
    if max_context % CONTEXT_MULTIPLE:
        lo = max_context // CONTEXT_MULTIPLE * CONTEXT_MULTIPLE
        hint = f"{lo} or {lo + CONTEXT_MULTIPLE}" if lo else str(CONTEXT_MULTIPLE)
        raise RklabError(f"context {max_context} is not a multiple of {CONTEXT_MULTIPLE} (RKLLM's max_context rule); "
                         f"use {option} {hint}")
    return max_context


@dataclass
class Estimate:
    model: str
    kind: str
    dtype: str
    board: str
    max_context: int
    prompt_tokens: int
    new_tokens: int
    image_tokens: int
    used_tokens: int
    with_vision: bool
    params: int
    llm_params: int
    vision_params: int
    active_params: int
    weights_mb: float
    embedding_mb: float
    kv_mb: float
    kv_reserved_mb: float
    runtime_mb: float
    vision_mb: float
    image_embed_mb: float
    memory_mb: float
    available_drop_mb: float
    budget_mb: float
    physical_mb: float
    decode_tps: float
    ttft_ms: float
    bytes_per_token: float
    bandwidth_pct: float
    bandwidth_ceiling_gbs: float
    ceiling_tps: float
    ddr_mhz: float
    npu_mhz: float
    cpu_mhz: float
    clocks_pinned: bool
    largest_npu_buffer: str
    largest_npu_buffer_mb: float
    verdict: str
    reason: str
    reason_zh: str
    live_mem_total_mb: float | None = None
    live_mem_available_mb: float | None = None
    vision_params_source: str = "quoted"
    basis: str = "predicted (rklab.predict.memory / rklab.predict.speed, calibrated on data/reference)"
    soc: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def verdict_label(self, lang: str = "zh") -> str:
        return i18n.verdict_label(self.verdict, lang)

    def reason_in(self, lang: str = "zh") -> str:
        return self.reason_zh if lang == "zh" else self.reason


@functools.lru_cache(maxsize=8)
def _on_board(board_name: str, proc_root: str) -> bool:
    return load_board(board_name).is_this_board(proc_root)


def _live(board: Board, proc_root: str) -> bool:
    """Whether we run on this board's SoC (device tree read once per board and proc root)."""
    return _on_board(board.name, proc_root) if board.soc_compatible else False


def _check_int(name: str, value, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < minimum:
        raise RklabError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _verdict(memory: float, budget: float, physical: float, tight_fraction: float) -> str:
    if memory > physical:
        return "infeasible"
    if memory > budget:
        return "exceeds"
    if memory > tight_fraction * budget:
        return "tight"
    return "fits"


def _both(key: str, en: dict, zh: dict | None = None) -> tuple[str, str]:
    """The text ``key`` in English and in Chinese (the Estimate carries both; ``zh`` values where they differ)."""
    return i18n.text(key, "en", **en), i18n.text(key, "zh", **{**en, **(zh or {})})


def _reasons(verdict: str, mem: float, budget: float, physical: float, board: Board, dtype: str) -> tuple[str, str]:
    values = {"mem": mem, "budget": budget, "physical": physical, "pct": 100 * mem / budget,
              "tight": 100 * board.tight_fraction, "dtype": dtype, "soc": board.soc,
              "supported": ", ".join(board.supported_dtypes), "source": board.dtypes_source}
    return _both(f"reason.{verdict}", values)


def estimate(model: str | ModelSpec, dtype: str = "w8a8", board: str | Board = "rk3588-8gb",
             max_context: int | None = None, prompt_tokens: int = 128, new_tokens: int = 64,
             with_vision: bool | None = None, *, embed_flash: int = 1, proc_root: str = "/proc",
             clocks: Clocks | None = None) -> Estimate:
    """Predicted memory, speed and verdict of one configuration (cheap: data and calibration are cached).

    ``max_context=None``: :func:`default_context` (the smaller of 4096 and the model's maximum positions);
    an explicit one must follow RKLLM's rules (:func:`check_context`).
    ``with_vision=None`` includes the vision encoder for VLMs; image tokens then count in the used tokens.
    ``clocks``: predict the speed at these DDR/NPU/CPU clocks (missing ones and ``None``: the board's
    pinned official clocks). On a real board of this SoC the live MemTotal/MemAvailable (psutil) also
    bound the budget.
    """
    spec = model if isinstance(model, ModelSpec) else get_model(model)
    b = load_board(board)
    check_dtype(dtype)
    if max_context is None:
        max_context = default_context(spec)
    max_context = _check_int("context (--context)", max_context, 1)
    prompt_tokens = _check_int("prompt tokens (--prompt-tokens)", prompt_tokens, 0)
    new_tokens = _check_int("new tokens (--new-tokens)", new_tokens, 0)
    vision = spec.is_vlm if with_vision is None else bool(with_vision and spec.is_vlm)
    img = spec.vision.image_tokens if vision else 0
    used = prompt_tokens + img + new_tokens
    if used > max_context:
        raise RklabError(f"context {max_context} cannot hold {used} tokens ({prompt_tokens} prompt + {img} image + "
                         f"{new_tokens} new) for {spec.name}; raise --context or lower the token counts")
    check_context(spec, max_context)
    cal = calibrate()
    mem = breakdown(spec, dtype, used_tokens=used, max_context=max_context, with_vision=vision,
                    constants=cal.memory, embed_flash=embed_flash, soc=b.soc)
    sp = predict(spec, dtype, b, cal.speed, prefill_tokens=prompt_tokens + img, new_tokens=new_tokens,
                 clocks=clocks)
    budget, physical = b.budget_mb, b.physical_mb
    live_total = live_avail = None
    if _live(b, proc_root):
        live = b.live_memory(proc_root)
        live_total, live_avail = live["mem_total_mb"], live["mem_available_mb"]
        physical = min(physical, live_total)
        budget = min(budget, live_avail)
    c = count(spec)
    largest = max(mem.npu_buffers_mb.items(), key=lambda kv: kv[1])
    over = mem.over_domain()
    if not b.supports(dtype):
        verdict = "unsupported"
    elif over:
        verdict = "infeasible"
    else:
        verdict = _verdict(mem.memory_mb, budget, physical, b.tight_fraction)
    reason, reason_zh = _reasons(verdict, mem.memory_mb, budget, physical, b, dtype)
    if over and verdict == "infeasible":
        domain_en, domain_zh = _both("reason.npu_domain", {"part": over[0], "mb": over[1], "domain": NPU_DOMAIN_MB})
        reason, reason_zh = domain_en + reason, domain_zh + reason_zh
    if live_avail is not None:
        live_en, live_zh = _both("reason.live", {"available": live_avail, "total": live_total})
        reason, reason_zh = reason + live_en, reason_zh + live_zh
    return Estimate(
        model=spec.name, kind=spec.kind, dtype=dtype, board=b.name, max_context=max_context,
        prompt_tokens=prompt_tokens, new_tokens=new_tokens, image_tokens=img, used_tokens=used, with_vision=vision,
        params=c.total if vision else c.llm, llm_params=c.llm, vision_params=c.vision if vision else 0,
        active_params=c.active, weights_mb=mem.weights_mb, embedding_mb=mem.embedding_mb, kv_mb=mem.kv_mb,
        kv_reserved_mb=mem.kv_reserved_mb, runtime_mb=mem.runtime_mb, vision_mb=mem.vision_mb,
        image_embed_mb=mem.image_embed_mb, memory_mb=mem.memory_mb, available_drop_mb=mem.available_drop_mb,
        budget_mb=budget, physical_mb=physical, decode_tps=sp.decode_tps, ttft_ms=sp.ttft_ms,
        bytes_per_token=sp.bytes_per_token, bandwidth_pct=sp.bandwidth_pct,
        bandwidth_ceiling_gbs=b.bandwidth_at(sp.clocks.ddr_mhz), ceiling_tps=sp.ceiling_tps,
        ddr_mhz=sp.clocks.ddr_mhz, npu_mhz=sp.clocks.npu_mhz, cpu_mhz=sp.clocks.cpu_mhz,
        clocks_pinned=sp.clocks == b.clocks, largest_npu_buffer=largest[0], largest_npu_buffer_mb=largest[1],
        soc=b.soc, verdict=verdict, reason=reason, reason_zh=reason_zh, live_mem_total_mb=live_total,
        live_mem_available_mb=live_avail,
        vision_params_source=spec.vision.params_source if (vision and spec.vision) else "",
    )


TABLE_COLUMNS = ["model", "kind", "dtype", "params", "weights_mb", "kv_mb", "runtime_mb", "vision_mb",
                 "image_embed_mb", "memory_mb", "available_drop_mb", "budget_mb", "physical_mb", "predicted_decode_tps",
                 "predicted_ttft_ms", "bandwidth_pct", "verdict", "verdict_label", "reason"]
# Column labels for the two kinds of predicted speed, where both can appear (rklab.display): a VLM's
# full pipeline (vision encoder + image prefill in the TTFT, image tokens in the KV cache) here, the
# language model alone with a text prompt in rklab.predict.calibration.speed_residuals.
FULL_PIPELINE_LABELS = {"predicted_decode_tps": "engine.predicted_decode_tps_full",
                        "predicted_ttft_ms": "engine.predicted_ttft_ms_full"}
LLM_ONLY_LABELS = {"predicted_decode_tps": "engine.predicted_decode_tps_llm",
                   "predicted_ttft_ms": "engine.predicted_ttft_ms_llm"}
# An Estimate's speed fields as table columns: named "predicted_" so a table never shows a predicted
# TTFT under the name of a measured one (records' ttft_ms, decode_tps).
PREDICTED_COLUMNS = {"decode_tps": "predicted_decode_tps", "ttft_ms": "predicted_ttft_ms"}


def _error_row(spec: ModelSpec, dtype: str, b: Board, exc: RklabError) -> dict:
    return {"model": spec.name, "kind": spec.kind, "dtype": dtype, "params": count(spec).total,
            "budget_mb": b.budget_mb, "physical_mb": b.physical_mb, "verdict": "unsupported",
            "reason": str(exc), "reason_zh": str(exc)}


def table_estimate(spec: ModelSpec, dtype: str, b: Board, context: int, prompt_tokens: int = 128,
                   new_tokens: int = 64) -> Estimate:
    """Estimate for a table row: a context too small for the model's image tokens is raised to the
    smallest one that holds them (and the reason says so) instead of failing the whole table."""
    img = spec.vision.image_tokens if spec.is_vlm else 0
    needed = -(-(prompt_tokens + img + new_tokens) // CONTEXT_MULTIPLE) * CONTEXT_MULTIPLE   # RKLLM: a multiple of 32
    if needed <= context:
        return estimate(spec, dtype, b, context, prompt_tokens, new_tokens)
    e = estimate(spec, dtype, b, needed, prompt_tokens, new_tokens)
    raised_en, raised_zh = _both("reason.context_raised", {"context": context, "needed": needed, "img": img})
    e.reason, e.reason_zh = e.reason + raised_en, e.reason_zh + raised_zh
    return e


def feasibility_table(board: str | Board = "rk3588-8gb", context: int = 4096, lang: str = "zh", dtype: str = "w8a8",
                      prompt_tokens: int = 128, new_tokens: int = 64, models=None) -> pd.DataFrame:
    """One row per catalog model (keys in English; ``verdict_label`` and ``reason`` in ``lang``)."""
    i18n.check_lang(lang)
    b = load_board(board)
    _check_int("context (--context)", context, 1)
    rows = []
    specs = [get_model(m) if isinstance(m, str) else m for m in models] if models else load_catalog().values()
    for spec in specs:
        try:
            row = table_estimate(spec, dtype, b, context, prompt_tokens, new_tokens).to_dict()
            row = {PREDICTED_COLUMNS.get(k, k): v for k, v in row.items()}
        except RklabError as exc:
            row = _error_row(spec, dtype, b, exc)
        row["verdict_label"] = i18n.verdict_label(row["verdict"], lang)
        if lang == "zh":
            row["reason"] = row["reason_zh"]
        rows.append(row)
    df = pd.DataFrame(rows)
    # reindex, not select: when every row is an error row the number columns are absent
    return df.reindex(columns=TABLE_COLUMNS + [c for c in df.columns if c not in TABLE_COLUMNS])


def localize(df: pd.DataFrame, lang: str = "zh", columns: list[str] | None = None) -> pd.DataFrame:
    """A display copy with the columns renamed to ``lang`` labels (numbers rounded)."""
    cols = columns or [c for c in df.columns if c in i18n.LABELS or c == "verdict_label"]
    out = df[cols].copy()
    for c in out.columns:
        if out[c].dtype.kind == "f":
            out[c] = out[c].round(1)
        elif c.endswith("verdict"):
            out[c] = out[c].map(lambda v: i18n.verdict_label(v, lang) if v in i18n.VERDICTS else v)
    names = {c: i18n.label(c, lang) for c in cols}
    names["verdict_label"] = i18n.label("verdict", lang)
    out = out.astype(object).where(out.notna(), "-")  # a display copy: "-" where there is no number
    return out.rename(columns=names)


# ---- full-context memory and the largest context that fits -------------------------------------------------

def largest_context(model: str | ModelSpec, board: str | Board = "rk3588-8gb", dtype: str = "w8a8",
                    new_tokens: int = 64) -> int:
    """Largest max_context whose *filled* context still keeps the predicted peak within the usable budget
    (a multiple of 32, capped by RKLLM's rules: 16384 and the model's max_position; 0 if even an empty
    context does not fit)."""
    spec = model if isinstance(model, ModelSpec) else get_model(model)
    b = load_board(board)
    ctx = context_limit(spec)
    e = estimate(spec, dtype, b, max_context=ctx, prompt_tokens=0, new_tokens=0)
    base = e.memory_mb - e.kv_mb               # everything but the KV cache (n counts image tokens too)
    per_token = e.kv_reserved_mb / e.max_context
    room = e.budget_mb - base
    if room <= 0:
        return 0
    n = int(room / per_token) // CONTEXT_MULTIPLE * CONTEXT_MULTIPLE
    return int(min(n, ctx))


def context_sweep(models=None, board: str | Board = "rk3588-8gb", dtype: str = "w8a8",
                  contexts=(512, 1024, 2048, 4096, 8192, 16384), new_tokens: int = 64) -> pd.DataFrame:
    """Predicted peak memory with the context filled (used tokens = context) for each model and context.
    Default models: those that fit or are tight at 4096."""
    b = load_board(board)
    if models is None:
        t = feasibility_table(b, 4096, "en", dtype)
        models = t[t["verdict"].isin(["fits", "tight"])]["model"].tolist()
    rows = []
    for name in models:
        spec = get_model(name) if isinstance(name, str) else name
        best = largest_context(spec, b, dtype, new_tokens)
        for ctx in contexts:
            if ctx > context_limit(spec):
                continue
            img = spec.vision.image_tokens if spec.vision else 0
            if ctx < img + new_tokens:
                continue
            e = estimate(spec, dtype, b, ctx, prompt_tokens=ctx - img - new_tokens, new_tokens=new_tokens)
            rows.append({"model": spec.name, "context": ctx, "memory_mb": e.memory_mb, "budget_mb": e.budget_mb,
                         "physical_mb": e.physical_mb, "fits": e.memory_mb <= e.budget_mb,
                         "largest_context": best})
    return pd.DataFrame(rows)


# ---- side by side with the seed report ------------------------------------------------------------------

@functools.lru_cache(maxsize=2)
def _seed(name: str) -> pd.DataFrame:
    p = Path(data_dir()) / "seed" / name
    if not p.is_file():
        raise RklabError(f"seed table {p} is missing; restore data/seed/")
    df = pd.read_csv(p, keep_default_na=False, na_values=[""])
    text = list(df.select_dtypes(exclude="number").columns)
    df[text] = df[text].fillna("")
    return df


def seed_comparison(board: str | Board = "rk3588-8gb", context: int = 4096, lang: str = "zh",
                    threshold_pct: float = 15.0) -> pd.DataFrame:
    """The seed's feasibility tables (quoted) recomputed by the engine (predicted), with a difference column
    and a flag wherever they differ by more than ``threshold_pct`` or the verdict differs.

    Every row has a ``reason`` in ``lang``: why it is flagged, or why it is not (within the threshold;
    a seed lower bound such as ">16,000" that the prediction is above)."""
    i18n.check_lang(lang)
    b = load_board(board)
    rows = []
    for _, s in _seed("seed_feasibility.csv").iterrows():
        dtype = s["seed_dtype"] if isinstance(s["seed_dtype"], str) and s["seed_dtype"] else "w8a8"
        spec = get_model(s["model"])
        e = table_estimate(spec, dtype, b, context)
        e8 = e if dtype == "w8a8" else table_estimate(spec, "w8a8", b, context)
        seed_mb = float(s["seed_ram_mb"])
        diff = 100 * (e.memory_mb - seed_mb) / seed_mb
        lower_bound = s["seed_ram_kind"] == "lower_bound"
        above_bound = lower_bound and e.memory_mb >= seed_mb
        big = e.memory_mb < seed_mb * (1 - threshold_pct / 100) if lower_bound else abs(diff) > threshold_pct
        vdiff = s["seed_verdict"] != e.verdict
        why = functools.partial(_why, lang)
        reasons = []
        if big:
            reasons.append(why("memory_differs", diff=round(diff)))
        if vdiff:
            seed_v = s["seed_verdict_zh"] if lang == "zh" else s["seed_verdict"]
            reasons.append(why("verdict_differs", seed=seed_v, engine=i18n.verdict_label(e.verdict, lang)))
        if not (big or vdiff):
            reasons.append(why("lower_bound", seed=s["seed_ram_text"], predicted=e.memory_mb) if above_bound
                           else why("agrees", diff=round(diff), limit=threshold_pct))
        if s["known_issue_en"]:
            reasons.append(s["known_issue_zh"] if lang == "zh" else s["known_issue_en"])
        if (vdiff or big) and not (e.verdict == "unsupported" and s["known_issue_en"]):
            reasons.append(why("engine", reason=e.reason_in(lang)))
        if e.verdict != e8.verdict or dtype != "w8a8":
            reasons.append(why("with_w8a8", mb=e8.memory_mb, verdict=i18n.verdict_label(e8.verdict, lang)))
        rows.append({
            "model": s["model"], "section": s["section"], "seed_dtype": s["seed_dtype"] or "-",
            "seed_ram_text": s["seed_ram_text"], "seed_ram_mb": seed_mb,
            "seed_verdict": s["seed_verdict_zh"] if lang == "zh" else s["seed_verdict"],
            "dtype": dtype, "memory_mb": round(e.memory_mb, 0), "diff_pct": round(diff, 1),
            "verdict": e.verdict, "verdict_label": i18n.verdict_label(e.verdict, lang),
            "w8a8_memory_mb": round(e8.memory_mb, 0), "w8a8_verdict": e8.verdict,
            "flag": bool(big or vdiff),
            "reason": _join(reasons, lang),
        })
    return pd.DataFrame(rows)


def _why(lang: str, key: str, **values) -> str:
    return i18n.text(f"engine.why.{key}", lang, **values)


def _join(reasons: list[str], lang: str) -> str:
    return i18n.text("punct.clause", lang).join(r for r in reasons if r)


def seed_performance_comparison(board: str | Board = "rk3588-8gb", lang: str = "zh",
                                threshold_pct: float = 15.0) -> pd.DataFrame:
    """The seed's section-3 performance table (quoted) beside the engine's predicted decode and TTFT.

    VLMs are predicted with their image (the seed's VLM speeds come from image + text runs), so a VLM's
    number here is the full pipeline's, not the language model's alone (see
    :func:`rklab.predict.calibration.speed_residuals`). ``reason`` says why the decode rates agree or
    differ (more than ``threshold_pct``), plus the seed's known caveats."""
    i18n.check_lang(lang)
    rows = []
    for _, s in _seed("seed_performance.csv").iterrows():
        e = estimate(s["model"], s["seed_dtype"], board, 4096)
        q = s["seed_decode_tps"]
        diff = 100 * (e.decode_tps - q) / q
        if abs(diff) <= threshold_pct:
            reasons = [_why(lang, "decode_agrees", diff=round(diff), limit=threshold_pct)]
        else:
            reasons = [_why(lang, "decode_differs", diff=round(diff))]
            if not str(s["seed_source"]).startswith("official"):
                reasons.append(_why(lang, "community_clocks"))
        reasons.append(s["known_issue_zh"] if lang == "zh" else s["known_issue_en"])
        rows.append({
            "model": s["model"], "seed_decode_tps": q, "predicted_decode_tps": round(e.decode_tps, 2),
            "decode_diff_pct": round(diff, 1),
            "seed_ttft_ms": s["seed_ttft_ms"], "predicted_ttft_ms": round(e.ttft_ms, 1),
            "seed_vision_encoder_s": s["seed_vision_encoder_s"], "seed_source": s["seed_source"],
            "reason": _join(reasons, lang),
        })
    return pd.DataFrame(rows)


# ---- speed against the prompt length (long context) -------------------------------------------------------

def prompt_lengths(spec: ModelSpec, new_tokens: int = 64, start: int = 128) -> list[int]:
    """Prompt lengths from ``start`` doubling up to the longest RKLLM allows for the model (context limit
    minus the new tokens), that limit included."""
    top = context_limit(spec) - new_tokens
    out, p = [], start
    while p < top:
        out.append(p)
        p *= 2
    return out + [top] if top > 0 else out


def prompt_length_sweep(models=None, board: str | Board = "rk3588-8gb", dtype: str = "w8a8",
                        new_tokens: int = 64) -> pd.DataFrame:
    """Predicted TTFT, prefill rate and decode tok/s against the prompt length, up to the model's limit (the
    language model alone; context = the smallest legal one that holds prompt + new). Default models: the
    catalog LLMs that fit at 4096. ``fits``: whether that filled context still fits the usable budget."""
    b = load_board(board)
    if models is None:
        t = feasibility_table(b, DEFAULT_CONTEXT, "en", dtype)
        models = t[t["verdict"].isin(["fits", "tight"]) & (t["kind"] == "llm")]["model"].tolist()
    rows = []
    for name in models:
        spec = get_model(name) if isinstance(name, str) else name
        for p in prompt_lengths(spec, new_tokens):
            ctx = -(-(p + new_tokens) // CONTEXT_MULTIPLE) * CONTEXT_MULTIPLE
            e = estimate(spec, dtype, b, ctx, p, new_tokens, with_vision=False)
            rows.append({"model": spec.name, "prompt_tokens": p, "context": ctx, "ttft_ms": e.ttft_ms,
                         "prefill_tps": p / e.ttft_ms * 1000, "decode_tps": e.decode_tps,
                         "memory_mb": e.memory_mb, "fits": e.memory_mb <= e.budget_mb})
    return pd.DataFrame(rows)
