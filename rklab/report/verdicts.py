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
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rklab import i18n
from rklab.predict.boards import load_board
from rklab.predict.feasibility import seed_comparison
from rklab.report.summary import headline_cases
from rklab.runfolder import ABORTED_OR_OOM, Status

VERDICT_SOURCES = ("measured", "predicted", "excluded")


def verdict_table(measured: pd.DataFrame, entries: pd.DataFrame, board: str = "rk3588-8gb",
                  context: int = 4096, lang: str = "zh", excluded: list[dict] | None = None) -> pd.DataFrame:
    """Columns (raw keys): model, section, seed_ram_mb, seed_verdict, predicted_mb, predicted_verdict,
    measured_mb, measured_decode_tps, verdict, verdict_source (measured | predicted | excluded),
    verdict_reason, verdict_label (the verdict in ``lang``)."""
    b = load_board(board)
    base = feasibility_rows(board, context, lang)
    meas_rk = headline_cases(measured[measured["backend"] == "rkllm"]) if len(measured) else measured
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
        m = meas_rk[meas_rk["model_name"] == model] if len(meas_rk) else pd.DataFrame()
        row = {**r, "measured_mb": np.nan, "measured_decode_tps": np.nan, "verdict_source": "predicted",
               "verdict_reason": ""}
        row["verdict"] = r.get("predicted_verdict")
        if len(m):
            mm = m.iloc[0]
            row["measured_mb"] = mm.get("vmhwm_mb")
            row["measured_decode_tps"] = mm["decode_tps"]
            row["verdict_source"] = "measured"
            status, message = outcome_by_entry.get(mm["entry"], (Status.OK, ""))
            mem = mm.get("vmhwm_mb")
            if status in ABORTED_OR_OOM:
                # the runs measured before the OOM / memory abort do not show the model fits
                row["verdict"] = guard_verdict(status)
                row["verdict_reason"] = guard_reason(status, message, lang)
            elif mem is not None and np.isfinite(mem):
                row["verdict"] = "tight" if mem > b.budget_mb * b.tight_fraction else "fits"
                if mem > b.budget_mb:
                    row["verdict"] = "exceeds"
        elif outcome_by_model.get(model, ("",))[0] in ABORTED_OR_OOM:
            status, message = outcome_by_model[model]
            row["verdict"] = guard_verdict(status)
            row["verdict_reason"] = guard_reason(status, message, lang)
            row["verdict_source"] = "measured"
        elif model in excluded_models:
            row["verdict"] = "excluded"
            row["verdict_source"] = "excluded"
            row["verdict_reason"] = excluded_models[model] or ""
        rows.append(row)
    df = pd.DataFrame(rows)
    if not df.empty:
        df["verdict_label"] = df["verdict"].map(lambda v: i18n.verdict_label(v, lang))
    return df


def guard_verdict(status: str) -> str:
    """oom (killed by the kernel's OOM killer) -> "oom"; aborted_memory (rklab's guard stopped
    the run at the MemAvailable floor, before the OOM killer) -> "exceeds"."""
    return "oom" if status == Status.OOM else "exceeds"


def guard_reason(status: str, message: str, lang: str) -> str:
    head = i18n.text("verdict.reason.oom" if status == Status.OOM else "verdict.reason.aborted_memory", lang)
    return f"{head}: {message}" if message else head


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
