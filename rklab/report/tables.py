"""The report's tables as the reader sees them: headers in the report's language, numbers rounded.

Metric columns take their header and digits from :mod:`rklab.metrics` (the same words and
rounding as the notebooks); report columns take theirs from :mod:`rklab.i18n` (``report.*``,
``cond.*``). Each function returns an empty DataFrame when there is nothing to show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rklab import metrics
from rklab.i18n import has_text, text
from rklab.metrics import format_number
from rklab.report.build import Report
from rklab.report.frames import col, yes_no_unknown

FLAG_CONDITIONS = ("clocks_pinned", "throttled", "clocks_below_max")
NUMBER_CONDITIONS = ("temp_start_c", "temp_max_c", "npu_freq_mhz", "ddr_freq_mhz")
MB_DIGITS = metrics.get("vmhwm_mb").digits
PCT_DIGITS = 0


def plus_minus(value, std, digits: int) -> str:
    """``25.00 ± 0.20``; the value alone when there is no spread; ``-`` when there is no value."""
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.{digits}f} ± {std:.{digits}f}" if std and np.isfinite(std) else f"{value:.{digits}f}"


def _metric_column(values: pd.Series, name: str) -> pd.Series:
    return values.map(lambda v: metrics.fmt(name, v))


def measured_display(report: Report) -> pd.DataFrame:
    """The measured table (one row per entry and case): medians ± std, peaks."""
    lang = report.lang
    m = report.measured
    if m.empty:
        return pd.DataFrame()
    dec, ttft = metrics.get("decode_tps"), metrics.get("ttft_ms")
    df = pd.DataFrame({
        text("report.entry", lang): m["entry"],
        text("report.model", lang): m["model_name"] + np.where(m["synthetic"], " *", ""),
        text("report.backend", lang): m["backend"],
        text("report.dtype", lang): m["dtype"],
        text("report.case", lang): m["case"],
        text("report.n", lang): m["n"],
        dec.label(lang): [plus_minus(a, b, dec.digits) for a, b in zip(m["decode_tps"], m["decode_tps_std"])],
        ttft.label(lang): [plus_minus(a, b, ttft.digits) for a, b in zip(m["ttft_ms"], m["ttft_ms_std"])],
        metrics.label("vmhwm_mb", lang): _metric_column(m["vmhwm_mb"], "vmhwm_mb"),
        metrics.label("mem_available_drop_mb", lang): _metric_column(m["mem_available_drop_mb"], "mem_available_drop_mb"),
    })
    if m["encoder_ms"].notna().any():
        df[metrics.label("encoder_ms", lang)] = _metric_column(m["encoder_ms"], "encoder_ms")
    return df


def comparison_display(report: Report) -> pd.DataFrame:
    """Quoted and measured numbers per model, with reference, runtime and conditions."""
    lang = report.lang
    c = report.comparison
    if c.empty:
        return pd.DataFrame()
    return pd.DataFrame({
        text("report.model", lang): c["model"],
        text("report.source", lang): c["source"],
        text("report.reference", lang): c["reference"],
        text("report.runtime", lang): c["runtime"],
        metrics.label("decode_tps", lang): _metric_column(c["decode_tps"], "decode_tps"),
        metrics.label("ttft_ms", lang): _metric_column(c["ttft_ms"], "ttft_ms"),
        text("report.memory_mb", lang): c["memory_mb"].map(lambda v: format_number(v, MB_DIGITS)),
        text("report.memory_kind", lang): c["memory_kind"].fillna(""),
        text("report.conditions_col", lang): c["conditions"],
    })


def verdicts_display(report: Report) -> pd.DataFrame:
    """The final feasibility table: seed (quoted), predicted, measured, verdict and why."""
    lang = report.lang
    v = report.verdicts
    if v.empty:
        return pd.DataFrame()
    src = {s: text(f"report.{s}", lang) for s in ("measured", "predicted", "excluded")}
    return pd.DataFrame({
        text("report.model", lang): v["model"],
        text("report.seed_ram", lang): col(v, "seed_ram_mb").map(
            lambda x: x if isinstance(x, str) else format_number(x, MB_DIGITS)),
        text("report.seed_verdict", lang): col(v, "seed_verdict").fillna(""),
        text("report.pred_memory", lang): col(v, "predicted_mb").map(lambda x: format_number(x, MB_DIGITS)),
        text("report.meas_memory", lang): _metric_column(v["measured_mb"], "vmhwm_mb"),
        text("report.meas_decode", lang): _metric_column(v["measured_decode_tps"], "decode_tps"),
        text("report.verdict", lang): v["verdict_label"],
        text("report.verdict_source", lang): v["verdict_source"].map(src),
        text("report.verdict_reason", lang): col(v, "verdict_reason", "").fillna(""),
    })


def predicted_display(report: Report) -> pd.DataFrame:
    """Measured against predicted (NPU: at the observed clocks and at the pinned ones; llama.cpp: memory
    from the GGUF file and % of the decode ceiling), with the residuals and the explaining sentence."""
    lang = report.lang
    p = report.predicted
    if p.empty:
        return pd.DataFrame()
    pct = lambda s: s.map(lambda x: format_number(x, PCT_DIGITS))  # noqa: E731
    return pd.DataFrame({
        text("report.entry", lang): p["entry"], text("report.case", lang): p["case"],
        text("report.meas_decode", lang): _metric_column(p["measured_decode_tps"], "decode_tps"),
        text("report.pred_decode", lang): _metric_column(p["predicted_decode_tps"], "decode_tps"),
        text("report.residual", lang): pct(p["decode_residual_pct"]),
        text("report.pred_decode_pinned", lang): _metric_column(p["predicted_decode_tps_pinned"], "decode_tps"),
        text("report.pct_of_ceiling", lang): pct(p["pct_of_ceiling"]),
        text("report.meas_memory", lang): _metric_column(p["measured_vmhwm_mb"], "vmhwm_mb"),
        text("report.pred_memory", lang): p["predicted_memory_mb"].map(lambda x: format_number(x, MB_DIGITS)),
        text("report.residual", lang) + " ": pct(p["memory_residual_pct"]),
        text("report.explanation", lang): p["explanation"].fillna(""),
        text("report.note", lang): p["note"].fillna(""),
    })


def npu_cpu_display(report: Report) -> pd.DataFrame:
    """Every plan model on the NPU and on the CPU: predicted (always) and measured (where a run did)."""
    lang = report.lang
    t = report.npu_cpu
    if t is None or t.empty:
        return pd.DataFrame()
    num = lambda s, d: s.map(lambda x: format_number(x, d))  # noqa: E731
    return pd.DataFrame({
        text("report.model", lang): t["model"], text("report.in_plan", lang): t["in_plan"],
        text("report.npu_dtype", lang): t["npu_dtype"],
        text("report.npu_pred_decode", lang): num(t["npu_decode_tps"], 1),
        text("report.npu_pred_ttft", lang): num(t["npu_ttft_ms"], 0),
        text("report.npu_pred_memory", lang): num(t["npu_memory_mb"], MB_DIGITS),
        text("report.npu_meas_decode", lang): num(t["measured_npu_decode_tps"], 2),
        text("report.cpu_type", lang): t["cpu_type"],
        text("report.cpu_pred_ceiling", lang): num(t["cpu_decode_ceiling_tps"], 1),
        text("report.cpu_pred_memory", lang): num(t["cpu_memory_mb"], MB_DIGITS),
        text("report.cpu_meas_decode", lang): num(t["measured_cpu_decode_tps"], 2),
        text("report.cpu_bandwidth", lang): [f"{format_number(g, 1)} GB/s ({src})" if src else "-"
                                             for g, src in zip(t["cpu_bandwidth_gbs"], t["cpu_bandwidth_source"].fillna(""))],
        text("report.note", lang): t["npu_verdict"].where(t["npu_verdict"].astype(str).str.startswith("no prediction"), ""),
    })


def entries_display(report: Report) -> pd.DataFrame:
    """How each sweep entry ended; in zh the status is explained, the raw status kept in brackets."""
    lang = report.lang
    e = report.entries
    if e.empty:
        return pd.DataFrame()

    def status(s) -> str:
        return f"{text(f'status.{s}', lang)} ({s})" if lang == "zh" and has_text(f"status.{s}") else s

    return pd.DataFrame({text("report.entry", lang): e["entry"], text("report.model", lang): e["model"],
                         text("report.backend", lang): e["backend"], text("report.status", lang): e["status"].map(status),
                         text("report.error", lang): e["message"].fillna("")})


def conditions_display(report: Report) -> pd.DataFrame:
    """The conditions table with localized headers; yes/no/unknown (是/否/未知) for the flags."""
    lang = report.lang
    c = report.conditions
    if c.empty:
        return pd.DataFrame()
    df = pd.DataFrame(index=c.index)
    for key in c.columns:
        values = c[key]
        if key in FLAG_CONDITIONS:
            values = values.map(lambda v: text(f"report.{yes_no_unknown(v)}", lang))
        elif key in NUMBER_CONDITIONS:
            values = values.map(lambda v: format_number(v, 0))
        df[text(f"cond.{key}", lang)] = values
    return df.reset_index(drop=True)
