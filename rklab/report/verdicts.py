"""The final feasibility table: the seed's table, with measured values replacing estimates.

Rules, per model of the seed's tables:

* measured on the NPU (RKLLM) at its headline case: the verdict follows the measured VmHWM
  against the board (``fits``, ``tight`` above ``tight_fraction`` of the budget, ``exceeds``
  above it) — unless the entry ended ``oom`` or ``aborted_memory``, which decides the verdict
  even when some runs were measured before (their VmHWM is shown, but "fits" would be wrong):
  ``oom`` -> verdict ``oom``, ``aborted_memory`` -> ``exceeds``, with the reason;
* not measured, but an entry of the model ran out of memory: that outcome;
* excluded by the plan: ``excluded`` with the plan's reason;
* else the engine's predicted verdict (w8a8, the family RK3588 runs).

Every row says why in ``verdict_reason`` (the report's language): the measured peak against the
budget, the guard's outcome, the plan's reason for excluding, or the engine's reason for its
prediction. Models of the sweep that the seed does not list are added after the seed's rows.

With several boards (a fleet) there is one such table per board, each against its own board
profile (an 8 GB and a 16 GB board disagree on what fits), stacked with a ``board`` column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rklab import i18n
from rklab.predict.boards import load_board
from rklab.errors import RklabError
from rklab.predict.catalog import get_model
from rklab.predict.feasibility import feasibility_table, seed_comparison
from rklab.report.frames import NO_BOARD, col, first
from rklab.report.summary import headline_cases
from rklab.runfolder import ABORTED_OR_OOM, Status

VERDICT_SOURCES = ("measured", "predicted", "excluded")


def report_boards(measured: pd.DataFrame, entries: pd.DataFrame, default_profile: str) -> list[tuple[str, str]]:
    """``[(board, profile)]`` of the boards in the records, in the order they appear; the profile
    from the records (``board_profile``), else ``default_profile``. ``[("-", default)]`` when none."""
    boards: dict[str, str | None] = {}
    for df, key in ((measured, "board_profile"), (entries, "profile")):
        if len(df) and "board" in df.columns:
            for b, g in df.groupby("board", sort=False):
                got = first(g[key]) if key in g.columns else None
                if boards.get(b) is None:
                    boards[b] = got if isinstance(got, str) and got else None
    return [(b, p or default_profile) for b, p in boards.items()] or [(NO_BOARD, default_profile)]


def verdict_table(measured: pd.DataFrame, entries: pd.DataFrame, board: str = "rk3588-8gb",
                  context: int = 4096, lang: str = "zh", excluded: list[dict] | None = None) -> pd.DataFrame:
    """Columns (raw keys): board, profile, model, section, seed_ram_mb, seed_verdict, predicted_mb,
    predicted_verdict, predicted_decode_tps, predicted_reason, measured_mb, measured_decode_tps,
    measured_case, verdict, verdict_source (measured | predicted | excluded), verdict_reason (never
    empty, in ``lang``), verdict_label (the verdict in ``lang``).

    One block of rows per board of the records, each against its profile (``board``: the profile of
    records that carry none). Rows of a block: the seed's models, then the models of the sweep's
    entries that the seed does not list (the demo's SmolLM2, a model a plan adds)."""
    tables = []
    for b, profile in report_boards(measured, entries, board):
        m = measured[measured["board"] == b] if len(measured) else measured
        e = entries[entries["board"] == b] if len(entries) else entries
        t = _board_verdicts(m, e, profile, context, lang, excluded)
        t.insert(0, "profile", profile)
        t.insert(0, "board", b)
        tables.append(t)
    return pd.concat(tables, ignore_index=True)


def _board_verdicts(measured: pd.DataFrame, entries: pd.DataFrame, board: str, context: int, lang: str,
                    excluded: list[dict] | None) -> pd.DataFrame:
    """The verdict table of one board (profile ``board``), see :func:`verdict_table`."""
    b = load_board(board)
    base = feasibility_rows(board, context, lang)
    seed_models = {r["model"] for r in base}
    plan_models = list(dict.fromkeys(
        [m for m in col(entries, "model").dropna().tolist()]
        + ([m for m in measured["model_name"].dropna().tolist()] if len(measured) else [])))
    base += [_extra_row(m) for m in plan_models if m not in seed_models]
    engine = engine_rows([r["model"] for r in base], board, context, lang)
    meas_rk = headline_cases(measured[measured["backend"] == "rkllm"]) if len(measured) else measured
    measured_models = set(measured["model_name"]) if len(measured) else set()
    excluded_models = {e.get("model"): e.get("reason", "") for e in (excluded or [])}
    outcome_by_entry: dict[str, tuple[str, str]] = {}
    outcome_by_model: dict[str, tuple[str, str]] = {}
    for _, e in entries.iterrows():
        if e.get("backend") == "rkllm" and e.get("model"):
            got = (e["status"], e.get("message") or "")
            outcome_by_entry[e["entry"]] = got
            # a guard outcome of any entry of the model is kept over an ok one
            if outcome_by_model.get(e["model"], ("",))[0] not in ABORTED_OR_OOM:
                outcome_by_model[e["model"]] = got
    rows = []
    for r in base:
        model = r["model"]
        pred = engine.get(model, {})
        if r.get("predicted_mb") is None or (isinstance(r.get("predicted_mb"), float) and np.isnan(r["predicted_mb"])):
            r = {**r, "predicted_mb": pred.get("memory_mb", np.nan),
                 "predicted_verdict": r.get("predicted_verdict") or pred.get("verdict")}
        m = meas_rk[meas_rk["model_name"] == model] if len(meas_rk) else pd.DataFrame()
        row = {**r, "predicted_decode_tps": pred.get("predicted_decode_tps", np.nan),
               "predicted_reason": pred.get("reason") or "", "measured_mb": np.nan, "measured_decode_tps": np.nan,
               "measured_case": "", "verdict_source": "predicted", "verdict_reason": ""}
        row["verdict"] = row.get("predicted_verdict")
        if len(m):
            mm = m.iloc[0]
            row["measured_mb"] = mm.get("vmhwm_mb")
            row["measured_decode_tps"] = mm["decode_tps"]
            row["measured_case"] = mm.get("case") or ""
            row["verdict_source"] = "measured"
            status, message = outcome_by_entry.get(mm["entry"], (Status.OK, ""))
            mem = mm.get("vmhwm_mb")
            if status in ABORTED_OR_OOM:
                # the runs measured before the OOM / memory abort do not show the model fits
                row["verdict"] = guard_verdict(status)
                row["verdict_reason"] = guard_reason(status, message, lang)
            elif mem is not None and np.isfinite(mem):
                row["verdict"] = measured_verdict(mem, b)
                row["verdict_reason"] = measured_reason(mem, b, row["verdict"], row["measured_case"], lang)
            else:  # measured speed, but no memory figure in the records: the memory verdict stays predicted
                row["verdict_reason"] = i18n.text("verdict.reason.no_memory", lang, reason=row["predicted_reason"])
        elif outcome_by_model.get(model, ("",))[0] in ABORTED_OR_OOM:
            status, message = outcome_by_model[model]
            row["verdict"] = guard_verdict(status)
            row["verdict_reason"] = guard_reason(status, message, lang)
            row["verdict_source"] = "measured"
        elif model in excluded_models:
            row["verdict"] = "excluded"
            row["verdict_source"] = "excluded"
            row["verdict_reason"] = i18n.text("verdict.reason.excluded", lang,
                                              reason=excluded_models[model] or i18n.text("verdict.reason.no_reason", lang))
        if not row["verdict_reason"]:
            row["verdict_reason"] = row["predicted_reason"] or i18n.text("verdict.reason.no_prediction", lang)
            if model in measured_models and row["verdict_source"] == "predicted":
                row["verdict_reason"] += i18n.text("punct.clause", lang) + i18n.text("verdict.reason.cpu_only", lang)
        rows.append(row)
    df = pd.DataFrame(rows)
    if not df.empty:
        df["verdict_label"] = df["verdict"].map(lambda v: i18n.verdict_label(v, lang))
    return df


def measured_verdict(mem: float, b) -> str:
    """fits / tight (above ``tight_fraction`` of the budget) / exceeds (above the budget)."""
    if mem > b.budget_mb:
        return "exceeds"
    return "tight" if mem > b.budget_mb * b.tight_fraction else "fits"


def measured_reason(mem: float, b, verdict: str, case: str, lang: str) -> str:
    return i18n.text("verdict.reason.measured", lang, mb=mem, budget=b.budget_mb, pct=100 * mem / b.budget_mb,
                     case=case, verdict=i18n.verdict_label(verdict, lang))


def guard_verdict(status: str) -> str:
    """oom (killed by the kernel's OOM killer) -> "oom"; aborted_memory (rklab's guard stopped
    the run at the MemAvailable floor, before the OOM killer) -> "exceeds"."""
    return "oom" if status == Status.OOM else "exceeds"


def guard_reason(status: str, message: str, lang: str) -> str:
    head = i18n.text("verdict.reason.oom" if status == Status.OOM else "verdict.reason.aborted_memory", lang)
    return f"{head}: {message}" if message else head


def engine_rows(models: list[str], board: str, context: int, lang: str) -> dict[str, dict]:
    """The engine's w8a8 prediction per model (memory, verdict, decode, reason in ``lang``); a model the
    catalog does not know gets its one-line error as the reason."""
    out: dict[str, dict] = {}
    known = []
    for model in dict.fromkeys(models):
        try:
            get_model(model)
            known.append(model)
        except RklabError as exc:
            out[model] = {"verdict": "unsupported", "reason": str(exc)}
    if known:
        out.update({r["model"]: r for r in feasibility_table(board, context, lang, models=known).to_dict("records")})
    return out


def _extra_row(model: str) -> dict:
    """A model of the sweep that the seed's tables do not list: no quoted numbers."""
    return {"model": model, "section": "", "seed_ram_mb": None, "seed_verdict": None, "predicted_mb": None,
            "predicted_verdict": None}


def feasibility_rows(board: str, context: int, lang: str = "zh") -> list[dict]:
    """The seed's feasibility table (quoted RAM and verdict) with the engine's prediction per model.

    From :func:`rklab.predict.feasibility.seed_comparison`: model, section, seed_ram_text (quoted),
    seed_verdict (quoted, in ``lang``), predicted_mb and predicted_verdict (engine, w8a8: the only
    family RK3588 runs, so the seed's W4A16 rows are predicted as the board would actually load them).
    """
    rows = []
    for r in seed_comparison(board=board, context=context, lang=lang).to_dict("records"):
        rows.append({"model": r["model"], "section": r.get("section"), "seed_ram_mb": r.get("seed_ram_text"),
                     "seed_verdict": r.get("seed_verdict"),
                     "predicted_mb": r.get("w8a8_memory_mb", r.get("memory_mb")),
                     "predicted_verdict": r.get("w8a8_verdict", r.get("verdict"))})
    return rows
