"""Plotly figures of notebook 04, built from a :class:`rklab.report.build.Report`.

Each builder returns a ``plotly.graph_objects.Figure`` or ``None`` when there is nothing to
draw (e.g. no model measured on both NPU and CPU). Colours mark the kind of number:
official / seed / community (quoted) and measured; predictions are drawn hollow. With several
boards (a fleet) every measured mark is labelled ``board · entry``, memory and bandwidth limits
are drawn per board profile, and :func:`boards_figure` puts the same model on different boards
side by side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from rklab.i18n import text
from rklab.predict.boards import load_board
from rklab.report.answer import answer_rows, decode_label
from rklab.report.build import Report
from rklab.report.frames import with_board
from rklab.report.plots.style import label_positions, reference_lines, style
from rklab.report.summary import VLM_STAGES, headline_cases, vlm_stages
from rklab.report.warnings import quantity_label

COLORS = {"official": "#1f77b4", "seed": "#9467bd", "community": "#2ca02c", "measured": "#d62728",
          "predicted": "#7f7f7f"}
HEIGHT = 460
# verdicts of the answer figure, in legend order, with their colours
VERDICT_COLORS = {"fits": "#2ca02c", "tight": "#e6a700", "exceeds": "#ff7f0e", "infeasible": "#d62728",
                  "oom": "#8c1c13", "unsupported": "#9e9e9e", "excluded": "#c7c7c7", "failed": "#7f7f7f"}
BOARD_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _r(key: str, lang: str) -> str:
    return text(f"report.{key}", lang)


def _layout(fig: go.Figure, title: str, **kw) -> go.Figure:
    return style(fig, title, height=kw.pop("height", HEIGHT), **kw)


def answer_figure(report: Report) -> go.Figure | None:
    """The answer in one chart: every model of the seed and the sweep, its peak memory against the usable
    budget and physical RAM, coloured by verdict; solid bars measured, hatched bars predicted; the label
    gives the memory and the decode rate (measured where measured, with its kind). With several boards,
    one bar per board and model (``board · model``) and the limits of every board profile."""
    lang = report.lang
    a = answer_rows(report)
    a = a[a["memory_mb"].notna()]
    if a.empty:
        return None
    a = a.assign(y=[with_board(m, b, report.many_boards) for m, b in zip(a["model"], a["board"])])
    profiles = _profiles(report)
    cap = max(b.physical_mb for b in profiles) * 1.12  # bars beyond are cut here and marked with an arrow
    fig = go.Figure()
    for verdict, color in VERDICT_COLORS.items():
        g = a[a["verdict"] == verdict]
        if g.empty:
            continue
        fig.add_bar(y=g["y"], x=[min(v, cap) for v in g["memory_mb"]], orientation="h",
                    name=g["verdict_label"].iloc[0], marker_color=color,
                    marker_pattern_shape=["" if s == "measured" else "/" for s in g["memory_source"]],
                    marker_pattern_fgcolor="rgba(255,255,255,0.75)", marker_line=dict(color=color, width=1),
                    customdata=np.stack([g["memory_mb"], g["verdict_reason"]], axis=-1),
                    hovertemplate="%{y}: %{customdata[0]:,.0f} MB<br>%{customdata[1]}<extra></extra>")
    for r in a.itertuples():  # the label on a white ground: a budget line never crosses it
        decode = decode_label(r._asdict(), lang)
        fig.add_annotation(x=min(r.memory_mb, cap), y=r.y, xanchor="left", showarrow=False, xshift=4,
                           text=f"{r.memory_mb:,.0f} MB{' ▶' if r.memory_mb > cap else ''}" + (f" · {decode}" if decode else ""),
                           font=dict(size=11), bgcolor="rgba(255,255,255,0.85)", borderpad=1)
    for b in profiles:
        _budget_lines(fig, b, lang, named=len(profiles) > 1)
    style(fig, text("report.answer.chart_title", lang), height=120 + 26 * len(a), barmode="overlay",
          xaxis=dict(title=text("report.answer.memory_axis", lang), range=[0, cap * 1.55], tickformat=",d"),
          yaxis=dict(autorange="reversed", categoryorder="array", categoryarray=list(a["y"])))
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
        entries = [with_board(e, b, report.many_boards) for e, b in zip(q["entry"], q["board"])]
        multi = pd.Series(entries).duplicated(keep=False).tolist()
        labels = [f"{e} {c}" if d else e for e, c, d in zip(entries, q["case"], multi)]
        fig.add_scatter(x=q[px], y=q[mx], mode="markers+text", text=labels,
                        textposition=label_positions(q[px], q[mx]),
                        marker=dict(size=10, color=COLORS["measured"]), name=_r("measured", lang),
                        hovertext=[f"{e} {r.case}<br>{_r('residual', lang)}: {getattr(r, res):+.0f} %"
                                   for e, r in zip(entries, q.itertuples())], hoverinfo="text", showlegend=col == 1,
                        row=1, col=col)
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
    labels = [with_board(e, b, report.many_boards) for e, b in zip(m["entry"], m["board"])]
    fig = go.Figure()
    fig.add_bar(y=labels, x=m["vmhwm_mb"], orientation="h", name="VmHWM (" + _r("measured", lang) + ")",
                marker_color=COLORS["measured"],
                hovertext=[f"{r.model_name} {r.case}" for r in m.itertuples()], hoverinfo="text+x")
    if m["mem_available_drop_mb"].notna().any():
        fig.add_bar(y=labels, x=m["mem_available_drop_mb"], orientation="h",
                    name=_r("mem_drop", lang) + " (" + _r("measured", lang) + ")",
                    marker_color="#ff9896")
    pred = report.predicted.drop_duplicates(["board", "entry"]).set_index(["board", "entry"])["predicted_memory_mb"] \
        if len(report.predicted) else pd.Series(dtype=float)
    pm = [pred.get((b, e), np.nan) for b, e in zip(m["board"], m["entry"])]
    if np.isfinite(np.array(pm, dtype=float)).any():
        fig.add_bar(y=labels, x=pm, orientation="h", name=_r("predicted", lang),
                    marker=dict(color="rgba(0,0,0,0)", line=dict(color=COLORS["predicted"], width=2)))
    profiles = _profiles(report)
    for board in profiles:
        _budget_lines(fig, board, lang, named=len(profiles) > 1)
    return _layout(fig, _r("memory_budget", lang), xaxis_title="MB", barmode="group",
                   height=max(320, 140 + 60 * len(m)), xaxis_tickformat=",d")


def _budget_lines(fig: go.Figure, board, lang: str, named: bool = False) -> go.Figure:
    """The board's usable budget (dashed) and physical RAM (solid) as vertical lines named in the legend
    (``named``: with the profile's name, when the figure shows several profiles)."""
    of = f" ({board.name})" if named else ""
    return reference_lines(fig, [(board.budget_mb, f"{_r('budget', lang)} {board.budget_mb:,.0f} MB{of}", "dash", "#444"),
                                 (board.physical_mb, f"{_r('physical', lang)} {board.physical_mb:,.0f} MB{of}", "solid",
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
    gb = pd.to_numeric(m["model_size_bytes"]) / 1e9
    ceilings = {b: load_board(p).bandwidth_gbs for b, p in report.boards}
    bw = np.array([ceilings.get(b, report.board.bandwidth_gbs) for b in m["board"]], dtype=float)
    eff = m["decode_tps"] * gb / bw * 100
    fig = go.Figure()
    xs = np.linspace(max(gb.min() * 0.5, 0.01), max(gb.max() * 1.5, 1.0), 100)
    for board in {round(b.bandwidth_gbs, 1): b for b in _profiles(report)}.values():
        fig.add_scatter(x=xs, y=board.bandwidth_gbs / xs, mode="lines", line=dict(color="#444", dash="dash"),
                        name=f"{_r('ceiling', lang)} {board.bandwidth_gbs:.1f} GB/s ({board.name})", hoverinfo="skip")
    top = float(max(m["decode_tps"].max(), float(bw.max()) / max(float(gb.min()), 0.01))) * 1.2
    y_top = min(top, float(m["decode_tps"].max()) * 3 + 1)
    labels = [with_board(e, b, report.many_boards) for e, b in zip(m["entry"], m["board"])]
    fig.add_scatter(x=gb, y=m["decode_tps"], mode="markers+text", text=labels,
                    textposition=label_positions(gb, m["decode_tps"], xspan=float(xs.max()), yspan=y_top),
                    marker=dict(size=11, color=COLORS["measured"]), name=_r("measured", lang),
                    hovertext=[f"{lab}: {r.decode_tps:.2f} tok/s x {g:.3f} GB = {r.decode_tps * g:.2f} GB/s<br>"
                               f"{_r('efficiency', lang)} {e:.0f} % ({_host(r)})"
                               for lab, r, g, e in zip(labels, m.itertuples(), gb, eff)], hoverinfo="text")
    return _layout(fig, _r("bandwidth", lang), xaxis_title=_r("bytes_per_token", lang),
                   yaxis_title=quantity_label("decode_tps", lang), yaxis_range=[0, y_top], xaxis_rangemode="tozero")


def _host(r) -> str:
    return str(getattr(r, "host_soc", None) or getattr(r, "host_cpu", None) or "?")


def _profiles(report: Report) -> list:
    """The distinct board profiles of the report (:class:`rklab.predict.boards.Board`), in order."""
    names = list(dict.fromkeys(p for _, p in report.boards)) or [report.board.name]
    return [load_board(n) for n in names]


def npu_cpu_figure(report: Report) -> go.Figure | None:
    """Every plan model's decode rate on the NPU (RKLLM) and on the CPU (llama.cpp): predicted bars (hatched;
    the CPU one is the memory-bandwidth ceiling) and measured bars where a sweep entry measured it."""
    lang = report.lang
    t = report.npu_cpu
    if t is None or t.empty:
        return None
    fig = go.Figure()
    x = [with_board(m, b, report.many_boards) for m, b in zip(t["model"], t["board"])]
    pred = _r("npu_cpu.predicted", lang)
    series = (("npu_decode_tps", f"NPU (RKLLM) {pred}", COLORS["official"], "/"),
              ("measured_npu_decode_tps", f"NPU (RKLLM) {_r('measured', lang)}", COLORS["official"], ""),
              ("cpu_decode_ceiling_tps", f"CPU (llama.cpp) {_r('npu_cpu.ceiling', lang)}", COLORS["community"], "/"),
              ("measured_cpu_decode_tps", f"CPU (llama.cpp) {_r('measured', lang)}", COLORS["community"], ""))
    for key, name, color, hatch in series:
        y = pd.to_numeric(t[key], errors="coerce")
        if not y.notna().any():
            continue
        fig.add_bar(x=x, y=y, name=name, marker_color=color, marker_pattern_shape=hatch,
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
    labels = [with_board(e, b, report.many_boards) + (" *" if s else "")
              for e, b, s in zip(st["entry"], st["board"], st["synthetic"])]
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


BOARD_METRICS = ("decode_tps", "ttft_ms", "vmhwm_mb")


def boards_figure(report: Report) -> go.Figure | None:
    """Same model, different boards: decode rate, TTFT and peak memory (VmHWM) of every model
    (with its backend and dtype) measured on two boards or more, one bar per board (error bar =
    std of the runs) at each board's headline case. None when no model ran on two boards."""
    lang = report.lang
    m = headline_cases(report.measured)
    if m.empty:
        return None
    m = m.assign(_x=m["model_name"] + np.where(m["synthetic"], " *", "") + "<br>" + m["backend"] + " "
                 + m["dtype"].astype(str))
    shared = [x for x, g in m.groupby("_x", sort=False) if g["board"].nunique() > 1]
    if not shared:
        return None
    m = m[m["_x"].isin(shared)]
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(BOARD_METRICS), horizontal_spacing=0.08)
    boards = list(dict.fromkeys(m["board"]))
    for i, board in enumerate(boards):
        s = m[m["board"] == board]
        color = BOARD_COLORS[i % len(BOARD_COLORS)]
        profile = next((p for b, p in report.boards if b == board), "")
        for c, key in enumerate(BOARD_METRICS, 1):
            std = s.get(f"{key}_std")
            err = dict(type="data", array=pd.to_numeric(std, errors="coerce").fillna(0).tolist()) \
                if std is not None else None
            fig.add_bar(x=s["_x"], y=pd.to_numeric(s[key], errors="coerce"), name=f"{board} ({profile})",
                        marker_color=color, error_y=err, showlegend=c == 1, legendgroup=board,
                        hovertext=[f"<b>{board}</b> ({profile})<br>{r.entry}, {r.case}, n={r.n}<br>{_host(r)}"
                                   for r in s.itertuples()], hoverinfo="text+y", row=1, col=c)
    for c, key in enumerate(BOARD_METRICS, 1):  # axis titles, not subplot titles: those collide with the legend
        fig.update_yaxes(title_text=quantity_label(key, lang), row=1, col=c)
    fig.update_xaxes(tickangle=0, tickfont=dict(size=10))
    return _layout(fig, _r("same_model_boards", lang), barmode="group")
