"""Plain-text and Markdown rendering of tables for the CLI (CJK-aware column widths)."""

from __future__ import annotations

import math
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type hint only: `rklab --help` should not import pandas
    import pandas as pd

from rklab import i18n


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) < 100 else f"{v:,.0f}"
    return str(v)


def render(df: pd.DataFrame, columns: list[str], lang: str = "en", fmt: str = "table") -> str:
    """``fmt`` "table" (aligned text) or "md" (Markdown); headers in ``lang``."""
    headers = [i18n.label("verdict" if c == "verdict_label" else c, lang) for c in columns]
    rows = [[_fmt(r[c]) for c in columns] for _, r in df.iterrows()]
    if fmt == "md":
        esc = lambda s: s.replace("|", "\\|")
        lines = ["| " + " | ".join(map(esc, headers)) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(_width(x) for x in [h] + [r[i] for r in rows]) for i, h in enumerate(headers)]
    numeric = [df[c].dtype.kind in "fi" if c in df else False for c in columns]

    def line(cells):
        out = []
        for cell, w, num in zip(cells, widths, numeric):
            pad = " " * (w - _width(cell))
            out.append(pad + cell if num else cell + pad)
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])
