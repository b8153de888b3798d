"""The look every rklab figure shares, so that no label is cut off or covered.

* the font stack of :data:`rklab.display.FONT_STACK` (Chinese renders on Windows, macOS, Linux);
* the legend above the plot, under the title, never over rotated axis labels;
* ``automargin`` on both axes: long model names push the plot area instead of being cut;
* log axes labelled on a 1-2-5 series (:func:`log_ticks`), not on every minor tick (3, 4, 6, 7...).
"""

from __future__ import annotations

import math
from typing import Iterable

from rklab.display import FONT_STACK

LEGEND_TOP = dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom", font=dict(size=11),
                  bgcolor="rgba(255,255,255,0.8)")


def style(fig, title: str | None = None, *, subtitle: str | None = None, height: int | None = None,
          legend_rows: int = 1, **layout):
    """Apply the shared look to ``fig`` (returns it). ``legend_rows``: how many rows the legend may
    take, to leave room above the plot for the title and the legend."""
    top = 56 + (22 if subtitle else 0) + 24 * max(legend_rows, 1)
    title_cfg = None
    if title is not None:
        title_cfg = dict(text=title, x=0, xanchor="left", y=0.99, yanchor="top", yref="container",
                         font=dict(size=16))
        if subtitle:
            title_cfg["subtitle"] = dict(text=subtitle, font=dict(size=12, color="#555"))
    fig.update_layout(font=dict(family=FONT_STACK), template="plotly_white", legend=LEGEND_TOP,
                      margin=dict(l=70, r=30, t=top, b=60), **({"title": title_cfg} if title_cfg else {}),
                      **({"height": height} if height else {}), **layout)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def log_ticks(values: Iterable[float]) -> list[float]:
    """Tick values on a 1-2-5 series covering ``values`` (for a log axis)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v)) and float(v) > 0]
    if not vals:
        return [1, 10, 100]
    lo, hi = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
    ticks = [m * 10 ** e for e in range(lo, hi + 1) for m in (1, 2, 5)]
    return [t for t in ticks if min(vals) / 2.5 <= t <= max(vals) * 2.5]


def log_axis(values: Iterable[float]) -> dict:
    """Axis settings of a log axis labelled on :func:`log_ticks` (plain numbers, no minor labels)."""
    ticks = log_ticks(values)
    return dict(type="log", tickvals=ticks, ticktext=[f"{t:g}" if t < 10000 else f"{t:,.0f}" for t in ticks],
                minor=dict(showgrid=False, ticks=""))


def reference_lines(fig, lines, axis: str = "x"):
    """Full-height (``axis="x"``: vertical) or full-width reference lines, named in the legend rather
    than by annotations, which collide with bars and the legend. ``lines``: ``(value, name, dash, color)``."""
    for value, name, dash, color in lines:
        line = dict(color=color, dash=dash, width=1.5)
        if axis == "x":
            fig.add_vline(x=value, line=line, layer="below")
        else:
            fig.add_hline(y=value, line=line, layer="below")
        fig.add_scatter(x=[None], y=[None], mode="lines", line=line, name=name, hoverinfo="skip")
    return fig


def label_positions(xs, ys, near: float = 0.05, xspan: float | None = None, yspan: float | None = None) -> list[str]:
    """Text positions for point labels so that points close together (within ``near`` of the axis spans;
    default: the largest value, for axes that start at 0) do not print their labels on top of each other."""
    xs, ys = [float(x) for x in xs], [float(y) for y in ys]
    xr = xspan or max(map(abs, xs), default=0) or 1.0
    yr = yspan or max(map(abs, ys), default=0) or 1.0
    out = []
    for i, (x, y) in enumerate(zip(xs, ys)):
        n = sum(1 for j in range(i) if abs(xs[j] - x) / xr < near and abs(ys[j] - y) / yr < near)
        out.append(("top center", "bottom center", "middle right", "middle left")[n % 4])
    return out
