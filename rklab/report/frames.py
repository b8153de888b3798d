"""Reading cells of the report's DataFrames: a column that may be absent, a number that may be text.

Records written by different rklab versions and runtimes do not all carry the same keys, so every
report module reads them through these helpers instead of ``df[col]``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def col(df: pd.DataFrame, name: str, default: Any = None) -> pd.Series:
    """``df[name]``, or a column of ``default`` when the records never had that key."""
    if name in df.columns:
        return df[name]
    return pd.Series([default] * len(df), index=df.index, dtype=object)


NO_BOARD = "-"  # records written before board_id existed


def board_of(df: pd.DataFrame) -> pd.Series:
    """The board of each record: its ``board_id`` (fleet inventory name, ``rklab sweep --board-id``,
    else the host name it was written on), or ``-`` for records older than the key."""
    return col(df, "board_id").map(lambda b: str(b) if isinstance(b, str) and b else NO_BOARD)


def with_board(label: str, board, many_boards: bool) -> str:
    """``board · label`` when the report covers several boards, else ``label``."""
    return f"{board} · {label}" if many_boards else str(label)


def num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def first(s: pd.Series):
    """The first value that is not missing, else None."""
    s = s.dropna() if hasattr(s, "dropna") else s
    return s.iloc[0] if len(s) else None


def median_of(g: pd.DataFrame, name: str) -> float:
    v = num(col(g, name)).dropna()
    return float(v.median()) if len(v) else np.nan


def max_of(g: pd.DataFrame, name: str) -> float:
    v = num(col(g, name)).dropna()
    return float(v.max()) if len(v) else np.nan


def any_true(g: pd.DataFrame, name: str) -> bool | None:
    """True if any run says so, False if all that report it say no, None if no run reports it
    (old records written before the key existed)."""
    if name not in g.columns:
        return None
    v = g[name].dropna()
    if v.empty:
        return None
    return bool(v.astype(bool).any())


def as_float(v) -> float:
    """``v`` as a float; NaN when it is missing or not a number."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return np.nan


def as_int(v) -> int | None:
    f = as_float(v)
    return int(f) if np.isfinite(f) else None


def or_nan(v) -> float:
    return float(v) if v is not None else np.nan


def int_text(v, dash: str = "-") -> str:
    """A whole number as text (``-`` when missing); anything else as it is."""
    try:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return dash
        return str(int(v))
    except (TypeError, ValueError):
        return str(v)




def host_label(row) -> str:
    """Where a measured row ran: the SoC, else the CPU model, else the host name."""
    soc = row.get("host_soc")
    cpu = row.get("host_cpu")
    return str(soc or cpu or row.get("host_name") or "unknown host")


def residual_pct(measured, predicted) -> float:
    """(measured / predicted - 1) in %; NaN when either is missing or the prediction is 0."""
    mv, pv = as_float(measured), as_float(predicted)
    if not np.isfinite(mv) or not np.isfinite(pv) or pv == 0:
        return np.nan
    return (mv / pv - 1.0) * 100.0
