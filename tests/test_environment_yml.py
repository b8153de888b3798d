"""environment.yml (conda, for the board) and pyproject.toml declare the same dependencies."""

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
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


def test_rknn_toolkit_lite2_not_asked_of_a_python_without_wheels():
    """rknn-toolkit-lite2 2.5.0 publishes aarch64 wheels for cp310-cp312: never asked of 3.13+ (pip would fail)."""
    deps, _ = _project()
    pip, _ = _env_pip()
    for group in (deps, pip):
        rk = [d for d in group if d.startswith("rknn-toolkit-lite2")]
        assert all("python-version<'3.13'" in d.replace("_", "-") for d in rk), rk


@pytest.mark.parametrize("machine, version, ok", [("aarch64", "3.11", True), ("aarch64", "3.12", True),
                                                  ("aarch64", "3.13", False), ("aarch64", "3.9", False),
                                                  ("x86_64", "3.13", True), ("x86_64", "3.9", False)])
def test_setup_refuses_a_python_the_board_cannot_use_in_one_line(tmp_path, machine, version, ok):
    fake_python = tmp_path / "python"
    fake_python.write_text(f"#!/bin/sh\necho {version}\n")
    fake_python.chmod(0o755)
    r = subprocess.run(["bash", str(ROOT / "scripts" / "check-python.sh"), str(fake_python)],
                       env={**os.environ, "RKLAB_MACHINE": machine}, capture_output=True, text=True)
    if ok:
        assert r.returncode == 0 and r.stderr == ""
    else:
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("rklab: error: ")
        assert version in lines[0] and "PYTHON=python3.11" in lines[0]
        if machine == "aarch64" and version == "3.13":
            assert "rknn-toolkit-lite2" in lines[0] and "3.10-3.12" in lines[0]


def test_makefile_checks_python_before_creating_the_venv():
    make = (ROOT / "Makefile").read_text()
    setup = make[make.index("$(STAMP):"):]
    assert setup.index("check-python.sh") < setup.index("-m venv")
