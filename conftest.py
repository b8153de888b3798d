"""Loads the shared fixtures in tests/fixtures/*.py (one module per concern)."""

from pathlib import Path

pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}"
    for p in (Path(__file__).parent / "tests" / "fixtures").glob("*.py")
    if not p.stem.startswith("_")
)
