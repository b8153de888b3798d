"""The engine's predictions explained in plain text, for ``rklab estimate`` (one model's breakdown)
and ``rklab estimate --calibration`` (the calibrated constants and their residuals)."""

from __future__ import annotations

from rklab import i18n
from rklab.predict.calibration import (bus_width_evidence, calibrate, memory_residuals, residuals_by_soc,
                                       speed_residuals, summarize)
from rklab.texttable import render


def _verdict_words(verdict: str, lang: str) -> str:
    """``不可行 (infeasible)`` in zh (the English word is what --json and the CSVs carry); ``infeasible`` in en."""
    label = i18n.verdict_label(verdict, lang)
    return label if label == verdict else f"{label} ({verdict})"


def estimate_report(e, lang: str = "en") -> str:
    """A short human-readable breakdown of one :class:`rklab.predict.feasibility.Estimate`."""
    L = lambda k: i18n.label(k, lang)
    pred = i18n.label("predicted", lang)
    lines = [
        f"{e.model} ({e.kind}, {e.dtype}) on {e.board}: {e.used_tokens} tokens used "
        f"({e.prompt_tokens} prompt + {e.image_tokens} image + {e.new_tokens} new), max_context {e.max_context}",
        f"  {L('params')}: {e.params:,}" + (f" (LLM {e.llm_params:,} + vision {e.vision_params:,}"
                                             f" {e.vision_params_source})" if e.vision_params else ""),
        f"  {L('weights_mb')}: {e.weights_mb:,.1f}",
        f"  {L('embedding_mb')}: {e.embedding_mb:,.1f}",
        f"  {L('kv_mb')}: {e.kv_mb:,.1f}   (reserved for max_context: {e.kv_reserved_mb:,.1f})",
        f"  {L('runtime_mb')}: {e.runtime_mb:,.1f}",
        f"  {L('vision_mb')}: {e.vision_mb:,.1f}",
        f"  {L('image_embed_mb')}: {e.image_embed_mb:,.1f}",
        f"  = {L('memory_mb')}: {e.memory_mb:,.1f}",
        f"  {L('available_drop_mb')}: {e.available_drop_mb:,.1f}",
        f"  {L('budget_mb')}: {e.budget_mb:,.1f}   {L('physical_mb')}: {e.physical_mb:,.1f}",
    ]
    if e.live_mem_available_mb is not None:
        lines.append(f"  live MemAvailable {e.live_mem_available_mb:,.0f} MB, MemTotal {e.live_mem_total_mb:,.0f} MB")
    clocks = "pinned (official)" if e.clocks_pinned else "as given"
    lines += [
        f"  largest single NPU buffer: {e.largest_npu_buffer} {e.largest_npu_buffer_mb:,.0f} MB "
        f"(one IOMMU domain holds 4,096 MB)",
        f"  clocks {clocks}: DDR {e.ddr_mhz:,.0f} MHz, NPU {e.npu_mhz:,.0f} MHz, CPU {e.cpu_mhz:,.0f} MHz",
        f"  {L('predicted_decode_tps')}: {e.decode_tps:.2f}   {L('bandwidth_pct')}: {e.bandwidth_pct:.0f} % of "
        f"{e.bandwidth_ceiling_gbs:.1f} GB/s",
        f"  {L('predicted_ttft_ms')}: {e.ttft_ms:,.0f}",
        f"  {L('verdict')}: {_verdict_words(e.verdict, lang)}: {e.reason_in(lang)}",
        f"  ({pred}: MB = MiB; rklab.predict.memory / rklab.predict.speed calibrated on data/reference)",
    ]
    return "\n".join(lines)


def calibration_report(lang: str = "en") -> str:
    """The calibrated constants and the residual tables as text."""
    cal = calibrate()
    out = ["Calibrated constants (rklab.predict.calibration, least squares on data/reference/rk3588.csv and "
           "other_socs.csv):"]
    out += [f"  {k}: {v}" for k, v in cal.summary().items()]
    by_soc = summarize(residuals_by_soc()).reset_index()
    out += ["", "Mean absolute residual (%) per SoC and dtype class, calibration rows (in sample):",
            render(by_soc, list(by_soc.columns), "en")]
    ev = bus_width_evidence()
    out += ["", "Inferred board facts decided from calibration (decode residuals of that SoC per candidate):",
            render(ev, list(ev.columns), "en")]
    mem = memory_residuals()
    out += ["", "Memory (VmHWM) residuals:",
            render(mem, ["source", "runtime", "soc", "model", "dtype", "memory_kind", "tokens", "quoted_mb",
                         "predicted_mb", "residual_pct", "used_in_fit", "explanation"], "en")]
    sp = speed_residuals()
    sp = sp[sp["predicted_decode_tps"].notna()]
    out += ["", "Speed residuals:",
            render(sp, ["source", "runtime", "soc", "model", "dtype", "tokens", "quoted_decode_tps",
                        "predicted_decode_tps", "decode_residual_pct", "quoted_ttft_ms", "predicted_ttft_ms",
                        "ttft_residual_pct", "used_in_fit", "explanation"], "en")]
    return "\n".join(out)
