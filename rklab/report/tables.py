"""The report's tables as the reader sees them, through the one formatter :mod:`rklab.display`.

Each function picks the columns of one table from the :class:`~rklab.report.build.Report` (raw keys,
with words in the report's language where a cell is a word) and returns
:func:`rklab.display.format_table`'s result: text cells, headers in the report's language with
units, the metrics registry's digits, ``-`` for missing, 是/否 for flags, no index. An empty
DataFrame when there is nothing to show. A column added to the report's frames later needs no
change here to be formatted; to be shown it is added to a column list.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from rklab import metrics
from rklab.display import Column, format_table, is_missing, number_text
from rklab.i18n import memory_kind_label, text
from rklab.predict.boards import load_board
from rklab.report.build import Report
from rklab.report.conditions import clock_reasons_summary
from rklab.report.frames import col
from rklab.report.warnings import fleet_status_word
from rklab.runfolder import Status

FLAG_CONDITIONS = ("clocks_pinned", "throttled", "clocks_below_max")
# The board columns of every table: the records' board_id and the board profile (板卡 / 板卡配置).
BOARD_LABELS = {"board": Column("board", "report.board", kind="text"),
                "profile": Column("profile", "report.profile", kind="text")}


def shows_boards(report: Report) -> bool:
    """Whether the tables name the board on every row: a fleet (more than one board, or a fleet run's
    folder). A single board's report names it once, in the Boards table and the intro."""
    return report.many_boards or len(report.board_status) > 0


def _table(report: Report, df: pd.DataFrame, columns=None, labels=None) -> pd.DataFrame:
    """:func:`format_table` in the report's language, the board columns only in a fleet report."""
    names = list(columns if columns is not None else df.columns)
    if not shows_boards(report):
        names = [c for c in names if c not in BOARD_LABELS]
    return format_table(df, report.lang, names, labels={**BOARD_LABELS, **(labels or {})})


def plus_minus(value, std, digits: int) -> str:
    """``25.00 ± 0.20``; the value alone when there is no spread; ``-`` when there is no value."""
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:,.{digits}f} ± {std:,.{digits}f}" if std and np.isfinite(std) else f"{value:,.{digits}f}"


def measured_display(report: Report) -> pd.DataFrame:
    """The measured table (one row per entry and case): medians ± std, peaks."""
    m = report.measured
    if m.empty:
        return pd.DataFrame()
    dec, ttft = metrics.get("decode_tps"), metrics.get("ttft_ms")
    df = pd.DataFrame({
        "board": m["board"], "entry": m["entry"], "model_name": m["model_name"] + np.where(m["synthetic"], " *", ""),
        "backend": m["backend"], "dtype": m["dtype"], "case": m["case"], "n": m["n"],
        "decode_tps": [plus_minus(a, b, dec.digits) for a, b in zip(m["decode_tps"], m["decode_tps_std"])],
        "ttft_ms": [plus_minus(a, b, ttft.digits) for a, b in zip(m["ttft_ms"], m["ttft_ms_std"])],
        "vmhwm_mb": m["vmhwm_mb"], "mem_available_drop_mb": m["mem_available_drop_mb"],
    })
    if m["encoder_ms"].notna().any():
        df["encoder_ms"] = m["encoder_ms"]
    return _table(report, df, labels={
        "case": "report.case",
        # text cells "25.00 ± 0.20", right-aligned as numbers
        "decode_tps": Column("decode_tps", "metric.decode_tps", "tok/s", "number"),
        "ttft_ms": Column("ttft_ms", "metric.ttft_ms", "ms", "number")})


def comparison_display(report: Report) -> pd.DataFrame:
    """Quoted and measured numbers per model, with reference, runtime and conditions."""
    c = report.comparison
    if c.empty:
        return pd.DataFrame()
    c = c.assign(memory_kind=[memory_kind_label(k, report.lang) for k in c["memory_kind"]])
    return _table(report, c,
                        ["model", "board", "source", "reference", "runtime", "decode_tps", "ttft_ms", "memory_mb",
                         "memory_kind", "conditions"],
                        labels={"memory_mb": Column("memory_mb", "report.memory_mb", "MB", digits=0),
                                "model": "report.model"})


def verdicts_display(report: Report) -> pd.DataFrame:
    """The final feasibility table: seed (quoted), predicted, measured, verdict and why."""
    lang = report.lang
    v = report.verdicts
    if v.empty:
        return pd.DataFrame()
    df = v.assign(seed_verdict=col(v, "seed_verdict"), verdict_reason=col(v, "verdict_reason", ""))
    return _table(report, df, ["board", "profile", "model", "seed_ram_mb", "seed_verdict", "predicted_mb",
                                   "measured_mb", "measured_decode_tps", "verdict_label", "verdict_source",
                                   "verdict_reason"],
                        labels={"model": "report.model",
                                "seed_ram_mb": Column("seed_ram_mb", "report.seed_ram", "MB", "any", 0),
                                "seed_verdict": "report.seed_verdict",
                                "predicted_mb": Column("predicted_mb", "report.pred_memory", "MB", digits=0),
                                "verdict_label": "report.verdict"})


def has_predictions(report: Report) -> bool:
    p = report.predicted
    cols = [c for c in ("predicted_decode_tps", "predicted_memory_mb", "ceiling_tps") if c in p.columns]
    return bool(len(p)) and bool(p[cols].notna().any().any())


def _has_values(df: pd.DataFrame, name: str) -> bool:
    """Whether column ``name`` has anything to show (a cell the formatter would not print as ``-``)."""
    return name in df.columns and not all(is_missing(v) for v in df[name].tolist())


def predicted_display(report: Report) -> pd.DataFrame:
    """Measured against predicted (NPU: at the observed clocks and at the pinned ones; llama.cpp: memory
    from the GGUF file and % of the decode ceiling), with the residuals and the explaining sentence.
    Empty when nothing was predicted: the section then says why, in one line."""
    p = report.predicted
    if p.empty or not has_predictions(report):
        return pd.DataFrame()
    columns = ["board", "entry", "case", "measured_decode_tps", "predicted_decode_tps", "decode_residual_pct",
               "predicted_decode_tps_pinned", "pct_of_ceiling", "measured_vmhwm_mb", "predicted_memory_mb",
               "memory_residual_pct", "explanation", "note"]
    labels = {
        "case": "report.case",
        "predicted_decode_tps": Column("predicted_decode_tps", "report.pred_decode_observed", "tok/s", digits=2),
        "decode_residual_pct": Column("decode_residual_pct", "report.residual_decode", "%", digits=0),
        "predicted_decode_tps_pinned": Column("predicted_decode_tps_pinned", "report.pred_decode_pinned", "tok/s",
                                              digits=2),
        "pct_of_ceiling": Column("pct_of_ceiling", "report.pct_of_ceiling", "%", digits=0),
        "predicted_memory_mb": Column("predicted_memory_mb", "report.pred_memory", "MB", digits=0),
        "memory_residual_pct": Column("memory_residual_pct", "report.residual_memory", "%", digits=0),
        "explanation": Column("explanation", "report.explanation", kind="text", long=True)}
    # a column empty on every row (the NPU columns of a llama.cpp-only report) only widens the table
    shown = [c for c in columns if c in ("board", "entry", "case") or _has_values(p, c)]
    return _table(report, p, shown, labels=labels)


def npu_cpu_display(report: Report) -> pd.DataFrame:
    """Every plan model on the NPU and on the CPU: predicted (always) and measured (where a run did)."""
    t = report.npu_cpu
    if t is None or t.empty:
        return pd.DataFrame()
    df = t.assign(cpu_bandwidth=[f"{number_text(g, 1)} GB/s ({src})" if src else "-"
                                 for g, src in zip(t["cpu_bandwidth_gbs"], t["cpu_bandwidth_source"].fillna(""))],
                  note=t["npu_verdict"].where(t["npu_verdict"].astype(str).str.startswith("no prediction"), ""))
    n = lambda name, key, unit, digits: Column(name, key, unit, digits=digits)  # noqa: E731
    return _table(report, df, [
        "board", "profile", "model", "in_plan", "npu_dtype", "npu_decode_tps", "npu_ttft_ms", "npu_memory_mb",
        "measured_npu_decode_tps", "cpu_type", "cpu_decode_ceiling_tps", "cpu_memory_mb", "measured_cpu_decode_tps",
        "cpu_bandwidth", "note"],
        labels={"model": "report.model", "in_plan": "report.in_plan", "npu_dtype": "report.npu_dtype",
                "npu_decode_tps": n("npu_decode_tps", "report.npu_pred_decode", "tok/s", 1),
                "npu_ttft_ms": n("npu_ttft_ms", "report.npu_pred_ttft", "ms", 0),
                "npu_memory_mb": n("npu_memory_mb", "report.npu_pred_memory", "MB", 0),
                "measured_npu_decode_tps": n("measured_npu_decode_tps", "report.npu_meas_decode", "tok/s", 2),
                "cpu_type": "report.cpu_type",
                "cpu_decode_ceiling_tps": n("cpu_decode_ceiling_tps", "report.cpu_pred_ceiling", "tok/s", 1),
                "cpu_memory_mb": n("cpu_memory_mb", "report.cpu_pred_memory", "MB", 0),
                "measured_cpu_decode_tps": n("measured_cpu_decode_tps", "report.cpu_meas_decode", "tok/s", 2),
                "cpu_bandwidth": Column("cpu_bandwidth", "report.cpu_bandwidth", kind="text")})


def entries_display(report: Report) -> pd.DataFrame:
    """How each sweep entry ended, the status in words."""
    e = report.entries
    if e.empty:
        return pd.DataFrame()
    df = e.assign(message=e["message"].fillna(""))
    return _table(report, df, ["board", "entry", "model", "backend", "status", "message"],
                        labels={"model": "report.model"})


def conditions_display(report: Report) -> pd.DataFrame:
    """The conditions table: yes/no/unknown (是/否/未知) for the flags, why-not-pinned in one phrase."""
    lang = report.lang
    c = report.conditions
    if c.empty:
        return pd.DataFrame()
    df = c.assign(clocks_reasons=[clock_reasons_summary(r, s, lang) for r, s in zip(c["clocks_reasons"], c["soc"])],
                  when=c["when"].map(_when))
    labels = {k: Column(k, f"cond.{k}", kind="bool" if k in FLAG_CONDITIONS else "any", digits=0)
              for k in c.columns}
    labels["clocks_reasons"] = Column("clocks_reasons", "cond.clocks_reasons", kind="text", long=True)
    labels["cpu_freq_mhz"] = Column("cpu_freq_mhz", "cond.cpu_freq_mhz", kind="text")
    return _table(report, df, list(c.columns), labels=labels)


def _when(v) -> str:
    """An ISO time stamp as ``2026-12-01 11:37 UTC`` (as it is when it is not one)."""
    try:
        t = _dt.datetime.fromisoformat(str(v))
    except (TypeError, ValueError):
        return "" if v is None else str(v)
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M") + (" UTC" if t.tzinfo is not None else "")


def boards_display(report: Report) -> pd.DataFrame:
    """One row per board: its profile (physical RAM, usable budget), how many of its entries ended ok,
    and, in a fleet, how its last fleet run went (reached? sweep ended? the error)."""
    lang = report.lang
    if not report.boards:
        return pd.DataFrame()
    status = report.board_status.set_index("board") if len(report.board_status) else None
    rows = []
    for board, profile in report.boards:
        b = load_board(profile)
        e = report.entries[report.entries["board"] == board] if len(report.entries) else report.entries
        n_ok = int((e["status"] == Status.OK).sum()) if len(e) else 0
        row = {"board": board, "profile": f"{profile} ({b.label(lang)})", "physical_mb": b.physical_mb,
               "budget_mb": b.budget_mb, "entries_ok": f"{n_ok}/{len(e)}"}
        if status is not None:
            row["fleet_status"] = fleet_status_text(status.loc[board], lang) if board in status.index else None
        rows.append(row)
    return format_table(pd.DataFrame(rows), lang, labels={
        **BOARD_LABELS, "entries_ok": Column("entries_ok", "report.entries_ok", kind="text"),
        "fleet_status": Column("fleet_status", "report.fleet_status", kind="text", long=True)})


def fleet_status_text(s: pd.Series, lang: str) -> str:
    """A board's last fleet run in words: ``ok``, or ``unreachable at 'connect': <error>``."""
    word = fleet_status_word(s["status"], lang)
    if s["status"] == Status.OK:
        return word
    return text("fleet.status_at", lang, status=word, task=s["task"] or "-", message=s["message"] or "-")
