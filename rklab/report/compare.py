"""Measured numbers beside the others: quoted references (:func:`comparison_table`) and the
predictions (:func:`predicted_vs_measured`, from :mod:`rklab.predict.measured`), and the predicted NPU and
CPU numbers of every plan model (:func:`npu_vs_cpu_table`).

Every row keeps its kind: ``source`` is official / seed / community (quoted, with the reference
and its conditions) or measured (this sweep, with the host); predictions sit in ``predicted_*``
columns next to the ``measured_*`` ones, never under a measured name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from rklab import i18n
from rklab.display import flag_text
from rklab.errors import RklabError
from rklab.predict.boards import load_board
from rklab.predict.catalog import get_model
from rklab.predict.measured import npu_vs_cpu, run_prediction
from rklab.report.frames import NO_BOARD, as_int, host_label, int_text, residual_pct, with_board
from rklab.report.summary import headline_cases

SOURCE_ORDER = ("official", "seed", "community", "measured")
COMPARISON_COLUMNS = ["model", "source", "reference", "label", "bar_label", "runtime", "dtype", "decode_tps", "decode_tps_err",
                      "ttft_ms", "ttft_ms_err", "memory_mb", "memory_kind", "conditions", "synthetic",
                      "prompt_tokens", "new_tokens", "entry", "board"]
PREDICTION_KEYS = ("predicted_decode_tps", "predicted_decode_tps_pinned", "predicted_ttft_ms", "predicted_memory_mb",
                   "ceiling_tps", "pct_of_ceiling")
PREDICTED_COLUMNS = ["board", "entry", "model", "backend", "case", "measured_decode_tps", "predicted_decode_tps",
                     "predicted_decode_tps_pinned", "decode_residual_pct", "measured_ttft_ms", "predicted_ttft_ms",
                     "ttft_residual_pct", "measured_vmhwm_mb", "predicted_memory_mb", "memory_residual_pct",
                     "ceiling_tps", "pct_of_ceiling", "explanation", "note"]
NPU_CPU_COLUMNS = ["board", "profile", "model", "in_plan", "npu_dtype", "npu_memory_mb", "npu_decode_tps", "npu_ttft_ms", "npu_verdict",
                   "measured_npu_decode_tps", "cpu_type", "cpu_memory_mb", "cpu_decode_ceiling_tps",
                   "measured_cpu_decode_tps", "measured_cpu_vmhwm_mb", "cpu_bandwidth_gbs", "cpu_bandwidth_source",
                   "cpu_basis"]
# (measured, predicted, residual) column triples of predicted_vs_measured
RESIDUALS = (("measured_decode_tps", "predicted_decode_tps", "decode_residual_pct"),
             ("measured_ttft_ms", "predicted_ttft_ms", "ttft_residual_pct"),
             ("measured_vmhwm_mb", "predicted_memory_mb", "memory_residual_pct"))


def comparison_table(measured: pd.DataFrame, reference: pd.DataFrame, models: Iterable[str],
                     lang: str = "en") -> pd.DataFrame:
    """Quoted rows for ``models`` plus the measured headline case of each entry (tidy).

    ``label`` is a short English key of the row (tests and code use it); ``bar_label`` and
    ``conditions`` are in ``lang`` (the quoted sources' own notes stay as written)."""
    models = list(dict.fromkeys(models))
    c = lambda key, **kw: i18n.text(f"report.cmp.{key}", lang, **kw)  # noqa: E731
    rows: list[dict] = []
    if reference is not None and not reference.empty:
        ref = reference[reference["model"].isin(models)]
        for _, r in ref.iterrows():
            board = r.get("board")
            if not isinstance(board, str) or not board or board == "not stated":
                board = c("not_stated")
            conds = [c("runtime", runtime=r["runtime"]), c("board", board=board)]
            if pd.notna(r.get("prompt_tokens")) or pd.notna(r.get("new_tokens")):
                conds.append(c("tokens", prompt=int_text(r.get("prompt_tokens")), new=int_text(r.get("new_tokens"))))
            if pd.notna(r.get("max_context")):
                conds.append(c("context", context=int(r["max_context"])))
            if isinstance(r.get("notes"), str) and r["notes"]:
                conds.append(r["notes"])
            rows.append({
                "model": r["model"], "source": r["source"], "reference": r["reference"],
                "label": short_label(r), "bar_label": short_label(r, lang),
                "runtime": str(r["runtime"]), "dtype": r.get("dtype"),
                "decode_tps": r.get("decode_tps"), "decode_tps_err": np.nan,
                "ttft_ms": r.get("ttft_ms"), "ttft_ms_err": np.nan,
                "memory_mb": r.get("memory_mb"), "memory_kind": r.get("memory_kind"),
                "conditions": "; ".join(str(x) for x in conds), "synthetic": False,
                "prompt_tokens": r.get("prompt_tokens"), "new_tokens": r.get("new_tokens"), "entry": None,
                "board": None,
            })
    heads = headline_cases(measured)
    many = len(heads) > 0 and heads["board"].nunique() > 1
    for _, m in heads.iterrows():
        conds = [f"{m['case']}", c("context", context=int_text(m.get("max_context"))), f"n={m['n']}",
                 c("host", host=host_label(m)),
                 c("pinned", pinned=flag_text(m.get("clocks_pinned"), lang))]
        if m.get("synthetic"):
            conds.append(c("synthetic"))
        synthetic = bool(m.get("synthetic"))
        board = m["board"]
        rows.append({
            "model": m["model_name"], "source": "measured",
            "reference": (c("entry", entry=m["entry"]) if board == NO_BOARD
                          else c("entry_board", entry=m["entry"], board=board)),
            "label": with_board(f"measured {m['backend']}" + (" (synthetic)" if synthetic else ""), board, many),
            "bar_label": with_board(c("measured", backend=m["backend"])
                                    + (i18n.text("report.synthetic_mark", lang) if synthetic else ""), board, many),
            "runtime": str(m.get("runtime_version") or ""), "dtype": m.get("dtype"),
            "decode_tps": m["decode_tps"], "decode_tps_err": m["decode_tps_std"],
            "ttft_ms": m["ttft_ms"], "ttft_ms_err": m["ttft_ms_std"],
            "memory_mb": m.get("vmhwm_mb"), "memory_kind": "VmHWM",
            "conditions": "; ".join(conds), "synthetic": synthetic,
            "prompt_tokens": m.get("prompt_tokens"), "new_tokens": m.get("new_tokens"), "entry": m["entry"],
            "board": board,
        })
    df = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    if not df.empty:
        order = {s: i for i, s in enumerate(SOURCE_ORDER)}
        df["_m"] = df["model"].map({m: i for i, m in enumerate(models)}).fillna(len(models))
        df["_s"] = df["source"].map(order).fillna(len(order))
        df = df.sort_values(["_m", "_s", "runtime"]).drop(columns=["_m", "_s"]).reset_index(drop=True)
    return df


def short_label(r, lang: str = "en") -> str:
    """A bar label that fits under a bar: 'official v1.2.3', 'seed', 'Qengineering v1.2.3' (in ``lang``)."""
    if r["source"] == "seed":
        return i18n.text("report.cmp.seed", lang)
    if r["source"] == "official":
        return i18n.text("report.cmp.official", lang, runtime=r["runtime"])
    owner = str(r["reference"]).split(" ")[0].split("/")[0]
    return f"{owner} v{r['runtime']}"


def predicted_vs_measured(measured: pd.DataFrame, board: str = "rk3588-8gb", lang: str = "en") -> pd.DataFrame:
    """The prediction beside each measured entry/case, with residuals (measured/predicted - 1).

    RKLLM rows: predicted at the clocks the monitor saw (``predicted_decode_tps``) and at the pinned
    official clocks (``predicted_decode_tps_pinned``), with the sentence that says which explains the
    measurement (``explanation``). llama.cpp rows: memory predicted from the GGUF file and the decode
    ceiling at the host's measured bandwidth (``ceiling_tps``, ``pct_of_ceiling``). All of it comes from
    :func:`rklab.predict.measured.run_prediction`; ``note`` says why a number is missing. Each row is
    predicted for its own board's profile (the records' ``board_profile``; ``board`` for records without one).
    """
    rows = []
    if measured.empty:
        return pd.DataFrame(columns=PREDICTED_COLUMNS)
    for _, m in measured.iterrows():
        row = {"board": m["board"], "entry": m["entry"], "model": m["model_name"], "backend": m["backend"], "case": m["case"],
               "measured_decode_tps": m["decode_tps"], "measured_ttft_ms": m["ttft_ms"],
               "measured_vmhwm_mb": m.get("vmhwm_mb")}
        query = m.to_dict()
        query["prompt_tokens"] = text_prompt_tokens(m)
        profile = m.get("board_profile") if isinstance(m.get("board_profile"), str) else board
        pred = run_prediction(query, profile, lang)
        row.update({k: (np.nan if pred[k] is None else pred[k]) for k in PREDICTION_KEYS})
        row["note"], row["explanation"] = pred["note"], pred["explanation"]
        for a, b, r in RESIDUALS:
            row[r] = residual_pct(row[a], row[b])
        rows.append(row)
    return pd.DataFrame(rows, columns=PREDICTED_COLUMNS)


def npu_vs_cpu_table(plan: list[dict], measured: pd.DataFrame, boards: list[tuple[str, str]]) -> pd.DataFrame:
    """:func:`board_npu_vs_cpu` for each ``(board, profile)`` (a fleet: one block per board, the
    board's own runs beside its profile's predictions), stacked with ``board`` and ``profile`` columns."""
    tables = []
    for board, profile in boards:
        m = measured[measured["board"] == board] if len(measured) else measured
        tables.append(board_npu_vs_cpu(plan, m, profile).assign(board=board, profile=profile))
    return pd.concat(tables, ignore_index=True)[NPU_CPU_COLUMNS] if tables else pd.DataFrame(columns=NPU_CPU_COLUMNS)


def board_npu_vs_cpu(plan: list[dict], measured: pd.DataFrame, board: str = "rk3588-8gb") -> pd.DataFrame:
    """Predicted NPU (RKLLM) and CPU (llama.cpp) numbers for every plan model, before or after measuring,
    with the measured headline numbers beside them where a sweep entry measured that model.

    The CPU side uses the plan's GGUF type (and the measured file when a run recorded its path), the board's
    quoted CPU bandwidth, or the measured one when the sweep ran on that board's SoC."""
    b = load_board(board)
    heads = headline_cases(measured) if len(measured) else pd.DataFrame()
    models = list(dict.fromkeys(e["model"] for e in plan))
    rows = []
    for model in models:
        npu = next((e for e in plan if e["model"] == model and e["backend"] == "rkllm"), None)
        cpu = next((e for e in plan if e["model"] == model and e["backend"] == "llamacpp"), None)
        meas = heads[heads["model_name"] == model] if len(heads) else heads
        m_npu = meas[meas["backend"] == "rkllm"] if len(meas) else meas
        m_cpu = meas[meas["backend"] == "llamacpp"] if len(meas) else meas
        measured_bw = m_cpu["host.mem_bandwidth.gbs"].iloc[0] if len(m_cpu) else None
        on_board = bool(len(m_cpu)) and str(m_cpu["host_soc"].iloc[0]).upper() == b.soc and pd.notna(measured_bw)
        path = m_cpu["model.path"].iloc[0] if len(m_cpu) and isinstance(m_cpu["model.path"].iloc[0], str) else None
        try:
            p = npu_vs_cpu(model, b, npu_dtype=(npu or {}).get("dtype") or "w8a8",
                           gguf_type=(cpu or {}).get("dtype") or "q8_0",
                           gguf_path=path if path and Path(path).is_file() else None,
                           cpu_bandwidth_gbs=measured_bw if on_board else None,
                           cpu_bandwidth_source="measured on the board (host snapshot)" if on_board else "")
        except RklabError as exc:
            p = {"model": model, "npu_verdict": f"no prediction: {exc}"}
        p["measured_npu_decode_tps"] = m_npu["decode_tps"].iloc[0] if len(m_npu) else np.nan
        p["measured_cpu_decode_tps"] = m_cpu["decode_tps"].iloc[0] if len(m_cpu) else np.nan
        p["measured_cpu_vmhwm_mb"] = m_cpu["vmhwm_mb"].iloc[0] if len(m_cpu) else np.nan
        p["in_plan"] = ", ".join(sorted({("NPU" if e["backend"] == "rkllm" else "CPU")
                                         for e in plan if e["model"] == model}))
        rows.append(p)
    return pd.DataFrame(rows, columns=NPU_CPU_COLUMNS)


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
