"""Where rklab finds its data and keeps its cache and runs."""

from __future__ import annotations

import os
from pathlib import Path

from rklab.errors import RklabError

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


def ensure_writable_dir(path: str | os.PathLike, option: str = "--out") -> Path:
    """Make sure an output folder is (or can become) writable before any work starts.

    Returns the absolute path (notebook kernels run with another working directory).
    """
    p = Path(path).expanduser().absolute()
    if p.exists() and not p.is_dir():
        raise RklabError(f"{option} {p} is a file, not a folder; give a folder path")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RklabError(f"{option} {p} cannot be created ({exc.strerror or exc}); give a writable folder path") from exc
    if not os.access(p, os.W_OK):
        raise RklabError(f"{option} {p} is not writable; give a writable folder path")
    return p
