"""plotly figures for notebooks/01_feasibility.ipynb. Every number plotted is **predicted** (engine) or
**quoted** (seed / reference) and the figure says which. Builders take DataFrames from
:mod:`rklab.predict.feasibility` and return ``plotly.graph_objects.Figure``."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rklab import i18n

PARTS = ["weights_mb", "embedding_mb", "kv_mb", "runtime_mb", "vision_mb", "image_embed_mb"]
COLORS = {"weights_mb": "#4C78A8", "embedding_mb": "#9ECAE9", "kv_mb": "#F58518", "runtime_mb": "#B279A2",
          "vision_mb": "#54A24B", "image_embed_mb": "#EECA3B"}


def _pred(lang: str) -> str:
    return i18n.label("predicted", lang)


def memory_breakdown_figure(table: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Stacked bars of the predicted memory parts per model, with the usable-budget and physical-RAM lines."""
    fig = go.Figure()
    for part in PARTS:
        if part not in table:
            continue
        fig.add_bar(x=table["model"], y=table[part], name=f"{i18n.label(part, lang)} ({_pred(lang)})",
                    marker_color=COLORS[part])
    budget, physical = float(table["budget_mb"].iloc[0]), float(table["physical_mb"].iloc[0])
    fig.add_hline(y=budget, line_dash="dash", line_color="orange",
                  annotation_text=f"{i18n.label('budget_mb', lang)} {budget:,.0f}")
    fig.add_hline(y=physical, line_dash="dot", line_color="red",
                  annotation_text=f"{i18n.label('physical_mb', lang)} {physical:,.0f}")
    top = min(float(table["memory_mb"].max()), physical * 2.5) * 1.05
    fig.update_layout(barmode="stack", title=i18n.label("memory_breakdown_title", lang),
                      yaxis_title="MB (MiB)", yaxis_range=[0, top], legend_orientation="h", height=520)
    return fig


def context_figure(sweep: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Predicted peak memory vs context length (context filled) per model; the largest context that fits
    is in the legend; budget and physical-RAM lines."""
    fig = go.Figure()
    for model, g in sweep.groupby("model", sort=False):
        best = int(g["largest_context"].iloc[0])
        fig.add_scatter(x=g["context"], y=g["memory_mb"], mode="lines+markers",
                        name=f"{model} ({i18n.label('max_context_fit', lang)} {best:,})")
    if len(sweep):
        fig.add_hline(y=float(sweep["budget_mb"].iloc[0]), line_dash="dash", line_color="orange",
                      annotation_text=i18n.label("budget_mb", lang))
        fig.add_hline(y=float(sweep["physical_mb"].iloc[0]), line_dash="dot", line_color="red",
                      annotation_text=i18n.label("physical_mb", lang))
    fig.update_layout(title=i18n.label("context_title", lang), xaxis_type="log",
                      xaxis_title=i18n.label("context", lang), yaxis_title=f"MB (MiB, {_pred(lang)})", height=480)
    return fig


def speed_figure(table: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Predicted decode tok/s (with the physical bandwidth ceiling per model) and predicted TTFT."""
    t = table[table["predicted_decode_tps"].notna()]
    fig = make_subplots(rows=1, cols=2, subplot_titles=(i18n.label("predicted_decode_tps", lang), i18n.label("predicted_ttft_ms", lang)))
    fig.add_bar(x=t["model"], y=t["predicted_decode_tps"], name=i18n.label("predicted_decode_tps", lang), marker_color="#4C78A8",
                text=[f"{p:.0f}%" for p in t["bandwidth_pct"]], textposition="outside", row=1, col=1)
    if "ceiling_tps" in t:
        fig.add_scatter(x=t["model"], y=t["ceiling_tps"], mode="markers", marker_symbol="line-ew-open",
                        marker_size=18, marker_color="red",
                        name=f"{i18n.label('bandwidth_ceiling', lang)} ({t['bandwidth_ceiling_gbs'].iloc[0]:.1f} GB/s)",
                        row=1, col=1)
    fig.add_bar(x=t["model"], y=t["predicted_ttft_ms"], name=i18n.label("predicted_ttft_ms", lang), marker_color="#F58518", row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(title=i18n.label("speed_title", lang) + f" ({_pred(lang)})", height=480,
                      legend_orientation="h")
    return fig


def prompt_length_figure(sweep: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Predicted TTFT and decode tok/s against the prompt length (log axes), up to each model's limit;
    open markers where the filled context no longer fits the usable budget."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(i18n.label("ttft_s", lang), i18n.label("predicted_decode_tps", lang)))
    for i, (model, g) in enumerate(sweep.groupby("model", sort=False)):
        symbols = ["circle" if f else "circle-open" for f in g["fits"]]
        for col, y in ((1, g["ttft_ms"] / 1000), (2, g["decode_tps"])):
            fig.add_scatter(x=g["prompt_tokens"], y=y, mode="lines+markers", name=model, legendgroup=model,
                            showlegend=col == 1, marker_symbol=symbols, line_color=_PALETTE[i % len(_PALETTE)],
                            row=1, col=col)
    fig.update_xaxes(type="log", title_text=i18n.label("prompt_tokens", lang))
    fig.update_yaxes(type="log")
    fig.update_layout(title=i18n.label("prompt_length_title", lang) + f" ({_pred(lang)})", height=480,
                      legend_orientation="h")
    return fig


_PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#EECA3B", "#9D755D"]
