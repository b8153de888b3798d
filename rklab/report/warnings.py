"""What the reader of the report must know before trusting a number (the report's warnings).

Kinds: ``throttling`` (thermal caps during the runs), ``clocks`` (not pinned like Rockchip's
``fix_freq_rk3588.sh``, unreadable, or below max although pinned), ``host`` (not measured on an
RK3588), ``variance`` (relative std above :data:`HIGH_RSD`), ``cache`` (runs flagged
``cache_suspected``: a prefill more than 30 % faster than the earlier repetitions, see
:mod:`rklab.measure.cachecheck`), ``deviation`` (more than
:data:`DEVIATION` off the official number for the same case), ``failed`` / ``limit_test`` (an
entry that did not end ok), ``synthetic`` (the demo's random-weight encoder), ``skipped_line``
(a line of a records file that is not a record: its file and line number) and ``board`` (a fleet
board that could not be reached or whose sweep did not end). Every warning names its board.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rklab import metrics
from rklab.i18n import has_text, text
from rklab.report.conditions import clock_reasons_summary
from rklab.report.frames import NO_BOARD, residual_pct
from rklab.report.summary import matched_case
from rklab.runfolder import Status

HIGH_RSD = 0.10  # pyperf warns when stddev > 10 % of the mean (docs: methodology)
DEVIATION = 0.20  # issue 5: warn when measured deviates > 20 % from official
DEVIATION_METRICS = (("decode_tps", "decode_tps"), ("ttft_ms", "ttft_ms"), ("memory_mb", "vmhwm_mb"))


@dataclass
class ReportWarning:
    kind: str  # throttling | clocks | variance | cache | deviation | host | failed | limit_test | synthetic | skipped_line | board
    entry: str
    message: str
    board: str = NO_BOARD  # the board it concerns (its board_id)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "board": self.board, "entry": self.entry, "message": self.message}

    @property
    def where(self) -> str:
        """``board · entry`` (or the one that is known)."""
        return " · ".join(x for x in (self.board if self.board != NO_BOARD else "", self.entry) if x)

    def kind_label(self, lang: str = "zh") -> str:
        """The kind in ``lang`` (频率 / clocks, ...)."""
        return text(f"warning.kind.{self.kind}", lang) if has_text(f"warning.kind.{self.kind}") else self.kind


def quantity_label(name: str, lang: str) -> str:
    """A compared quantity in words: a metric's label, or the report's (memory of any kind)."""
    return metrics.label(name, lang) if name in metrics.METRICS else text(f"report.{name}", lang)


def find_warnings(measured: pd.DataFrame, conditions: pd.DataFrame, entries: pd.DataFrame,
                  comparison: pd.DataFrame, lang: str = "zh",
                  boards: pd.DataFrame | None = None) -> list[ReportWarning]:
    """All warnings of a report, in the order: boards, conditions, variance, cache, deviation, entries, synthetic."""
    out = _board_warnings(boards, lang) if boards is not None else []
    out += _condition_warnings(conditions, lang)
    out += _variance_warnings(measured, lang)
    out += [ReportWarning("cache", m["entry"], text("warning.cache", lang, case=m["case"], n=int(m["cache_suspected"])),
                          board=m["board"])
            for _, m in measured.iterrows() if m.get("cache_suspected", 0) > 0]
    out += _deviation_warnings(measured, comparison, lang)
    for _, e in entries.iterrows():
        if e["status"] != Status.OK:
            kind = "limit_test" if e.get("limit_test") else "failed"
            status = text(f"status.{e['status']}", lang) if has_text(f"status.{e['status']}") else e["status"]
            out.append(ReportWarning(kind, e["entry"], text("warning.status", lang, status=status,
                                                            message=e["message"] or "-"), board=e["board"]))
    if len(measured) and measured["synthetic"].any():
        for board, g in measured[measured["synthetic"]].groupby("board", sort=False):
            out.append(ReportWarning("synthetic", ", ".join(g["entry"].unique()), text("warning.synthetic", lang),
                                     board=board))
    return out


def skipped_line_warnings(skipped, lang: str = "zh") -> list[ReportWarning]:
    """One warning per records line the report left out (:class:`rklab.records.SkippedLine`):
    a corrupt line in the middle of a file is shown with its file and line number, never dropped silently."""
    return [ReportWarning("skipped_line", f"{s.path}:{s.line}", text("warning.skipped_line", lang, reason=s.reason))
            for s in skipped]


def fleet_status_word(status: str, lang: str) -> str:
    """How a board's fleet run ended (ok | failed | unreachable | interrupted | pending) in ``lang``."""
    return text(f"fleet.status.{status}", lang) if has_text(f"fleet.status.{status}") else str(status)


def _board_warnings(boards: pd.DataFrame, lang: str) -> list[ReportWarning]:
    """Fleet boards whose last fleet run did not get through (unreachable, failed, interrupted)."""
    return [ReportWarning("board", "", text("warning.board", lang, status=fleet_status_word(b["status"], lang),
                                            task=b["task"] or "-", message=b["message"] or "-"), board=b["board"])
            for _, b in boards.iterrows() if b["status"] != Status.OK]


def _condition_warnings(conditions: pd.DataFrame, lang: str) -> list[ReportWarning]:
    out: list[ReportWarning] = []
    for _, c in conditions.iterrows():
        if c["throttled"] == True:  # noqa: E712 (None or NaN: unknown, no warning)
            out.append(ReportWarning("throttling", c["entry"], text("warning.throttling", lang), board=c["board"]))
        pinned = c["clocks_pinned"]
        if pinned is False or pinned == "False":
            # clocks_below_max is expected then (ondemand governors): the column shows it, no extra warning
            ddr = text("warning.clocks_unpinned.ddr", lang) if "DDR" in str(c["clocks_reasons"]) else ""
            reasons = clock_reasons_summary(c["clocks_reasons"], c.get("soc"), lang)
            out.append(ReportWarning("clocks", c["entry"], text("warning.clocks_unpinned", lang, ddr=ddr,
                                                                reasons=reasons), board=c["board"]))
        elif pinned is None or (isinstance(pinned, float) and math.isnan(pinned)):
            out.append(ReportWarning("clocks", c["entry"], text("warning.clocks_unreadable", lang), board=c["board"]))
        elif c.get("clocks_below_max") is True:  # pinned at the start, yet a clock ran below its maximum
            out.append(ReportWarning("clocks", c["entry"], text("warning.clocks_below_max", lang), board=c["board"]))
        soc = str(c.get("soc") or "")
        if "RK3588" not in soc.upper():
            out.append(ReportWarning("host", c["entry"], text("warning.host", lang,
                                                              soc=soc or text("report.unknown_host", lang)),
                                     board=c["board"]))
    return out


def _variance_warnings(measured: pd.DataFrame, lang: str) -> list[ReportWarning]:
    out: list[ReportWarning] = []
    for _, m in measured.iterrows():
        for metric, rsd in (("decode_tps", m.get("decode_rsd")), ("ttft_ms", m.get("ttft_rsd"))):
            if rsd is not None and np.isfinite(rsd) and rsd > HIGH_RSD:
                out.append(ReportWarning("variance", m["entry"], text(
                    "warning.variance", lang, case=m["case"], metric=quantity_label(metric, lang), rsd=rsd * 100,
                    limit=HIGH_RSD * 100), board=m["board"]))
    return out


def _deviation_warnings(measured: pd.DataFrame, comparison: pd.DataFrame, lang: str) -> list[ReportWarning]:
    """Measured on the NPU vs the official row of the same model and dtype (same runtime version when
    there is one), at the measured case :func:`rklab.measure.protocol.match_case` picks for that row."""
    out: list[ReportWarning] = []
    if comparison.empty:
        return out
    off = comparison[comparison["source"] == "official"]
    for _, m in comparison[comparison["source"] == "measured"].iterrows():
        if "rkllm" not in str(m["label"]):
            continue
        o = off[(off["model"] == m["model"]) & (off["dtype"] == m["dtype"])]
        if o.empty:
            continue
        same = o[o["runtime"] == str(m["runtime"])]
        o = (same if not same.empty else o).iloc[-1]
        same_entry = measured[(measured["entry"] == m["entry"]) & (measured["board"] == m["board"])]
        case = matched_case(same_entry, o["prompt_tokens"], o["new_tokens"])
        if case.empty:
            continue
        case = case.iloc[0]
        for metric, measured_key in DEVIATION_METRICS:
            dev = residual_pct(case[measured_key], o[metric])
            if np.isfinite(dev) and abs(dev) > DEVIATION * 100:
                out.append(ReportWarning("deviation", m["entry"], text(
                    "warning.deviation", lang, model=m["model"], metric=quantity_label(metric, lang),
                    measured=float(case[measured_key]),
                    official=float(o[metric]), dev=dev, limit=DEVIATION * 100, reference=o["reference"]),
                    board=m["board"]))
    return out
