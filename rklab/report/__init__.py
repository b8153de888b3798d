"""Notebook 04: measured records beside published references and the engine's predictions.

Every number keeps its kind: **measured** (records of this sweep: where and on what host), **quoted**
(``data/reference``: official / seed / community, with the reference and its conditions) or
**predicted** (``rklab.predict.feasibility.estimate``; beside measured runs ``rklab.predict.measured``). Records from the synthetic demo encoder
carry ``synthetic`` and are labelled so.

The public API (what notebook 04 and ``rklab report`` use)::

    rep = build_report(run_dirs, board=..., lang=...)      # rklab.report.build
    measured_display(rep), comparison_display(rep), boards_display(rep), ...   # rklab.report.tables
    answer_html(rep), report_intro(rep), summary_lines(rep), warnings_html(rep), table_html(df, lang),
    why_empty(rep, section),
    write_report_logs(rep, run_dirs, results_md)            # rklab.report.render
    default_run_dirs(run_dirs)                              # rklab.report.load

One concern per module: ``load`` (records of the run folders), ``summary`` (per entry and case),
``conditions``, ``compare`` (references, predictions), ``verdicts``, ``warnings``, ``build`` (the
:class:`Report`), ``tables`` (display tables), ``render`` (text, HTML snippets, benchmark_log.md),
``html`` (executed notebook -> offline HTML), ``plots`` (figures).
"""

from rklab.report.build import Report, build_report
from rklab.report.load import default_run_dirs
from rklab.report.render import (answer_html, benchmark_log_markdown, prediction_lines, report_intro, summary_lines,
                                 table_html, warnings_html, why_empty, write_benchmark_log, write_report_logs)
from rklab.report.tables import (boards_display, comparison_display, conditions_display, entries_display,
                                 measured_display, npu_cpu_display, predicted_display, verdicts_display)
from rklab.report.warnings import ReportWarning

__all__ = [
    "Report", "ReportWarning", "answer_html", "benchmark_log_markdown", "boards_display", "build_report",
    "comparison_display", "conditions_display", "default_run_dirs", "entries_display", "measured_display",
    "npu_cpu_display", "predicted_display", "prediction_lines", "report_intro", "summary_lines", "table_html",
    "verdicts_display", "warnings_html", "why_empty", "write_benchmark_log", "write_report_logs",
]
