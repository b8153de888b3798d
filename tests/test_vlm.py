"""The VLM pipeline: catalog checks, llama.cpp embeddings path, RKLLM multimodal path, demo figures."""

import ctypes

import numpy as np
import pytest

from rklab.errors import RklabError
from rklab.measure.vlm import (VlmConfig, VlmSpec, image_embeddings, open_vlm, run_vlm_benchmark,
                               summarize_vlm_runs, vlm_spec)
from rklab.measure.vision.testimages import demo_image_path
from tests.fixtures.fake_rkllm import read_fake_log


def test_spec_from_catalog():
    q = vlm_spec("Qwen3-VL-2B")
    assert (q.image_tokens, q.hidden, q.outputs, q.width) == (196, 2048, 4, 8192)
    assert (q.img_start, q.img_end, q.img_content) == ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>")
    i = vlm_spec("InternVL3.5-1B")
    assert (i.image_tokens, i.hidden, i.outputs) == (256, 1024, 1)
    assert (i.img_start, i.img_end, i.img_content) == ("<img>", "</img>", "<IMG_CONTEXT>")
    demo = vlm_spec(None)
    assert (demo.image_tokens, demo.width) == (196, 576) and "synthetic" in demo.source
    assert vlm_spec("SmolLM2-135M-Instruct", encoder_synthetic=True).width == 576
    with pytest.raises(RklabError, match="no vision encoder"):
        vlm_spec("Qwen3-0.6B")


def test_qwen3vl_outputs_concatenated_per_token():
    spec = vlm_spec("Qwen3-VL-2B")
    outs = [np.full((196, 2048), k, np.float32) for k in range(4)]
    emb = image_embeddings(outs, spec)
    assert emb.shape == (196, 8192) and emb.flags["C_CONTIGUOUS"]
    # token 5's row is main | deepstack1 | deepstack2 | deepstack3
    assert emb[5, 0] == 0 and emb[5, 2048] == 1 and emb[5, 4096] == 2 and emb[5, 8191] == 3
    # an encoder that already concatenated is accepted as is
    assert image_embeddings([emb], spec).shape == (196, 8192)
    # a (1, T, H) leading batch axis is fine
    assert image_embeddings([o[None] for o in outs], spec).shape == (196, 8192)


@pytest.mark.parametrize("outs, what", [
    ([np.zeros((196, 2048), np.float32)], "1 output"),                   # DeepStack maps missing
    ([np.zeros((256, 2048), np.float32)] * 4, "InternVL-sized"),          # wrong token count
    ([np.zeros((196, 1024), np.float32)] * 4, "wrong hidden"),
])
def test_mismatched_encoder_output_is_refused(outs, what):
    with pytest.raises(RklabError) as exc:
        image_embeddings(outs, vlm_spec("Qwen3-VL-2B"))
    assert "196 tokens x 2048 hidden x 4 outputs" in str(exc.value), what


def test_nan_embeddings_refused():
    spec = VlmSpec("x", image_tokens=2, hidden=3)
    bad = np.zeros((2, 3), np.float32)
    bad[1, 1] = np.nan
    with pytest.raises(RklabError, match="NaN"):
        image_embeddings([bad], spec)


@pytest.fixture(scope="module")
def demo_pipe(demo_gguf, synthetic_onnx):
    pipe = open_vlm(model=None, encoder_path=synthetic_onnx, llm_path=demo_gguf, vision_backend="onnx",
                    llm_backend="llamacpp", max_context=512, backend_kwargs={"n_threads": 1})
    yield pipe
    pipe.close()


def test_llamacpp_pipeline_measures_every_stage(demo_pipe):
    seen = []
    res = run_vlm_benchmark(demo_pipe, [demo_image_path()], VlmConfig(new_tokens=4, reps=2, warmup=0),
                            on_run=seen.append, progress=False)
    assert len(res.runs) == 2 and seen == res.runs and res.synthetic
    r = res.runs[0]
    assert r["image_tokens"] == 196 and r["generated_tokens"] == 4
    assert r["prompt_tokens"] == 196 + r["text_tokens"] and r["text_tokens"] > 3
    assert r["encoder_output_shapes"] == [[196, 576]]
    # the stages add up: image-in -> first token covers preprocess + encoder + LLM prefill
    assert r["ttft_e2e_ms"] >= r["preprocess_ms"] + r["encoder_ms"] + r["ttft_ms"] - 1.0
    assert r["e2e_ms"] > r["ttft_e2e_ms"] > 0
    assert r["encoder_load_ms"] > 0 and r["encoder_first_ms"] > 0 and r["llm_load_ms"] > 0
    # prefill_ms is wall clock (call -> first token) as for LLM runs; the runtime's is runtime_prefill_ms
    assert r["prefill_ms"] == r["ttft_ms"] and r["runtime_prefill_ms"] > 0
    assert r["prefill_tps"] == pytest.approx(r["prompt_tokens"] / (r["prefill_ms"] / 1000))
    # llama.cpp reports both prefills: image share = runtime(image + text) - runtime(text alone)
    assert r["image_prefill_source"] == "runtime"
    assert r["image_prefill_ms"] == pytest.approx(r["runtime_prefill_ms"] - res.text_baseline["text_runtime_prefill_ms"])
    assert 0 <= r["image_prefill_ms"] < r["prefill_ms"]
    assert r["decode_tps"] > 0 and len(r["token_offsets_ms"]) == 4
    assert r["vmhwm_mb"] > 50 and r["synthetic"] is True
    # the same per-run metric keys as LLM runs (one shared helper), VmHWM reset per run
    from rklab.measure.protocol import run_metrics  # noqa: F401
    for key in ("clocks_below_max", "throttled", "throttle_detail", "vmhwm_reset", "memory_baseline",
                "mem_available_drop_mb", "shmem_rise_mb", "npu_load_mean", "temp_start_c", "runtime_decode_tps"):
        assert key in r, key
    assert r["memory_baseline"] == "before_load" and r["load_vmhwm_mb"] > 50
    s = summarize_vlm_runs(res.runs)
    assert list(s["image"]) == ["shapes.png"] and int(s["runs"][0]) == 2
    assert s["encoder_ms"][0] == pytest.approx(np.median([x["encoder_ms"] for x in res.runs]))
    assert res.answers[0]["image"] == "shapes.png" and isinstance(res.answers[0]["text"], str)


def test_should_stop_before_a_run_stops_the_benchmark(demo_pipe):
    """A memory-guard trip between runs: no further run starts, the result says aborted."""
    seen = []
    res = run_vlm_benchmark(demo_pipe, [demo_image_path()], VlmConfig(new_tokens=2, reps=3, warmup=0,
                                                                      measure_text_baseline=False),
                            on_run=seen.append, should_stop=lambda: len(seen) >= 1, progress=False)
    assert res.aborted and len(res.runs) == 1


def test_image_prefill_subtracts_like_from_like_and_never_goes_negative():
    from rklab.measure.vlm import image_prefill

    base = {"text_prefill_ms": 40.0, "text_runtime_prefill_ms": 30.0}
    assert image_prefill({"prefill_ms": 100.0, "runtime_prefill_ms": 80.0}, base) == \
        {"image_prefill_ms": 50.0, "image_prefill_source": "runtime"}
    # the text run had no runtime figure (e.g. RKLLM 1.2.3 cut by abort): wall minus wall, not mixed
    mixed = image_prefill({"prefill_ms": 100.0, "runtime_prefill_ms": 80.0}, {"text_prefill_ms": 40.0,
                                                                            "text_runtime_prefill_ms": None})
    assert mixed == {"image_prefill_ms": 60.0, "image_prefill_source": "wall"}
    neg = image_prefill({"prefill_ms": 39.0, "runtime_prefill_ms": 29.86}, base)
    assert neg["image_prefill_ms"] is None and "not reported" in neg["image_prefill_note"]


def test_llamacpp_refuses_embeddings_wider_than_hidden(demo_pipe):
    from rklab.measure.vlm import VlmPipeline

    with pytest.raises(RklabError, match="hidden size 576"):
        VlmPipeline(demo_pipe.encoder, demo_pipe.backend, vlm_spec("Qwen3-VL-2B"))


@pytest.mark.parametrize("abi", ["1.2.3", "1.3.0"])
def test_rkllm_multimodal_with_rknn_encoder(abi, fake_rknnlite, fake_qwen3vl_rknn, fake_rkllm_libs, tmp_path,
                                            monkeypatch):
    """Qwen3-VL-2B wiring: RKNN encoder (4 outputs) -> concatenated 196 x 8192 -> RKLLM multimodal input."""
    from tests.fixtures.fake_rkllm import make_fake_rkllm_model, read_fake_log

    log = tmp_path / "rkllm.log"
    monkeypatch.setenv("RKLLM_LIB", str(fake_rkllm_libs[abi]))
    monkeypatch.setenv("FAKE_RKLLM_LOG", str(log))
    monkeypatch.setenv("FAKE_RKLLM_HIDDEN", "8192")
    model = make_fake_rkllm_model(tmp_path / "qwen3-vl-2b.rkllm")
    pipe = open_vlm(model="Qwen3-VL-2B", encoder_path=fake_qwen3vl_rknn, llm_path=model,
                    vision_backend="rknn", llm_backend="rkllm", core_mask="NPU_CORE_0_1_2", max_context=1024,
                    backend_kwargs={"max_new_tokens": 5})  # 1.2.3 takes it at init, then reports its perf block
    with pipe:
        embed, _ = pipe.encode(demo_image_path())
        res = run_vlm_benchmark(pipe, [demo_image_path()], VlmConfig(new_tokens=5, reps=1, warmup=0),
                                progress=False)
    logged = read_fake_log(log)
    assert logged["init.base_domain_id"] == "1"  # the encoder holds NPU domain 0
    assert logged["run.image_start"] == "<|vision_start|>" and logged["run.image_content"] == "<|image_pad|>"
    assert logged["run.n_image_tokens"] == "196" and logged["run.n_image"] == "1"
    assert logged["run.image_width"] == "448" and logged["run.image_placeholders"] == "1"
    # the runtime read exactly the concatenated embeddings rklab computed (196 x 4*2048 floats)
    assert embed.shape == (196, 8192)
    assert float(logged["run.embed_sum"]) == pytest.approx(float(embed.astype(np.float64).sum()), rel=1e-3, abs=0.05)
    assert fake_rknnlite.calls[1] == ("init_runtime", 7)
    r = res.runs[0]
    assert r["generated_tokens"] == 5 and r["runtime_memory_mb"] == pytest.approx(321.5)
    assert r["prompt_tokens"] == 196 + r["text_tokens"] and r["encoder_output_shapes"] == [[196, 2048]] * 4
    # the text-only baseline asked the loaded limit (no abort on 1.2.3), so both prefills are the
    # runtime's own and the image share is like-from-like, never negative
    assert fake_rkllm_abort_free(log)
    assert res.text_baseline["text_runtime_prefill_ms"] is not None
    assert r["image_prefill_source"] == "runtime"
    assert r["image_prefill_ms"] is None and r["image_prefill_note"] or r["image_prefill_ms"] >= 0


def fake_rkllm_abort_free(log) -> bool:
    return not any(line.startswith("abort") for line in log.read_text().splitlines())


def test_demo_vlm_medians_keys():
    """What `rklab bench vlm --demo` prints: the session's medians of the demo pair (nothing written)."""
    from rklab.measure.outcome import vlm_medians
    from rklab.measure.session import bench_vlm

    outcome = bench_vlm(reps=1, new_tokens=4, warmup=1, max_context=1024, progress=False, record=False)
    assert outcome.ok and not outcome.recorded
    out = vlm_medians(outcome)
    for key in ("encoder_ms", "prefill_ms", "ttft_ms", "decode_tps", "vmhwm_mb", "image_tokens",
                "encoder_load_ms", "ttft_e2e_ms", "preprocess_ms"):
        assert isinstance(out[key], (int, float)) and out[key] > 0, key
    assert out["synthetic"] is True and out["image_tokens"] == 196 and out["generated_tokens"] == 4
    assert "synthetic" in out["note"]


def test_demo_vlm_bad_image_before_loading(tmp_path):
    from rklab.measure.session import bench_vlm

    bad = tmp_path / "x.png"
    bad.write_bytes(b"")
    with pytest.raises(RklabError, match="empty"):
        bench_vlm(reps=1, new_tokens=2, images=[bad], record=False)


def _rk_env(monkeypatch, fake_rkllm_libs, tmp_path, abi="1.3.0"):
    from tests.fixtures.fake_rkllm import make_fake_rkllm_model

    monkeypatch.setenv("RKLLM_LIB", str(fake_rkllm_libs[abi]))
    monkeypatch.setenv("FAKE_RKLLM_LOG", str(tmp_path / "rkllm.log"))
    return make_fake_rkllm_model(tmp_path / "vlm.rkllm")


def test_llm_loaded_before_the_encoder_as_the_demo(fake_rknnlite, fake_qwen3vl_rknn, fake_rkllm_libs, tmp_path,
                                                   monkeypatch):
    from rklab.measure.runtimes import factory
    from rklab.measure.vision.rknn_encoder import RknnEncoder

    order = []
    real_open, real_load = factory.open_backend, RknnEncoder.load
    monkeypatch.setattr(factory, "open_backend", lambda *a, **k: order.append("llm") or real_open(*a, **k))
    monkeypatch.setattr(RknnEncoder, "load", lambda self: order.append("encoder") or real_load(self))
    model = _rk_env(monkeypatch, fake_rkllm_libs, tmp_path)
    with open_vlm(model="Qwen3-VL-2B", encoder_path=fake_qwen3vl_rknn, llm_path=model, vision_backend="rknn",
                  llm_backend="rkllm", max_context=1024, backend_kwargs={"max_new_tokens": 4}) as pipe:
        geo = pipe.geometry
        assert pipe.encoder_first_ms is not None and pipe.encoder_first_ms > 0  # the geometry probe
    assert order == ["llm", "encoder"]
    assert (geo.input_hw, geo.image_tokens, geo.embed_width, geo.outputs) == ((448, 448), 196, 2048, 4)
    assert geo.input_source == "probe run"  # RKNNLite has no query for the input attributes
    assert read_fake_log(tmp_path / "rkllm.log")["init.base_domain_id"] == "1"


def test_encoder_geometry_mismatch_is_one_clear_error(fake_rknnlite, fake_qwen3vl_rknn, fake_rkllm_libs, tmp_path,
                                                      monkeypatch):
    """A Qwen3-VL encoder (196 tokens) given for InternVL3.5-1B (256 tokens): refused, naming file and values."""
    model = _rk_env(monkeypatch, fake_rkllm_libs, tmp_path)
    with pytest.raises(RklabError) as err:
        open_vlm(model="InternVL3.5-1B", encoder_path=fake_qwen3vl_rknn, llm_path=model, vision_backend="rknn",
                 llm_backend="rkllm", max_context=1024, backend_kwargs={"max_new_tokens": 4})
    msg = str(err.value)
    assert "\n" not in msg and str(fake_qwen3vl_rknn) in msg and "196 image tokens" in msg and "256" in msg
    assert fake_rknnlite.calls[-1] == ("release", None)  # both parts freed
    assert ctypes.CDLL(str(fake_rkllm_libs["1.3.0"])).fake_live_handles() == 0


def test_encoder_input_size_from_the_model_itself(synthetic_onnx, demo_gguf):
    """ONNX Runtime knows the input attributes: an image_size other than the model's is refused."""
    with pytest.raises(RklabError) as err:
        open_vlm(model=None, encoder_path=synthetic_onnx, llm_path=demo_gguf, image_size=392, max_context=1024)
    msg = str(err.value)
    assert "takes 448x448 images (model input attributes)" in msg and "392x392" in msg and str(synthetic_onnx) in msg
