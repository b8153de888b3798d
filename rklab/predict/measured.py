"""Predictions to put beside measured runs (the report calls these; it computes nothing itself).

- NPU (RKLLM) runs: the prediction at the clocks the monitor saw during the run (DDR, NPU, CPU means,
  ``*_mhz_mean`` in the run record) beside the prediction at the board's pinned official clocks, and one
  sentence that says which explains the measured number (:func:`npu_run_prediction`).
- llama.cpp runs: memory predicted from the GGUF file on top of the process's RSS before loading, and the
  decode ceiling from bytes per token against the host's measured bandwidth (:func:`llamacpp_run_prediction`).
- Plan models before anything is measured: predicted NPU and CPU numbers side by side (:func:`npu_vs_cpu`).

Every number returned here is **predicted**; measured numbers only pass through to be compared.
"""

from __future__ import annotations

import math
from pathlib import Path

from rklab import i18n
from rklab.errors import RklabError
from rklab.i18n import text
from rklab.predict.boards import Board, Clocks, load_board
from rklab.predict.catalog import ModelSpec, get_model
from rklab.predict.cpu import GgufFacts, decode_ceiling, facts_from_spec, llamacpp_memory, read_gguf
from rklab.predict.feasibility import estimate

CLOSE_PCT = 15.0   # a prediction within this of the measurement "explains" it


def _num(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v > 0 else None


def _pct(measured, predicted) -> float | None:
    m, p = _num(measured), _num(predicted)
    return None if m is None or p is None else (m / p - 1) * 100


def observed_clocks(run: dict) -> Clocks:
    """The mean clocks of a run record (``ddr_mhz_mean``, ``npu_mhz_mean``, ``cpu_mhz_mean``; missing: None)."""
    return Clocks(_num(run.get("ddr_mhz_mean")), _num(run.get("npu_mhz_mean")), _num(run.get("cpu_mhz_mean")))


def _clock_words(clocks: Clocks, pinned: Clocks, governors: dict | None, lang: str) -> list[str]:
    out = []
    for name, label in (("ddr_mhz", "DDR"), ("npu_mhz", "NPU"), ("cpu_mhz", "CPU")):
        v, pin = getattr(clocks, name), getattr(pinned, name)
        if v is None or abs(v - pin) / pin < 0.02:
            continue
        gov = (governors or {}).get(name)
        out.append(text("clock.averaged", lang, label=label, mhz=v, pin=pin,
                        governor=text("clock.governor", lang, governor=gov) if gov else ""))
    return out


def npu_run_prediction(model: str | ModelSpec, dtype: str, board: str | Board, *, prompt_tokens: int,
                       new_tokens: int, clocks: Clocks | None, measured_decode_tps=None, max_context: int | None = None,
                       with_vision: bool | None = False, governors: dict | None = None, lang: str = "en") -> dict:
    """Predicted decode/TTFT at the observed clocks and at the pinned clocks, and one sentence saying which
    explains the measured decode rate. ``governors``: optional ``{"ddr_mhz": "dmc_ondemand", ...}``."""
    b = load_board(board)
    at = (clocks or Clocks()).resolved(b.clocks)
    kw = dict(dtype=dtype, board=b, max_context=max_context, prompt_tokens=prompt_tokens, new_tokens=new_tokens,
              with_vision=with_vision)
    pinned = estimate(model, **kw)
    observed = estimate(model, clocks=at, **kw)
    measured = _num(measured_decode_tps)
    out = {"predicted_decode_tps_pinned": float(pinned.decode_tps), "predicted_ttft_ms_pinned": float(pinned.ttft_ms),
           "predicted_decode_tps_observed": float(observed.decode_tps),
           "predicted_ttft_ms_observed": float(observed.ttft_ms), "predicted_memory_mb": float(pinned.memory_mb),
           "ddr_mhz": at.ddr_mhz, "npu_mhz": at.npu_mhz, "cpu_mhz": at.cpu_mhz,
           "clocks_known": clocks is not None and any(getattr(clocks, k) is not None for k in ("ddr_mhz", "npu_mhz", "cpu_mhz")),
           "measured_decode_tps": measured}
    out["explanation"] = _explain(out, b, at, governors, lang)
    return out


def _explain(p: dict, b: Board, at: Clocks, governors, lang: str) -> str:
    measured, pin, obs = p["measured_decode_tps"], p["predicted_decode_tps_pinned"], p["predicted_decode_tps_observed"]
    words = _clock_words(at, b.clocks, governors, lang)
    if not p["clocks_known"]:
        return text("clock.unknown", lang, pin=pin)
    if measured is None:
        return text("clock.no_measurement", lang, obs=obs, pin=pin)
    gap_obs, gap_pin = abs(measured / obs - 1) * 100, abs(measured / pin - 1) * 100
    if not words:
        verdict = text("clock.agrees" if gap_pin <= CLOSE_PCT else "clock.gap_not_clocks", lang)
        return text("clock.pinned_line", lang, head=text("clock.matched_pinned", lang), pin=pin, measured=measured,
                    verdict=verdict)
    tail = ("clock.explain_all" if gap_obs <= CLOSE_PCT else
            "clock.explain_part" if gap_obs < gap_pin else "clock.explain_none")
    return text("clock.observed_line", lang, head=text("punct.clause", lang).join(words), obs=obs,
                measured=measured, pin=pin, tail=text(tail, lang))


def llamacpp_run_prediction(gguf_path, *, n_ctx: int, prompt_tokens: int, new_tokens: int,
                            rss_before_load_mb=None, bandwidth_gbs=None, measured_decode_tps=None,
                            measured_vmhwm_mb=None, bandwidth_source: str = "measured (host snapshot)") -> dict:
    """Memory from the GGUF file (+ the RSS before load) and the decode ceiling at the measured bandwidth."""
    facts = read_gguf(gguf_path)
    mem = llamacpp_memory(facts, n_ctx, prompt_tokens, new_tokens, baseline_mb=_num(rss_before_load_mb) or 0.0)
    out = {"predicted_memory_mb": mem.memory_mb if _num(rss_before_load_mb) else None,
           "predicted_model_mb": mem.model_mb, "rss_before_load_mb": _num(rss_before_load_mb),
           "memory_residual_pct": None, "ceiling_tps": None, "pct_of_ceiling": None,
           "basis": f"predicted from the GGUF file {Path(str(gguf_path)).name} (rklab.predict.cpu)"}
    if out["predicted_memory_mb"] is not None:
        out["memory_residual_pct"] = _pct(measured_vmhwm_mb, out["predicted_memory_mb"])
    bw = _num(bandwidth_gbs)
    if bw:
        c = decode_ceiling(facts, prompt_tokens + new_tokens / 2, bw, bandwidth_source)
        out["ceiling_tps"] = c.ceiling_tps
        m = _num(measured_decode_tps)
        out["pct_of_ceiling"] = 100 * m / c.ceiling_tps if m else None
    out.update({f"memory_{k}": v for k, v in mem.to_dict().items()})
    return out


def npu_vs_cpu(model: str, board: str | Board, *, npu_dtype: str = "w8a8", gguf_type: str = "q8_0",
               gguf_path=None, max_context: int | None = None, prompt_tokens: int = 128, new_tokens: int = 64,
               cpu_bandwidth_gbs=None, cpu_bandwidth_source: str = "") -> dict:
    """Predicted NPU (RKLLM) and CPU (llama.cpp) numbers of one model on a board, before any measurement.
    CPU memory is the llama.cpp part alone (no Python process around it); CPU decode is the bandwidth
    ceiling (an upper bound), with the board's quoted CPU bandwidth unless a measured one is given."""
    b = load_board(board)
    spec = get_model(model)
    out: dict = {"model": spec.name, "npu_dtype": npu_dtype, "cpu_type": gguf_type}
    try:
        e = estimate(spec, npu_dtype, b, max_context, prompt_tokens, new_tokens, with_vision=False)
        out.update(npu_memory_mb=e.memory_mb, npu_decode_tps=e.decode_tps, npu_ttft_ms=e.ttft_ms, npu_verdict=e.verdict)
    except RklabError as exc:
        out.update(npu_memory_mb=None, npu_decode_tps=None, npu_ttft_ms=None, npu_verdict=f"no prediction: {exc}")
    facts: GgufFacts = read_gguf(gguf_path) if gguf_path else facts_from_spec(spec, gguf_type)
    ctx = max_context or min(4096, facts.context_length or 4096)
    mem = llamacpp_memory(facts, ctx, prompt_tokens, new_tokens)
    bw = _num(cpu_bandwidth_gbs) or b.cpu_bandwidth_gbs
    src = cpu_bandwidth_source or (b.cpu_bandwidth_source if b.cpu_bandwidth_gbs else "")
    ceiling = decode_ceiling(facts, prompt_tokens + new_tokens / 2, bw, src).ceiling_tps if bw else None
    out.update(cpu_memory_mb=mem.model_mb, cpu_decode_ceiling_tps=ceiling, cpu_bandwidth_gbs=bw,
               cpu_bandwidth_source=src, cpu_basis=facts.source)
    return out


def _get(row, *keys):
    for k in keys:
        try:
            v = row.get(k)
        except AttributeError:
            v = None
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            return v
    return None


def run_prediction(row, board: str | Board, lang: str = "en") -> dict:
    """The prediction to show beside one measured run or case summary (a record row: ``backend``,
    ``model_name``, ``dtype``, ``kind``, ``prompt_tokens``, ``new_tokens``, ``max_context``, ``decode_tps``,
    ``vmhwm_mb``; llama.cpp also ``model.path``, ``rss_before_load_mb``, ``host.mem_bandwidth.gbs``; NPU runs
    the ``*_mhz_mean`` clocks and ``host.ddr_governor``). Keys: ``predicted_decode_tps`` (at the observed
    clocks when known), ``predicted_decode_tps_pinned``, ``predicted_ttft_ms``, ``predicted_memory_mb``,
    ``ceiling_tps``, ``pct_of_ceiling``, ``explanation``; ``note`` says why a number is missing."""
    out = {"predicted_decode_tps": None, "predicted_decode_tps_pinned": None, "predicted_ttft_ms": None,
           "predicted_memory_mb": None, "ceiling_tps": None, "pct_of_ceiling": None, "explanation": "", "note": ""}
    pp = int(_num(_get(row, "prompt_tokens")) or 128)
    tg = int(_num(_get(row, "new_tokens", "generated_tokens")) or 64)
    ctx = _num(_get(row, "max_context"))
    try:
        if _get(row, "backend") == "llamacpp":
            path = _get(row, "model.path", "model_path")
            if not path:
                out["note"] = i18n.text("engine.note.no_gguf_path", lang)
                return out
            p = llamacpp_run_prediction(path, n_ctx=int(ctx or 4096), prompt_tokens=pp, new_tokens=tg,
                                        rss_before_load_mb=_get(row, "rss_before_load_mb"),
                                        bandwidth_gbs=_get(row, "host.mem_bandwidth.gbs"),
                                        measured_decode_tps=_get(row, "decode_tps"),
                                        measured_vmhwm_mb=_get(row, "vmhwm_mb"))
            out.update(predicted_memory_mb=p["predicted_memory_mb"], ceiling_tps=p["ceiling_tps"],
                       pct_of_ceiling=p["pct_of_ceiling"])
            if _get(row, "kind") == "vlm":   # the process also holds the vision encoder, which is not predicted here
                out["predicted_memory_mb"] = None
                out["note"] = i18n.text("engine.note.vlm_cpu_memory", lang)
            elif not p["predicted_memory_mb"]:
                out["note"] = i18n.text("engine.note.no_rss_before_load", lang)
            out["explanation"] = i18n.text("engine.note.from_gguf", lang, file=Path(str(path)).name)
            return out
        clocks = observed_clocks(row)
        known = any(getattr(clocks, k) is not None for k in ("ddr_mhz", "npu_mhz", "cpu_mhz"))
        gov = {"ddr_mhz": _get(row, "host.ddr_governor"), "npu_mhz": _get(row, "host.npu_governor")}
        p = npu_run_prediction(_get(row, "model_name", "model"), _get(row, "dtype") or "w8a8", board,
                               prompt_tokens=pp, new_tokens=tg, clocks=clocks if known else None,
                               measured_decode_tps=_get(row, "decode_tps"),
                               max_context=int(ctx) if ctx else None, with_vision=_get(row, "kind") == "vlm",
                               governors=gov, lang=lang)
        out.update(predicted_decode_tps=p["predicted_decode_tps_observed"],
                   predicted_decode_tps_pinned=p["predicted_decode_tps_pinned"],
                   predicted_ttft_ms=p["predicted_ttft_ms_observed"], predicted_memory_mb=p["predicted_memory_mb"],
                   explanation=p["explanation"])
    except RklabError as exc:
        out["note"] = i18n.text("engine.note.no_prediction", lang, error=exc)
    return out
