"""The answer first: what the boss asked ("which models run on the board, how fast, how much memory").

:func:`answer_rows` gives one row per model of the seed's tables and of the sweep (the rows of the
final verdict table), with the number that answers each question and its kind: memory and verdict
**measured** on the NPU where measured, else **predicted** by the engine; decode measured on the
NPU, else measured on a CPU (llama.cpp, with the host), else predicted. :func:`answer_lines` says it
in three or four sentences; :func:`rklab.report.plots.report.answer_figure` draws it. With several
boards (a fleet) the rows and the sentences are per board, each against its own board profile.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rklab.i18n import text
from rklab.predict.boards import load_board
from rklab.report.build import Report
from rklab.report.frames import NO_BOARD, col, host_label
from rklab.report.summary import headline_cases

ANSWER_COLUMNS = ["board", "profile", "model", "verdict", "verdict_label", "verdict_source", "verdict_reason",
                  "memory_mb", "memory_source", "decode_tps", "decode_source", "predicted_decode_tps", "ttft_ms", "host"]
FITS = ("fits", "tight")
TOO_BIG = ("exceeds", "infeasible", "oom", "unsupported")


def answer_rows(report: Report) -> pd.DataFrame:
    """One row per model of the verdict table (see the module docstring for the kinds).

    ``decode_source``: ``measured`` (NPU), ``measured_cpu`` (llama.cpp on ``host``) or ``predicted``.
    ``board`` / ``profile``: the board whose verdict block the row comes from (the measured numbers are
    that board's).
    """
    v = report.verdicts
    if v.empty:
        return pd.DataFrame(columns=ANSWER_COLUMNS)
    heads = headline_cases(report.measured) if len(report.measured) else pd.DataFrame()
    rows = []
    boards = col(v, "board", NO_BOARD)
    for (_, r), board in zip(v.iterrows(), boards):
        measured_mem = _finite(r.get("measured_mb"))
        mine = heads[heads["board"] == board] if len(heads) else heads  # that board's measurements
        row = {"board": board, "profile": r.get("profile") or report.board.name, "model": r["model"],
               "verdict": r["verdict"], "verdict_label": r["verdict_label"], "verdict_source": r["verdict_source"],
               "verdict_reason": r["verdict_reason"],
               "memory_mb": measured_mem if measured_mem is not None else _finite(r.get("predicted_mb")),
               "memory_source": "measured" if measured_mem is not None else "predicted",
               "decode_tps": _finite(r.get("predicted_decode_tps")), "decode_source": "predicted",
               "predicted_decode_tps": _finite(r.get("predicted_decode_tps")), "ttft_ms": None, "host": ""}
        npu = mine[(mine["model_name"] == r["model"]) & (mine["backend"] == "rkllm")] if len(mine) else mine
        cpu = mine[(mine["model_name"] == r["model"]) & (mine["backend"] != "rkllm")] if len(mine) else mine
        for frame, source in ((npu, "measured"), (cpu, "measured_cpu")):
            if len(frame) and _finite(frame.iloc[0]["decode_tps"]) is not None:
                m = frame.iloc[0]
                row.update(decode_tps=float(m["decode_tps"]), decode_source=source, ttft_ms=_finite(m.get("ttft_ms")),
                           host=host_label(m))
                break
        rows.append(row)
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS)


def _finite(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _names(models, lang: str) -> str:
    return text("punct.list", lang).join(models)


def _sentence(parts: list[str], lang: str) -> str:
    """Parts joined into one sentence (capitalized, with its full stop); "" without parts."""
    parts = [p for p in parts if p]
    if not parts:
        return ""
    s = text("punct.clause", lang).join(parts)
    return s[0].upper() + s[1:] + text("punct.period", lang)


def answer_lines(report: Report) -> list[str]:
    """Three or four sentences: which models fit, which do not, how fast, how much memory (per board,
    naming it, when the report covers several)."""
    a = answer_rows(report)
    if a.empty:
        return []
    lines = []
    for (board, profile), rows in a.groupby(["board", "profile"], sort=False):
        b = load_board(profile)  # each board against its own profile, as in the verdict table
        label = f"{b.label(report.lang)} {board}" if report.many_boards else b.label(report.lang)
        lines += _board_lines(rows, b, label, report.lang)
    return lines


def _board_lines(a: pd.DataFrame, b, board_label: str, lang: str) -> list[str]:
    """The sentences of :func:`answer_lines` for the rows of one board (profile ``b``)."""
    ok = a[a["verdict"].isin(FITS)]
    tight = a[a["verdict"] == "tight"]
    tight_part = text("report.answer.tight", lang, models=_names(tight["model"], lang), pct=100 * b.tight_fraction) \
        if len(tight) else ""
    lines = [text("report.answer.which", lang, board=board_label, budget=b.budget_mb, n_ok=len(ok), n=len(a),
                  models=_names(ok["model"], lang) or "-", tight=tight_part)]
    big = a[a["verdict"].isin(TOO_BIG)]
    excluded = a[a["verdict"] == "excluded"]
    lines.append(_sentence([
        text("report.answer.too_big", lang, models=_names(big["model"], lang)) if len(big) else "",
        text("report.answer.excluded", lang, models=_names(excluded["model"], lang)) if len(excluded) else ""], lang))
    lines.append(_speed_line(a, ok, lang))
    lines.append(_memory_line(a, ok, b, lang))
    return [line for line in lines if line]


def _speed_line(a: pd.DataFrame, ok: pd.DataFrame, lang: str) -> str:
    parts = []
    npu = a[a["decode_source"] == "measured"]
    if len(npu):
        items = [text("report.answer.npu_item", lang, model=r.model, tps=r.decode_tps, ttft=r.ttft_ms)
                 if r.ttft_ms is not None else f"{r.model} {r.decode_tps:.1f} tok/s" for r in npu.itertuples()]
        parts.append(text("report.answer.speed_npu", lang, items=_names(items, lang)))
    pred = ok[(ok["decode_source"] != "measured") & ok["predicted_decode_tps"].notna()]
    pred = pred.sort_values("predicted_decode_tps", ascending=False)
    if len(pred):
        fast, slow = pred.iloc[0], pred.iloc[-1]
        key = "report.answer.speed_predicted_rest" if len(npu) else "report.answer.speed_predicted"
        parts.append(text(key, lang, hi=fast["predicted_decode_tps"], fast=fast["model"],
                          lo=slow["predicted_decode_tps"], slow=slow["model"]))
    cpu = a[a["decode_source"] == "measured_cpu"]
    if len(cpu):
        parts.append(text("report.answer.speed_cpu", lang, host=_names(dict.fromkeys(cpu["host"]), lang),
                          items=_names((f"{r.model} {r.decode_tps:.1f} tok/s" for r in cpu.itertuples()), lang)))
    return _sentence(parts, lang)


def _memory_line(a: pd.DataFrame, ok: pd.DataFrame, b, lang: str) -> str:
    parts = []
    meas = a[a["memory_source"] == "measured"]
    if len(meas):
        parts.append(text("report.answer.memory_measured", lang, items=_names(
            (f"{r.model} {r.memory_mb:,.0f} MB" for r in meas.itertuples()), lang)))
    if len(ok):
        top = ok.sort_values("memory_mb", ascending=False).iloc[0]
        kind = text(f"report.{top['memory_source']}", lang)
        parts.append(text("report.answer.memory_largest", lang, model=top["model"], mb=top["memory_mb"], kind=kind,
                          pct=100 * top["memory_mb"] / b.budget_mb, budget=b.budget_mb))
    return _sentence(parts, lang)


def decode_label(row, lang: str) -> str:
    """The decode rate of an answer row with its kind: 实测 25.0 tok/s, CPU 实测 ..., 预测 ..."""
    if row["decode_tps"] is None or not np.isfinite(row["decode_tps"]):
        return ""
    return text(f"report.answer.decode_{row['decode_source']}", lang, tps=row["decode_tps"])


__all__ = ["ANSWER_COLUMNS", "answer_lines", "answer_rows", "decode_label"]
