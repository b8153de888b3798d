"""Published RK3588 measurements (``data/reference/rk3588.csv``, quoted, with source and conditions)."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import yaml

from rklab.errors import RklabError
from rklab.paths import data_dir


@functools.lru_cache(maxsize=4)
def _load(path: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise RklabError(f"reference table {p} is missing; restore data/reference/rk3588.csv")
    df = pd.read_csv(p, dtype={"runtime": str})
    from rklab.predict.catalog import load_catalog

    names = set(load_catalog())
    df["in_catalog"] = df["model"].isin(names)
    df["used_tokens"] = df["prompt_tokens"].fillna(0) + df["new_tokens"].fillna(0)
    df["runtime_key"] = df["runtime"].map(runtime_key)
    return df


def runtime_key(version: str) -> tuple:
    """Sortable key of a runtime version; a beta like ``1.2.1b1`` sorts before ``1.2.1``."""
    import re

    m = re.match(r"^(\d+)\.(\d+)\.(\d+)(?:b(\d+))?$", str(version).strip())
    if not m:
        return (0, 0, 0, 0)
    beta = m.group(4)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), int(beta) if beta else 10_000)


def load_reference() -> pd.DataFrame:
    """Every reference row with ``source`` (official/seed/community), ``reference`` (who), ``runtime``,
    conditions (tokens, context, notes), ``memory_kind``; plus ``in_catalog`` and ``used_tokens``."""
    return _load(str(data_dir() / "reference" / "rk3588.csv")).copy()


@functools.lru_cache(maxsize=2)
def reference_models() -> dict:
    """Facts about reference-only models (not in the catalog), e.g. the Qwen2-VL ViT size."""
    p = data_dir() / "reference" / "reference_models.yaml"
    return yaml.safe_load(p.read_text()) if p.is_file() else {}
