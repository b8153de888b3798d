"""The report as text: the intro and summary sentences, HTML snippets for notebook 04, and
``benchmark_log.md`` (the markdown copy the seed report links to)."""

from __future__ import annotations

import datetime as _dt
import html
import os
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from rklab import display
from rklab.i18n import text
from rklab.metrics import format_number
from rklab.predict.boards import load_board
from rklab.report.answer import answer_lines
from rklab.report.build import Report
from rklab.report.frames import host_label, with_board
from rklab.report.summary import headline_cases
from rklab.report.tables import (boards_display, comparison_display, conditions_display, entries_display,
                                 has_predictions, measured_display, predicted_display, verdicts_display)
from rklab.runfolder import REPORT_MD, Status


def report_intro(report: Report) -> str:
    """What the numbers are and where they come from (first paragraph of the report); with several
    boards, which boards (inventory name and profile) the report covers."""
    lang = report.lang
    kinds = text("report.intro.kinds", lang)
    if not report.many_boards:
        b = report.board
        return text("report.intro", lang, board=b.label(lang), physical=b.physical_mb, budget=b.budget_mb,
                    bandwidth=b.bandwidth_gbs) + kinds
    boards = ", ".join(f"**{name}** ({load_board(profile).describe(lang)})" for name, profile in report.boards)
    return text("report.intro.boards", lang, n=len(report.boards), boards=boards) + kinds


def summary_lines(report: Report) -> list[str]:
    """Short sentences for the top of the report (what was measured, what failed, where)."""
    lang = report.lang
    e = report.entries
    n_ok = int((e["status"] == Status.OK).sum()) if len(e) else 0
    lines = [text("report.summary.entries", lang, n=len(e), ok=n_ok)]
    for _, m in headline_cases(report.measured).iterrows():
        lines.append(text("report.summary.line", lang, model=with_board(m["model_name"], m["board"], report.many_boards),
                          backend=m["backend"],
                          synthetic=text("report.synthetic_mark", lang) if m["synthetic"] else "",
                          decode=m["decode_tps"], ttft=m["ttft_ms"], memory=display.number_text(m.get("vmhwm_mb"), 0),
                          case=m["case"], host=host_label(m)))
    return lines


def _cpu_line(r, lang: str) -> str:
    """The sentence of a llama.cpp entry: memory predicted from the GGUF file and/or the decode ceiling
    from the host's bandwidth, whichever the record allowed (``note`` says why one is missing)."""
    has_memory, has_ceiling = np.isfinite(r["predicted_memory_mb"]), np.isfinite(r["ceiling_tps"])
    values = dict(entry=r["entry"], case=r["case"], decode=format_number(r["measured_decode_tps"], 2),
                  note=r["note"] if isinstance(r["note"], str) and r["note"] else "-")
    if has_memory:
        values.update(memory=format_number(r["measured_vmhwm_mb"], 0),
                      predicted=format_number(r["predicted_memory_mb"], 0),
                      residual=format_number(r["memory_residual_pct"], 1))
    if has_ceiling:
        values.update(ceiling=format_number(r["ceiling_tps"], 1), pct=format_number(r["pct_of_ceiling"], 0))
    key = {(True, True): "report.cpu_line", (True, False): "report.cpu_line_memory",
           (False, True): "report.cpu_line_ceiling", (False, False): "report.cpu_line_unpredicted"}
    return text(key[has_memory, has_ceiling], lang, **values)


def prediction_lines(report: Report) -> list[str]:
    """One sentence per measured entry (headline case): what the prediction at the observed clocks or from
    the GGUF file says about the measurement (from :func:`rklab.predict.measured.run_prediction`)."""
    p = report.predicted
    if p is None or p.empty:
        return []
    heads = headline_cases(report.measured)
    keep = set(zip(heads["board"], heads["entry"], heads["case"])) if len(heads) else set()
    out = []
    for _, r in p.iterrows():
        if (r["board"], r["entry"], r["case"]) not in keep:
            continue
        r = r.copy()
        r["entry"] = with_board(r["entry"], r["board"], report.many_boards)
        if r["backend"] == "llamacpp":
            out.append(_cpu_line(r, report.lang))
        elif isinstance(r["explanation"], str) and r["explanation"]:
            out.append(f"{r['entry']} ({r['case']}): {r['explanation']}")
        elif isinstance(r["note"], str) and r["note"]:
            out.append(f"{r['entry']} ({r['case']}): {r['note']}")
    return out


def table_html(df: pd.DataFrame, lang: str = "zh", *, name: str = "", empty: str | None = None) -> str:
    """A display table (:mod:`rklab.report.tables`) as escaped HTML in its own scroll container, no index.

    ``name`` marks the table (``data-table``) for readers and tests; ``empty`` is the one line shown
    when there are no rows (default: "no data"; ``""``: show nothing, the section said why already).
    """
    if (df is None or df.empty) and empty == "":
        return ""
    return display.table_html(df, name=name, empty=text("report.no_data", lang) if empty is None else empty)


def answer_html(report: Report) -> str:
    """The answer first: a heading and the three or four sentences of :func:`rklab.report.answer.answer_lines`."""
    lang = report.lang
    lines = "".join(f"<li>{html.escape(s)}</li>" for s in answer_lines(report))
    return (f'<h2 id="rklab-answer">{html.escape(text("report.answer.heading", lang))}</h2>'
            f'<ul class="rklab-answer">{lines}</ul>')


def why_empty(report: Report, section: str) -> str:
    """One line for a section with nothing to show: why, and what would fill it ("" when the section's
    table has rows although its figure has nothing to draw).

    ``section``: speed | pred_vs_meas | memory_budget | bandwidth | npu_cpu | vlm_stages |
    measured_table | conditions | entries | same_model_boards.
    """
    lang = report.lang
    m = report.measured
    if section == "entries":
        return text("report.empty.entries", lang)
    if section == "speed":
        return text("report.empty.speed", lang)
    if section == "npu_cpu":  # predicted for every plan model, measured or not
        return text("report.empty.npu_cpu", lang)
    if m.empty:
        return text("report.empty.nothing_measured", lang)
    if section == "pred_vs_meas":
        if has_predictions(report):
            return ""  # the table below has the predictions the figure cannot draw (llama.cpp ceilings)
        notes = sorted({n for n in report.predicted.get("note", pd.Series(dtype=str)) if isinstance(n, str) and n})
        return text("report.empty.no_prediction", lang, notes=text("punct.clause", lang).join(notes) or "-")
    if section == "vlm_stages":
        return text("report.empty.vlm_stages", lang)
    if section == "bandwidth":
        return text("report.empty.bandwidth", lang)
    if section == "same_model_boards":
        return text("report.empty.same_model_boards", lang)
    return text("report.no_data", lang)


def warnings_html(report: Report) -> str:
    lang = report.lang
    head = f"<h2>{html.escape(text('report.warnings', lang))}</h2>"
    if not report.warnings:
        return head + f'<div class="rklab-ok">{html.escape(text("report.no_warnings", lang))}</div>'
    return head + "".join(
        f'<div class="rklab-warn"><b>[{html.escape(w.kind_label(lang))}] {html.escape(w.where)}</b>: '
        f'{html.escape(w.message)}</div>' for w in report.warnings)


def md_table(df: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table (no extra dependency)."""
    if df is None or df.empty:
        return "_(none)_\n"

    def cell(v) -> str:
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            return "-"
        if isinstance(v, float):
            v = f"{v:.2f}"
        return str(v).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(cell(c) for c in df.columns) + " |"
    sep = "| " + " | ".join(":---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"


def benchmark_log_markdown(report: Report) -> str:
    lang = report.lang
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    h = lambda key: f"## {text(key, lang)}\n"  # noqa: E731
    parts = [f"# {text('report.title', lang)} — benchmark_log\n",
             text("report.log.generated", lang, now=now) + ", ".join(f"`{d}`" for d in report.run_dirs) + "\n",
             text("report.log.kinds", lang) + "\n",
             h("report.answer.heading"), "\n".join(f"- {s}" for s in answer_lines(report)) + "\n",
             h("report.summary"), "\n".join(f"- {s}" for s in summary_lines(report)) + "\n",
             h("report.boards"), md_table(boards_display(report)),
             h("report.warnings"),
             ("\n".join(f"- [{w.kind_label(lang)}] {w.where}: {w.message}" for w in report.warnings) + "\n")
             if report.warnings else text("report.no_warnings", lang) + "\n",
             h("report.measured_table"), md_table(measured_display(report)),
             h("report.speed"), md_table(comparison_display(report)),
             h("report.pred_vs_meas"), md_table(predicted_display(report)),
             h("report.verdicts"), md_table(verdicts_display(report)),
             h("report.conditions"), md_table(conditions_display(report)),
             h("report.entries"), md_table(entries_display(report)),
             h("report.sources")]
    refs = report.comparison[report.comparison["source"] != "measured"]["reference"].unique() \
        if len(report.comparison) else []
    parts.append("\n".join(f"- {r}" for r in refs) + "\n" if len(refs) else "_(none)_\n")
    return "\n".join(parts)


def write_report_logs(report: Report, run_dirs: Iterable[str | os.PathLike],
                      results_md: str | os.PathLike | None = None) -> list[Path]:
    """benchmark_log.md in the first run folder, and also at ``results_md`` when given."""
    dirs = [Path(d) for d in run_dirs]
    targets = ([Path(results_md)] if results_md else []) + ([dirs[0] / REPORT_MD] if dirs else [])
    unique = {}  # results_md may be the run folder's own benchmark_log.md: write it once
    for t in targets:
        unique.setdefault(t.resolve(), t)
    targets = list(unique.values())
    if not targets:
        return []
    return write_benchmark_log(report, targets[0], copy_to=targets[1:])


def write_benchmark_log(report: Report, path: str | os.PathLike, copy_to: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """Write benchmark_log.md at ``path`` (and copies, e.g. in the run folder); atomic per file."""
    body = benchmark_log_markdown(report)
    written = []
    for p in [Path(path), *[Path(c) for c in copy_to]]:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(body, encoding="utf-8")
        os.replace(tmp, p)
        written.append(p)
    return written
