"""What notebooks 02 and 03 show of a :class:`rklab.measure.session.BenchOutcome`, in the notebook's language.

The session (``rklab.measure.session``) measures and returns raw frames; this module turns them into
tables for people (:mod:`rklab.display`) and into the one-line notes of sections with nothing to show,
so that a zh notebook has no English words of rklab's own (the quoted sources' notes stay as written).
"""

from __future__ import annotations

import pandas as pd

from rklab import display, metrics
from rklab.i18n import has_text, text
from rklab.measure.outcome import BenchOutcome
from rklab.report.conditions import clock_reasons_summary

RECORD_COLUMNS = {"llm": ("status", "case", "rep", "ttft_ms", "decode_tps", "vmhwm_mb"),
                  "vlm": ("status", "image", "rep", "encoder_ms", "ttft_e2e_ms", "decode_tps", "synthetic")}


def no_runs(outcome: BenchOutcome, lang: str) -> str:
    """Why a section of the notebook is empty: nothing was measured, and the run's status."""
    status = text(f"session.status.{outcome.status}", lang) if has_text(f"session.status.{outcome.status}") \
        else outcome.status
    return text("session.no_runs", lang, status=status)


def npu_missing(lang: str) -> str:
    return text("bench.npu_not_available", lang)


def summary_table(summary: pd.DataFrame, outcome: BenchOutcome, lang: str) -> display.Table:
    """The per-case (02) or per-image (03) medians as a table, or why there are none."""
    return display.table(summary, lang, name="summary", empty=no_runs(outcome, lang),
                         labels={"case": "report.case",  # a count of flagged runs here, not a flag
                                 "cache_suspected": display.Column("cache_suspected", "bench.cache_suspected_runs",
                                                                   kind="int")})


def host_table(outcome: BenchOutcome, lang: str) -> display.Table:
    """The host snapshot, one row per fact, words in ``lang``; the clock check summarized."""
    rows = []
    host = outcome.host or {}
    for key, value in host.items():
        if key == "clocks_pinned_reasons":
            value = clock_reasons_summary(value, host.get("soc"), lang) or "-"
        label = text(f"host.{key}", lang) if has_text(f"host.{key}") else key.replace("_", " ")
        col = display.Column(key, kind="bool") if key == "clocks_pinned" else display.column(key)
        rows.append({"fact": label, "value": display.format_value(value, col, lang)})
    return display.table(pd.DataFrame(rows, columns=["fact", "value"]), lang, name="host",
                         labels={"fact": "session.fact", "value": display.Column("value", "calib.value", kind="text")},
                         empty=text("bench.not_available", lang))


def reference_table(comparison: pd.DataFrame, outcome: BenchOutcome, lang: str) -> display.Table:
    """Quoted rows for the model next to the measured medians (ratio = measured / reference)."""
    df = comparison
    if len(df):
        df = df.assign(metric=df["metric"].map(lambda m: metrics.label(m, lang) if m in metrics.METRICS else m))
    return display.table(df, lang, ["metric", "measured", "reference", "ratio", "measured_case", "source",
                                    "reference_by", "runtime", "board", "conditions", "notes"],
                         labels={"reference": display.Column("reference", "bench.reference_value", kind="number")},
                         name="reference", empty=no_reference(outcome, lang))


def no_reference(outcome: BenchOutcome, lang: str) -> str:
    return text("session.no_reference", lang, model=outcome.model.get("name"))


def records_table(records: pd.DataFrame, outcome: BenchOutcome, lang: str) -> display.Table:
    """The last ten records of this run (what notebook 04 merges), key columns only."""
    cols = [c for c in RECORD_COLUMNS.get(outcome.kind, ()) if c in records]
    return display.table(records[cols].tail(10).reset_index(drop=True) if cols else pd.DataFrame(), lang,
                         name="records", labels={"case": "report.case"}, empty=no_runs(outcome, lang))


def records_note(records: pd.DataFrame, outcome: BenchOutcome, lang: str) -> display.Markdown:
    return display.Markdown(text("session.records_note", lang, path=outcome.records_path, n=len(records)))


def answers_table(outcome: BenchOutcome, lang: str) -> display.Table:
    """The first answer per image (03)."""
    return display.table(pd.DataFrame(outcome.answers, columns=["image", "text"]), lang, name="answers",
                         labels={"text": display.Column("text", "metric.text", kind="text", long=True)},
                         empty=no_runs(outcome, lang))


def encoder_check(outcome: BenchOutcome, lang: str) -> display.Markdown:
    """The encoder's output shapes against what the catalog says the LLM expects (03)."""
    enc = outcome.encoder or {}
    lines = []
    if outcome.runs:
        r0 = outcome.runs[0]
        shapes = ", ".join("×".join(str(d) for d in s) for s in r0.get("encoder_output_shapes") or []) or "-"
        lines.append(text("session.encoder_outputs", lang, shapes=shapes,
                          tokens=r0.get("image_tokens"),
                          synthetic=display.flag_text(outcome.synthetic, lang)))
    facts = "; ".join(f"{k} {display.format_value(v, '', lang)}" for k, v in enc.items())
    lines.append(text("session.encoder", lang, facts=facts or "-"))
    return display.Markdown("\n\n".join(lines))
