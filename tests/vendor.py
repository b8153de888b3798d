"""Where Rockchip's own files are: ``../shared/vendor/rknn-llm`` beside the clone (see shared/README.md).

Every developer and CI run has ``../shared``; a user's clone may not. Tests that need the vendor
files call :func:`require_vendor` and are skipped with that reason where it is absent, never
silently passed. (A plain helper module, not a fixture plugin.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

CLONE_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = CLONE_ROOT.parent / "shared"  # ../shared relative to the clone root
VENDOR_DIR = SHARED_DIR / "vendor" / "rknn-llm"
RELEASES = ("1.2.3", "1.3.0")  # the vendored rkllm.h releases
MISSING_REASON = f"{VENDOR_DIR} is absent (a clone without ../shared): Rockchip's vendor files are not here"


def vendor_path(*parts: str) -> Path:
    return VENDOR_DIR.joinpath(*parts)


def header_dir(release: str) -> Path:
    """The folder holding Rockchip's real ``rkllm.h`` of ``release``."""
    return vendor_path(f"v{release}")


def require_vendor(*parts: str) -> Path:
    """The vendor path (the folder itself without ``parts``), or skip the test saying it is absent."""
    p = vendor_path(*parts)
    if not p.exists():
        pytest.skip(MISSING_REASON if not VENDOR_DIR.exists() else f"{p} is absent from ../shared")
    return p

