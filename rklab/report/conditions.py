"""Per entry: where and how it was measured (host, runtime, driver, clocks, temperatures).

Raw keys here; :func:`rklab.report.tables.conditions_display` gives the localized table.
"""

from __future__ import annotations

import pandas as pd

from rklab.report.frames import any_true, col, first, num

CONDITION_COLUMNS = ["entry", "host", "soc", "board_model", "kernel", "runtime", "npu_driver", "clocks_pinned",
                     "clocks_reasons", "cpu_freq_mhz", "npu_freq_mhz", "ddr_freq_mhz", "temp_start_c", "temp_max_c",
                     "throttled", "clocks_below_max", "when"]


def conditions_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per entry: where it ran, clocks pinned?, temperatures, versions.

    ``throttled``: thermal/firmware throttling in any run (a cpufreq policy's scaling_max_freq
    below cpuinfo_max_freq, or a devfreq max_freq capped). ``clocks_below_max``: some clock ran
    below its maximum (normal with ondemand governors; None for records written before the key).
    """
    rows = []
    if runs.empty:
        return pd.DataFrame(columns=CONDITION_COLUMNS)
    for entry, g in runs.groupby("entry", sort=False):
        reasons = first(col(g, "host.clocks_pinned_reasons"))
        cpu_freq = {k.split(".")[-1]: first(col(g, k)) for k in g.columns if k.startswith("host.cpu_freq_mhz.")}
        runtime = f"{first(col(g, 'runtime.name')) or first(col(g, 'backend'))} {first(col(g, 'runtime.version')) or ''}"
        rows.append({
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
