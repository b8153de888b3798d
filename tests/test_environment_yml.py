"""environment.yml (conda, for the board) and pyproject.toml declare the same dependencies."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _norm(req: str) -> str:
    name, _, marker = req.partition(";")
    name = re.sub(r"\s+", "", name).lower().replace("_", "-")
    marker = re.sub(r"\s+", "", marker).replace('"', "'")
    return f"{name};{marker}" if marker else name


def _project():
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = {_norm(d) for d in doc["project"]["dependencies"]}
    test = {_norm(d) for d in doc["project"].get("optional-dependencies", {}).get("test", [])}
    return deps, test


def _env_pip():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict) and "pip" in dep:
            pip += dep["pip"]
    return {_norm(d) for d in pip if not d.strip().startswith("-e")}, env


def test_same_dependency_set():
    deps, test = _project()
    pip, _ = _env_pip()
    assert deps <= pip, f"missing in environment.yml: {sorted(deps - pip)}"
    extra = pip - deps
    assert extra <= test, f"in environment.yml but not in pyproject: {sorted(extra - test)}"


def test_rknn_toolkit_lite2_only_on_aarch64():
    deps, _ = _project()
    pip, _ = _env_pip()
    for group in (deps, pip):
        rk = [d for d in group if d.startswith("rknn-toolkit-lite2")]
        assert rk and all("platform-machine=='aarch64'" in d.replace("_", "-") for d in rk)


def test_no_index_rkllm_and_python_311():
    deps, _ = _project()
    pip, env = _env_pip()
    assert not any(re.match(r"^rkllm\b", d) for d in deps | pip)   # the index's rkllm is an unrelated GUI app
    assert "python=3.11" in env["dependencies"]
