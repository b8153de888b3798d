"""Plans: the shipped plans load; bad plans fail with file, line and key in one line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rklab.errors import RklabError
from rklab.paths import data_dir
from rklab.orchestrate.plans import is_placeholder, load_plan

GOOD = """\
plan: t
models_dir: models
defaults:
  max_context: 2048
  reps: 2
entries:
  - name: a
    kind: llm
    model: Qwen3-0.6B
    backend: rkllm
    model_path: a.rkllm
  - name: b
    kind: vlm
    model: InternVL3.5-1B
    llm_path: /abs/b.rkllm
    encoder_path: demo
    vision_backend: onnx
    reps: 4
excluded:
  - {model: Qwen3-8B, reason: too big}
"""


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_seed_plan_has_the_seed_test_set():
    plan = load_plan(data_dir() / "plans" / "rk3588-8gb.yaml")
    npu = {e.model for e in plan.entries if e.backend == "rkllm"}
    assert npu == {"Qwen3-0.6B", "Qwen3-1.7B", "Qwen3-4B", "InternVL3.5-1B", "InternVL3.5-2B", "InternVL3.5-4B",
                   "Qwen3-VL-2B", "Qwen3-VL-4B"}
    limit = [e for e in plan.entries if e.settings.get("limit_test")]
    assert [e.model for e in limit] == ["Qwen3-VL-4B"]
    assert {e["model"] for e in plan.excluded} == {"Qwen3-8B", "InternVL3.5-8B"}
    cpu = [e for e in plan.entries if e.backend == "llamacpp"]
    assert cpu and all(e.settings["model_path"].endswith(".gguf") for e in cpu)
    # every NPU entry says where to get its files; unknown published names are FILL_ME placeholders
    for e in plan.entries:
        assert e.settings.get("source"), e.name
        for key, value, fmt in e.files():
            assert value.endswith("." + fmt) or is_placeholder(value), (e.name, key, value)
        if e.kind == "vlm":
            assert e.settings["image_size"] == 448 and e.settings["vision_backend"] == "rknn"
    # RK3588 has no w4a16: every NPU entry is w8a8
    assert {e.settings["dtype"] for e in plan.entries if e.backend == "rkllm"} == {"w8a8"}
    assert "http" not in (data_dir() / "plans" / "rk3588-8gb.yaml").read_text()  # no invented URLs


def test_demo_plan_is_small():
    plan = load_plan(data_dir() / "plans" / "demo.yaml")
    assert [e.kind for e in plan.entries] == ["llm", "vlm"]
    llm, vlm = plan.entries
    assert llm.settings["model_path"] == "demo" and llm.settings["reps"] == 3 and len(llm.settings["cases"]) == 2
    assert llm.settings["adaptive"] is False
    assert vlm.settings["encoder_path"] == "demo" and vlm.settings["reps"] == 2


def test_defaults_paths_and_notebook_parameters(tmp_path):
    plan = load_plan(write(tmp_path, GOOD))
    a, b = plan.entries
    assert a.settings["max_context"] == 2048 and a.settings["reps"] == 2 and b.settings["reps"] == 4
    assert a.settings["model_path"] == str(tmp_path / "models" / "a.rkllm")  # relative to the plan's folder
    assert b.settings["llm_path"] == "/abs/b.rkllm" and b.settings["encoder_path"] == "demo"
    assert a.notebook == "02_llm_bench.ipynb" and b.notebook == "03_vlm_bench.ipynb"
    p = a.notebook_parameters(tmp_path / "out", "en")
    assert p == {"entry": "a", "model": "Qwen3-0.6B", "backend": "rkllm", "model_path": str(tmp_path / "models" / "a.rkllm"),
                 "max_context": 2048, "reps": 2, "out_dir": str(tmp_path / "out"), "lang": "en"}
    q = b.notebook_parameters(tmp_path, "zh")
    assert "cases" not in q and q["vision_backend"] == "onnx" and q["llm_backend"] == "rkllm"
    assert [e.name for e in plan.select("b")] == ["b"]
    with pytest.raises(RklabError, match="unknown entries zz"):
        plan.select("a,zz")


def test_models_dir_env_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("RKLAB_MODELS_DIR", str(tmp_path / "elsewhere"))
    plan = load_plan(write(tmp_path, GOOD))
    assert plan.entries[0].settings["model_path"] == str(tmp_path / "elsewhere" / "a.rkllm")


@pytest.mark.parametrize(
    "edit, line, key, words",
    [
        (("    backend: rkllm\n", "    backend: npu\n"), 10, "entries[0].backend", "rkllm, llamacpp"),
        (("    reps: 4\n", "    reps: -1\n"), 18, "entries[1].reps", "> 0"),
        (("    reps: 4\n", "    repz: 4\n"), 18, "entries[1].repz", "unknown key"),
        (("    reps: 4\n", "    cases: [[1, 2]]\n"), 18, "entries[1].cases", "a key of llm entries"),
        (("  - name: b\n", "  - name: a\n"), 12, "entries[1].name", "duplicate"),
        (("    kind: vlm\n", "    kind: vision\n"), 13, "entries[1].kind", "llm, vlm"),
        (("  reps: 2\n", "  reps: two\n"), 5, "defaults.reps", "whole number"),
        (("    model_path: a.rkllm\n", ""), 7, "entries[0]", "model_path"),
        (("  - {model: Qwen3-8B, reason: too big}\n", "  - {model: Qwen3-8B}\n"), 20, "excluded[0]", "reason"),
        (("plan: t\n", "plan: t\nwhatever: 1\n"), 2, "whatever", "top-level keys"),
        # the notebooks' own ranges (rklab.nbparams), so `models check` does not pass what 02/03 refuse
        (("    reps: 4\n", "    reps: 5000\n"), 18, "entries[1].reps", "reps=5000 is out of range; give a whole number from 1 to 1000"),
        (("  reps: 2\n", "  reps: 2000\n"), 5, "defaults.reps", "out of range"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path, edit, line, key, words):
    text = GOOD.replace(*edit)
    assert text != GOOD
    p = write(tmp_path, text)
    with pytest.raises(RklabError) as ei:
        load_plan(p)
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith(f"{p}:{line}: {key}:"), msg
    assert words in msg


def test_yaml_syntax_error_and_duplicate_key_and_missing_file(tmp_path):
    p = write(tmp_path, GOOD.replace("    kind: llm\n", "    kind: [llm\n"))
    with pytest.raises(RklabError, match=rf"^{p}:\d+: not valid YAML"):
        load_plan(p)
    p = write(tmp_path, GOOD.replace("    backend: rkllm\n", "    backend: rkllm\n    backend: llamacpp\n"))
    with pytest.raises(RklabError, match=rf"^{p}:11: key entries\[0\]\.backend appears twice \(first on line 10\)"):
        load_plan(p)
    with pytest.raises(RklabError, match="does not exist; see data/plans/"):
        load_plan(tmp_path / "nope.yaml")


def test_cli_models_check_reports_bad_plan_in_one_line(tmp_path, capsys):
    from rklab.cli import main

    p = write(tmp_path, GOOD.replace("    backend: rkllm\n", "    backend: npu\n"))
    assert main(["models", "check", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"rklab: error: {p}:10: entries[0].backend:") and "\n" not in err


def test_mem_floor_may_be_any_number_the_notebooks_take(tmp_path):
    plan = load_plan(write(tmp_path, GOOD.replace("  reps: 2\n", "  reps: 2\n  mem_floor_mb: 250.5\n")))
    assert plan.entries[0].settings["mem_floor_mb"] == 250.5
