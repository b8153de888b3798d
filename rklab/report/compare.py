"""Measured numbers beside the others: quoted references (:func:`comparison_table`) and the
feasibility engine's predictions (:func:`predicted_vs_measured`).

Every row keeps its kind: ``source`` is official / seed / community (quoted, with the reference
and its conditions) or measured (this sweep, with the host); predictions sit in ``predicted_*``
columns next to the ``measured_*`` ones, never under a measured name.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from rklab import i18n
from rklab.errors import RklabError
from rklab.predict.catalog import get_model
from rklab.predict.feasibility import estimate
from rklab.report.frames import as_int, host_label, int_text, residual_pct, yes_no_unknown
from rklab.report.summary import headline_cases

SOURCE_ORDER = ("official", "seed", "community", "measured")
COMPARISON_COLUMNS = ["model", "source", "reference", "label", "runtime", "dtype", "decode_tps", "decode_tps_err",
                      "ttft_ms", "ttft_ms_err", "memory_mb", "memory_kind", "conditions", "synthetic",
                      "prompt_tokens", "new_tokens", "entry"]
PREDICTED_COLUMNS = ["entry", "model", "backend", "case", "measured_decode_tps", "predicted_decode_tps",
                     "decode_residual_pct", "measured_ttft_ms", "predicted_ttft_ms", "ttft_residual_pct",
                     "measured_vmhwm_mb", "predicted_memory_mb", "memory_residual_pct", "weights_mb", "note"]
# (measured, predicted, residual) column triples of predicted_vs_measured
RESIDUALS = (("measured_decode_tps", "predicted_decode_tps", "decode_residual_pct"),
             ("measured_ttft_ms", "predicted_ttft_ms", "ttft_residual_pct"),
             ("measured_vmhwm_mb", "predicted_memory_mb", "memory_residual_pct"))
RKLLM_ONLY_NOTE = i18n.text("report.note.rkllm_only", "en")


def comparison_table(measured: pd.DataFrame, reference: pd.DataFrame, models: Iterable[str]) -> pd.DataFrame:
    """Quoted rows for ``models`` plus the measured headline case of each entry (tidy)."""
    models = list(dict.fromkeys(models))
    rows: list[dict] = []
    if reference is not None and not reference.empty:
        ref = reference[reference["model"].isin(models)]
        for _, r in ref.iterrows():
            conds = [f"runtime {r['runtime']}", f"board: {r.get('board', '')}"]
            if pd.notna(r.get("prompt_tokens")) or pd.notna(r.get("new_tokens")):
                conds.append(f"tokens {int_text(r.get('prompt_tokens'))}/{int_text(r.get('new_tokens'))}")
            if pd.notna(r.get("max_context")):
                conds.append(f"context {int(r['max_context'])}")
            if isinstance(r.get("notes"), str) and r["notes"]:
                conds.append(r["notes"])
            rows.append({
                "model": r["model"], "source": r["source"], "reference": r["reference"],
                "label": short_label(r),
                "runtime": str(r["runtime"]), "dtype": r.get("dtype"),
                "decode_tps": r.get("decode_tps"), "decode_tps_err": np.nan,
                "ttft_ms": r.get("ttft_ms"), "ttft_ms_err": np.nan,
                "memory_mb": r.get("memory_mb"), "memory_kind": r.get("memory_kind"),
                "conditions": "; ".join(str(c) for c in conds), "synthetic": False,
                "prompt_tokens": r.get("prompt_tokens"), "new_tokens": r.get("new_tokens"), "entry": None,
            })
    for _, m in headline_cases(measured).iterrows():
        conds = [f"{m['case']}", f"context {int_text(m.get('max_context'))}", f"n={m['n']}",
                 f"host {host_label(m)}", f"clocks pinned: {yes_no_unknown(m.get('clocks_pinned'))}"]
        if m.get("synthetic"):
            conds.append("synthetic vision encoder")
        rows.append({
            "model": m["model_name"], "source": "measured", "reference": f"rklab sweep entry {m['entry']}",
            "label": f"measured {m['backend']}" + (" (synthetic)" if m.get("synthetic") else ""),
            "runtime": str(m.get("runtime_version") or ""), "dtype": m.get("dtype"),
            "decode_tps": m["decode_tps"], "decode_tps_err": m["decode_tps_std"],
            "ttft_ms": m["ttft_ms"], "ttft_ms_err": m["ttft_ms_std"],
            "memory_mb": m.get("vmhwm_mb"), "memory_kind": "VmHWM",
            "conditions": "; ".join(conds), "synthetic": bool(m.get("synthetic")),
            "prompt_tokens": m.get("prompt_tokens"), "new_tokens": m.get("new_tokens"), "entry": m["entry"],
        })
    df = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    if not df.empty:
        order = {s: i for i, s in enumerate(SOURCE_ORDER)}
        df["_m"] = df["model"].map({m: i for i, m in enumerate(models)}).fillna(len(models))
        df["_s"] = df["source"].map(order).fillna(len(order))
        df = df.sort_values(["_m", "_s", "runtime"]).drop(columns=["_m", "_s"]).reset_index(drop=True)
    return df


def short_label(r) -> str:
    """A bar label that fits under a bar: 'official v1.2.3', 'seed', 'Qengineering v1.2.3'."""
    if r["source"] == "seed":
        return "seed"
    if r["source"] == "official":
        return f"official v{r['runtime']}"
    owner = str(r["reference"]).split(" ")[0].split("/")[0]
    return f"{owner} v{r['runtime']}"


def predicted_vs_measured(measured: pd.DataFrame, board: str = "rk3588-8gb") -> pd.DataFrame:
    """Engine prediction for each measured entry/case, with residuals (measured/predicted - 1).

    The engine models the RKLLM runtime on the board; CPU (llama.cpp) entries and models it
    cannot place get NaN predictions and a ``note`` saying why.
    """
    rows = []
    if measured.empty:
        return pd.DataFrame(columns=PREDICTED_COLUMNS)
    for _, m in measured.iterrows():
        row = {"entry": m["entry"], "model": m["model_name"], "backend": m["backend"], "case": m["case"],
               "measured_decode_tps": m["decode_tps"], "measured_ttft_ms": m["ttft_ms"],
               "measured_vmhwm_mb": m.get("vmhwm_mb"), "predicted_decode_tps": np.nan, "predicted_ttft_ms": np.nan,
               "predicted_memory_mb": np.nan, "weights_mb": np.nan, "note": ""}
        if m["backend"] != "rkllm":
            row["note"] = RKLLM_ONLY_NOTE
        else:
            est = _estimate(m, board)
            if isinstance(est, str):
                row["note"] = est
            else:
                row["predicted_decode_tps"] = est.get("decode_tps", np.nan)
                row["predicted_ttft_ms"] = est.get("ttft_ms", np.nan)
                row["predicted_memory_mb"] = est.get("memory_mb", np.nan)
                row["weights_mb"] = est.get("weights_mb", np.nan)
        for a, b, r in RESIDUALS:
            row[r] = residual_pct(row[a], row[b])
        rows.append(row)
    return pd.DataFrame(rows, columns=PREDICTED_COLUMNS)


def _estimate(m, board: str) -> dict | str:
    """The engine's prediction for a measured row as a dict, or why there is none."""
    try:
        est = estimate(
            m["model_name"],
            dtype=m.get("dtype") or "w8a8",
            board=board,
            max_context=int(m.get("max_context") or 4096),
            prompt_tokens=text_prompt_tokens(m),
            new_tokens=int(m.get("new_tokens") or 64),
            with_vision=(m.get("kind") == "vlm"),
        )
        return est.to_dict()
    except RklabError as exc:
        return f"no prediction: {exc}"


def text_prompt_tokens(m) -> int:
    """The prompt tokens to give ``feasibility.estimate``: text tokens only.

    For a VLM run the record's ``prompt_tokens`` is the runtime's prefill count (image + text);
    ``estimate(..., with_vision=True)`` adds the model's image tokens itself, so passing the
    prefill count would count the image twice. Uses the record's ``text_tokens``, else
    ``prompt_tokens - image_tokens`` (image tokens from the record, else the model catalog).
    """
    pp = as_int(m.get("prompt_tokens"))
    if m.get("kind") != "vlm":
        return pp if pp is not None else 128
    text = as_int(m.get("text_tokens"))
    if text is not None:
        return max(text, 0)
    img = as_int(m.get("image_tokens"))
    if img is None:
        try:
            spec = get_model(m["model_name"])
            img = int(spec.vision.image_tokens) if getattr(spec, "vision", None) else 0
        except (RklabError, AttributeError, TypeError, ValueError):
            img = 0  # unknown model: estimate() says so in the note
    return max((pp if pp is not None else 128) - img, 0)
