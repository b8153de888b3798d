"""Published measurements (``data/reference/*.csv``, quoted, with source and conditions).

Two tables with the same columns: ``rk3588.csv`` (RK3588: official, seed and community rows) and
``other_socs.csv`` (official rows for RK3576, RK3562 and RV1126B). :func:`load_reference` returns both,
one row each, with ``platform`` naming the SoC.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pandas as pd
import yaml

from rklab.errors import RklabError
from rklab.paths import data_dir
from rklab.predict.catalog import ModelSpec, get_model, load_catalog, with_llm_only

REFERENCE_FILES = ("rk3588.csv", "other_socs.csv")


@functools.lru_cache(maxsize=4)
def _load(root: str) -> pd.DataFrame:
    frames = []
    for name in REFERENCE_FILES:
        p = Path(root) / "reference" / name
        if not p.is_file():
            raise RklabError(f"reference table {p} is missing; restore data/reference/{name}")
        df = pd.read_csv(p, dtype={"runtime": str})
        df["file"] = name
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    facts = _reference_models(root)
    df["in_catalog"] = df["model"].isin(set(load_catalog()))
    df["has_spec"] = df["in_catalog"] | df["model"].map(lambda m: "llm" in (facts.get(m) or {}))
    df["used_tokens"] = df["prompt_tokens"].fillna(0) + df["new_tokens"].fillna(0)
    df["runtime_key"] = df["runtime"].map(runtime_key)
    return df


def runtime_key(version: str) -> tuple:
    """Sortable key of a runtime version; a beta like ``1.2.1b1`` sorts before ``1.2.1``."""
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)(?:b(\d+))?$", str(version).strip())
    if not m:
        return (0, 0, 0, 0)
    beta = m.group(4)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), int(beta) if beta else 10_000)


def load_reference() -> pd.DataFrame:
    """Every reference row with ``source`` (official/seed/community), ``reference`` (who), ``runtime``,
    ``platform`` (SoC), conditions (tokens, context, notes), ``memory_kind``; plus ``in_catalog``,
    ``has_spec`` (the engine knows the model's shape: catalog or ``reference_models.yaml``), ``used_tokens``
    and ``file``."""
    return _load(str(data_dir())).copy()


@functools.lru_cache(maxsize=2)
def _reference_models(root: str) -> dict:
    p = Path(root) / "reference" / "reference_models.yaml"
    return yaml.safe_load(p.read_text()) if p.is_file() else {}


def reference_models() -> dict:
    """Facts about reference-only models (not in the catalog): the Qwen2-VL ViT size, and the language-model
    shapes of the older official rows (Llama3-8B, ChatGLM3-6B, Phi-3-mini, Qwen2-VL-2B, MiniCPM-V-2.6)."""
    return _reference_models(str(data_dir()))


@functools.lru_cache(maxsize=64)
def reference_spec(model: str) -> ModelSpec | None:
    """The language model of a reference row: the catalog model (without vision tower) or the shape in
    ``reference_models.yaml``; None when the engine does not know the model."""
    if model in load_catalog():
        return with_llm_only(get_model(model))
    entry = (reference_models().get(model) or {}).get("llm")
    if not entry:
        return None
    return ModelSpec.from_dict({"name": model, "kind": "llm", **entry}, origin="data/reference/reference_models.yaml")
