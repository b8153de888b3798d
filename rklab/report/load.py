"""The report's input: the records of one or more run folders, as tidy DataFrames.

One attempt per sweep entry (:func:`rklab.runfolder.record_files`), the plan's entry order and
excluded models from the sweep manifest, the measured runs and the entry outcomes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pandas as pd
import yaml

from rklab import runfolder
from rklab.measure.protocol import case_label
from rklab.paths import runs_dir
from rklab.errors import RklabError
from rklab.records import ENTRY_KIND, RUN_KINDS, check_schemas, load_records, read_records
from rklab.report.frames import board_of, col
from rklab.runfolder import FEASIBILITY_DIR, FLEET_BOARDS_FILE, Status

RunDirs = Iterable[str | os.PathLike] | str | os.PathLike
ENTRY_COLUMNS = ["board", "profile", "entry", "status", "model", "backend", "seconds", "message", "limit_test"]
BOARD_STATUS_COLUMNS = ["board", "profile", "status", "task", "message", "address", "fleet_run", "when"]


def load_sweep_records(run_dirs: RunDirs) -> pd.DataFrame:
    """All records of the given run folders, one attempt per sweep entry.

    Refuses (one line) folders without any record and records of an unknown schema; lines left out
    are kept with file and line number in ``attrs["skipped_lines"]`` (the report shows each one).
    """
    names = ", ".join(str(d) for d in ([run_dirs] if isinstance(run_dirs, (str, os.PathLike)) else run_dirs))
    files = runfolder.record_files(run_dirs)
    if not files:
        raise RklabError(f"{names or 'no run folder given and none under ' + str(runs_dir())} holds no records "
                         f"(no {runfolder.RECORDS_FILE} below it); give a folder made by `rklab sweep` or "
                         "`rklab bench llm --out`")
    records = load_records(files)
    skipped = records.attrs.get("skipped_lines", [])
    check_schemas(skipped)
    if records.empty:
        raise RklabError(f"{names} holds no readable records ({len(skipped)} line(s) skipped, first: {skipped[0]}); "
                         "give a folder made by `rklab sweep` or `rklab bench llm --out`" if skipped else
                         f"{names} holds only empty records files; give a folder made by `rklab sweep`")
    return records


def skipped_lines(records: pd.DataFrame) -> list[str]:
    """``file:line: reason`` of every records line the report left out."""
    return [str(s) for s in records.attrs.get("skipped_lines", [])]


def default_run_dirs(run_dirs: Iterable[str | os.PathLike] | None = None) -> list[Path]:
    """The run folders a report covers: the given ones, or else the newest sweep under ``runs/``.

    Lets a newcomer open notebook 04 in JupyterLab after ``make demo`` and run it as it is.
    """
    given = [Path(d) for d in (run_dirs or [])]
    if given:
        return given
    newest = runfolder.newest_sweep(runs_dir())
    return [newest] if newest is not None else []


def plan_order(run_dirs: list[str]) -> list[str]:
    """Entry names in the order of the sweeps' plans (first sweep first; a fleet folder's board sweeps)."""
    order: list[str] = []
    for d in _sweeps(run_dirs):
        order += [e for e in runfolder.read_manifest(d).get("entries") or [] if e not in order]
    return order


def _sweeps(run_dirs: list[str]) -> list[Path]:
    return [s for d in run_dirs for s in runfolder.sweep_folders(d)]


def plan_entries(run_dirs: list[str]) -> list[dict]:
    """``{entry, model, kind, backend, dtype}`` of every entry of the sweeps' plan copies (``plan.yaml``), in
    plan order; the plan's ``defaults`` fill a missing dtype. Empty when no plan copy is there."""
    out: list[dict] = []
    for d in _sweeps(run_dirs):
        p = Path(d) / runfolder.PLAN_COPY
        try:
            plan = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        defaults = plan.get("defaults") or {}
        for e in plan.get("entries") or []:
            if not isinstance(e, dict) or not e.get("model"):
                continue
            backend = e.get("backend") or e.get("llm_backend") or defaults.get("backend") or "rkllm"
            dtype = e.get("dtype") or defaults.get("dtype") or ("w8a8" if backend == "rkllm" else "")
            out.append({"entry": e.get("name"), "model": e["model"], "kind": e.get("kind", "llm"),
                        "backend": backend, "dtype": dtype})
    return out


def excluded_models(run_dirs: list[str]) -> list[dict]:
    """The plans' excluded models (``{model, reason}``), as the sweep manifests list them."""
    out: list[dict] = []
    for d in _sweeps(run_dirs):
        out.extend(e for e in runfolder.read_manifest(d).get("excluded") or [] if e not in out)
    return out


def in_plan_order(df: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Rows sorted by board (in the order they appear), then the plan's entry order (stable;
    unknown entries last)."""
    if df.empty or "entry" not in df.columns:
        return df
    rank = {e: i for i, e in enumerate(order)}
    key = df["entry"].map(lambda e: rank.get(e, len(order)))
    boards = {b: i for i, b in enumerate(dict.fromkeys(col(df, "board", "")))}
    board_key = col(df, "board", "").map(boards)
    return (df.assign(_b=board_key, _o=key).sort_values(["_b", "_o"], kind="stable").drop(columns=["_b", "_o"])
            .reset_index(drop=True))


def measured_runs(records: pd.DataFrame) -> pd.DataFrame:
    """Runs that measured something: kind llm/vlm with status ok and a decode rate."""
    if records.empty or "kind" not in records.columns:
        return pd.DataFrame()
    df = records[records["kind"].isin(RUN_KINDS)].copy()
    df = df[col(df, "status", Status.OK).fillna(Status.OK) == Status.OK]
    if "decode_tps" in df.columns:
        df = df[pd.to_numeric(df["decode_tps"], errors="coerce").notna()]
    if df.empty:
        return df
    df["board"] = board_of(df)
    df["board_profile"] = col(df, "board_profile")
    df["model_name"] = col(df, "model.name").fillna(col(df, "entry"))
    df["dtype"] = col(df, "model.dtype").fillna("")
    df["backend"] = col(df, "backend").fillna("")
    df["synthetic"] = col(df, "synthetic", False).fillna(False).astype(bool)
    if "case" not in df.columns:
        df["case"] = [case_label(int(p), int(n)) if pd.notna(p) and pd.notna(n) else "" for p, n in
                      zip(col(df, "prompt_tokens"), col(df, "new_tokens"))]
    return df


def entry_outcomes(records: pd.DataFrame) -> pd.DataFrame:
    """One row per sweep entry (its final ``entry`` record); notebook 01's own entry left out."""
    if records.empty or "kind" not in records.columns:
        return pd.DataFrame(columns=ENTRY_COLUMNS)
    df = records[records["kind"] == ENTRY_KIND].copy()
    df = df[col(df, "entry").astype(str) != FEASIBILITY_DIR]
    boards = board_of(df)
    rows = []
    for i, r in df.iterrows():
        rows.append({
            "board": boards[i],
            "profile": r.get("board_profile") if isinstance(r.get("board_profile"), str) else None,
            "entry": r.get("entry"),
            "status": r.get("status"),
            "model": r.get("model.name"),
            "backend": r.get("backend"),
            "seconds": r.get("seconds"),
            "message": r.get("error.message") if isinstance(r.get("error.message"), str) else "",
            "limit_test": bool(r.get("limit_test")) if pd.notna(r.get("limit_test")) else False,
        })
    return pd.DataFrame(rows, columns=ENTRY_COLUMNS)


def board_status(run_dirs: list[str]) -> pd.DataFrame:
    """The latest fleet record (``boards.jsonl``) of every board of the fleet folders among
    ``run_dirs``: whether ``rklab fleet run`` reached it and how its sweep ended. Empty for sweeps."""
    latest: dict[str, dict] = {}
    for d in run_dirs:
        for r in read_records(Path(d) / FLEET_BOARDS_FILE):
            if r.get("kind") == "board" and r.get("board_id"):
                latest[str(r["board_id"])] = r
    rows = [{"board": b, "profile": r.get("board_profile"), "status": r.get("status"), "task": r.get("task") or "",
             "message": (r.get("error") or {}).get("message", ""), "address": r.get("address") or "",
             "fleet_run": r.get("fleet_run"), "when": r.get("created_at")} for b, r in latest.items()]
    return pd.DataFrame(rows, columns=BOARD_STATUS_COLUMNS)
