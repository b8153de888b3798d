"""Notebooks 02 and 03 under papermill (demo models on the CPU; RKLLM against the fake library;
RKNNLite against the test double), plus the library functions they call (rklab.measure.session)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from rklab.errors import RklabError
from rklab.paths import notebooks_dir
from rklab.records import load_records, read_records


def _execute(name: str, out_dir: Path, params: dict) -> nbformat.NotebookNode:
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / name  # the executed notebook is saved beside its records, as the sweep does
    pm.execute_notebook(str(notebooks_dir() / name), str(output), parameters={**params, "out_dir": str(out_dir)},
                        kernel_name="python3", progress_bar=False, cwd=str(out_dir))
    return nbformat.read(str(output), as_version=4)


def _texts(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"{out.get('ename')}: {out.get('evalue')}"
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            data = out.get("data", {})
            for mime in ("text/markdown", "text/plain"):
                if mime in data:
                    parts.append(data[mime])
            if "application/vnd.plotly.v1+json" in data:
                layout = data["application/vnd.plotly.v1+json"].get("layout", {})
                title = layout.get("title", {})
                parts.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return "\n".join(parts)


def _figure_titles(nb) -> list[str]:
    titles = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            fig = out.get("data", {}).get("application/vnd.plotly.v1+json")
            if fig:
                t = fig.get("layout", {}).get("title", {})
                titles.append(t.get("text", "") if isinstance(t, dict) else str(t))
    return titles


# --------------------------------------------------------------------------- notebook structure
@pytest.mark.parametrize("name, names", [
    ("02_llm_bench.ipynb", ["entry", "model", "backend", "model_path", "dtype", "max_context", "cases", "reps",
                            "warmup", "out_dir", "lang", "mem_floor_mb", "force", "force_model"]),
    ("03_vlm_bench.ipynb", ["entry", "model", "encoder_path", "llm_path", "llm_backend", "vision_backend", "images",
                            "image_size", "core_mask", "max_context", "new_tokens", "reps", "warmup", "out_dir",
                            "lang", "mem_floor_mb", "force", "force_model"]),
])
def test_parameters_cell_has_the_contract_names(name, names):
    import papermill as pm

    nb = nbformat.read(str(notebooks_dir() / name), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    inferred = pm.inspect_notebook(str(notebooks_dir() / name))
    assert set(names) <= set(inferred)
    # thin notebook: every code cell is a few lines calling rklab
    for c in nb.cells:
        if c.cell_type == "code" and c is not tagged[0]:
            assert len(c.source.splitlines()) <= 10
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 8


# --------------------------------------------------------------------------- demo runs (CPU)
@pytest.fixture(scope="module")
def nb02_demo(tmp_path_factory, demo_gguf):
    out = tmp_path_factory.mktemp("nb02demo")
    nb = _execute("02_llm_bench.ipynb", out, dict(cases=[[32, 8]], reps=2, warmup=1, adaptive=False,
                                                  max_context=256, lang="en"))
    return out, nb


def test_02_demo_records_and_report(nb02_demo, demo_gguf):
    out, nb = nb02_demo
    assert (out / "02_llm_bench.ipynb").exists() and (out / "samples-llm.jsonl").exists()
    recs = read_records(out / "records.jsonl")
    assert len(recs) == 2 and {r["status"] for r in recs} == {"ok"}
    r = recs[0]
    assert r["kind"] == "llm" and r["backend"] == "llamacpp" and r["synthetic"] is False
    assert r["model"]["name"] == "SmolLM2-135M-Instruct" and r["model"]["hash"].startswith("sha256-ht:")
    assert r["model"]["size_bytes"] == demo_gguf.stat().st_size
    assert r["runtime"]["version"].startswith("llama-cpp-python") and r["host"]["machine"]
    assert r["params"]["cases"] == [[32, 8]] and r["max_context"] == 256
    assert r["prompt_tokens"] == 32 and r["new_tokens"] == 8
    m = r["metrics"]
    assert m["generated_tokens"] == 8 and m["ttft_ms"] > 0 and m["decode_tps"] > 0 and m["llm_load_ms"] > 0
    assert len(m["token_offsets_ms"]) == 8
    df = load_records(out)
    assert list(df["case"].unique()) == ["pp32/tg8"] and len(df) == 2
    text = _texts(nb)
    assert "Status: measured" in text and "measured on" in text
    assert "not available on this host" in text  # no NPU here
    assert "no reference rows for SmolLM2-135M-Instruct" in text
    titles = _figure_titles(nb)
    assert any("Per-token latency" in t for t in titles) and any("Memory over time" in t for t in titles)
    assert all("measured" in t for t in titles)
    samples = [json.loads(x) for x in (out / "samples-llm.jsonl").read_text().splitlines()]
    assert samples and {"load", "prefill", "decode"} <= {s["phase"] for s in samples}


@pytest.fixture(scope="module")
def nb03_demo(tmp_path_factory, demo_gguf):
    out = tmp_path_factory.mktemp("nb03demo")
    nb = _execute("03_vlm_bench.ipynb", out, dict(new_tokens=8, reps=2, warmup=0, max_context=512))
    return out, nb


def test_03_demo_records_are_labelled_synthetic(nb03_demo):
    out, nb = nb03_demo
    assert (out / "03_vlm_bench.ipynb").exists() and (out / "samples-vlm.jsonl").exists()
    recs = read_records(out / "records.jsonl")
    assert len(recs) == 2 and all(r["status"] == "ok" and r["synthetic"] is True for r in recs)
    r = recs[0]
    assert r["kind"] == "vlm" and r["vision_backend"] == "onnx" and r["model"]["encoder"]["hash"].startswith("sha256")
    m = r["metrics"]
    for k in ("encoder_ms", "encoder_first_ms", "encoder_load_ms", "preprocess_ms", "prefill_ms", "ttft_e2e_ms",
              "decode_tps", "vmhwm_mb", "image_prefill_ms"):
        assert isinstance(m[k], (int, float)), k
    assert m["image_tokens"] == 196 and m["generated_tokens"] == 8 and m["image"] == "shapes.png"
    text = _texts(nb)
    assert "视觉编码器为合成模型" in text  # zh default: the synthetic label
    assert "编码器输出形状：196×576" in text  # zh default: rklab's own words in Chinese
    for english in ("no measured runs", "no reference rows", "encoder outputs", "records.jsonl 2 records",
                    "measured on", "SYNTHETIC"):
        assert english not in text, english
    titles = _figure_titles(nb)
    assert any("VLM 各阶段耗时" in t and "合成编码器" in t for t in titles)


# --------------------------------------------------------------------------- RKLLM + RKNNLite paths
@pytest.fixture(scope="module")
def rk_env(tmp_path_factory, fake_rkllm_libs):
    from tests.fixtures.fake_rkllm import make_fake_rkllm_model

    d = tmp_path_factory.mktemp("rk")
    return {"model": make_fake_rkllm_model(d / "qwen3.rkllm"), "libs": fake_rkllm_libs, "dir": d}


def test_02_rkllm_path_against_the_fake_library(rk_env, tmp_path):
    out = tmp_path / "nb02rk"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RKLLM_LIB", str(rk_env["libs"]["1.2.3"]))
        mp.setenv("FAKE_RKLLM_LOG", str(tmp_path / "rkllm.log"))
        mp.setenv("FAKE_RKLLM_TOKEN_DELAY_MS", "2")
        nb = _execute("02_llm_bench.ipynb", out, dict(model="Qwen3-0.6B", backend="rkllm",
                                                      model_path=str(rk_env["model"]), dtype="w8a8",
                                                      cases=[[32, 8]], reps=2, warmup=1, adaptive=False,
                                                      max_context=512, force=True, lang="en",
                                                      force_model=True))  # a 17 MB fake is no Qwen3-0.6B
    recs = read_records(out / "records.jsonl")
    assert len(recs) == 2 and {r["backend"] for r in recs} == {"rkllm"}
    assert recs[0]["model"]["identity"]["status"] == "mismatch" and recs[0]["model"]["identity"]["forced"]
    assert recs[0]["runtime"]["version"].startswith("1.2.3")
    # every record says what the runtime itself reported at init, and how its layout was detected
    for r in recs:
        rt = r["runtime"]
        assert (rt["reported_runtime_version"], rt["reported_driver_version"], rt["reported_platform"]) == \
            ("1.2.3", "0.9.8", "RK3588")
        assert rt["abi"] == "1.2.3" and rt["abi_source"] == "layout fingerprint"
        assert rt["abi_fingerprint"]["bytes_written"] == 208
        m = r["metrics"]
        assert m["kv_cache_cleared"] is True and m["cache_prefix"] and "cache_suspected" in m
    assert recs[0]["metrics"]["cache_prefix"] != recs[1]["metrics"]["cache_prefix"]
    assert recs[0]["metrics"]["runtime_memory_mb"] == pytest.approx(321.5)
    assert recs[0]["preflight"]["predicted_mb"] > 0  # the engine's prediction for Qwen3-0.6B w8a8
    text = _texts(nb)
    assert "memory pre-flight (predicted)" in text
    assert "runs flagged cache suspected" in text  # the summary's count of flagged repetitions per case
    # Qwen3-0.6B has official rows: the comparison table and the ratio figure are shown
    assert "airockchip/rknn-llm benchmark.md" in text
    assert any("Measured / reference" in t for t in _figure_titles(nb))


def test_03_rkllm_and_rknnlite_paths(rk_env, fake_rknnlite, fake_qwen3vl_rknn, tmp_path):
    from tests.fixtures.fake_rkllm import read_fake_log

    out = tmp_path / "nb03rk"
    log = tmp_path / "rkllm.log"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RKLLM_LIB", str(rk_env["libs"]["1.3.0"]))
        mp.setenv("FAKE_RKLLM_LOG", str(log))
        nb = _execute("03_vlm_bench.ipynb", out, dict(model="Qwen3-VL-2B", encoder_path=str(fake_qwen3vl_rknn),
                                                      llm_path=str(rk_env["model"]), llm_backend="rkllm",
                                                      vision_backend="rknn", core_mask="NPU_CORE_0_1_2",
                                                      new_tokens=6, reps=2, warmup=1, max_context=1024,
                                                      force=True, lang="en", force_model=True))
    logged = read_fake_log(log)
    assert logged["init.base_domain_id"] == "1" and logged["run.image_start"] == "<|vision_start|>"
    assert logged["run.n_image_tokens"] == "196"
    recs = read_records(out / "records.jsonl")
    assert len(recs) == 2 and {r["vision_backend"] for r in recs} == {"rknn"}
    assert recs[0]["encoder"]["runtime_version"].startswith("fake RKNNLite")
    assert recs[0]["metrics"]["encoder_output_shapes"] == [[196, 2048]] * 4
    assert all(r["metrics"]["kv_cache_cleared"] is True for r in recs)
    assert [ln for ln in log.read_text().splitlines() if ln.startswith("run.cached_tokens=")] == \
        ["run.cached_tokens=0"] * 4  # warm-up, text-only baseline, 2 repetitions: none served from the cache
    assert recs[0]["runtime"]["reported_runtime_version"] == "1.3.0"
    text = _texts(nb)
    assert "encoder outputs: 196×2048, 196×2048, 196×2048, 196×2048" in text
    # Qwen3-VL-2B reference rows (official multimodal table: vision encoder 2.08 s, an encode time)
    assert "encoder (ms)" in text and "official (quoted)" in text  # the metric and the source in words


# --------------------------------------------------------------------------- library behaviour
def test_rkllm_123_loads_once_per_distinct_consecutive_token_count(rk_env, tmp_path):
    """1.2.3 fixes max_new_tokens at load: load with the first case's count, reload only on a change."""
    from rklab.measure.session import bench_llm

    log = tmp_path / "rkllm.log"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RKLLM_LIB", str(rk_env["libs"]["1.2.3"]))
        mp.setenv("FAKE_RKLLM_LOG", str(log))
        res = bench_llm(model="Qwen3-0.6B", backend="rkllm", model_path=str(rk_env["model"]), dtype="w8a8",
                               cases=[[16, 4], [32, 8], [16, 8], [16, 4]], reps=1, warmup=0, adaptive=False,
                               max_context=256, force=True, force_model=True, out_dir=str(tmp_path / "out"),
                               progress=False)
    assert res.ok, res.message
    inits = [line for line in log.read_text().splitlines() if line.startswith("init.max_new_tokens=")]
    assert inits == ["init.max_new_tokens=4", "init.max_new_tokens=8", "init.max_new_tokens=4"]
    assert not any(line.startswith("abort") for line in log.read_text().splitlines())  # no case cut short
    reloads = [r.get("reload_ms") for r in res.runs]
    assert reloads[0] is None and reloads[2] is None and reloads[1] > 0 and reloads[3] > 0
    assert all(r["runtime_decode_tokens"] is not None for r in res.runs)


@pytest.mark.parametrize("kind", ["llm", "vlm"])
def test_guard_trip_between_runs_stops_and_records_aborted_memory(kind, tmp_path, demo_gguf, monkeypatch):
    """The guard trips after run 1 ended and before run 2 starts (no generation for abort() to stop)."""
    from rklab.measure.guard import MemoryGuard
    from rklab.measure.session import bench_llm, bench_vlm

    records = tmp_path / "records.jsonl"

    def trips_before_the_second_run(self):
        if records.exists() and len(records.read_text().splitlines()) == 1:  # after run 1 was recorded
            self.tripped = True
            self.trip_sample = dict(self.last_sample)
            self.stop_requested.set()
        return self.stop_requested.is_set()

    monkeypatch.setattr(MemoryGuard, "should_stop", trips_before_the_second_run)
    if kind == "llm":
        res = bench_llm(cases=[[16, 4]], reps=3, warmup=0, adaptive=False, max_context=256,
                               out_dir=str(tmp_path), progress=False)
    else:
        res = bench_vlm(new_tokens=2, reps=3, warmup=0, max_context=512, out_dir=str(tmp_path),
                               progress=False)
    assert res.status == "aborted_memory" and len(res.runs) == 1
    recs = read_records(tmp_path / "records.jsonl")
    assert [r["status"] for r in recs] == ["ok", "aborted_memory"]


def test_context_is_exclusive_for_notebook_parameters():
    from rklab.measure.session import validate_llm_params

    with pytest.raises(RklabError, match="prompt \\+ new tokens must be less than the context"):
        validate_llm_params({"model_path": "demo", "cases": [[120, 8]], "max_context": 128})
    assert validate_llm_params({"model_path": "demo", "cases": [[119, 8]], "max_context": 128})["max_context"] == 128


def test_vlm_core_mask_zero_is_kept_and_preflight_counts_image_tokens_once(monkeypatch, tmp_path):
    from rklab.measure import session as nr
    from rklab.errors import PredictedOOM

    q = nr.validate_vlm_params({"encoder_path": "demo", "llm_path": "demo", "core_mask": 0})
    assert q["core_mask"] == 0
    assert nr.validate_vlm_params({"encoder_path": "demo", "llm_path": "demo"})["core_mask"] == "NPU_CORE_0_1_2"
    seen = {}

    def record_prediction_args(model, dtype, max_context, prompt_tokens, new_tokens, with_vision=None):
        seen.update(prompt_tokens=prompt_tokens, with_vision=with_vision)
        return {"memory_mb": 1e9}

    def refuse(est, force, what):
        raise PredictedOOM("stop before loading", predicted_mb=est["memory_mb"], available_mb=0)

    monkeypatch.setattr(nr, "predicted_memory", record_prediction_args)
    monkeypatch.setattr(nr, "_preflight", refuse)
    out = nr.bench_vlm(out_dir=str(tmp_path), progress=False, new_tokens=4)
    assert out.status == "skipped_predicted_oom"
    # estimate() adds the catalog's image tokens itself: only the prompt's text tokens are passed
    assert seen == {"prompt_tokens": nr.VLM_TEXT_TOKENS, "with_vision": True}


def test_parameter_errors_are_one_line(tmp_path):
    from rklab.measure.session import bench_llm, bench_vlm

    cases = [
        (bench_llm, dict(cases="128,64"), "cases"),
        (bench_llm, dict(cases=[[128]]), "[prompt_tokens, new_tokens] pair"),
        (bench_llm, dict(cases=[[4000, 200]], max_context=4096), "max_context is 4096"),
        (bench_llm, dict(backend="npu"), "backend='npu'"),
        (bench_llm, dict(backend="rkllm"), "needs backend='llamacpp'"),
        (bench_llm, dict(reps=0), "reps=0"),
        (bench_llm, dict(lang="fr"), "lang='fr'"),
        (bench_vlm, dict(vision_backend="rknn"), "encoder_path='demo'"),
        (bench_vlm, dict(llm_path=str(tmp_path / "x.rkllm"), llm_backend="rkllm"), "parameter model"),
        (bench_vlm, dict(image_size="big"), "image_size"),
    ]
    for fn, kw, words in cases:
        with pytest.raises(RklabError) as exc:
            fn(out_dir=str(tmp_path / "o"), progress=False, **kw)
        assert words in str(exc.value) and "\n" not in str(exc.value), kw
    assert not (tmp_path / "o" / "records.jsonl").exists()


def test_bad_image_fails_before_loading(tmp_path, bad_images, monkeypatch):
    from rklab.measure import vlm
    from rklab.measure.session import bench_vlm

    monkeypatch.setattr(vlm, "open_vlm", lambda **k: pytest.fail("must not load models for a bad image"))
    with pytest.raises(RklabError, match="truncated or corrupt"):
        bench_vlm(images=[str(bad_images["good"]), str(bad_images["truncated"])], out_dir=str(tmp_path))


def test_predicted_oom_is_recorded_and_nothing_loaded(tmp_path, monkeypatch, demo_gguf):
    import rklab.measure.runtimes.factory as factory
    import rklab.measure.session as nr
    from rklab.measure.outcome import status_markdown

    real_open = factory.open_backend
    monkeypatch.setattr(nr, "predicted_memory", lambda *a, **k: {"memory_mb": 10_000_000.0})
    monkeypatch.setattr(factory, "open_backend", lambda *a, **k: pytest.fail("must not load"))
    res = nr.bench_llm(cases=[[8, 2]], reps=1, out_dir=str(tmp_path), progress=False)
    assert res.status == "skipped_predicted_oom" and not res.runs
    rec = read_records(tmp_path / "records.jsonl")
    assert [r["status"] for r in rec] == ["skipped_predicted_oom"]
    assert rec[0]["preflight"]["predicted_mb"] == 10_000_000.0 and rec[0]["kind"] == "llm"
    assert "predicted" in status_markdown(res, "en")
    # force runs it anyway (and records that the pre-flight was overridden)
    monkeypatch.setattr(factory, "open_backend", real_open)
    res2 = nr.bench_llm(cases=[[8, 2]], reps=1, warmup=0, adaptive=False, max_context=64, force=True,
                               out_dir=str(tmp_path / "forced"), progress=False)
    assert res2.ok and res2.preflight["forced"] is True and len(res2.runs) == 1
    assert read_records(tmp_path / "forced" / "records.jsonl")[0]["preflight"]["forced"] is True


@pytest.mark.parametrize("kind", ["llm", "vlm"])
def test_memory_guard_abort_is_recorded(kind, tmp_path, demo_gguf):
    from rklab.measure.session import bench_llm, bench_vlm

    if kind == "llm":
        res = bench_llm(cases=[[16, 8]], reps=2, warmup=1, adaptive=False, max_context=256,
                               mem_floor_mb=10_000_000, out_dir=str(tmp_path), progress=False)
    else:
        res = bench_vlm(new_tokens=4, reps=1, warmup=0, max_context=512, mem_floor_mb=10_000_000,
                               out_dir=str(tmp_path), progress=False)
    assert res.status == "aborted_memory" and "mem_floor_mb" in res.message and not res.runs
    recs = read_records(tmp_path / "records.jsonl")
    assert [r["status"] for r in recs] == ["aborted_memory"] and recs[0]["kind"] == kind
    assert recs[0]["last_sample"]["mem_available_mb"] > 0
    assert recs[0]["error"]["type"] == "MemoryAborted"
    assert os.path.exists(tmp_path / f"samples-{kind}.jsonl")
    assert "MemAvailable" in nr_status(res)


def nr_status(res):
    from rklab.measure.outcome import status_markdown

    return status_markdown(res, "en")


def test_reference_comparison_separates_encoder_load_from_encode(tmp_path):
    from rklab.measure.outcome import BenchOutcome, reference_comparison

    runs = [{"image": "a.png", "rep": i, "case": "img256/tg64", "prompt_tokens": 270, "encoder_ms": 400.0 + i,
             "encoder_load_ms": 600.0, "decode_tps": 12.0, "ttft_ms": 900.0, "prefill_tps": 300.0,
             "vmhwm_mb": 1900.0} for i in range(3)]
    out = BenchOutcome(kind="vlm", status="ok", message="", params={}, out_dir=tmp_path,
                       model={"name": "InternVL3.5-1B"}, runs=runs)
    cmp = reference_comparison(out)
    seed = cmp[cmp["source"] == "seed"]
    # the seed's "~0.8 s vision encoder" is a load time: compared with encoder_load_ms
    row = seed[seed["metric"] == "encoder_load_ms"].iloc[0]
    assert row["reference"] == pytest.approx(800.0) and row["ratio"] == pytest.approx(0.75)
    assert "encoder_ms" not in set(seed["metric"])
    dec = seed[seed["metric"] == "decode_tps"].iloc[0]
    assert dec["ratio"] == pytest.approx(12.0 / 24)
    mem = cmp[(cmp["metric"] == "vmhwm_mb") & (cmp["source"] == "community")].iloc[0]
    assert "total used memory" in mem["conditions"]

    q = BenchOutcome(kind="vlm", status="ok", message="", params={}, out_dir=tmp_path,
                     model={"name": "InternVL3.5-2B"}, runs=runs)
    cq = reference_comparison(q)
    # happyme531 measured the encode itself (2.1 s on 3 NPU cores): compared with encoder_ms
    enc = cq[(cq["metric"] == "encoder_ms")].iloc[0]
    assert enc["reference"] == pytest.approx(2100.0) and enc["ratio"] == pytest.approx(401.0 / 2100)


def test_reference_comparison_llm_uses_the_nearest_case(tmp_path):
    from rklab.measure.outcome import BenchOutcome, reference_comparison

    runs = [{"case": c, "prompt_tokens": pp, "rep": 0, "ttft_ms": t, "decode_tps": d, "vmhwm_mb": 800.0}
            for c, pp, t, d in (("pp128/tg64", 128, 250.0, 30.0), ("pp1024/tg128", 1024, 2000.0, 20.0))]
    out = BenchOutcome(kind="llm", status="ok", message="", params={}, out_dir=tmp_path,
                       model={"name": "Qwen3-0.6B"}, runs=runs)
    cmp = reference_comparison(out)
    v123 = cmp[(cmp["runtime"] == "1.2.3") & (cmp["source"] == "official")]
    ttft = v123[v123["metric"] == "ttft_ms"].iloc[0]
    assert ttft["measured_case"] == "pp128/tg64" and ttft["ratio"] == pytest.approx(250.0 / 213.5)
    assert "prompt 128" in ttft["conditions"] and "memory = VmHWM" in ttft["conditions"]
    empty = reference_comparison(BenchOutcome(kind="llm", status="ok", message="", params={}, out_dir=tmp_path,
                                              model={"name": "SmolLM2-135M-Instruct"}, runs=runs))
    assert empty.empty


def test_bench_figures():
    import pandas as pd

    from rklab.report.plots import bench as pb

    samples = [{"t_s": t / 10, "phase": ph, "vmrss_mb": 100 + t, "vmhwm_mb": 100 + t, "rss_shmem_mb": None,
                "mem_available_mb": 5000 - t, "npu_load": None, "temps_c": None}
               for t, ph in enumerate(["load"] * 3 + ["idle"] * 2 + ["prefill"] * 3 + ["decode"] * 4)]
    fig = pb.memory_figure(samples, lang="en", source="measured on test")
    names = [t.name for t in fig.data]
    assert names == ["process VmRSS", "process peak VmHWM", "system MemAvailable drop"]  # RssShmem absent
    assert list(fig.data[2].y)[:3] == [0, 1, 2]
    shapes = [(s.x0, s.x1) for s in fig.layout.shapes]
    assert shapes == [(0.0, 0.3), (0.5, 0.8), (0.8, 1.1)]  # load, prefill, decode spans
    twice = samples + [dict(s, t_s=s["t_s"] + 2) for s in samples[5:]]  # a second prefill + decode
    labels = [a.text for a in pb.memory_figure(twice, lang="en").layout.annotations]
    assert len(labels) == 3 and "new text" not in labels  # each phase labelled once, no plotly filler
    assert "measured" in fig.layout.title.text
    assert pb.npu_temperature_figure(samples) is None  # no NPU on this host
    npu = [dict(s, npu_load=[10.0, 20.0, 30.0], temps_c={"npu-thermal": 40.0}) for s in samples]
    f2 = pb.npu_temperature_figure(npu, lang="en")
    assert [t.name for t in f2.data] == ["NPU core0", "NPU core1", "NPU core2", "npu-thermal"]

    runs = [{"case": "pp8/tg4", "rep": r, "token_offsets_ms": [100.0, 110.0, 125.0, 135.0]} for r in range(2)]
    f3 = pb.token_latency_figure(runs, lang="zh")
    assert len(f3.data) == 2 and list(f3.data[0].y) == [10.0, 15.0, 10.0] and list(f3.data[0].x) == [2, 3, 4]
    assert "实测" in f3.layout.title.text

    vruns = [{"image": "a.png", "preprocess_ms": 5.0, "encoder_ms": 20.0, "ttft_ms": 300.0, "ttft_e2e_ms": 330.0,
              "e2e_ms": 430.0}]
    f4 = pb.vlm_stage_figure(vruns, lang="en", synthetic=True)
    assert [list(t.x) for t in f4.data] == [[5.0], [20.0], [300.0], [100.0]]
    assert "synthetic" in f4.layout.title.text
    assert pb.vlm_stage_figure([]) is None

    cmp = pd.DataFrame([{"metric": "decode_tps", "ratio": 0.5, "source": "official", "reference_by": "x",
                         "runtime": "1.2.3", "conditions": "prompt 128"}])
    f5 = pb.reference_ratio_figure(cmp, lang="en")
    assert list(f5.data[0].y) == [0.5]
    assert pb.reference_ratio_figure(pd.DataFrame()) is None
    t = pb.summary_table(pd.DataFrame([{"case": "pp8/tg4", "decode_tps": 12.345}]), lang="zh")
    assert list(t.data[0].header.values) == ["用例", "解码 (tok/s)"] and list(t.data[0].cells.values[1]) == ["12.35"]


def test_progress_bars_follow_the_parameter_then_the_environment(monkeypatch):
    from rklab.measure.session import show_progress

    monkeypatch.delenv("RKLAB_PROGRESS", raising=False)
    assert show_progress() is True
    monkeypatch.setenv("RKLAB_PROGRESS", "0")
    assert show_progress() is False and show_progress(True) is True
