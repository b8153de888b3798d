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


CACHE_ENV = "RKLAB_CACHE"


def cache_dir() -> Path:
    """Model cache (env ``RKLAB_CACHE``, default ``~/.cache/rklab/models``), created if needed.

    An empty ``RKLAB_CACHE`` counts as unset (as the XDG variables do), so the demo model never
    lands in the current folder. A value that cannot be a writable folder (a file, a symlink
    loop, a place that cannot be created) is one :class:`RklabError` line naming the variable.
    """
    raw = os.environ.get(CACHE_ENV, "")
    if not raw.strip():
        p = Path.home() / ".cache" / "rklab" / "models"
    else:
        p = Path(raw).expanduser().absolute()
    fix = f"set {CACHE_ENV} to a writable folder, or unset it (default ~/.cache/rklab/models)"
    return _writable_dir(p, f"{CACHE_ENV}={raw}" if raw.strip() else f"the model cache {p}", fix, fix)


def _writable_dir(p: Path, where: str, fix: str, file_fix: str) -> Path:
    """Create folder ``p`` if needed and check it is writable; one RklabError line naming ``where`` otherwise."""
    if p.is_symlink() and not p.exists():
        raise RklabError(f"{where} is a broken symlink or a symlink loop; {fix}")
    if p.exists() and not p.is_dir():
        raise RklabError(f"{where} is a file, not a folder; {file_fix}")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RklabError(f"{where} cannot be created ({exc.strerror or exc}); {fix}") from exc
    if not os.access(p, os.W_OK | os.X_OK):
        raise RklabError(f"{where} is not writable; {fix}")
    return p


def runs_dir() -> Path:
    """Default parent of sweep output folders (``runs/`` in the project)."""
    return Path(os.environ.get("RKLAB_RUNS", PROJECT_ROOT / "runs"))


def ensure_writable_dir(path: str | os.PathLike, option: str = "--out") -> Path:
    """Make sure an output folder is (or can become) writable before any work starts.

    Returns the absolute path (notebook kernels run with another working directory).
    """
    p = Path(path).expanduser().absolute()
    return _writable_dir(p, f"{option} {p}", "give a writable folder path", "give a folder path")
