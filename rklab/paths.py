"""Where rklab finds its data and keeps its cache and runs."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent


def data_dir() -> Path:
    """The project's ``data/`` folder (override with env ``RKLAB_DATA``)."""
    return Path(os.environ.get("RKLAB_DATA", PROJECT_ROOT / "data"))


def notebooks_dir() -> Path:
    return PROJECT_ROOT / "notebooks"


def cache_dir() -> Path:
    """Model cache (env ``RKLAB_CACHE``, default ``~/.cache/rklab/models``)."""
    return Path(os.environ.get("RKLAB_CACHE", Path.home() / ".cache" / "rklab" / "models"))


def runs_dir() -> Path:
    """Default parent of sweep output folders (``runs/`` in the project)."""
    return Path(os.environ.get("RKLAB_RUNS", PROJECT_ROOT / "runs"))
