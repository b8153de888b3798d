"""plotly figures for notebooks/01_feasibility.ipynb. Every number plotted is **predicted** (engine) or
**quoted** (seed / reference) and the figure says which. Builders take DataFrames from
:mod:`rklab.predict.feasibility` and return ``plotly.graph_objects.Figure``."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rklab import i18n
from rklab.report.plots.style import log_axis, reference_lines, style

PARTS = ["weights_mb", "embedding_mb", "kv_mb", "runtime_mb", "vision_mb", "image_embed_mb"]
COLORS = {"weights_mb": "#4C78A8", "embedding_mb": "#9ECAE9", "kv_mb": "#F58518", "runtime_mb": "#B279A2",
          "vision_mb": "#54A24B", "image_embed_mb": "#EECA3B"}


def _pred(lang: str) -> str:
    return i18n.label("predicted", lang)


def _board_lines(fig: go.Figure, budget: float, physical: float, lang: str) -> go.Figure:
    """The usable budget (dashed) and physical RAM (dotted) as horizontal lines, named in the legend."""
    return reference_lines(fig, [(budget, f"{i18n.label('budget_mb', lang)} {budget:,.0f}", "dash", "orange"),
                                 (physical, f"{i18n.label('physical_mb', lang)} {physical:,.0f}", "dot", "red")],
                           axis="y")


def memory_breakdown_figure(table: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Stacked bars of the predicted memory parts per model, with the usable-budget and physical-RAM lines.

    Bars taller than 2.5x physical RAM are cut at the top of the plot; the model names are written
    at -45° with room below them, the legend sits above the plot."""
    fig = go.Figure()
    for part in PARTS:
        if part not in table:
            continue
        fig.add_bar(x=table["model"], y=table[part], name=i18n.label(part, lang), marker_color=COLORS[part],
                    hovertemplate="%{x}: %{y:,.0f} MB<extra>" + i18n.label(part, lang) + "</extra>")
    budget, physical = float(table["budget_mb"].iloc[0]), float(table["physical_mb"].iloc[0])
    _board_lines(fig, budget, physical, lang)
    top = min(float(table["memory_mb"].max()), physical * 2.5) * 1.05
    for model, total in table.loc[table["memory_mb"] > top, ["model", "memory_mb"]].itertuples(index=False):
        # a bar taller than the plot: its total written down the bar from the top edge
        fig.add_annotation(x=model, y=top, text=f"{total:,.0f} ↑", textangle=-90, yanchor="top", showarrow=False,
                           font=dict(color="white", size=10))
    style(fig, i18n.label("memory_breakdown_title", lang), height=600, legend_rows=2, barmode="stack",
          legend_traceorder="normal", yaxis=dict(title=f"MB (MiB, {_pred(lang)})", range=[0, top], tickformat=",d"))
    fig.update_xaxes(tickangle=-45)
    return fig


def context_figure(sweep: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Predicted peak memory vs context length (context filled) per model; the largest context that fits
    is in the legend; budget and physical-RAM lines. The context axis is labelled at the contexts swept."""
    fig = go.Figure()
    for model, g in sweep.groupby("model", sort=False):
        best = int(g["largest_context"].iloc[0])
        fig.add_scatter(x=g["context"], y=g["memory_mb"], mode="lines+markers",
                        name=f"{model} ({i18n.label('max_context_fit', lang)} {best:,})")
    if len(sweep):
        _board_lines(fig, float(sweep["budget_mb"].iloc[0]), float(sweep["physical_mb"].iloc[0]), lang)
    contexts = sorted(sweep["context"].unique()) if len(sweep) else [512, 4096]
    style(fig, i18n.label("context_title", lang), height=620, legend_rows=5,
          xaxis=dict(type="log", tickvals=contexts, ticktext=[f"{c:,}" for c in contexts],
                     title=i18n.label("context", lang), minor=dict(ticks="", showgrid=False)),
          yaxis=dict(title=f"MB (MiB, {_pred(lang)})", tickformat=",d"))
    return fig


def speed_figure(table: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Predicted decode tok/s (with the physical bandwidth ceiling per model) and predicted TTFT, on log
    axes labelled 1-2-5. VLMs are predicted for the full pipeline (image included)."""
    t = table[table["predicted_decode_tps"].notna()]
    decode, ttft = i18n.label("predicted_decode_tps_full", lang), i18n.label("predicted_ttft_ms_full", lang)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1)
    fig.add_bar(x=t["model"], y=t["predicted_decode_tps"], name=decode, marker_color="#4C78A8",
                text=[f"{p:.0f}%" for p in t["bandwidth_pct"]], textposition="outside", cliponaxis=False, row=1, col=1)
    ceiling = []
    if "ceiling_tps" in t:
        ceiling = list(t["ceiling_tps"])
        fig.add_scatter(x=t["model"], y=t["ceiling_tps"], mode="markers", marker_symbol="line-ew-open",
                        marker_size=18, marker_color="red",
                        name=f"{i18n.label('bandwidth_ceiling', lang)} ({t['bandwidth_ceiling_gbs'].iloc[0]:.1f} GB/s)",
                        row=1, col=1)
    fig.add_bar(x=t["model"], y=t["predicted_ttft_ms"], name=ttft, marker_color="#F58518", row=1, col=2)
    fig.update_yaxes(**log_axis(list(t["predicted_decode_tps"]) + ceiling), title_text="tok/s", row=1, col=1)
    fig.update_yaxes(**log_axis(t["predicted_ttft_ms"]), title_text="ms", row=1, col=2)
    style(fig, i18n.label("speed_title", lang) + f" ({_pred(lang)})", height=560)
    fig.update_xaxes(tickangle=-45)
    return fig


def prompt_length_figure(sweep: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Predicted TTFT and decode tok/s against the prompt length (log axes labelled 1-2-5), up to each
    model's limit; open markers where the filled context no longer fits the usable budget. The language
    model alone with a text prompt (see :func:`rklab.predict.feasibility.prompt_length_sweep`)."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1)
    for i, (model, g) in enumerate(sweep.groupby("model", sort=False)):
        symbols = ["circle" if f else "circle-open" for f in g["fits"]]
        for col, y in ((1, g["ttft_ms"] / 1000), (2, g["decode_tps"])):
            fig.add_scatter(x=g["prompt_tokens"], y=y, mode="lines+markers", name=model, legendgroup=model,
                            showlegend=col == 1, marker_symbol=symbols, line_color=_PALETTE[i % len(_PALETTE)],
                            row=1, col=col)
    fig.update_xaxes(**log_axis(sweep["prompt_tokens"]), title_text=i18n.label("prompt_tokens", lang))
    fig.update_yaxes(**log_axis(sweep["ttft_ms"] / 1000), title_text=i18n.label("ttft_s", lang), row=1, col=1)
    fig.update_yaxes(**log_axis(sweep["decode_tps"]), title_text=i18n.label("predicted_decode_tps_llm", lang),
                     row=1, col=2)
    return style(fig, i18n.label("prompt_length_title", lang) + f" ({_pred(lang)})", height=540, legend_rows=2)


_PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#EECA3B", "#9D755D"]
