"""plotly figures for notebooks 02 (LLM bench) and 03 (VLM bench).

Every builder takes plain data (run dicts, monitor samples, DataFrames), a ``lang``
(``zh`` default, ``en``) and a ``source`` caption ("measured on ..."), and returns a
``plotly.graph_objects.Figure`` — or ``None`` when the host has no such data (e.g. NPU load
outside an RK3588), so the notebook can say "not available on this host".
Titles say *measured* and, for the synthetic demo encoder, *synthetic*.
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from rklab import display, metrics
from rklab.i18n import has_text, text
from rklab.report.plots.style import log_axis

PHASE_COLOURS = {"load": "rgba(120,120,120,0.15)", "prefill": "rgba(255,165,0,0.18)",
                 "decode": "rgba(30,144,255,0.12)"}


def L(key: str, lang: str = "zh") -> str:
    """The label of a column, axis or title: a metric's (rklab.metrics), else ``bench.<key>``, else the key."""
    if key in metrics.METRICS:
        return metrics.label(key, lang)
    return text(f"bench.{key}", lang) if has_text(f"bench.{key}") else key


def _title(key: str, lang: str, source: str = "", synthetic: bool = False) -> str:
    t = f"{L(key, lang)} — {L('measured', lang)}"
    if synthetic:
        t += f" ({L('synthetic', lang)})"
    if source:
        t += f"<br><sup>{source}</sup>"
    return t


def summary_table(summary: pd.DataFrame, *, lang: str = "zh", source: str = "", synthetic: bool = False,
                  columns: Iterable[str] | None = None):
    """The summary DataFrame as a plotly table, through :func:`rklab.display.format_table` (the
    headers, units and digits of every rklab table)."""
    import plotly.graph_objects as go

    df = display.format_table(summary, lang, columns)
    header = list(df.columns)
    cells = [df[c].tolist() for c in df.columns]
    fig = go.Figure(go.Table(header={"values": header, "align": "left"}, cells={"values": cells, "align": "left"}))
    fig.update_layout(title=_title("summary_title", lang, source, synthetic), margin={"l": 10, "r": 10, "t": 70, "b": 10},
                      height=120 + 30 * max(len(df), 1), font=dict(family=display.FONT_STACK))
    return fig


def token_latency_figure(runs: list[dict], *, lang: str = "zh", source: str = "", synthetic: bool = False,
                         max_traces: int = 60):
    """Inter-token latency of every generated token after the first, one line per run."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for run in runs[:max_traces]:
        offs = run.get("token_offsets_ms") or []
        if len(offs) < 2:
            continue
        gaps = [b - a for a, b in zip(offs[:-1], offs[1:])]
        name = f"{run.get('case') or run.get('image', '')} #{run.get('rep', '')}"
        fig.add_trace(go.Scatter(x=list(range(2, len(offs) + 1)), y=gaps, mode="lines", name=name))
    fig.update_layout(title=_title("token_title", lang, source, synthetic), xaxis_title=L("token_x", lang),
                      yaxis_title=L("token_y", lang), legend={"font": {"size": 9}})
    return fig


def _phase_spans(samples: list[dict]) -> list[tuple[str, float, float]]:
    spans: list[tuple[str, float, float]] = []
    for s in samples:
        ph, t = s.get("phase"), s.get("t_s")
        if t is None:
            continue
        if spans and spans[-1][0] == ph:
            spans[-1] = (ph, spans[-1][1], t)
        else:
            if spans:
                spans[-1] = (spans[-1][0], spans[-1][1], t)
            spans.append((ph, t, t))
    return [sp for sp in spans if sp[0] in PHASE_COLOURS and sp[2] > sp[1]]


def memory_figure(samples: list[dict], *, lang: str = "zh", source: str = "", synthetic: bool = False,
                  max_points: int = 1500):
    """Process VmRSS/VmHWM/RssShmem and the system MemAvailable drop over time, phases shaded."""
    import plotly.graph_objects as go

    all_samples = [s for s in samples if s.get("t_s") is not None]
    if not all_samples:
        return None
    # keep the notebook light: at most ~max_points points per line (phases use every sample)
    step = max(1, len(all_samples) // max_points)
    samples = all_samples[::step]
    t = [s["t_s"] for s in samples]
    fig = go.Figure()
    for key, lab in (("vmrss_mb", "vmrss"), ("vmhwm_mb", "vmhwm"), ("rss_shmem_mb", "rss_shmem")):
        ys = [s.get(key) for s in samples]
        if any(v is not None for v in ys):
            fig.add_trace(go.Scatter(x=t, y=ys, mode="lines", name=L(lab, lang)))
    avail = [s.get("mem_available_mb") for s in samples]
    if any(v is not None for v in avail):
        first = next(v for v in avail if v is not None)
        fig.add_trace(go.Scatter(x=t, y=[(first - v) if v is not None else None for v in avail], mode="lines",
                                 name=L("avail_drop", lang), line={"dash": "dot"}))
    seen = set()
    for ph, a, b in _phase_spans(all_samples):
        # label each phase once; plotly draws "new text" for an annotation position without text
        label = {} if ph in seen else {"annotation_text": L(ph, lang), "annotation_position": "top left"}
        fig.add_vrect(x0=a, x1=b, fillcolor=PHASE_COLOURS[ph], line_width=0, layer="below", **label)
        seen.add(ph)
    fig.update_layout(title=_title("memory_title", lang, source, synthetic), xaxis_title=L("time_s", lang),
                      yaxis_title=L("mb", lang))
    return fig


def npu_temperature_figure(samples: list[dict], *, lang: str = "zh", source: str = ""):
    """NPU load per core and temperatures per thermal zone; None when the host has neither."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    has_npu = any(s.get("npu_load") for s in samples)
    has_temp = any(s.get("temps_c") for s in samples)
    if not (has_npu or has_temp):
        return None
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    t = [s.get("t_s") for s in samples]
    if has_npu:
        n = max(len(s.get("npu_load") or []) for s in samples)
        for core in range(n):
            ys = [(s.get("npu_load") or [None] * n)[core] if s.get("npu_load") and len(s["npu_load"]) > core else None
                  for s in samples]
            fig.add_trace(go.Scatter(x=t, y=ys, mode="lines", name=f"NPU core{core}"), secondary_y=False)
    if has_temp:
        zones = sorted({z for s in samples for z in (s.get("temps_c") or {})})
        for z in zones:
            ys = [(s.get("temps_c") or {}).get(z) for s in samples]
            fig.add_trace(go.Scatter(x=t, y=ys, mode="lines", name=z, line={"dash": "dot"}), secondary_y=True)
    fig.update_layout(title=_title("npu_title", lang, source), xaxis_title=L("time_s", lang))
    fig.update_yaxes(title_text=L("npu_load", lang), secondary_y=False)
    fig.update_yaxes(title_text=L("temp", lang), secondary_y=True)
    return fig


def vlm_stage_figure(runs: list[dict], *, lang: str = "zh", source: str = "", synthetic: bool = False):
    """Stacked bar per image: preprocess, encoder, LLM prefill (TTFT), decode — medians in ms."""
    import plotly.graph_objects as go

    if not runs:
        return None
    df = pd.DataFrame(runs)
    df["decode_ms"] = df["e2e_ms"] - df["ttft_e2e_ms"]
    med = df.groupby("image")[["preprocess_ms", "encoder_ms", "ttft_ms", "decode_ms"]].median()
    fig = go.Figure()
    for col, stage in (("preprocess_ms", "preprocess_ms"), ("encoder_ms", "encoder_ms"), ("ttft_ms", "llm_prefill_ms"),
                       ("decode_ms", "decode_ms")):
        fig.add_trace(go.Bar(y=list(med.index), x=med[col].tolist(), name=text(f"stage.{stage}", lang), orientation="h",
                             text=[f"{v:.0f}" for v in med[col]], textposition="inside"))
    fig.update_layout(barmode="stack", title=_title("stages_title", lang, source, synthetic),
                      xaxis_title=L("ms", lang), height=220 + 60 * len(med))
    return fig


def reference_ratio_figure(comparison: pd.DataFrame, *, lang: str = "zh", source: str = ""):
    """measured / reference per metric and reference row; None when there is nothing to compare."""
    import plotly.graph_objects as go

    if comparison is None or comparison.empty:
        return None
    df = comparison.dropna(subset=["ratio"]).copy()
    if df.empty:
        return None
    kind = df["source"].map(lambda v: text(f"source.{v}", lang) if has_text(f"source.{v}") else str(v))
    df["who"] = kind + ": " + df["reference_by"].astype(str).str.slice(0, 40) + " (" + df["runtime"].astype(str) + ")"
    fig = go.Figure()
    for who, g in df.groupby("who", sort=False):
        fig.add_trace(go.Bar(x=[L(m, lang) for m in g["metric"]], y=g["ratio"], name=who,
                             hovertext=g["conditions"], text=[f"{v:.2f}" for v in g["ratio"]]))
    fig.add_hline(y=1.0, line_dash="dash", line_color="black")
    fig.update_layout(title=_title("ratio_title", lang, source), yaxis_title=L("ratio", lang), barmode="group",
                      legend={"font": {"size": 9}})
    fig.update_yaxes(**log_axis(list(df["ratio"]) + [1.0]))
    return fig


def show(fig, *, lang: str = "zh", missing: str | None = None) -> None:
    """``fig.show()``, or print why there is no figure (e.g. no NPU on this host); ``missing=""``: say
    nothing (the table below says it)."""
    if fig is None:
        if missing != "":
            print(missing or text("bench.not_available", lang))
    else:
        fig.update_layout(font=dict(family=display.FONT_STACK))  # Chinese with a real font everywhere
        fig.update_xaxes(automargin=True)
        fig.update_yaxes(automargin=True)
        fig.show()
