"""Everything notebook 04 shows, computed once: :func:`build_report` returns a :class:`Report`.

Data flow: run folders -> records (:mod:`~rklab.report.load`) -> per-case summary
(:mod:`~rklab.report.summary`) -> comparisons with references and predictions
(:mod:`~rklab.report.compare`), conditions, verdicts, warnings. Display tables
(:mod:`~rklab.report.tables`), text and files (:mod:`~rklab.report.render`) and figures
(:mod:`rklab.report.plots.report`) read the :class:`Report`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rklab.i18n import check_lang
from rklab.predict.boards import Board, load_board
from rklab.predict.reference import load_reference
from rklab.report.compare import comparison_table, npu_vs_cpu_table, predicted_vs_measured
from rklab.report.conditions import conditions_table
from rklab.report.frames import NO_BOARD
from rklab.report.load import (RunDirs, board_status, entry_outcomes, excluded_models, in_plan_order,
                               load_sweep_records, measured_runs, plan_entries, plan_order)
from rklab.report.summary import summarize
from rklab.report.verdicts import report_boards, verdict_table
from rklab.report.warnings import ReportWarning, find_warnings, skipped_line_warnings


@dataclass
class Report:
    lang: str
    board: Board
    runs: pd.DataFrame  # one row per measured run (kind llm/vlm, status ok)
    entries: pd.DataFrame  # one row per entry outcome (kind entry)
    measured: pd.DataFrame  # per entry and case: medians, spread, peaks
    comparison: pd.DataFrame  # quoted references + measured, one row per source
    predicted: pd.DataFrame  # measured vs prediction per entry and case (at the observed clocks; GGUF for llama.cpp)
    verdicts: pd.DataFrame
    conditions: pd.DataFrame
    warnings: list[ReportWarning] = field(default_factory=list)
    run_dirs: list[str] = field(default_factory=list)
    excluded: list[dict] = field(default_factory=list)
    npu_cpu: pd.DataFrame = field(default_factory=pd.DataFrame)  # predicted NPU and CPU per plan model (+ measured)
    boards: list[tuple[str, str]] = field(default_factory=list)  # (board id, profile) of the records
    board_status: pd.DataFrame = field(default_factory=pd.DataFrame)  # fleet: how each board's last run went

    @property
    def many_boards(self) -> bool:
        """True for a fleet report: the records come from more than one board."""
        return len(self.boards) > 1

    @property
    def synthetic(self) -> bool:
        return bool(len(self.measured)) and bool(self.measured.get("synthetic", pd.Series(dtype=bool)).fillna(False).any())


def build_report(run_dirs: RunDirs, board: str = "rk3588-8gb", lang: str = "zh", context: int = 4096) -> Report:
    """The report over the records of ``run_dirs`` (sweep folders or folders holding records.jsonl)."""
    check_lang(lang)
    if isinstance(run_dirs, (str, os.PathLike)):
        run_dirs = [run_dirs]
    run_dirs = [str(d) for d in run_dirs]
    records = load_sweep_records(run_dirs)
    runs = measured_runs(records)
    entries = entry_outcomes(records)
    order = plan_order(run_dirs)
    if order:  # tables follow the plan's entry order
        runs, entries = in_plan_order(runs, order), in_plan_order(entries, order)
    measured = summarize(runs)
    models: list[Any] = list(measured["model_name"].unique()) if len(measured) else []
    models += [m for m in entries["model"].dropna().unique() if m not in models]
    b = load_board(board)
    measured_boards = report_boards(measured, entries, board)
    socs = {load_board(profile).soc for _, profile in measured_boards}
    reference = load_reference()
    reference = reference[reference["platform"].isin(socs)]      # the boards' SoCs only (the tables hold four)
    comparison = comparison_table(measured, reference, models, lang)
    predicted = predicted_vs_measured(measured, board, lang)
    npu_cpu = npu_vs_cpu_table(plan_entries(run_dirs), measured, measured_boards)
    conditions = conditions_table(runs)
    excluded = excluded_models(run_dirs)
    verdicts = verdict_table(measured, entries, board, context, lang, excluded)
    status = board_status(run_dirs)
    warns = find_warnings(measured, conditions, entries, comparison, lang, status)
    warns += skipped_line_warnings(records.attrs.get("skipped_lines", []), lang)
    boards = [] if len(status) and measured_boards == [(NO_BOARD, board)] else list(measured_boards)
    known = {name for name, _ in boards}  # + fleet boards that measured nothing (unreachable)
    boards += [(name, p or board) for name, p in zip(status["board"], status["profile"]) if name not in known]
    return Report(lang=lang, board=b, runs=runs, entries=entries, measured=measured,
                  comparison=comparison, predicted=predicted, verdicts=verdicts, conditions=conditions,
                  warnings=warns, run_dirs=run_dirs, excluded=excluded, npu_cpu=npu_cpu, boards=boards,
                  board_status=status)
