"""A benchmark session's outcome, and what notebooks 02/03 (and ``rklab bench``) show of it.

:class:`BenchOutcome` is what :func:`rklab.measure.session.bench_llm` / ``bench_vlm`` return; the
functions here turn it into the cells' tables and text: the per-case summary, the host snapshot,
the status block, and the published reference rows beside the measured medians
(:func:`reference_comparison`, at the case :func:`rklab.measure.protocol.match_case` picks).
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rklab import i18n, metrics
from rklab.measure.cachecheck import suspected_count
from rklab.measure.protocol import match_case
from rklab.predict.reference import load_reference
from rklab.records import RECORDS_FILE
from rklab.runfolder import Status


@dataclass
class BenchOutcome:
    """Everything a benchmark notebook shows, plus where its records went."""

    kind: str  # "llm" | "vlm"
    status: str  # a rklab.runfolder.Status: ok | skipped_predicted_oom | aborted_memory | failed
    message: str
    params: dict
    out_dir: Path
    model: dict
    host: dict = field(default_factory=dict)
    runs: list[dict] = field(default_factory=list)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    samples: list[dict] = field(default_factory=list)
    preflight: dict = field(default_factory=dict)
    estimate: dict = field(default_factory=dict)
    answers: list[dict] = field(default_factory=list)
    synthetic: bool = False
    runtime: dict = field(default_factory=dict)
    encoder: dict = field(default_factory=dict)
    load_ms: dict = field(default_factory=dict)
    load_memory: dict = field(default_factory=dict)  # right after loading: VmHWM, MemAvailable drop, Shmem rise
    monitor: dict = field(default_factory=dict)  # interval_s, samples, cpu_time_s, errors (when a monitor ran)
    result: Any = None  # the protocol's BenchResult (LLM) or VlmResult (VLM) when the runs completed
    recorded: bool = True  # False: nothing was written to disk (``rklab bench`` without --out)
    loaded: bool = False  # the model (and encoder) loaded: a failure after this is a result worth a record

    @property
    def ok(self) -> bool:
        return self.status == Status.OK

    @property
    def records_path(self) -> Path:
        return self.out_dir / RECORDS_FILE

    @property
    def measured_on(self) -> str:
        """'measured on <board or machine>, <backend/runtime>' for captions, in the notebook's ``lang``."""
        return self.measured_on_in(self.params.get("lang") or "en")

    def measured_on_in(self, lang: str) -> str:
        """:attr:`measured_on` in ``lang``."""
        t = lambda key, **kw: i18n.text(f"session.{key}", lang, **kw)  # noqa: E731
        h = self.host or {}
        where = h.get("board_model") or t("host", machine=h.get("machine") or platform.machine(),
                                          hostname=h.get("hostname") or "").strip()
        parts = [t("measured_on", where=where)]
        parts += [x for x in (h.get("cpu_model"), self.runtime.get("version") or self.runtime.get("name")) if x]
        if self.encoder:
            parts.append(t("encoder_runtime", backend=self.encoder.get("backend"),
                           version=self.encoder.get("runtime_version") or "-"))
        return ", ".join(parts) + (f" — {t('synthetic_mark')}" if self.synthetic else "")


def vlm_medians(outcome: BenchOutcome) -> dict:
    """The first image's medians and what they were measured with, as one flat dict (``rklab bench vlm``)."""
    s = outcome.summary
    row = s.iloc[0].to_dict() if s is not None and len(s) else {}
    out = {k: (None if v is None or (isinstance(v, float) and v != v) else v) for k, v in row.items()}
    runs = outcome.runs
    out.update({
        "status": str(outcome.status),
        "synthetic": outcome.synthetic,
        "reps": outcome.params.get("reps"),
        "new_tokens": outcome.params.get("new_tokens"),
        "generated_tokens": runs[-1].get("generated_tokens") if runs else None,
        "image_tokens": runs[-1].get("image_tokens") if runs else None,
        "answer": outcome.answers[0]["text"] if outcome.answers else "",
        "encoder": outcome.encoder,
        "llm": {"backend": outcome.params.get("llm_backend"), "model": outcome.model.get("name"),
                "path": outcome.model.get("path"), "runtime_version": outcome.runtime.get("version")},
        "measured_on": outcome.measured_on,
    })
    if outcome.synthetic:
        out["note"] = "synthetic vision encoder (random weights): timings are real, the answer is meaningless"
    return out


# --------------------------------------------------------------------------- reference rows
_LOAD_TIME_NOTE = re.compile(r"load time|caveat on 0\.8", re.I)


def runs_of_matching_case(runs: pd.DataFrame, prompt_tokens, new_tokens) -> pd.DataFrame:
    """The runs of the case :func:`rklab.measure.protocol.match_case` picks for a reference row
    measured at ``prompt_tokens`` / ``new_tokens`` (the rule the report uses too)."""
    if runs.empty or "prompt_tokens" not in runs:
        return runs
    new = runs["new_tokens"] if "new_tokens" in runs else [None] * len(runs)  # a side missing counts as no difference
    keys = list(zip(runs["prompt_tokens"], new))
    cases = list(dict.fromkeys(keys))
    i = match_case(cases, prompt_tokens, new_tokens)
    return runs if i is None else runs[[k == cases[i] for k in keys]]


def reference_comparison(outcome: BenchOutcome, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Reference rows for the same model next to the measured medians, with measured/reference ratios.

    LLM: TTFT, decode tok/s, prefill tok/s, memory (VmHWM) — measured at the case
    :func:`rklab.measure.protocol.match_case` picks for the reference row's prompt and new tokens. VLM: also the vision encoder, where a seed "encoder" time
    that is really a *load* time (its notes say so) is compared with ``encoder_load_ms``.
    Ratios are measured / reference (> 1 means the measured number is larger). Only rows of the SoC
    the run was on count (RK3588 for a host that is not a Rockchip board).
    """
    if reference is None:
        reference = load_reference()
    # rows of the SoC the run was on (the reference tables hold four SoCs); off-board hosts: RK3588, the target
    soc = str((outcome.host or {}).get("soc") or "RK3588").upper()
    if "platform" in reference.columns:
        reference = reference[reference["platform"].astype(str).str.upper() == soc]
    lang = outcome.params.get("lang") or "en"  # the conditions in the notebook's language
    ref = reference[reference["model"] == outcome.model.get("name")]
    runs = pd.DataFrame(outcome.runs)
    rows = []
    if ref.empty or runs.empty:
        return pd.DataFrame(columns=["metric", "measured", "reference", "ratio", "source", "reference_by",
                                     "runtime", "board", "conditions", "notes"])
    for _, r in ref.iterrows():
        sel = runs_of_matching_case(runs, r.get("prompt_tokens"), r.get("new_tokens")) if outcome.kind == "llm" else runs
        measured_case = ", ".join(sorted(map(str, sel["case"].unique()))) if "case" in sel else ""
        cond = []
        for k in ("prompt_tokens", "new_tokens", "max_context", "image_tokens", "memory_kind"):
            v = r.get(k)
            if v is not None and not pd.isna(v) and v != "":
                cond.append(i18n.text(f"session.cond.{k}", lang, value=v if k == "memory_kind" else int(v)))
        pairs = [("ttft_ms", "ttft_ms", 1.0), ("decode_tps", "decode_tps", 1.0), ("prefill_tps", "prefill_tps", 1.0),
                 ("vmhwm_mb", "memory_mb", 1.0)]
        if outcome.kind == "vlm":
            multimodal_row = not (pd.isna(r.get("image_tokens")) and pd.isna(r.get("vision_encoder_s")))
            if not multimodal_row:
                # a text-only row (e.g. "language model only"): its TTFT/prefill are not an image prompt's
                pairs = [x for x in pairs if x[0] not in ("ttft_ms", "prefill_tps")]
            note = str(r.get("notes") or "")
            if _LOAD_TIME_NOTE.search(note):
                pairs.append(("encoder_load_ms", "vision_encoder_s", 1000.0))
            else:
                pairs.append(("encoder_ms", "vision_encoder_s", 1000.0))
        for mkey, rkey, scale in pairs:
            refv = r.get(rkey)
            if refv is None or pd.isna(refv) or mkey not in sel:
                continue
            vals = pd.to_numeric(sel[mkey], errors="coerce").dropna()
            if vals.empty:
                continue
            measured = float(vals.median())
            reference_v = float(refv) * scale
            rows.append({
                "metric": mkey,
                "measured": measured,
                "reference": reference_v,
                "ratio": measured / reference_v if reference_v else None,
                "measured_case": measured_case,
                "source": r.get("source"),
                "reference_by": r.get("reference"),
                "runtime": r.get("runtime"),
                "board": r.get("board"),
                "dtype": r.get("dtype"),
                "conditions": "; ".join(cond),
                "notes": r.get("notes") if not pd.isna(r.get("notes")) else "",
            })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- what the cells show
LLM_VIEW_METRICS = ("ttft_ms", "prefill_tps", "decode_tps", "vmhwm_mb", "mem_available_drop_mb")
VLM_VIEW_METRICS = ("preprocess_ms", "encoder_ms", "encoder_first_ms", "encoder_load_ms", "prefill_ms",
                    "image_prefill_ms", "prefill_tps", "ttft_ms", "ttft_e2e_ms", "decode_tps", "vmhwm_mb",
                    "mem_available_drop_mb")


def llm_summary_view(outcome: BenchOutcome) -> pd.DataFrame:
    """One row per case: runs and the median of each headline metric (with the rsd of decode)."""
    s = outcome.summary
    if s is None or s.empty:
        return pd.DataFrame()
    if "metric" not in s:  # already wide (e.g. after a memory abort)
        return s
    wide = s.pivot_table(index="case", columns="metric", values="median", aggfunc="first")
    cols = [m for m in LLM_VIEW_METRICS if m in wide]
    view = wide[cols].copy()
    n = s.groupby("case")["n"].max()
    view.insert(0, "runs", n)
    if "decode_tps" in set(s["metric"]):
        view["decode_rsd_%"] = s[s["metric"] == "decode_tps"].set_index("case")["rsd"] * 100
    order = [c for c in dict.fromkeys(r.get("case") for r in outcome.runs) if c in view.index]
    view = view.loc[order or list(view.index)]
    view["cache_suspected"] = [cache_suspected_count(outcome.runs, "case", c) for c in view.index]
    return view.reset_index()


def cache_suspected_count(runs: list[dict], key: str, value) -> int:
    """Repetitions flagged ``cache_suspected`` (rklab.measure.cachecheck) among ``runs`` with ``run[key] == value``."""
    return suspected_count([r for r in runs if r.get(key) == value])


def vlm_summary_view(outcome: BenchOutcome) -> pd.DataFrame:
    s = outcome.summary
    if s is None or s.empty:
        return pd.DataFrame()
    cols = ["image", "runs", "image_tokens", "prompt_tokens"] + [m for m in VLM_VIEW_METRICS if m in s]
    view = s[[c for c in cols if c in s]].copy()
    if "image" in view:
        view["cache_suspected"] = [cache_suspected_count(outcome.runs, "image", i) for i in view["image"]]
    return view


def status_markdown(outcome: BenchOutcome, lang: str = "zh") -> str:
    """A short Markdown block in ``lang``: status, where it was measured, pre-flight, records path."""
    t = lambda key, **kw: i18n.text(f"session.{key}", lang, **kw)  # noqa: E731
    st = t(f"status.{outcome.status}") if i18n.has_text(f"session.status.{outcome.status}") else outcome.status
    lines = [f"**{t('status')}: {st}**" + (f" — {outcome.message}" if outcome.message else "")]
    lines.append(f"- {t('model')}: `{outcome.model.get('name')}` ({outcome.model.get('dtype')}), "
                 f"`{outcome.model.get('path')}` [{outcome.model.get('hash')}]")
    lines.append(f"- {outcome.measured_on_in(lang)}")
    pf = outcome.preflight or {}
    if pf.get("skipped"):
        lines.append(f"- {t('preflight_none')} ({pf.get('why')})")
    elif pf:
        lines.append(f"- {t('preflight')}: {_mb(pf.get('predicted_mb'))} MB {t('vs_available')} "
                     f"{_mb(pf.get('available_mb'))} MB" + (f" — {t('forced')}" if pf.get("forced") else ""))
    if outcome.load_ms:
        loads = [f"{metrics.label(k, lang) if k in metrics.METRICS else k}: {v:,.0f}"
                 for k, v in outcome.load_ms.items() if v is not None]
        lines.append("- " + i18n.text("punct.clause", lang).join(loads) + f" {t('measured')}")
    lines.append(f"- {t('records')}: `{outcome.records_path}` ({len(outcome.runs)} {t('measured_runs')})")
    flagged = [r for r in outcome.runs if r.get("cache_suspected") is True]
    if flagged:
        lines.append(f"- **{t('cache_flagged', n=len(flagged))}** ("
                     + "; ".join(f"{r.get('case') or r.get('image')}#{r.get('rep')}: {r.get('cache_check')}"
                                 for r in flagged[:3]) + ")")
    if outcome.synthetic:
        lines.append(f"- **{t('synthetic_note')}**")
    return "\n".join(lines)


def _mb(v) -> str:
    try:
        return f"{float(v):,.0f}"
    except (TypeError, ValueError):
        return "-"
