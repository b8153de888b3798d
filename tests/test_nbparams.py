"""Notebook parameters are parsed by one typed validator (rklab.nbparams) before use.

papermill keeps ``-p force false`` a string, and ``bool("false")`` is True: before this validator
the memory pre-flight was bypassed and a model predicted not to fit was loaded.
"""

from __future__ import annotations

import ast

import nbformat
import papermill as pm
import pytest

from rklab.errors import RklabError
from rklab.measure.runtimes.factory import BACKENDS
from rklab.nbparams import INT32_MAX, NOTEBOOK_PARAMETERS, parse_parameters
from rklab.paths import notebooks_dir
from rklab.records import read_records


@pytest.mark.parametrize("notebook", sorted(NOTEBOOK_PARAMETERS))
def test_every_notebook_parses_exactly_its_parameters_first(notebook):
    nb = nbformat.read(str(notebooks_dir() / f"{notebook}.ipynb"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assigned = {t.id for node in ast.parse(code[0].source).body for t in node.targets}
    assert assigned == set(NOTEBOOK_PARAMETERS[notebook])
    # the cell right after the parameters (and papermill's injected ones) types them, before any use
    assert f'globals().update(parse_parameters("{notebook}", globals()))' in code[1].source


def test_backend_choices_are_the_factory_backends():
    assert set(NOTEBOOK_PARAMETERS["02_llm_bench"]["backend"].choices) == set(BACKENDS)


@pytest.mark.parametrize("value, expected", [
    ("false", False), ("False", False), ("FALSE", False), ("no", False), ("0", False), (0, False), (False, False),
    ("true", True), ("True", True), ("yes", True), ("on", True), (1, True), (True, True),
])
def test_bools_from_papermill_strings(value, expected):
    assert parse_parameters("02_llm_bench", {"force": value, "adaptive": value}) == \
        {"force": expected, "adaptive": expected}


def test_numbers_lists_and_paths_from_strings():
    got = parse_parameters("03_vlm_bench", {"max_context": "4096", "reps": "3", "mem_floor_mb": "250.5",
                                             "images": "data/images/shapes.png", "core_mask": "0", "model": "None"})
    assert got == {"max_context": 4096, "reps": 3, "mem_floor_mb": 250.5, "images": ["data/images/shapes.png"],
                   "core_mask": 0, "model": None}
    assert parse_parameters("02_llm_bench", {"cases": "[[128, 64], [512, 128]]"}) == {"cases": [[128, 64], [512, 128]]}
    assert parse_parameters("04_report", {"run_dirs": "runs/a", "results_md": ""}) == \
        {"run_dirs": ["runs/a"], "results_md": None}
    assert parse_parameters("04_report", {"run_dirs": "['runs/a', 'runs/b']"}) == {"run_dirs": ["runs/a", "runs/b"]}


@pytest.mark.parametrize("notebook, name, value, words", [
    ("02_llm_bench", "force", "maybe", "parameter force='maybe' is not true or false; give force=True or force=False"),
    ("02_llm_bench", "adaptive", 2, "parameter adaptive=2 is not true or false"),
    ("02_llm_bench", "reps", "five", "parameter reps='five' is not a whole number; give a whole number from 1 to 1000"),
    ("02_llm_bench", "reps", True, "reps=True is a bool"),
    ("02_llm_bench", "reps", 2.5, "reps=2.5 is not a whole number"),
    ("02_llm_bench", "max_context", 10**12, f"max_context=1000000000000 is out of range; give a whole number from 16 to {INT32_MAX}"),
    ("02_llm_bench", "max_context", 3_000_000_000, "max_context=3000000000 is out of range"),
    ("02_llm_bench", "mem_floor_mb", float("nan"), "mem_floor_mb=nan is not a finite number"),
    ("02_llm_bench", "cases", [[128]], "has [128], which is not a [prompt_tokens, new_tokens] pair"),
    ("02_llm_bench", "cases", [[128, 0]], "cases new_tokens=0 is out of range"),
    ("02_llm_bench", "backend", "gpu", "parameter backend='gpu' is unknown; use one of llamacpp, rkllm"),
    ("03_vlm_bench", "images", [1, 2], "images=[1, 2] holds something that is not a path"),
    ("01_feasibility", "context", "4k", "parameter context='4k' is not a whole number"),
    ("04_report", "lang", "fr", "parameter lang='fr' is unknown; use one of zh, en"),
])
def test_wrong_types_are_one_line_naming_the_parameter(notebook, name, value, words):
    with pytest.raises(RklabError) as exc:
        parse_parameters(notebook, {name: value})
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_force_false_string_keeps_the_preflight(tmp_path, monkeypatch, demo_gguf):
    """The library path: force="false" (papermill -p) must not bypass the pre-flight."""
    import rklab.measure.runtimes.factory as factory
    import rklab.measure.session as nr

    monkeypatch.setattr(nr, "predicted_memory", lambda *a, **k: {"memory_mb": 10_000_000.0})
    monkeypatch.setattr(factory, "open_backend", lambda *a, **k: pytest.fail("must not load: force is false"))
    res = nr.bench_llm(cases=[[8, 2]], reps=1, out_dir=str(tmp_path), progress=False, force="false",
                              adaptive="false")
    assert res.status == "skipped_predicted_oom"
    rec = read_records(tmp_path / "records.jsonl")
    assert [r["status"] for r in rec] == ["skipped_predicted_oom"]
    assert rec[0]["params"]["force"] is False and rec[0]["params"]["adaptive"] is False


def test_papermill_force_false_string_does_not_load_a_model_predicted_not_to_fit(tmp_path, demo_gguf):
    """Through papermill, as `papermill 02_llm_bench.ipynb out.ipynb -p force false` passes it."""
    import psutil

    from rklab.predict.feasibility import estimate

    predicted = estimate("Qwen3-32B", dtype="fp16", max_context=64, prompt_tokens=8, new_tokens=2).memory_mb
    if psutil.virtual_memory().available / 2**20 > predicted:
        pytest.skip(f"this host has more than {predicted:,.0f} MB free: Qwen3-32B fp16 would fit here")
    out = tmp_path / "run"
    nb_out = tmp_path / "02.ipynb"
    pm.execute_notebook(str(notebooks_dir() / "02_llm_bench.ipynb"), str(nb_out), kernel_name="python3",
                        progress_bar=False, cwd=str(tmp_path),
                        parameters=dict(model="Qwen3-32B", dtype="fp16", force="false", force_model="true",
                                        cases=[[8, 2]], reps=1, warmup=0, adaptive="false", max_context=64,
                                        out_dir=str(out), lang="en"))
    recs = read_records(out / "records.jsonl")
    # Qwen3-32B fp16 is predicted at ~65 GB: skipped, nothing loaded, nothing measured
    assert [r["status"] for r in recs] == ["skipped_predicted_oom"], [r.get("metrics") for r in recs]
