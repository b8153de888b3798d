"""The logic of notebook 04: measured records + published references + engine predictions.

:func:`build_report` returns a :class:`Report` whose tables the notebook shows and
:func:`write_benchmark_log` writes as markdown (``results/benchmark_log.md``). Every number
keeps its kind: **measured** (records of this sweep: where and on what host), **quoted**
(``data/reference``: official / seed / community, with the reference and its conditions) or
**predicted** (``rklab.predict.feasibility.estimate``). Records from the synthetic demo encoder carry
``synthetic`` and are labelled so.

Which measured case is compared with the references: per entry, the case closest to
Rockchip's benchmark condition (128 prompt tokens, 64 new tokens); all cases stay in the
measured table.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from rklab.errors import RklabError

OFFICIAL_CASE = (128, 64)
HIGH_RSD = 0.10  # pyperf warns when stddev > 10 % of the mean (docs: methodology)
DEVIATION = 0.20  # issue 5: warn when measured deviates > 20 % from official
SOURCE_ORDER = ("official", "seed", "community", "measured")

# Bilingual labels of the report (zh is the default: the boss reads Chinese).
TEXT: dict[str, tuple[str, str]] = {
    "title": ("RK3588 大模型测试报告", "RK3588 LLM/VLM benchmark report"),
    "summary": ("结论", "Summary"),
    "speed": ("解码速度、首字延迟与内存：官方 / 种子报告 / 社区 / 实测", "Decode speed, TTFT and memory: official / seed / community / measured"),
    "decode_tps": ("解码速度 (tokens/s)", "decode (tokens/s)"),
    "ttft_ms": ("首字延迟 TTFT (ms)", "TTFT (ms)"),
    "memory_mb": ("内存 (MB)", "memory (MB)"),
    "pred_vs_meas": ("实测 vs 预测 (可行性引擎)", "Measured vs predicted (feasibility engine)"),
    "memory_budget": ("内存 vs 可用预算与物理内存", "Memory vs usable budget and physical RAM"),
    "bandwidth": ("解码速度 vs 每 token 读取字节 (DRAM 带宽上限)", "Decode rate vs bytes per token (DRAM bandwidth ceiling)"),
    "npu_cpu": ("NPU vs CPU (同一模型)", "NPU vs CPU (same model)"),
    "vlm_stages": ("多模态各阶段耗时", "VLM stage breakdown"),
    "verdicts": ("最终可行性表 (有实测值时替换估计值)", "Final verdict table (measured values replace estimates)"),
    "conditions": ("测试条件", "Test conditions"),
    "warnings": ("警告", "Warnings"),
    "measured_table": ("实测明细 (每个用例)", "Measured details (per case)"),
    "entries": ("各测试项状态", "Status of each entry"),
    "no_warnings": ("没有警告。", "No warnings."),
    "no_data": ("没有可显示的数据。", "No data to show."),
    "model": ("模型", "model"),
    "entry": ("测试项", "entry"),
    "backend": ("后端", "backend"),
    "dtype": ("量化", "dtype"),
    "case": ("用例 (输入/输出 tokens)", "case (prompt/new tokens)"),
    "n": ("次数", "runs"),
    "source": ("来源类别", "source kind"),
    "reference": ("出处", "reference"),
    "runtime": ("运行时版本", "runtime"),
    "conditions_col": ("条件", "conditions"),
    "memory_kind": ("内存口径", "memory kind"),
    "status": ("状态", "status"),
    "error": ("错误", "error"),
    "predicted": ("预测", "predicted"),
    "measured": ("实测", "measured"),
    "residual": ("偏差 (%)", "residual (%)"),
    "budget": ("可用预算", "usable budget"),
    "physical": ("物理内存", "physical RAM"),
    "ceiling": ("带宽上限", "bandwidth ceiling"),
    "efficiency": ("带宽效率 (%)", "bandwidth efficiency (%)"),
    "bytes_per_token": ("每 token 读取 (GB)", "bytes per token (GB)"),
    "verdict": ("可行性", "verdict"),
    "verdict_source": ("依据", "based on"),
    "seed_ram": ("种子估计 RAM (MB)", "seed RAM estimate (MB)"),
    "seed_verdict": ("种子结论", "seed verdict"),
    "pred_memory": ("预测峰值 (MB)", "predicted peak (MB)"),
    "meas_memory": ("实测 VmHWM (MB)", "measured VmHWM (MB)"),
    "meas_decode": ("实测解码 (tok/s)", "measured decode (tok/s)"),
    "pred_decode": ("预测解码 (tok/s)", "predicted decode (tok/s)"),
    "excluded": ("已排除", "excluded"),
    "synthetic": ("合成 (随机权重编码器)", "synthetic (random-weight encoder)"),
    "host": ("主机", "host"),
    "encoder_ms": ("视觉编码", "vision encoder"),
    "preprocess_ms": ("图像预处理", "preprocess"),
    "image_prefill_ms": ("图像 prefill", "image prefill"),
    "llm_prefill_ms": ("LLM 预填充（图像+文本）→ 首 token", "LLM prefill (image + text) → first token"),
    "other_ms": ("其他 (嵌入传递等)", "other (embedding hand-over etc.)"),
    "decode_ms": ("解码", "decode"),
    "e2e_ms": ("端到端", "end to end"),
    "verdict_reason": ("原因", "reason"),
    "note": ("说明", "note"),
    "vmhwm": ("VmHWM 峰值 (MB)", "VmHWM (MB)"),
    "mem_drop": ("可用内存下降 (MB)", "MemAvailable drop (MB)"),
    # conditions table
    "soc": ("SoC / CPU", "SoC / CPU"),
    "board_model": ("板卡型号", "board model"),
    "kernel": ("内核", "kernel"),
    "npu_driver": ("NPU 驱动", "NPU driver"),
    "clocks_pinned": ("频率已固定", "clocks pinned"),
    "clocks_reasons": ("未固定的原因", "why not pinned"),
    "cpu_freq_mhz": ("CPU 频率 (MHz)", "CPU clocks (MHz)"),
    "npu_freq_mhz": ("NPU 频率 (MHz)", "NPU clock (MHz)"),
    "ddr_freq_mhz": ("DDR 频率 (MHz)", "DDR clock (MHz)"),
    "temp_start_c": ("起始温度 (°C)", "start temp (°C)"),
    "temp_max_c": ("最高温度 (°C)", "max temp (°C)"),
    "throttled": ("过热降频", "thermal throttling"),
    "clocks_below_max": ("运行时有时钟低于最高频率", "a clock below max while running"),
    "when": ("时间", "when"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "unknown": ("未知", "unknown"),
    "time_ms": ("时间 (ms)", "time (ms)"),
}

VERDICT_TEXT = {
    "zh": {"fits": "可以跑", "tight": "极限", "exceeds": "超出可用内存", "infeasible": "不可行",
           "unsupported": "不支持", "oom": "实测 OOM", "excluded": "不测试/已排除", "failed": "测试失败"},
    "en": {"fits": "fits", "tight": "tight", "exceeds": "exceeds budget", "infeasible": "infeasible",
           "unsupported": "unsupported", "oom": "OOM (measured)", "excluded": "excluded (not tested)",
           "failed": "test failed"},
}


def t(key: str, lang: str = "zh") -> str:
    """Label ``key`` in ``lang`` (zh | en)."""
    zh, en = TEXT.get(key, (key, key))
    return zh if lang == "zh" else en


@dataclass
class Warning_:
    kind: str  # throttling | clocks | variance | deviation | host | failed | synthetic
    entry: str
    message: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "entry": self.entry, "message": self.message}


@dataclass
class Report:
    lang: str
    board: Any
    runs: pd.DataFrame  # one row per measured run (kind llm/vlm, status ok)
    entries: pd.DataFrame  # one row per entry outcome (kind entry)
    measured: pd.DataFrame  # per entry and case: medians, spread, peaks
    comparison: pd.DataFrame  # quoted references + measured, one row per source
    predicted: pd.DataFrame  # measured vs engine prediction per entry and case
    verdicts: pd.DataFrame
    conditions: pd.DataFrame
    warnings: list[Warning_] = field(default_factory=list)
    run_dirs: list[str] = field(default_factory=list)
    excluded: list[dict] = field(default_factory=list)

    @property
    def synthetic(self) -> bool:
        return bool(len(self.measured)) and bool(self.measured.get("synthetic", pd.Series(dtype=bool)).fillna(False).any())


# --------------------------------------------------------------------------- loading
def _col(df: pd.DataFrame, name: str, default: Any = None) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([default] * len(df), index=df.index, dtype=object)


def load_sweep_records(run_dirs: Iterable[str | os.PathLike] | str | os.PathLike) -> pd.DataFrame:
    """All records of the given sweeps, one attempt per entry (see :func:`rklab.orchestrate.sweep.record_dirs`)."""
    from rklab.records import load_records
    from rklab.orchestrate.sweep import record_dirs

    files = record_dirs(run_dirs)
    if not files:
        return pd.DataFrame()
    return load_records(files)


def _excluded_from(run_dirs: list[str]) -> list[dict]:
    import json

    out: list[dict] = []
    for d in run_dirs:
        f = Path(d) / "sweep.json"
        if f.is_file():
            try:
                out.extend(json.loads(f.read_text(encoding="utf-8")).get("excluded") or [])
            except ValueError:
                pass
    return out


def _plan_order(run_dirs: list[str]) -> list[str]:
    import json

    order: list[str] = []
    for d in run_dirs:
        f = Path(d) / "sweep.json"
        if f.is_file():
            try:
                order += [e for e in json.loads(f.read_text(encoding="utf-8")).get("entries", []) if e not in order]
            except ValueError:
                pass
    return order


def _in_plan_order(df: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Rows sorted by the plan's entry order (stable; unknown entries last)."""
    if df.empty or "entry" not in df.columns:
        return df
    rank = {e: i for i, e in enumerate(order)}
    key = df["entry"].map(lambda e: rank.get(e, len(order)))
    return df.assign(_o=key).sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)


def measured_runs(records: pd.DataFrame) -> pd.DataFrame:
    """Runs that measured something: kind llm/vlm with status ok and a decode rate."""
    if records.empty or "kind" not in records.columns:
        return pd.DataFrame()
    df = records[records["kind"].isin(["llm", "vlm"])].copy()
    df = df[_col(df, "status", "ok").fillna("ok") == "ok"]
    if "decode_tps" in df.columns:
        df = df[pd.to_numeric(df["decode_tps"], errors="coerce").notna()]
    if df.empty:
        return df
    df["model_name"] = _col(df, "model.name").fillna(_col(df, "entry"))
    df["dtype"] = _col(df, "model.dtype").fillna("")
    df["backend"] = _col(df, "backend").fillna("")
    df["synthetic"] = _col(df, "synthetic", False).fillna(False).astype(bool)
    if "case" not in df.columns:
        df["case"] = [f"pp{int(p)}/tg{int(n)}" if pd.notna(p) and pd.notna(n) else "" for p, n in
                      zip(_col(df, "prompt_tokens"), _col(df, "new_tokens"))]
    return df


def entry_outcomes(records: pd.DataFrame) -> pd.DataFrame:
    if records.empty or "kind" not in records.columns:
        return pd.DataFrame(columns=["entry", "status", "model", "backend", "message", "limit_test"])
    df = records[records["kind"] == "entry"].copy()
    df = df[_col(df, "entry").astype(str) != "_feasibility"]
    rows = []
    for _, r in df.iterrows():
        rows.append({
            "entry": r.get("entry"),
            "status": r.get("status"),
            "model": r.get("model.name"),
            "backend": r.get("backend"),
            "seconds": r.get("seconds"),
            "message": r.get("error.message") if isinstance(r.get("error.message"), str) else "",
            "limit_test": bool(r.get("limit_test")) if pd.notna(r.get("limit_test")) else False,
        })
    return pd.DataFrame(rows, columns=["entry", "status", "model", "backend", "seconds", "message", "limit_test"])


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per entry and case: medians and spread of the measured runs, memory peaks, stage times.

    Median, sample std, min/max, relative std and the bootstrap CI of the median come from
    :func:`rklab.measure.stats.summarize` (the one summary of repeated measurements in rklab); a single
    run has std and rsd 0 here (nothing to spread).
    """
    from rklab.measure.stats import summarize as summary_of

    if runs.empty:
        return pd.DataFrame()
    keys = ["entry", "model_name", "backend", "dtype", "kind", "case"]
    rows = []
    for key, g in runs.groupby(keys, dropna=False, sort=False):
        d = dict(zip(keys, key))
        dec = summary_of(_col(g, "decode_tps"))
        ttft = summary_of(_col(g, "ttft_ms"))
        d.update({
            "n": int(len(g)),
            "prompt_tokens": _first(_col(g, "prompt_tokens")),
            "new_tokens": _first(_col(g, "new_tokens")),
            "generated_tokens": _median(g, "generated_tokens"),
            "max_context": _first(_col(g, "max_context")),
            "decode_tps": _or_nan(dec["median"]),
            "decode_tps_std": dec["std"] or 0.0,
            "decode_tps_min": _or_nan(dec["min"]),
            "decode_tps_max": _or_nan(dec["max"]),
            "decode_tps_ci_low": _or_nan(dec["ci_low"]),
            "decode_tps_ci_high": _or_nan(dec["ci_high"]),
            "decode_rsd": dec["rsd"] or 0.0,
            "ttft_ms": _or_nan(ttft["median"]),
            "ttft_ms_std": ttft["std"] or 0.0,
            "ttft_rsd": ttft["rsd"] or 0.0,
            "prefill_tps": _median(g, "prefill_tps"),
            "vmhwm_mb": _max(g, "vmhwm_mb"),
            "rss_shmem_mb": _max(g, "rss_shmem_mb"),
            "mem_available_drop_mb": _max(g, "mem_available_drop_mb"),
            "runtime_memory_mb": _max(g, "runtime_memory_mb"),
            "encoder_ms": _median(g, "encoder_ms"),
            "preprocess_ms": _median(g, "preprocess_ms"),
            "image_prefill_ms": _median(g, "image_prefill_ms"),
            "ttft_e2e_ms": _median(g, "ttft_e2e_ms"),
            "e2e_ms": _median(g, "e2e_ms"),
            "image_tokens": _first(_col(g, "image_tokens")),
            "text_tokens": _first(_col(g, "text_tokens")),
            "throttled": _any_true(g, "throttled"),  # None: not readable on this host
            "clocks_below_max": _any_true(g, "clocks_below_max"),
            "temp_max_c": _max(g, "temp_end_c"),
            "synthetic": bool(g["synthetic"].any()),
            "model_size_bytes": _first(_col(g, "model.size_bytes")),
            "runtime_version": _first(_col(g, "runtime.version")),
            "host_soc": _first(_col(g, "host.soc")),
            "host_cpu": _first(_col(g, "host.cpu_model")),
            "host_name": _first(_col(g, "host.hostname")),
            "clocks_pinned": _first(_col(g, "host.clocks_pinned")),
            "vision_backend": _first(_col(g, "vision_backend")),
        })
        rows.append(d)
    return pd.DataFrame(rows)


def _or_nan(v) -> float:
    return float(v) if v is not None else np.nan


def _any_true(g: pd.DataFrame, col: str) -> bool | None:
    """True if any run says so, False if all that report it say no, None if no run reports it
    (old records written before the key existed)."""
    if col not in g.columns:
        return None
    v = g[col].dropna()
    if v.empty:
        return None
    return bool(v.astype(bool).any())


def _first(s: pd.Series):
    s = s.dropna() if hasattr(s, "dropna") else s
    return s.iloc[0] if len(s) else None


def _median(g: pd.DataFrame, col: str) -> float:
    v = _num(_col(g, col)).dropna()
    return float(v.median()) if len(v) else np.nan


def _max(g: pd.DataFrame, col: str) -> float:
    v = _num(_col(g, col)).dropna()
    return float(v.max()) if len(v) else np.nan


def headline_cases(measured: pd.DataFrame) -> pd.DataFrame:
    """One row per entry: the case closest to Rockchip's 128 prompt / 64 new tokens."""
    if measured.empty:
        return measured
    m = measured.copy()
    pp = _num(m["prompt_tokens"]).fillna(0)
    tg = _num(m["new_tokens"]).fillna(0)
    m["_dist"] = (pp - OFFICIAL_CASE[0]).abs() * 10 + (tg - OFFICIAL_CASE[1]).abs()
    m = m.sort_values(["entry", "_dist"]).groupby("entry", sort=False).head(1)
    return m.drop(columns="_dist").reset_index(drop=True)


VLM_STAGES = ("preprocess_ms", "encoder_ms", "llm_prefill_ms", "other_ms", "decode_ms")


def vlm_stages(measured: pd.DataFrame) -> pd.DataFrame:
    """Per VLM entry (headline case): medians of the stages from image file in to last token out.

    ``preprocess_ms``, ``encoder_ms``; ``llm_prefill_ms`` = the runtime's TTFT, i.e. the LLM
    prefill of image + text tokens up to the first token; ``other_ms`` = what ``ttft_e2e_ms``
    (image in -> first token) holds beyond those three (embedding hand-over, prompt building);
    ``decode_ms`` = ``e2e_ms - ttft_e2e_ms`` (first -> last token), as notebook 03 does, because
    RKLLM can stop at EOS before ``new_tokens``; for records without ``e2e_ms`` it is
    (median ``generated_tokens`` - 1) / decode_tps. ``e2e_ms`` is the measured median end to end
    when recorded (else the sum); the stages add up to it (``other_ms`` is clipped at 0 when the
    medians of the parts exceed the median TTFT e2e).
    """
    cols = ["entry", "synthetic", *VLM_STAGES, "e2e_ms", "e2e_measured"]
    if measured.empty or "kind" not in measured.columns:
        return pd.DataFrame(columns=cols)
    m = headline_cases(measured[measured["kind"] == "vlm"]) if (measured["kind"] == "vlm").any() else measured.iloc[:0]
    rows = []
    for _, r in m.iterrows():
        pre, enc, ttft = (_float(r.get(k)) for k in ("preprocess_ms", "encoder_ms", "ttft_ms"))
        parts = np.nansum([pre, enc, ttft])
        ttft_e2e, e2e = _float(r.get("ttft_e2e_ms")), _float(r.get("e2e_ms"))
        other = max(ttft_e2e - parts, 0.0) if np.isfinite(ttft_e2e) else 0.0
        if np.isfinite(e2e):
            first = ttft_e2e if np.isfinite(ttft_e2e) else parts + other
            decode = max(e2e - first, 0.0)
        else:
            gen = _float(r.get("generated_tokens"))
            if not np.isfinite(gen):
                gen = _float(r.get("new_tokens"))
            tps = _float(r.get("decode_tps"))
            decode = max(gen - 1, 0.0) / tps * 1000.0 if np.isfinite(gen) and np.isfinite(tps) and tps > 0 else 0.0
        stages = {"preprocess_ms": pre, "encoder_ms": enc, "llm_prefill_ms": ttft, "other_ms": other,
                  "decode_ms": decode}
        total = e2e if np.isfinite(e2e) else float(np.nansum(list(stages.values())))
        rows.append({"entry": r["entry"], "synthetic": bool(r.get("synthetic")), **stages, "e2e_ms": total,
                     "e2e_measured": bool(np.isfinite(e2e))})
    return pd.DataFrame(rows, columns=cols)


def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return np.nan


def _host_label(row) -> str:
    soc = row.get("host_soc")
    cpu = row.get("host_cpu")
    return str(soc or cpu or row.get("host_name") or "unknown host")


def comparison_table(measured: pd.DataFrame, reference: pd.DataFrame, models: Iterable[str]) -> pd.DataFrame:
    """Quoted rows for ``models`` plus the measured headline case of each entry (tidy)."""
    cols = ["model", "source", "reference", "label", "runtime", "dtype", "decode_tps", "decode_tps_err",
            "ttft_ms", "ttft_ms_err", "memory_mb", "memory_kind", "conditions", "synthetic"]
    models = list(dict.fromkeys(models))
    rows: list[dict] = []
    if reference is not None and not reference.empty:
        ref = reference[reference["model"].isin(models)]
        for _, r in ref.iterrows():
            conds = [f"runtime {r['runtime']}", f"board: {r.get('board', '')}"]
            if pd.notna(r.get("prompt_tokens")) or pd.notna(r.get("new_tokens")):
                conds.append(f"tokens {_int_or(r.get('prompt_tokens'))}/{_int_or(r.get('new_tokens'))}")
            if pd.notna(r.get("max_context")):
                conds.append(f"context {int(r['max_context'])}")
            if isinstance(r.get("notes"), str) and r["notes"]:
                conds.append(r["notes"])
            rows.append({
                "model": r["model"], "source": r["source"], "reference": r["reference"],
                "label": _short_label(r),
                "runtime": str(r["runtime"]), "dtype": r.get("dtype"),
                "decode_tps": r.get("decode_tps"), "decode_tps_err": np.nan,
                "ttft_ms": r.get("ttft_ms"), "ttft_ms_err": np.nan,
                "memory_mb": r.get("memory_mb"), "memory_kind": r.get("memory_kind"),
                "conditions": "; ".join(str(c) for c in conds), "synthetic": False,
            })
    for _, m in headline_cases(measured).iterrows():
        conds = [f"{m['case']}", f"context {_int_or(m.get('max_context'))}", f"n={m['n']}",
                 f"host {_host_label(m)}", f"clocks pinned: {_yes_no_unknown(m.get('clocks_pinned'))}"]
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
        })
    df = pd.DataFrame(rows, columns=cols)
    if not df.empty:
        order = {s: i for i, s in enumerate(SOURCE_ORDER)}
        df["_m"] = df["model"].map({m: i for i, m in enumerate(models)}).fillna(len(models))
        df["_s"] = df["source"].map(order).fillna(len(order))
        df = df.sort_values(["_m", "_s", "runtime"]).drop(columns=["_m", "_s"]).reset_index(drop=True)
    return df


def _short_label(r) -> str:
    """A bar label that fits under a bar: 'official v1.2.3', 'seed', 'Qengineering v1.2.3'."""
    if r["source"] == "seed":
        return "seed"
    if r["source"] == "official":
        return f"official v{r['runtime']}"
    owner = str(r["reference"]).split(" ")[0].split("/")[0]
    return f"{owner} v{r['runtime']}"


def _int_or(v, dash: str = "-") -> str:
    try:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return dash
        return str(int(v))
    except (TypeError, ValueError):
        return str(v)


def predicted_vs_measured(measured: pd.DataFrame, board: str = "rk3588-8gb") -> pd.DataFrame:
    """Engine prediction for each measured entry/case, with residuals (measured/predicted - 1).

    The engine models the RKLLM runtime on the board; CPU (llama.cpp) entries and models it
    cannot place get NaN predictions and a ``note`` saying why.
    """
    cols = ["entry", "model", "backend", "case", "measured_decode_tps", "predicted_decode_tps",
            "decode_residual_pct", "measured_ttft_ms", "predicted_ttft_ms", "ttft_residual_pct",
            "measured_vmhwm_mb", "predicted_memory_mb", "memory_residual_pct", "weights_mb", "note"]
    rows = []
    if measured.empty:
        return pd.DataFrame(columns=cols)
    for _, m in measured.iterrows():
        row = {"entry": m["entry"], "model": m["model_name"], "backend": m["backend"], "case": m["case"],
               "measured_decode_tps": m["decode_tps"], "measured_ttft_ms": m["ttft_ms"],
               "measured_vmhwm_mb": m.get("vmhwm_mb"), "predicted_decode_tps": np.nan, "predicted_ttft_ms": np.nan,
               "predicted_memory_mb": np.nan, "weights_mb": np.nan, "note": ""}
        if m["backend"] != "rkllm":
            row["note"] = "engine predicts the RKLLM (NPU) runtime only"
        else:
            est = _estimate(m, board)
            if isinstance(est, str):
                row["note"] = est
            else:
                row["predicted_decode_tps"] = est.get("decode_tps", np.nan)
                row["predicted_ttft_ms"] = est.get("ttft_ms", np.nan)
                row["predicted_memory_mb"] = est.get("memory_mb", np.nan)
                row["weights_mb"] = est.get("weights_mb", np.nan)
        for a, b, r in (("measured_decode_tps", "predicted_decode_tps", "decode_residual_pct"),
                        ("measured_ttft_ms", "predicted_ttft_ms", "ttft_residual_pct"),
                        ("measured_vmhwm_mb", "predicted_memory_mb", "memory_residual_pct")):
            row[r] = _residual(row[a], row[b])
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def _residual(measured, predicted) -> float:
    try:
        mv, pv = float(measured), float(predicted)
    except (TypeError, ValueError):
        return np.nan
    if not np.isfinite(mv) or not np.isfinite(pv) or pv == 0:
        return np.nan
    return (mv / pv - 1.0) * 100.0


def _estimate(m, board: str) -> dict | str:
    try:
        from rklab.predict.feasibility import estimate

        est = estimate(
            m["model_name"],
            dtype=m.get("dtype") or "w8a8",
            board=board,
            max_context=int(m.get("max_context") or 4096),
            prompt_tokens=_text_prompt_tokens(m),
            new_tokens=int(m.get("new_tokens") or 64),
            with_vision=(m.get("kind") == "vlm"),
        )
        return est.to_dict() if hasattr(est, "to_dict") else dict(est)
    except RklabError as exc:
        return f"no prediction: {exc}"
    except ImportError:
        return "no prediction: rklab.predict.feasibility is not available"


def _text_prompt_tokens(m) -> int:
    """The prompt tokens to give ``feasibility.estimate``: text tokens only.

    For a VLM run the record's ``prompt_tokens`` is the runtime's prefill count (image + text);
    ``estimate(..., with_vision=True)`` adds the model's image tokens itself, so passing the
    prefill count would count the image twice. Uses the record's ``text_tokens``, else
    ``prompt_tokens - image_tokens`` (image tokens from the record, else the model catalog).
    """
    pp = _int_value(m.get("prompt_tokens"))
    if m.get("kind") != "vlm":
        return pp if pp is not None else 128
    text = _int_value(m.get("text_tokens"))
    if text is not None:
        return max(text, 0)
    img = _int_value(m.get("image_tokens"))
    if img is None:
        try:
            from rklab.predict.catalog import get_model

            spec = get_model(m["model_name"])
            img = int(spec.vision.image_tokens) if getattr(spec, "vision", None) else 0
        except (RklabError, ImportError, AttributeError, TypeError, ValueError):
            img = 0  # unknown model: estimate() says so in the note
    return max((pp if pp is not None else 128) - img, 0)


def _int_value(v) -> int | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(f) if np.isfinite(f) else None


def _yes_no_unknown(value) -> str:
    """True/False/None (None = not readable on this host) as words for tables and hovers."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "unknown"
    return "yes" if bool(value) else "no"


def conditions_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per entry: where it ran, clocks pinned?, temperatures, versions (raw keys; see :func:`conditions_display`).

    ``throttled``: thermal/firmware throttling in any run (a cpufreq policy's scaling_max_freq
    below cpuinfo_max_freq, or a devfreq max_freq capped). ``clocks_below_max``: some clock ran
    below its maximum (normal with ondemand governors; None for records written before the key).
    """
    cols = ["entry", "host", "soc", "board_model", "kernel", "runtime", "npu_driver", "clocks_pinned",
            "clocks_reasons", "cpu_freq_mhz", "npu_freq_mhz", "ddr_freq_mhz", "temp_start_c", "temp_max_c",
            "throttled", "clocks_below_max", "when"]
    rows = []
    if runs.empty:
        return pd.DataFrame(columns=cols)
    for entry, g in runs.groupby("entry", sort=False):
        reasons = _first(_col(g, "host.clocks_pinned_reasons"))
        cpu_freq = {k.split(".")[-1]: _first(_col(g, k)) for k in g.columns if k.startswith("host.cpu_freq_mhz.")}
        rows.append({
            "entry": entry,
            "host": _first(_col(g, "host.hostname")),
            "soc": _first(_col(g, "host.soc")) or _first(_col(g, "host.cpu_model")),
            "board_model": _first(_col(g, "host.board_model")),
            "kernel": _first(_col(g, "host.kernel")),
            "runtime": f"{_first(_col(g, 'runtime.name')) or _first(_col(g, 'backend'))} {_first(_col(g, 'runtime.version')) or ''}".strip(),
            "npu_driver": _first(_col(g, "driver_version")) or _first(_col(g, "host.npu_driver_version")),
            "clocks_pinned": _first(_col(g, "host.clocks_pinned")),
            "clocks_reasons": "; ".join(reasons) if isinstance(reasons, list) else (reasons or ""),
            "cpu_freq_mhz": ", ".join(f"{k} {v:.0f}" for k, v in cpu_freq.items() if isinstance(v, (int, float))),
            "npu_freq_mhz": _first(_col(g, "host.npu_freq_mhz")),
            "ddr_freq_mhz": _first(_col(g, "host.ddr_freq_mhz")),
            "temp_start_c": _num(_col(g, "temp_start_c")).min(),
            "temp_max_c": _num(_col(g, "temp_end_c")).max(),
            "throttled": _any_true(g, "throttled"),  # None: not readable on this host
            "clocks_below_max": _any_true(g, "clocks_below_max"),  # None: records older than the key
            "when": _first(_col(g, "created_at")),
        })
    return pd.DataFrame(rows, columns=cols)


def find_warnings(measured: pd.DataFrame, conditions: pd.DataFrame, entries: pd.DataFrame,
                  comparison: pd.DataFrame, lang: str = "zh") -> list[Warning_]:
    """Throttling, unpinned clocks/DDR, high variance, > 20 % off official, off-board hosts, failures."""
    zh = lang == "zh"
    out: list[Warning_] = []
    for _, c in conditions.iterrows():
        if c["throttled"] == True:  # noqa: E712 (None or NaN: unknown, no warning)
            out.append(Warning_("throttling", c["entry"], "测试中发生过热降频，速度偏低" if zh
                                else "thermal throttling during the runs: speeds are low"))
        below = c.get("clocks_below_max")
        if c["clocks_pinned"] is False or c["clocks_pinned"] == "False":
            # clocks_below_max is expected then (ondemand governors): the column shows it, no extra warning
            ddr = "DDR" in str(c["clocks_reasons"])
            msg = (f"频率未固定{'（含 DDR）' if ddr else ''}: {c['clocks_reasons']}；官方数据在固定最高频率下测得 (fix_freq_rk3588.sh)"
                   if zh else f"clocks not pinned{' (DDR included)' if ddr else ''}: {c['clocks_reasons']}; "
                   "official numbers were taken with all clocks pinned (fix_freq_rk3588.sh)")
            out.append(Warning_("clocks", c["entry"], msg))
        elif c["clocks_pinned"] is None or (isinstance(c["clocks_pinned"], float) and math.isnan(c["clocks_pinned"])):
            out.append(Warning_("clocks", c["entry"], "无法读取 CPU/NPU/DDR 频率，无法确认是否固定" if zh
                                else "CPU/NPU/DDR clocks not readable: cannot tell whether they were pinned"))
        elif below is True:  # pinned at the start, yet a clock ran below its maximum
            out.append(Warning_("clocks", c["entry"], "频率已固定，但测试中有时钟低于最高频率" if zh
                                else "clocks were pinned, yet a clock ran below its maximum during the runs"))
        soc = str(c.get("soc") or "")
        if "RK3588" not in soc.upper():
            out.append(Warning_("host", c["entry"], f"在 {soc or '未知主机'} 上测得，不是 RK3588：数值不代表板端性能" if zh
                                else f"measured on {soc or 'an unknown host'}, not an RK3588: not board numbers"))
    for _, m in measured.iterrows():
        for metric, rsd in (("decode_tps", m.get("decode_rsd")), ("ttft_ms", m.get("ttft_rsd"))):
            if rsd is not None and np.isfinite(rsd) and rsd > HIGH_RSD:
                out.append(Warning_("variance", m["entry"],
                                    f"{m['case']} {metric} 波动大 (相对标准差 {rsd * 100:.0f}% > {HIGH_RSD * 100:.0f}%)" if zh
                                    else f"{m['case']} {metric} varies a lot (RSD {rsd * 100:.0f} % > {HIGH_RSD * 100:.0f} %)"))
    if not comparison.empty:
        off = comparison[comparison["source"] == "official"]
        meas = comparison[comparison["source"] == "measured"]
        for _, m in meas.iterrows():
            if "rkllm" not in str(m["label"]):
                continue
            o = off[(off["model"] == m["model"]) & (off["dtype"] == m["dtype"])]
            if o.empty:
                continue
            same = o[o["runtime"] == str(m["runtime"])]
            o = (same if not same.empty else o).iloc[-1]
            for metric in ("decode_tps", "ttft_ms", "memory_mb"):
                dev = _residual(m[metric], o[metric])
                if np.isfinite(dev) and abs(dev) > DEVIATION * 100:
                    out.append(Warning_("deviation", str(m["reference"]).rsplit(" ", 1)[-1],
                                        f"{m['model']} {metric} 实测 {float(m[metric]):.1f} 与官方 {float(o[metric]):.1f} "
                                        f"相差 {dev:+.0f}% (> 20%, {o['reference']})" if zh else
                                        f"{m['model']} {metric} measured {float(m[metric]):.1f} vs official "
                                        f"{float(o[metric]):.1f}: {dev:+.0f} % (> 20 %, {o['reference']})"))
    for _, e in entries.iterrows():
        if e["status"] not in ("ok",):
            kind = "limit_test" if e.get("limit_test") else "failed"
            out.append(Warning_(kind, e["entry"], f"状态 {e['status']}: {e['message']}" if zh
                                else f"status {e['status']}: {e['message']}"))
    if len(measured) and measured["synthetic"].any():
        out.append(Warning_("synthetic", ", ".join(measured[measured["synthetic"]]["entry"].unique()),
                            "多模态数值来自随机权重的合成视觉编码器：时间是真实测量，但回答没有意义" if zh else
                            "VLM numbers come from a synthetic random-weight encoder: real timings, meaningless answers"))
    return out


def verdict_table(measured: pd.DataFrame, entries: pd.DataFrame, board: str = "rk3588-8gb",
                  context: int = 4096, lang: str = "zh", excluded: list[dict] | None = None) -> pd.DataFrame:
    """The seed's feasibility table with measured values replacing estimates where measured.

    Columns (raw keys): model, kind, seed_ram_mb, seed_verdict, predicted_mb, measured_mb,
    measured_decode_tps, verdict, verdict_source (measured | predicted | excluded), verdict_reason.

    An entry that ended ``oom`` or ``aborted_memory`` decides the verdict even when some runs
    were measured before (their VmHWM is shown, but "fits" would be wrong): ``oom`` ->
    verdict oom, ``aborted_memory`` -> exceeds, with the reason.
    """
    from rklab.predict.boards import load_board

    b = load_board(board)
    base = _feasibility_rows(board, context, lang)
    meas_rk = headline_cases(measured[measured["backend"] == "rkllm"]) if len(measured) else measured
    excluded_models = {e.get("model"): e.get("reason", "") for e in (excluded or [])}
    outcome_by_entry: dict[str, tuple[str, str]] = {}
    outcome_by_model: dict[str, tuple[str, str]] = {}
    for _, e in entries.iterrows():
        if e.get("backend") == "rkllm" and e.get("model"):
            got = (e["status"], e.get("message") or "")
            outcome_by_entry[e["entry"]] = got
            # a guard outcome of any entry of the model is kept over an ok one
            if outcome_by_model.get(e["model"], ("",))[0] not in GUARD_MEMORY_STATUSES:
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
            status, message = outcome_by_entry.get(mm["entry"], ("ok", ""))
            mem = mm.get("vmhwm_mb")
            if status in GUARD_MEMORY_STATUSES:
                # the runs measured before the OOM / memory abort do not show the model fits
                row["verdict"] = _guard_verdict(status)
                row["verdict_reason"] = _guard_reason(status, message, lang)
            elif mem is not None and np.isfinite(mem):
                row["verdict"] = "tight" if mem > b.budget_mb * b.tight_fraction else "fits"
                if mem > b.budget_mb:
                    row["verdict"] = "exceeds"
        elif outcome_by_model.get(model, ("",))[0] in GUARD_MEMORY_STATUSES:
            status, message = outcome_by_model[model]
            row["verdict"] = _guard_verdict(status)
            row["verdict_reason"] = _guard_reason(status, message, lang)
            row["verdict_source"] = "measured"
        elif model in excluded_models:
            row["verdict"] = "excluded"
            row["verdict_source"] = "excluded"
            row["verdict_reason"] = excluded_models[model] or ""
        rows.append(row)
    df = pd.DataFrame(rows)
    if not df.empty:
        df["verdict_label"] = df["verdict"].map(lambda v: VERDICT_TEXT[lang].get(v, v))
    return df


# Entry statuses meaning "ran out of memory on the board": they beat a measured VmHWM.
GUARD_MEMORY_STATUSES = ("oom", "aborted_memory")


def _guard_verdict(status: str) -> str:
    """oom (killed by the kernel's OOM killer) -> "oom"; aborted_memory (rklab's guard stopped
    the run at the MemAvailable floor, before the OOM killer) -> "exceeds"."""
    return "oom" if status == "oom" else "exceeds"


def _guard_reason(status: str, message: str, lang: str) -> str:
    if status == "oom":
        head = "测试中被 OOM killer 终止" if lang == "zh" else "killed by the OOM killer during the test"
    else:
        head = ("内存守护在可用内存低于下限时中止了测试" if lang == "zh"
                else "the memory guard stopped the test at the MemAvailable floor")
    return f"{head}: {message}" if message else head


def _feasibility_rows(board: str, context: int, lang: str = "zh") -> list[dict]:
    """The seed's feasibility table (quoted RAM and verdict) with the engine's prediction per model.

    From :func:`rklab.predict.feasibility.seed_comparison`: model, section, seed_ram_text (quoted),
    seed_verdict (quoted, in ``lang``), predicted_mb and predicted_verdict (engine, w8a8: the only
    family RK3588 runs, so the seed's W4A16 rows are predicted as the board would actually load them).
    """
    try:
        from rklab.predict.feasibility import seed_comparison
    except ImportError:
        return []
    rows = []
    for r in seed_comparison(board=board, context=context, lang=lang).to_dict("records"):
        rows.append({"model": r["model"], "section": r.get("section"), "seed_ram_mb": r.get("seed_ram_text"),
                     "seed_verdict": r.get("seed_verdict"),
                     "predicted_mb": r.get("w8a8_memory_mb", r.get("memory_mb")),
                     "predicted_verdict": r.get("w8a8_verdict", r.get("verdict"))})
    return rows


# --------------------------------------------------------------------------- the whole report
def build_report(run_dirs: Iterable[str | os.PathLike] | str | os.PathLike, board: str = "rk3588-8gb",
                 lang: str = "zh", context: int = 4096) -> Report:
    """Everything notebook 04 shows, from the records of ``run_dirs``."""
    from rklab.predict.boards import load_board

    if lang not in ("zh", "en"):
        raise RklabError(f"lang {lang!r} is not supported; use zh or en")
    if isinstance(run_dirs, (str, os.PathLike)):
        run_dirs = [run_dirs]
    run_dirs = [str(d) for d in run_dirs]
    records = load_sweep_records(run_dirs)
    runs = measured_runs(records)
    entries = entry_outcomes(records)
    order = _plan_order(run_dirs)
    if order:  # tables follow the plan's entry order
        runs, entries = _in_plan_order(runs, order), _in_plan_order(entries, order)
    measured = summarize(runs)
    try:
        from rklab.predict.reference import load_reference

        reference = load_reference()
    except ImportError:
        reference = pd.DataFrame()
    models = list(measured["model_name"].unique()) if len(measured) else []
    models += [m for m in entries["model"].dropna().unique() if m not in models]
    comparison = comparison_table(measured, reference, models)
    predicted = predicted_vs_measured(measured, board)
    conditions = conditions_table(runs)
    excluded = _excluded_from(run_dirs)
    verdicts = verdict_table(measured, entries, board, context, lang, excluded)
    warns = find_warnings(measured, conditions, entries, comparison, lang)
    return Report(lang=lang, board=load_board(board), runs=runs, entries=entries, measured=measured,
                  comparison=comparison, predicted=predicted, verdicts=verdicts, conditions=conditions,
                  warnings=warns, run_dirs=run_dirs, excluded=excluded)


# --------------------------------------------------------------------------- display tables
def measured_display(report: Report) -> pd.DataFrame:
    """The measured table with localized headers, rounded for reading."""
    lang = report.lang
    m = report.measured
    if m.empty:
        return pd.DataFrame()
    df = pd.DataFrame({
        t("entry", lang): m["entry"],
        t("model", lang): m["model_name"] + np.where(m["synthetic"], " *", ""),
        t("backend", lang): m["backend"],
        t("dtype", lang): m["dtype"],
        t("case", lang): m["case"],
        t("n", lang): m["n"],
        t("decode_tps", lang): [_pm(a, b) for a, b in zip(m["decode_tps"], m["decode_tps_std"])],
        t("ttft_ms", lang): [_pm(a, b, 0) for a, b in zip(m["ttft_ms"], m["ttft_ms_std"])],
        t("vmhwm", lang): m["vmhwm_mb"].map(lambda v: _fmt(v, 0)),
        t("mem_drop", lang): m["mem_available_drop_mb"].map(lambda v: _fmt(v, 0)),
    })
    if m["encoder_ms"].notna().any():
        df[t("encoder_ms", lang) + " (ms)"] = m["encoder_ms"].map(lambda v: _fmt(v, 1))
    return df


def _pm(v, s, digits: int = 2) -> str:
    if v is None or not np.isfinite(v):
        return "-"
    return f"{v:.{digits}f} ± {s:.{digits}f}" if s and np.isfinite(s) else f"{v:.{digits}f}"


def comparison_display(report: Report) -> pd.DataFrame:
    lang = report.lang
    c = report.comparison
    if c.empty:
        return pd.DataFrame()
    return pd.DataFrame({
        t("model", lang): c["model"],
        t("source", lang): c["source"],
        t("reference", lang): c["reference"],
        t("runtime", lang): c["runtime"],
        t("decode_tps", lang): c["decode_tps"].map(lambda v: _fmt(v, 2)),
        t("ttft_ms", lang): c["ttft_ms"].map(lambda v: _fmt(v, 0)),
        t("memory_mb", lang): c["memory_mb"].map(lambda v: _fmt(v, 0)),
        t("memory_kind", lang): c["memory_kind"].fillna(""),
        t("conditions_col", lang): c["conditions"],
    })


def _fmt(v, digits: int) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "-"
    return "-" if not np.isfinite(f) else f"{f:.{digits}f}"


def verdicts_display(report: Report) -> pd.DataFrame:
    lang = report.lang
    v = report.verdicts
    if v.empty:
        return pd.DataFrame()
    src = {"measured": t("measured", lang), "predicted": t("predicted", lang), "excluded": t("excluded", lang)}
    return pd.DataFrame({
        t("model", lang): v["model"],
        t("seed_ram", lang): _col(v, "seed_ram_mb").map(lambda x: x if isinstance(x, str) else _fmt(x, 0)),
        t("seed_verdict", lang): _col(v, "seed_verdict").fillna(""),
        t("pred_memory", lang): _col(v, "predicted_mb").map(lambda x: _fmt(x, 0)),
        t("meas_memory", lang): v["measured_mb"].map(lambda x: _fmt(x, 0)),
        t("meas_decode", lang): v["measured_decode_tps"].map(lambda x: _fmt(x, 2)),
        t("verdict", lang): v["verdict_label"],
        t("verdict_source", lang): v["verdict_source"].map(src),
        t("verdict_reason", lang): _col(v, "verdict_reason", "").fillna(""),
    })


def predicted_display(report: Report) -> pd.DataFrame:
    lang = report.lang
    p = report.predicted
    if p.empty:
        return pd.DataFrame()
    return pd.DataFrame({
        t("entry", lang): p["entry"], t("case", lang): p["case"],
        t("meas_decode", lang): p["measured_decode_tps"].map(lambda x: _fmt(x, 2)),
        t("pred_decode", lang): p["predicted_decode_tps"].map(lambda x: _fmt(x, 2)),
        t("residual", lang): p["decode_residual_pct"].map(lambda x: _fmt(x, 0)),
        t("meas_memory", lang): p["measured_vmhwm_mb"].map(lambda x: _fmt(x, 0)),
        t("pred_memory", lang): p["predicted_memory_mb"].map(lambda x: _fmt(x, 0)),
        t("residual", lang) + " ": p["memory_residual_pct"].map(lambda x: _fmt(x, 0)),
        t("note", lang): p["note"].map(lambda n: _note_text(n, lang)),
    })


NOTE_TEXT_ZH = {"engine predicts the RKLLM (NPU) runtime only": "可行性引擎只预测 RKLLM (NPU) 运行时"}


def _note_text(note, lang: str) -> str:
    if not isinstance(note, str):
        return ""
    return NOTE_TEXT_ZH.get(note, note) if lang == "zh" else note


def entries_display(report: Report) -> pd.DataFrame:
    lang = report.lang
    e = report.entries
    if e.empty:
        return pd.DataFrame()
    status = e["status"].map(lambda s: f"{STATUS_TEXT_ZH.get(s, s)} ({s})" if lang == "zh" and s in STATUS_TEXT_ZH else s)
    return pd.DataFrame({t("entry", lang): e["entry"], t("model", lang): e["model"], t("backend", lang): e["backend"],
                         t("status", lang): status, t("error", lang): e["message"].fillna("")})


STATUS_TEXT_ZH = {"ok": "成功", "failed": "失败", "timeout": "超时", "oom": "内存耗尽被终止",
                  "aborted_memory": "内存守护中止", "skipped_predicted_oom": "预测内存不足，已跳过"}


def summary_lines(report: Report) -> list[str]:
    """Short sentences for the top of the report (what was measured, what failed, where)."""
    zh = report.lang == "zh"
    lines = []
    e = report.entries
    n_ok = int((e["status"] == "ok").sum()) if len(e) else 0
    lines.append(f"共 {len(e)} 个测试项，{n_ok} 个成功。" if zh else f"{len(e)} entries, {n_ok} measured successfully.")
    for _, m in headline_cases(report.measured).iterrows():
        syn = ("（合成）" if zh else " (synthetic)") if m["synthetic"] else ""
        mem = _fmt(m.get("vmhwm_mb"), 0)
        lines.append(
            f"{m['model_name']} [{m['backend']}]{syn}: 解码 {m['decode_tps']:.2f} tok/s，首字延迟 {m['ttft_ms']:.0f} ms，"
            f"峰值内存 {mem} MB ({m['case']}，主机 {_host_label(m)})" if zh else
            f"{m['model_name']} [{m['backend']}]{syn}: decode {m['decode_tps']:.2f} tok/s, TTFT {m['ttft_ms']:.0f} ms, "
            f"peak memory {mem} MB ({m['case']}, host {_host_label(m)})")
    return lines


def conditions_display(report: Report) -> pd.DataFrame:
    """The conditions table with localized headers; yes/no/unknown (是/否/未知) for the flags."""
    lang = report.lang
    c = report.conditions
    if c.empty:
        return pd.DataFrame()
    df = pd.DataFrame(index=c.index)
    for key in c.columns:
        col = c[key]
        if key in ("clocks_pinned", "throttled", "clocks_below_max"):
            col = col.map(lambda v: t(_yes_no_unknown(v), lang))
        elif key in ("temp_start_c", "temp_max_c", "npu_freq_mhz", "ddr_freq_mhz"):
            col = col.map(lambda v: _fmt(v, 0))
        df[t(key, lang)] = col
    return df.reset_index(drop=True)


def report_intro(report: Report) -> str:
    """What the numbers are and where they come from (first paragraph of the report)."""
    b = report.board
    if report.lang == "zh":
        return (f"目标板：{b.label('zh')}（物理内存 {b.physical_mb:.0f} MB，可用预算 {b.budget_mb:.0f} MB，"
                f"DRAM 带宽上限 {b.bandwidth_gbs:.1f} GB/s）。数字分三类：**实测**（本次测试，注明主机）、"
                "**引用**（官方 / 种子报告 / 社区，注明出处与条件）、**预测**（rklab 可行性引擎）。"
                "标 * 的多模态数据来自合成（随机权重）视觉编码器。")
    return (f"Target board: {b.label('en')} (physical RAM {b.physical_mb:.0f} MB, usable budget {b.budget_mb:.0f} MB, "
            f"DRAM ceiling {b.bandwidth_gbs:.1f} GB/s). Numbers are **measured** (this sweep, with the host), "
            "**quoted** (official / seed / community, with reference and conditions) or **predicted** "
            "(rklab feasibility engine). VLM rows marked * come from a synthetic (random-weight) encoder.")


def table_html(df: pd.DataFrame, lang: str = "zh") -> str:
    """A display table as escaped HTML (no index); a note when empty."""
    if df is None or df.empty:
        return '<p class="rklab-note">' + t("no_data", lang) + "</p>"
    shown = df.map(lambda v: "-" if v is None or (isinstance(v, str) and v in ("None", "nan")) else v)
    return shown.to_html(index=False, escape=True, na_rep="-", float_format=lambda v: f"{v:.2f}", border=0)


def warnings_html(report: Report) -> str:
    import html

    lang = report.lang
    head = f"<h2>{html.escape(t('warnings', lang))}</h2>"
    if not report.warnings:
        return head + f'<div class="rklab-ok">{html.escape(t("no_warnings", lang))}</div>'
    return head + "".join(
        f'<div class="rklab-warn"><b>[{html.escape(w.kind)}] {html.escape(str(w.entry))}</b>: {html.escape(w.message)}</div>'
        for w in report.warnings)


# --------------------------------------------------------------------------- benchmark_log.md
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
    zh = lang == "zh"
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    parts = [f"# {t('title', lang)} — benchmark_log\n",
             (f"生成时间 {now}，rklab，数据目录: " if zh else f"Generated {now} by rklab from: ")
             + ", ".join(f"`{d}`" for d in report.run_dirs) + "\n",
             ("数字的三种来源：**实测** (本次测试记录，注明主机)、**引用** (官方 / 种子报告 / 社区，注明出处与条件)、"
              "**预测** (rklab 可行性引擎)。标 * 的为合成视觉编码器数据。\n" if zh else
              "Every number is **measured** (records of this sweep, with the host), **quoted** (official / seed / "
              "community, with reference and conditions) or **predicted** (rklab feasibility engine). "
              "Rows marked * come from the synthetic vision encoder.\n"),
             f"## {t('summary', lang)}\n", "\n".join(f"- {s}" for s in summary_lines(report)) + "\n",
             f"## {t('warnings', lang)}\n",
             ("\n".join(f"- [{w.kind}] {w.entry}: {w.message}" for w in report.warnings) + "\n")
             if report.warnings else t("no_warnings", lang) + "\n",
             f"## {t('measured_table', lang)}\n", md_table(measured_display(report)),
             f"## {t('speed', lang)}\n", md_table(comparison_display(report)),
             f"## {t('pred_vs_meas', lang)}\n", md_table(predicted_display(report)),
             f"## {t('verdicts', lang)}\n", md_table(verdicts_display(report)),
             f"## {t('conditions', lang)}\n", md_table(conditions_display(report)),
             f"## {t('entries', lang)}\n", md_table(entries_display(report)),
             ("## 来源\n" if zh else "## Sources\n")]
    refs = report.comparison[report.comparison["source"] != "measured"]["reference"].unique() \
        if len(report.comparison) else []
    parts.append("\n".join(f"- {r}" for r in refs) + "\n" if len(refs) else "_(none)_\n")
    return "\n".join(parts)


def default_run_dirs(run_dirs: Iterable[str | os.PathLike] | None = None) -> list[Path]:
    """The run folders a report covers: the given ones, or else the newest sweep under ``runs/``.

    Lets a newcomer open notebook 04 in JupyterLab after ``make demo`` and run it as it is.
    """
    given = [Path(d) for d in (run_dirs or [])]
    if given:
        return given
    from rklab.paths import runs_dir

    sweeps = sorted((p.parent for p in runs_dir().glob("*/sweep.json")), key=lambda d: d.stat().st_mtime)
    return sweeps[-1:]


def write_report_logs(report: Report, run_dirs: Iterable[str | os.PathLike],
                      results_md: str | os.PathLike | None = None) -> list[Path]:
    """benchmark_log.md in the first run folder, and also at ``results_md`` when given."""
    dirs = [Path(d) for d in run_dirs]
    targets = ([Path(results_md)] if results_md else []) + ([dirs[0] / "benchmark_log.md"] if dirs else [])
    if not targets:
        return []
    return write_benchmark_log(report, targets[0], copy_to=targets[1:])


def write_benchmark_log(report: Report, path: str | os.PathLike, copy_to: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """Write benchmark_log.md at ``path`` (and copies, e.g. in the run folder); atomic per file."""
    text = benchmark_log_markdown(report)
    written = []
    for p in [Path(path), *[Path(c) for c in copy_to]]:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, p)
        written.append(p)
    return written
