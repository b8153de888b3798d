"""Per board and entry: where and how it was measured (board, host, runtime, driver, clocks, temperatures).

Raw keys here; :func:`rklab.report.tables.conditions_display` gives the localized table.
"""

from __future__ import annotations

import re

import pandas as pd

from rklab.i18n import text
from rklab.report.frames import any_true, col, first, num

CONDITION_COLUMNS = ["board", "profile", "entry", "host", "soc", "board_model", "kernel", "runtime", "npu_driver", "clocks_pinned",
                     "clocks_reasons", "cpu_freq_mhz", "npu_freq_mhz", "ddr_freq_mhz", "temp_start_c", "temp_max_c",
                     "throttled", "clocks_below_max", "when"]


def conditions_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per board and entry: where it ran, clocks pinned?, temperatures, versions.

    ``throttled``: thermal/firmware throttling in any run (a cpufreq policy's scaling_max_freq
    below cpuinfo_max_freq, or a devfreq max_freq capped). ``clocks_below_max``: some clock ran
    below its maximum (normal with ondemand governors; None for records written before the key).
    """
    rows = []
    if runs.empty:
        return pd.DataFrame(columns=CONDITION_COLUMNS)
    for (board, entry), g in runs.groupby(["board", "entry"], sort=False):
        reasons = first(col(g, "host.clocks_pinned_reasons"))
        cpu_freq = {k.split(".")[-1]: first(col(g, k)) for k in g.columns if k.startswith("host.cpu_freq_mhz.")}
        name, version = first(col(g, "runtime.name")) or first(col(g, "backend")), first(col(g, "runtime.version"))
        # "llama-cpp-python 0.3.36" names itself; "1.2.3" needs "rkllm" in front
        runtime = str(version) if version and re.search(r"[a-zA-Z]", str(version)) else f"{name} {version or ''}"
        rows.append({
            "board": board,
            "profile": first(col(g, "board_profile")),
            "entry": entry,
            "host": first(col(g, "host.hostname")),
            "soc": first(col(g, "host.soc")) or first(col(g, "host.cpu_model")),
            "board_model": first(col(g, "host.board_model")),
            "kernel": first(col(g, "host.kernel")),
            "runtime": runtime.strip(),
            "npu_driver": first(col(g, "driver_version")) or first(col(g, "host.npu_driver_version")),
            "clocks_pinned": first(col(g, "host.clocks_pinned")),
            "clocks_reasons": "; ".join(reasons) if isinstance(reasons, list) else (reasons or ""),
            "cpu_freq_mhz": ", ".join(f"{k} {v:.0f}" for k, v in cpu_freq.items() if isinstance(v, (int, float))),
            "npu_freq_mhz": first(col(g, "host.npu_freq_mhz")),
            "ddr_freq_mhz": first(col(g, "host.ddr_freq_mhz")),
            "temp_start_c": num(col(g, "temp_start_c")).min(),
            "temp_max_c": num(col(g, "temp_end_c")).max(),
            "throttled": any_true(g, "throttled"),  # None: not readable on this host
            "clocks_below_max": any_true(g, "clocks_below_max"),  # None: records older than the key
            "when": first(col(g, "created_at")),
        })
    return pd.DataFrame(rows, columns=CONDITION_COLUMNS)


_UNREADABLE = re.compile(r"not readable|unknown", re.IGNORECASE)
# the failed checks of rklab.measure.hostinfo.clock_check
_GOVERNOR = re.compile(r"^(?P<clock>\S+) governor (?P<governor>\S+) \(pinned needs userspace/performance\)$")
_BELOW = re.compile(r"^(?P<clock>\S+) at (?P<mhz>[\d.]+) MHz < (?:max )?(?P<target>[\d.]+) MHz$")


def _failed_check(reason: str, lang: str) -> str:
    """A failed clock check in ``lang`` (as recorded when it is not one of hostinfo's phrases)."""
    m = _GOVERNOR.match(reason.strip())
    if m:
        return text("cond.reasons.governor", lang, **m.groupdict())
    m = _BELOW.match(reason.strip())
    if m:
        return text("cond.reasons.below", lang, **m.groupdict())
    return reason


def clock_reasons_summary(reasons, soc, lang: str = "zh") -> str:
    """``clocks_pinned_reasons`` (a list, or the "; "-joined text) in one short phrase for a table cell.

    The checks that could not be read collapse into one phrase naming the clocks and why (not a
    Rockchip board, or not readable on this host); the checks that failed are kept as they are
    (they say which governor or frequency is off).
    """
    items = reasons if isinstance(reasons, list) else [r for r in str(reasons or "").split("; ") if r.strip()]
    failed = [_failed_check(r, lang) for r in items if not _UNREADABLE.search(r)]
    unreadable = [r for r in items if _UNREADABLE.search(r)]
    parts = list(failed)
    if unreadable:
        clocks = [name for name, pat in (("CPU", r"policy|cpufreq"), ("NPU", r"NPU"), ("DDR", r"DDR"))
                  if any(re.search(pat, r) for r in unreadable)]
        rockchip = "RK35" in str(soc or "").upper()
        parts.append(text("cond.reasons.unreadable", lang, clocks="/".join(clocks) or "?",
                          why=text("cond.reasons.on_board" if rockchip else "cond.reasons.not_rockchip", lang)))
    return text("punct.clause", lang).join(parts)
