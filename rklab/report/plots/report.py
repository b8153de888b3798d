"""Plotly figures of notebook 04, built from a :class:`rklab.report.build.Report`.

Each builder returns a ``plotly.graph_objects.Figure`` or ``None`` when there is nothing to
draw (e.g. no model measured on both NPU and CPU). Colours mark the kind of number:
official / seed / community (quoted) and measured; predictions are drawn hollow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from rklab.i18n import text
from rklab.report.answer import answer_rows, decode_label
from rklab.report.build import Report
from rklab.report.plots.style import label_positions, reference_lines, style
from rklab.report.summary import VLM_STAGES, headline_cases, vlm_stages
from rklab.report.warnings import quantity_label

COLORS = {"official": "#1f77b4", "seed": "#9467bd", "community": "#2ca02c", "measured": "#d62728",
          "predicted": "#7f7f7f"}
HEIGHT = 460
# verdicts of the answer figure, in legend order, with their colours
VERDICT_COLORS = {"fits": "#2ca02c", "tight": "#e6a700", "exceeds": "#ff7f0e", "infeasible": "#d62728",
                  "oom": "#8c1c13", "unsupported": "#9e9e9e", "excluded": "#c7c7c7", "failed": "#7f7f7f"}


def _r(key: str, lang: str) -> str:
    return text(f"report.{key}", lang)


def _layout(fig: go.Figure, title: str, **kw) -> go.Figure:
    return style(fig, title, height=kw.pop("height", HEIGHT), **kw)


def answer_figure(report: Report) -> go.Figure | None:
    """The answer in one chart: every model of the seed and the sweep, its peak memory against the usable
    budget and physical RAM, coloured by verdict; solid bars measured, hatched bars predicted; the label
    gives the memory and the decode rate (measured where measured, with its kind)."""
    lang = report.lang
    a = answer_rows(report)
    a = a[a["memory_mb"].notna()]
    if a.empty:
        return None
    b = report.board
    cap = b.physical_mb * 1.12  # bars beyond are cut here and marked with an arrow
    fig = go.Figure()
    for verdict, color in VERDICT_COLORS.items():
        g = a[a["verdict"] == verdict]
        if g.empty:
            continue
        fig.add_bar(y=g["model"], x=[min(v, cap) for v in g["memory_mb"]], orientation="h",
                    name=g["verdict_label"].iloc[0], marker_color=color,
                    marker_pattern_shape=["" if s == "measured" else "/" for s in g["memory_source"]],
                    marker_pattern_fgcolor="rgba(255,255,255,0.75)", marker_line=dict(color=color, width=1),
                    customdata=np.stack([g["memory_mb"], g["verdict_reason"]], axis=-1),
                    hovertemplate="%{y}: %{customdata[0]:,.0f} MB<br>%{customdata[1]}<extra></extra>")
    for r in a.itertuples():  # the label on a white ground: a budget line never crosses it
        decode = decode_label(r._asdict(), lang)
        fig.add_annotation(x=min(r.memory_mb, cap), y=r.model, xanchor="left", showarrow=False, xshift=4,
                           text=f"{r.memory_mb:,.0f} MB{' ▶' if r.memory_mb > cap else ''}" + (f" · {decode}" if decode else ""),
                           font=dict(size=11), bgcolor="rgba(255,255,255,0.85)", borderpad=1)
    _budget_lines(fig, b, lang)
    style(fig, text("report.answer.chart_title", lang), height=120 + 26 * len(a), barmode="overlay",
          xaxis=dict(title=text("report.answer.memory_axis", lang), range=[0, cap * 1.55], tickformat=",d"),
          yaxis=dict(autorange="reversed", categoryorder="array", categoryarray=list(a["model"])))
    return fig


def comparison_figure(report: Report, metric: str = "decode_tps") -> go.Figure | None:
    """Grouped bars per model: every quoted source and the measured value (error bar = std)."""
    lang = report.lang
    c = report.comparison
    if c.empty:
        return None
    c = c[pd.to_numeric(c[metric], errors="coerce").notna()]
    if c.empty:
        return None
    fig = go.Figure()
    err_col = f"{metric}_err" if f"{metric}_err" in c.columns else None
    for source in ("official", "seed", "community", "measured"):
        s = c[c["source"] == source]
        if s.empty:
            continue
        hover = [f"<b>{r.model}</b><br>{r.reference}<br>{r.conditions}"
                 + (f"<br>{_r('memory_kind', lang)}: {r.memory_kind}" if metric == "memory_mb"
                    and isinstance(r.memory_kind, str) else "")
                 for r in s.itertuples()]
        err = None
        if err_col and source == "measured":
            err = dict(type="data", array=pd.to_numeric(s[err_col], errors="coerce").fillna(0).tolist(), visible=True)
        fig.add_bar(
            x=[s["model"].tolist(), s["bar_label"].tolist()],
            y=pd.to_numeric(s[metric], errors="coerce").tolist(),
            name=text(f"source.{source}", lang), marker_color=COLORS[source], error_y=err,
            hovertext=hover, hoverinfo="text+y",
        )
    _layout(fig, quantity_label(metric, lang), yaxis_title=quantity_label(metric, lang), barmode="group")
    fig.update_xaxes(tickangle=-30, tickfont=dict(size=10))
    return fig


def comparison_figures(report: Report) -> list[go.Figure]:
    """The comparison bars of decode rate, TTFT and memory that have something to show."""
    figures = [comparison_figure(report, metric) for metric in ("decode_tps", "ttft_ms", "memory_mb")]
    return [f for f in figures if f is not None]


def predicted_figure(report: Report) -> go.Figure | None:
    """Measured against predicted decode rate and memory, with the y = x line; hover shows residuals."""
    lang = report.lang
    p = report.predicted
    if p.empty:
        return None
    p = p[p["predicted_decode_tps"].notna() | p["predicted_memory_mb"].notna()]
    if p.empty:
        return None
    from plotly.subplots import make_subplots

    panels = [(mx, px, res, q) for mx, px, res, q in (
        ("measured_decode_tps", "predicted_decode_tps", "decode_residual_pct", "decode_tps"),
        ("measured_vmhwm_mb", "predicted_memory_mb", "memory_residual_pct", "memory_mb"))
        if (p[px].notna() & p[mx].notna()).any()]  # only the quantities with a prediction (llama.cpp: memory)
    if not panels:
        return None
    fig = make_subplots(rows=1, cols=len(panels), horizontal_spacing=0.12)
    for col, (mx, px, res, q_name) in enumerate(panels, 1):
        q = p[p[px].notna() & p[mx].notna()]
        multi = q["entry"].duplicated(keep=False)
        fig.add_scatter(x=q[px], y=q[mx], mode="markers+text",
                        text=[f"{e} {c}" if d else e for e, c, d in zip(q["entry"], q["case"], multi)],
                        textposition=label_positions(q[px], q[mx]),
                        marker=dict(size=10, color=COLORS["measured"]), name=_r("measured", lang),
                        hovertext=[f"{r.entry} {r.case}<br>{_r('residual', lang)}: {getattr(r, res):+.0f} %"
                                   for r in q.itertuples()], hoverinfo="text", showlegend=col == 1, row=1, col=col)
        hi = float(np.nanmax([q[px].max(), q[mx].max()])) * 1.15
        fig.add_scatter(x=[0, hi], y=[0, hi], mode="lines", line=dict(dash="dash", color="#999"),
                        name="y = x", showlegend=col == 1, hoverinfo="skip", row=1, col=col)
        quantity = quantity_label(q_name, lang)
        fig.update_xaxes(title_text=f"{_r('predicted', lang)} · {quantity}", row=1, col=col)
        fig.update_yaxes(title_text=f"{_r('measured', lang)} · {quantity}", row=1, col=col)
    return _layout(fig, _r("pred_vs_meas", lang))


def memory_budget_figure(report: Report) -> go.Figure | None:
    """Measured peak memory per entry (VmHWM and MemAvailable drop) against budget and physical RAM."""
    lang = report.lang
    m = headline_cases(report.measured)
    if m.empty:
        return None
    board = report.board
    fig = go.Figure()
    fig.add_bar(y=m["entry"], x=m["vmhwm_mb"], orientation="h", name="VmHWM (" + _r("measured", lang) + ")",
                marker_color=COLORS["measured"],
                hovertext=[f"{r.model_name} {r.case}" for r in m.itertuples()], hoverinfo="text+x")
    if m["mem_available_drop_mb"].notna().any():
        fig.add_bar(y=m["entry"], x=m["mem_available_drop_mb"], orientation="h",
                    name=_r("mem_drop", lang) + " (" + _r("measured", lang) + ")",
                    marker_color="#ff9896")
    pred = report.predicted.set_index("entry")["predicted_memory_mb"] if len(report.predicted) else pd.Series(dtype=float)
    pm = [pred.get(e, np.nan) if not isinstance(pred.get(e, np.nan), pd.Series) else pred.get(e).iloc[0]
          for e in m["entry"]]
    if np.isfinite(np.array(pm, dtype=float)).any():
        fig.add_bar(y=m["entry"], x=pm, orientation="h", name=_r("predicted", lang),
                    marker=dict(color="rgba(0,0,0,0)", line=dict(color=COLORS["predicted"], width=2)))
    _budget_lines(fig, board, lang)
    return _layout(fig, _r("memory_budget", lang), xaxis_title="MB", barmode="group",
                   height=max(320, 140 + 60 * len(m)), xaxis_tickformat=",d")


def _budget_lines(fig: go.Figure, board, lang: str) -> go.Figure:
    """The board's usable budget (dashed) and physical RAM (solid) as vertical lines named in the legend."""
    return reference_lines(fig, [(board.budget_mb, f"{_r('budget', lang)} {board.budget_mb:,.0f} MB", "dash", "#444"),
                                 (board.physical_mb, f"{_r('physical', lang)} {board.physical_mb:,.0f} MB", "solid",
                                  "#444")])


def bandwidth_figure(report: Report) -> go.Figure | None:
    """Decode rate against bytes read per token (model file size), with the DRAM ceiling curve."""
    lang = report.lang
    m = headline_cases(report.measured)
    if m.empty:
        return None
    m = m[pd.to_numeric(m["model_size_bytes"], errors="coerce").notna()]
    if m.empty:
        return None
    board = report.board
    gb = pd.to_numeric(m["model_size_bytes"]) / 1e9
    eff = m["decode_tps"] * gb / board.bandwidth_gbs * 100
    fig = go.Figure()
    xs = np.linspace(max(gb.min() * 0.5, 0.01), max(gb.max() * 1.5, 1.0), 100)
    fig.add_scatter(x=xs, y=board.bandwidth_gbs / xs, mode="lines", line=dict(color="#444", dash="dash"),
                    name=f"{_r('ceiling', lang)} {board.bandwidth_gbs:.1f} GB/s ({board.name})", hoverinfo="skip")
    top = float(max(m["decode_tps"].max(), board.bandwidth_gbs / max(float(gb.min()), 0.01))) * 1.2
    y_top = min(top, float(m["decode_tps"].max()) * 3 + 1)
    fig.add_scatter(x=gb, y=m["decode_tps"], mode="markers+text", text=m["entry"],
                    textposition=label_positions(gb, m["decode_tps"], xspan=float(xs.max()), yspan=y_top),
                    marker=dict(size=11, color=COLORS["measured"]), name=_r("measured", lang),
                    hovertext=[f"{r.entry}: {r.decode_tps:.2f} tok/s x {g:.3f} GB = {r.decode_tps * g:.2f} GB/s<br>"
                               f"{_r('efficiency', lang)} {e:.0f} % ({_host(r)})"
                               for r, g, e in zip(m.itertuples(), gb, eff)], hoverinfo="text")
    return _layout(fig, _r("bandwidth", lang), xaxis_title=_r("bytes_per_token", lang),
                   yaxis_title=quantity_label("decode_tps", lang), yaxis_range=[0, y_top], xaxis_rangemode="tozero")


def _host(r) -> str:
    return str(getattr(r, "host_soc", None) or getattr(r, "host_cpu", None) or "?")


def npu_cpu_figure(report: Report) -> go.Figure | None:
    """Every plan model's decode rate on the NPU (RKLLM) and on the CPU (llama.cpp): predicted bars (hatched;
    the CPU one is the memory-bandwidth ceiling) and measured bars where a sweep entry measured it."""
    lang = report.lang
    t = report.npu_cpu
    if t is None or t.empty:
        return None
    fig = go.Figure()
    pred = _r("npu_cpu.predicted", lang)
    series = (("npu_decode_tps", f"NPU (RKLLM) {pred}", COLORS["official"], "/"),
              ("measured_npu_decode_tps", f"NPU (RKLLM) {_r('measured', lang)}", COLORS["official"], ""),
              ("cpu_decode_ceiling_tps", f"CPU (llama.cpp) {_r('npu_cpu.ceiling', lang)}", COLORS["community"], "/"),
              ("measured_cpu_decode_tps", f"CPU (llama.cpp) {_r('measured', lang)}", COLORS["community"], ""))
    for key, name, color, hatch in series:
        y = pd.to_numeric(t[key], errors="coerce")
        if not y.notna().any():
            continue
        fig.add_bar(x=t["model"], y=y, name=name, marker_color=color, marker_pattern_shape=hatch,
                    marker_opacity=0.55 if hatch else 1.0)
    return _layout(fig, _r("npu_cpu", lang), barmode="group", yaxis_title=quantity_label("decode_tps", lang))


def vlm_stage_figure(report: Report) -> go.Figure | None:
    """Stacked time per VLM entry: preprocess, vision encoder, LLM prefill (image + text) to the
    first token, other, decode — the stages of :func:`rklab.report.summary.vlm_stages`, which add up to
    the measured end-to-end median."""
    lang = report.lang
    st = vlm_stages(report.measured)
    if st.empty:
        return None
    labels = [e + (" *" if s else "") for e, s in zip(st["entry"], st["synthetic"])]
    colors = {"preprocess_ms": "#bcbd22", "encoder_ms": "#17becf", "llm_prefill_ms": "#ff7f0e",
              "other_ms": "#7f7f7f", "decode_ms": "#1f77b4"}
    fig = go.Figure()
    for key in VLM_STAGES:
        values = pd.to_numeric(st[key], errors="coerce").fillna(0)
        if key == "other_ms" and not (values > 0).any():
            continue
        fig.add_bar(y=labels, x=values, orientation="h", name=text(f"stage.{key}", lang), marker_color=colors[key],
                    customdata=st["e2e_ms"],
                    hovertemplate="%{x:.0f} ms (" + text("stage.e2e_ms", lang) + " %{customdata:.0f} ms)<extra>"
                    + text(f"stage.{key}", lang) + "</extra>")
    title = _r("vlm_stages", lang) + ((" (* " + _r("synthetic", lang) + ")") if st["synthetic"].any() else "")
    return _layout(fig, title, barmode="stack", xaxis_title=_r("time_ms", lang), height=max(300, 120 + 60 * len(st)))
