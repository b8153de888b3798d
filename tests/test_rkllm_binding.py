"""The RKLLM backend against the fake librkllmrt.so (tests/fakes/rkllm), for runtime 1.2.3 and 1.3.0.

The fake logs what the binding passed (FAKE_RKLLM_LOG), so these tests prove the wiring,
not only that something ran. ``fake_rkllm`` is parametrized over both ABIs.
"""

from __future__ import annotations

import gc
import os
import platform
import shutil
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

from rklab.errors import ModelFileError, RklabError, RuntimeLibraryError
from rklab.measure.runtimes import rkllm as rk
from rklab.measure.runtimes import rkllm_loader as loader
from rklab.measure.runtimes.base import MultimodalInput
from rklab.measure.runtimes.rkllm import RKLLM, RKLLMRunError
from tests.fixtures.fake_rkllm import build_fake_rkllm

TAGS = ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>")


def _open(fake, **kw):
    kw.setdefault("max_context", 256)
    kw.setdefault("max_new_tokens", 8)
    return RKLLM(fake.model, **kw)


def _one_line(exc) -> str:
    msg = str(exc)
    assert msg and "\n" not in msg
    return msg


# --------------------------------------------------------------------------- generation


def test_generate_from_prompt(fake_rkllm):
    with _open(fake_rkllm) as llm:
        res = llm.generate(prompt="hello world from rk3588", max_new_tokens=8)
        assert llm.runtime_version == fake_rkllm.abi and llm.name == "rkllm"
        assert llm.load_ms is not None and llm.load_ms > 0 and llm.max_context == 256
    assert res.text == "".join(f"tok{i} " for i in range(8))
    assert res.token_ids == list(range(100, 108))
    assert res.n_tokens == 8 and res.final_state == "length"
    assert res.prompt_tokens == 4  # learnt from the runtime's perf block (fake: 4 words)
    assert res.perf.prefill_tokens == 4 and res.perf.decode_tokens == 8
    assert res.perf.memory_mb == pytest.approx(321.5)
    log = fake_rkllm.logged()
    assert log["run.input_type"] == "0" and log["run.prompt"] == "hello world from rk3588"
    assert log["run.keep_history"] == "0" and log["run.mode"] == "0" and log["run.role"] == "user"
    assert log["run.max_new_tokens"] == "8"
    if fake_rkllm.abi == "1.3.0":
        assert log["run.infer_max_new_tokens"] == "8"


def test_init_parameters_reach_the_runtime(fake_rkllm):
    kw = dict(max_context=1024, max_new_tokens=32, top_k=5, top_p=0.5, temperature=0.25, repeat_penalty=1.25,
              base_domain_id=1, cpu_mask=[4, 5, 6, 7], embed_flash=1, img_start=TAGS[0], img_end=TAGS[1],
              img_content=TAGS[2])
    with RKLLM(fake_rkllm.model, **kw) as llm:
        llm.generate(prompt="hi", max_new_tokens=2)
        info = llm.info
    log = fake_rkllm.logged()
    assert log["init.model_path"] == str(fake_rkllm.model.resolve()) or log["init.model_path"] == str(fake_rkllm.model)
    assert (log["init.max_context_len"], log["init.max_new_tokens"], log["init.top_k"]) == ("1024", "32", "5")
    assert float(log["init.top_p"]) == 0.5 and float(log["init.temperature"]) == 0.25
    assert float(log["init.repeat_penalty"]) == 1.25
    assert log["init.base_domain_id"] == "1" and log["init.embed_flash"] == "1"
    assert log["init.enabled_cpus_mask"] == str(0xF0) and log["init.enabled_cpus_num"] == "4"
    assert log["init.is_async"] == "0"
    # Values not given keep the runtime's own defaults (the fake's: n_keep -1, n_batch 1).
    assert log["init.n_keep"] == "-1" and log["init.n_batch"] == "1"
    assert info["runtime_version"] == fake_rkllm.abi and info["version_source"] == "layout fingerprint"
    assert info["abi"] == fake_rkllm.abi and info["skip_special_token"] is True  # as Rockchip's demos set it
    assert log["init.skip_special_token"] == "1"
    assert info["base_domain_id"] == 1 and info["enabled_cpus_mask"] == 0xF0
    if fake_rkllm.abi == "1.3.0":
        assert log["init.ignore_eos_token"] == "1"
        assert log["run.sampling.top_k"] == "5" and float(log["run.sampling.top_p"]) == 0.5
        assert float(log["run.sampling.temperature"]) == 0.25 and float(log["run.sampling.repeat_penalty"]) == 1.25
        assert "init.img_start" not in log  # 1.3.0 has no image tags in RKLLMParam
    else:
        assert (log["init.img_start"], log["init.img_end"], log["init.img_content"]) == TAGS
        assert "init.ignore_eos_token" not in log


def test_unset_sampling_keeps_runtime_defaults(fake_rkllm):
    with _open(fake_rkllm, cpu_mask=None) as llm:
        info = llm.info
    log = fake_rkllm.logged()
    assert float(log["init.top_p"]) == pytest.approx(0.9) and float(log["init.temperature"]) == pytest.approx(0.8)
    assert log["init.enabled_cpus_mask"] == str(0xF0)  # fake default, untouched
    assert info["top_p"] == pytest.approx(0.9)


def test_default_param_struct_returned_by_value(fake_rkllm):
    """rkllm_createDefaultParam returns the whole struct by value: every field reads back as C wrote it."""
    rt = rk.load_library()
    p = rt.lib.rkllm_createDefaultParam()
    assert (p.max_context_len, p.max_new_tokens, p.top_k, p.n_keep) == (512, 16, 40, -1)
    assert p.top_p == pytest.approx(0.9) and p.mirostat_tau == pytest.approx(5.0) and p.mirostat_eta == pytest.approx(0.1)
    assert p.skip_special_token is True and p.is_async is False
    ext = p.extend_param
    assert (ext.enabled_cpus_num, ext.enabled_cpus_mask, ext.n_batch, ext.embed_flash) == (4, 0xF0, 1, 0)
    init_cb = rt.lib.rkllm_init.argtypes[2]
    h = rt.binding
    assert init_cb is (h.LLMResultCallback if rt.release == "1.2.3" else rk.ctypes.POINTER(h.RKLLMCallback))


def test_generate_from_token_ids(fake_rkllm):
    with _open(fake_rkllm, max_new_tokens=3) as llm:
        res = llm.generate(token_ids=[5, 6, 7, 8, 9], max_new_tokens=3)
    log = fake_rkllm.logged()
    assert (log["run.input_type"], log["run.n_tokens"]) == ("1", "5")
    assert (log["run.first_token_id"], log["run.last_token_id"]) == ("5", "9")
    assert res.prompt_tokens == 5 and res.perf.prefill_tokens == 5 and res.n_tokens == 3


def test_generate_from_embeddings(fake_rkllm):
    emb = np.arange(3 * 8, dtype=np.float64).reshape(3, 8)  # converted to float32 by the binding
    with _open(fake_rkllm) as llm:
        res = llm.generate(embeddings=emb, max_new_tokens=2)
    log = fake_rkllm.logged()
    assert (log["run.input_type"], log["run.n_tokens"]) == ("2", "3")
    assert float(log["run.embed_sum"]) == pytest.approx(emb.sum())  # the runtime read our floats
    assert res.prompt_tokens == 3 and res.text == "tok0 tok1 "


def test_generate_multimodal(fake_rkllm):
    embed = np.full((196, 8), 0.5, dtype=np.float32)
    mm = MultimodalInput(prompt="<image> Describe it", image_embed=embed, image_width=448, image_height=448)
    with _open(fake_rkllm, max_context=512, max_new_tokens=4, img_start=TAGS[0], img_end=TAGS[1],
               img_content=TAGS[2]) as llm:
        res = llm.generate(multimodal=mm, max_new_tokens=4)
    log = fake_rkllm.logged()
    assert log["run.input_type"] == "3" and log["run.prompt"] == "<image> Describe it"
    assert (log["run.n_image_tokens"], log["run.n_image"]) == ("196", "1")
    assert (log["run.image_width"], log["run.image_height"]) == ("448", "448")
    assert (log["run.image_start"], log["run.image_end"], log["run.image_content"]) == TAGS
    assert float(log["run.embed_sum"]) == pytest.approx(196 * 8 * 0.5)
    assert log["run.image_placeholders"] == "1"
    assert res.prompt_tokens == 2 + 196 and res.n_tokens == 4
    if fake_rkllm.abi == "1.3.0":
        assert log["run.n_video"] == "0"


def test_multimodal_tags_travel_with_input_on_130(fake_rkllm):
    mm = MultimodalInput(prompt="<image>x", image_embed=np.zeros((4, 8), np.float32),
                         img_start="<img>", img_end="</img>", img_content="<IMG_CONTEXT>")
    if fake_rkllm.abi == "1.3.0":
        with _open(fake_rkllm) as llm:
            llm.generate(multimodal=mm, max_new_tokens=1)
        log = fake_rkllm.logged()
        assert (log["run.image_start"], log["run.image_end"], log["run.image_content"]) == ("<img>", "</img>", "<IMG_CONTEXT>")
    else:
        with _open(fake_rkllm) as llm, pytest.raises(RklabError) as err:
            llm.generate(multimodal=mm, max_new_tokens=1)
        assert "fixes them at load" in _one_line(err.value) and "1.2.3" in str(err.value)
        with _open(fake_rkllm, img_start=TAGS[0], img_end=TAGS[1], img_content=TAGS[2]) as llm, \
                pytest.raises(RklabError, match="fixes them at load"):
            llm.generate(multimodal=mm, max_new_tokens=1)


def test_empty_image_start_and_end_tags_allowed(fake_rkllm):
    """DeepSeekOCR in Rockchip's multimodal demo: img_start = img_end = "", only the content tag."""
    pad = "<\uff5c\u2581pad\u2581\uff5c>"
    mm = MultimodalInput(prompt="<image>Read the text.", image_embed=np.zeros((4, 8), np.float32))
    with _open(fake_rkllm, img_start="", img_end="", img_content=pad) as llm:
        llm.generate(multimodal=mm, max_new_tokens=1)
    log = fake_rkllm.logged()
    assert (log["run.image_start"], log["run.image_end"], log["run.image_content"]) == ("", "", pad)


def test_multimodal_needs_image_placeholder(fake_rkllm):
    mm = MultimodalInput(prompt="no placeholder", image_embed=np.zeros((4, 8), np.float32), img_start="a",
                         img_end="b", img_content="c")
    with _open(fake_rkllm, img_start="a", img_end="b", img_content="c") as llm, pytest.raises(RklabError) as err:
        llm.generate(multimodal=mm, max_new_tokens=1)
    assert "<image>" in _one_line(err.value)
    assert "run.input_type" not in fake_rkllm.logged()


def test_timestamps_monotonic_and_inside_the_run(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_TOKEN_DELAY_MS", "2")
    monkeypatch.setenv("FAKE_RKLLM_PREFILL_DELAY_MS", "5")
    with _open(fake_rkllm, max_new_tokens=6) as llm:
        res = llm.generate(prompt="a b", max_new_tokens=6)
    ts = res.token_ns
    assert len(ts) == 6 and all(b > a for a, b in zip(ts, ts[1:]))
    assert res.start_ns < ts[0] and ts[-1] <= res.end_ns
    # lower bounds guaranteed by the fake's sleeps (not speed targets)
    assert res.ttft_ms >= 5.0 and (ts[-1] - ts[0]) / 1e6 >= 5 * 2.0
    assert res.perf.prefill_ms >= 5.0 and res.perf.decode_ms >= 5 * 2.0
    assert res.decode_tps is not None and res.perf.decode_tps is not None


def test_perf_block_propagated(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_MEMORY_MB", "777.25")
    with _open(fake_rkllm, max_new_tokens=5) as llm:
        res = llm.generate(token_ids=list(range(11)), max_new_tokens=5)
    assert res.perf.memory_mb == pytest.approx(777.25)
    assert (res.perf.prefill_tokens, res.perf.decode_tokens) == (11, 5)
    assert res.extra["callback_states"] == {"RUN_NORMAL": 5, "RUN_FINISH": 1}


def test_partial_utf8_across_callbacks(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_UTF8_AT", "1")
    with _open(fake_rkllm) as llm:
        res = llm.generate(prompt="x", max_new_tokens=4)
    assert res.text == "tok0 \u4e2d tok3 "
    assert res.n_tokens == 4 and res.extra["callback_states"]["RUN_WAITING"] == 1


def test_ignore_eos(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_EOS_AFTER", "3")
    with _open(fake_rkllm) as llm:
        res = llm.generate(prompt="x", max_new_tokens=8, ignore_eos=True)
    if fake_rkllm.abi == "1.3.0":  # ignore_eos_token forces the full length
        assert res.n_tokens == 8 and res.final_state == "length" and res.extra["ignore_eos_applied"] is True
    else:  # 1.2.3 cannot: the actual count is recorded, with a note
        assert res.n_tokens == 3 and res.final_state == "finish" and res.extra["ignore_eos_applied"] is False
        assert "1.2.3" in res.extra["note"]
    assert res.perf.decode_tokens == res.n_tokens


def test_eos_respected_when_loaded_without_ignore_eos(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_EOS_AFTER", "3")
    with _open(fake_rkllm, ignore_eos=False) as llm:
        res = llm.generate(prompt="x", max_new_tokens=8, ignore_eos=False)
    assert res.n_tokens == 3 and res.final_state == "finish"
    if fake_rkllm.abi == "1.3.0":
        assert fake_rkllm.logged()["init.ignore_eos_token"] == "0"


def test_fewer_tokens_than_loaded(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_TOKEN_DELAY_MS", "5")
    with _open(fake_rkllm, max_new_tokens=40) as llm:
        res = llm.generate(prompt="x", max_new_tokens=4)
    assert res.n_tokens == 4 and res.final_state == "length" and res.token_ids == [100, 101, 102, 103]
    if fake_rkllm.abi == "1.3.0":  # per-run max_new_tokens in RKLLMInferParam
        assert fake_rkllm.abort_count() == 0 and fake_rkllm.logged()["run.generated"] == "4"
    else:  # 1.2.3: cut by rkllm_abort once the 4th token arrived
        assert fake_rkllm.abort_count() >= 1 and res.extra["stopped_by_abort_at_limit"] is True
        assert 4 <= int(fake_rkllm.logged()["run.generated"]) < 40
        # no RUN_FINISH after an abort: no runtime counters, none invented (or, if the run ended
        # before the abort landed, the mismatch is noted)
        assert res.perf.decode_tokens is None or "runtime_perf_note" in res.extra


def test_set_max_new_tokens_gives_exact_runtime_counters(fake_rkllm):
    with _open(fake_rkllm, max_new_tokens=40) as llm:
        reloaded = llm.set_max_new_tokens(4)
        assert reloaded is (fake_rkllm.abi == "1.2.3") and llm.set_max_new_tokens(4) is False
        res = llm.generate(prompt="x", max_new_tokens=4)
        assert res.n_tokens == 4 and res.perf.decode_tokens == 4 and fake_rkllm.abort_count() == 0
        assert llm.max_new_tokens == 4 and fake_rkllm.live_handles() == 1
    inits = [line for line in fake_rkllm.log_lines() if line.startswith("init.max_new_tokens=")]
    if fake_rkllm.abi == "1.2.3":  # fixed at load: the model was re-initialised, each handle destroyed once
        assert inits == ["init.max_new_tokens=40", "init.max_new_tokens=4"] and fake_rkllm.destroy_count() == 2
    else:  # per-run value in RKLLMInferParam: no reload
        assert inits == ["init.max_new_tokens=40"] and fake_rkllm.destroy_count() == 1
        assert fake_rkllm.logged()["run.infer_max_new_tokens"] == "4"


def test_more_tokens_than_loaded_refused_on_123(fake_rkllm):
    with _open(fake_rkllm, max_new_tokens=8) as llm:
        if fake_rkllm.abi == "1.2.3":
            with pytest.raises(RklabError) as err:
                llm.generate(prompt="x", max_new_tokens=9)
            assert "max_new_tokens" in _one_line(err.value)
        else:
            assert llm.generate(prompt="x", max_new_tokens=9).n_tokens == 9


# --------------------------------------------------------------------------- failures


def test_run_error_at_token_k_raises_with_context(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_ERROR_AT", "3")
    with _open(fake_rkllm) as llm, pytest.raises(RKLLMRunError) as err:
        llm.generate(prompt="x", max_new_tokens=8)
    msg = _one_line(err.value)
    assert "RUN_ERROR" in msg and "after 3 tokens" in msg and str(fake_rkllm.model) in msg
    assert fake_rkllm.abi in msg
    assert isinstance(err.value, RuntimeError) and isinstance(err.value, RklabError)


def test_nonzero_return_raises(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_RUN_FAIL", "1")
    with _open(fake_rkllm) as llm, pytest.raises(RKLLMRunError) as err:
        llm.generate(token_ids=[1, 2], max_new_tokens=2)
    assert "returned -1" in _one_line(err.value) and "token_ids input" in str(err.value)


def test_init_failure_is_one_clear_line(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_INIT_FAIL", "1")
    with pytest.raises(RKLLMRunError) as err:
        _open(fake_rkllm)
    msg = _one_line(err.value)
    assert "rkllm_init returned -1" in msg and str(fake_rkllm.model) in msg and "free -m" in msg
    gc.collect()
    assert fake_rkllm.destroy_count() == 0


def test_destroy_exactly_once(fake_rkllm):
    with _open(fake_rkllm) as llm:
        llm.generate(prompt="x", max_new_tokens=2)
        assert fake_rkllm.live_handles() == 1
    llm.close()
    llm.close()
    del llm
    gc.collect()
    assert fake_rkllm.destroy_count() == 1 and fake_rkllm.live_handles() == 0
    assert fake_rkllm.log_lines().count("destroy=1") == 1


def test_unclosed_backend_destroyed_once_when_collected(fake_rkllm):
    llm = _open(fake_rkllm)
    llm.generate(prompt="x", max_new_tokens=1)
    del llm
    gc.collect()
    assert fake_rkllm.destroy_count() == 1


def test_generate_after_close_refused(fake_rkllm):
    llm = _open(fake_rkllm)
    llm.close()
    with pytest.raises(RklabError, match="closed"):
        llm.generate(prompt="x", max_new_tokens=1)


def _after_first_token(llm, act) -> threading.Thread:
    """A thread (not started) that calls ``act()`` once ``llm``'s run has produced a token; polls
    instead of using a timer, which a slow start of generate() would race. Gives up after 5 s."""
    def poll():
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            run = llm._run
            if run is not None and run.token_ns:
                act()
                return
            time.sleep(0.005)

    return threading.Thread(target=poll)


def test_abort_from_another_thread(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_TOKEN_DELAY_MS", "20")
    with _open(fake_rkllm, max_new_tokens=200) as llm:
        aborter = _after_first_token(llm, llm.abort)
        aborter.start()
        res = llm.generate(prompt="x", max_new_tokens=200)
        aborter.join()
        assert res.final_state == "aborted" and 1 <= res.n_tokens < 200
        assert fake_rkllm.logged()["run.end"] == "aborted" and fake_rkllm.abort_count() >= 1
        monkeypatch.setenv("FAKE_RKLLM_TOKEN_DELAY_MS", "0")
        again = llm.generate(prompt="x", max_new_tokens=3)  # the abort does not leak into the next run
        assert again.final_state == "length" and again.n_tokens == 3


def test_ctrl_c_calls_rkllm_abort(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_TOKEN_DELAY_MS", "20")
    with _open(fake_rkllm, max_new_tokens=200) as llm:
        interrupter = _after_first_token(llm, lambda: os.kill(os.getpid(), signal.SIGINT))  # Ctrl-C
        with pytest.raises(KeyboardInterrupt):
            interrupter.start()
            llm.generate(prompt="x", max_new_tokens=200)
        interrupter.join()
        log = fake_rkllm.logged()
        assert fake_rkllm.abort_count() >= 1 and log["run.end"] == "aborted" and int(log["run.generated"]) < 200
    assert fake_rkllm.destroy_count() == 1


def test_exactly_one_input_kind(fake_rkllm):
    with _open(fake_rkllm) as llm:
        with pytest.raises(RklabError, match="exactly one"):
            llm.generate(max_new_tokens=1)
        with pytest.raises(RklabError, match="exactly one"):
            llm.generate(prompt="x", token_ids=[1], max_new_tokens=1)
        with pytest.raises(RklabError, match="2-D"):
            llm.generate(embeddings=np.zeros(8, np.float32), max_new_tokens=1)
        assert llm.tokenize("hello") is None


# --------------------------------------------------------------------------- prompt length


def test_token_input_longer_than_context_refused(fake_rkllm):
    with _open(fake_rkllm, max_context=256) as llm, pytest.raises(RklabError) as err:
        llm.generate(token_ids=list(range(300)), max_new_tokens=8)
    msg = _one_line(err.value)
    assert "300 tokens" in msg and "max_context 256" in msg and "larger max_context" in msg
    assert "run.input_type" not in fake_rkllm.logged()  # refused before the runtime saw it


def test_huge_text_prompt_refused_before_run(fake_rkllm):
    with _open(fake_rkllm, max_context=256) as llm, pytest.raises(RklabError) as err:
        llm.generate(prompt="x" * (rk.MAX_BYTES_PER_TOKEN * 300), max_new_tokens=8)
    assert "max_context 256" in _one_line(err.value)
    assert "run.input_type" not in fake_rkllm.logged()


def test_text_prompt_the_runtime_finds_too_long(fake_rkllm):
    with _open(fake_rkllm, max_context=256) as llm, pytest.raises(RKLLMRunError) as err:
        llm.generate(prompt="a " * 300, max_new_tokens=8)  # 300 tokens for the fake
    msg = _one_line(err.value)
    assert "max_context 256" in msg and "shorten it" in msg
    assert fake_rkllm.logged()["run.end"] == "context"


# --------------------------------------------------------------------------- model file


@pytest.mark.parametrize("content,expect", [(b"GGUF" + b"\0" * 64, "gguf"), (b"hello, not a model\n" * 8, "text")])
def test_wrong_model_format_refused(fake_rkllm, tmp_path, content, expect):
    bad = tmp_path / "model.rkllm"
    bad.write_bytes(content)
    with pytest.raises(ModelFileError) as err:
        RKLLM(bad)
    assert expect in _one_line(err.value) and ".rkllm" in str(err.value)
    assert "init.model_path" not in fake_rkllm.logged()


def test_missing_model_refused(fake_rkllm, tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        RKLLM(tmp_path / "nope.rkllm")


# --------------------------------------------------------------------------- library and version


def test_cpu_mask_validation(fake_rkllm):
    with _open(fake_rkllm, cpu_mask=0x0F):
        pass
    assert fake_rkllm.logged()["init.enabled_cpus_mask"] == "15"
    with pytest.raises(RklabError, match="cpu_mask"):
        _open(fake_rkllm, cpu_mask=0)


def test_missing_library_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv("RKLLM_LIB", raising=False)
    monkeypatch.setattr(loader, "SEARCH_DIRS", (str(tmp_path),))
    monkeypatch.setattr(loader, "_find_in_linker_path", lambda: None)
    with pytest.raises(RuntimeLibraryError) as err:
        rk.find_library()
    msg = _one_line(err.value)
    assert "librkllmrt.so not found" in msg and str(tmp_path) in msg
    assert "rkllm-runtime/Linux/librkllm_api/aarch64/librkllmrt.so" in msg and "RKLLM_LIB" in msg
    monkeypatch.setenv("RKLLM_LIB", str(tmp_path / "missing.so"))
    with pytest.raises(RuntimeLibraryError, match="RKLLM_LIB=.*missing.so does not exist"):
        rk.find_library()


def test_library_found_in_standard_folder(monkeypatch, tmp_path, fake_rkllm_libs):
    monkeypatch.delenv("RKLLM_LIB", raising=False)
    shutil.copy(fake_rkllm_libs["1.2.3"], tmp_path / "librkllmrt.so")
    monkeypatch.setattr(loader, "SEARCH_DIRS", ("/nonexistent", str(tmp_path)))
    assert rk.find_library() == tmp_path / "librkllmrt.so"


@pytest.mark.parametrize("arch", [183, 40])
def test_wrong_architecture_refused(fake_rkllm, tmp_path, arch):
    """Rockchip ships aarch64 and armhf builds only: on a PC the advice is the board, never another build."""
    data = bytearray(fake_rkllm.lib.read_bytes())
    host = loader.HOST_MACHINES.get(platform.machine().lower(), 62)
    other = arch if arch != host else 62
    data[18:20] = other.to_bytes(2, "little")
    if other == 40:
        data[4] = 1  # ELFCLASS32, as an armhf library
    lib = tmp_path / "librkllmrt.so"
    lib.write_bytes(bytes(data))
    with pytest.raises(RuntimeLibraryError) as err:
        RKLLM(fake_rkllm.model, library=lib)
    msg = _one_line(err.value)
    assert f"built for {loader.ELF_MACHINES[other]}" in msg and platform.machine().lower() in msg
    assert "x86_64 build" not in msg
    if host not in loader.ROCKCHIP_BUILDS:  # a PC
        assert "only for aarch64 and armhf" in msg and "--backend llamacpp" in msg


def test_not_an_elf_refused(tmp_path):
    junk = tmp_path / "librkllmrt.so"
    junk.write_bytes(b"#!/bin/sh\necho not a library\n")
    with pytest.raises(RuntimeLibraryError, match="not an ELF shared library"):
        rk.load_library(junk)


def test_library_without_rkllm_symbols_refused(tmp_path, fake_rkllm_libs, monkeypatch):
    src = tmp_path / "other.c"
    src.write_text('const char banner[] = "rkllm-runtime version: 1.3.0";\nint unrelated(void) { return 0; }\n')
    lib = tmp_path / "libother.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    monkeypatch.delenv("RKLLM_VERSION", raising=False)
    with pytest.raises(RuntimeLibraryError, match="does not export rkllm_createDefaultParam"):
        rk.load_library(lib)


# --------------------------------------------------------------------------- ABI by layout, banner, driver


def test_abi_detected_by_layout_on_the_fake_built_from_each_real_header(fake_rkllm_libs, monkeypatch):
    """rkllm_createDefaultParam into a sentinel-filled 1 KiB buffer: bytes written + documented defaults."""
    monkeypatch.delenv("RKLLM_VERSION", raising=False)
    expect = {"1.2.3": (208, 88), "1.3.0": (184, 60)}
    for abi, lib in fake_rkllm_libs.items():
        rt = rk.load_library(lib)
        fp = rt.fingerprint
        size, ext = expect[abi]
        assert (rt.release, rt.release_source, fp.bytes_written) == (abi, "layout fingerprint", size)
        assert fp.release == abi and fp.how.startswith("layout:")
        # every documented default sits where this release's header puts it ...
        assert fp.matched(abi) == [f"{f}@{o}" for f, o in (
            ("top_k", 16), ("top_p", 24), ("temperature", 28), ("repeat_penalty", 32), ("frequency_penalty", 36),
            ("presence_penalty", 40), ("mirostat_tau", 48), ("mirostat_eta", 52), ("extend_param.base_domain_id", ext),
            ("extend_param.enabled_cpus_num", ext + 5), ("extend_param.n_batch", ext + 12))]
        # ... and the other release's extend_param offsets miss enabled_cpus_num and n_batch
        other = "1.3.0" if abi == "1.2.3" else "1.2.3"
        assert not any(m.startswith(("extend_param.enabled_cpus_num", "extend_param.n_batch")) for m in fp.matched(other))
        assert rt.binding.RELEASE == abi and rt.lib.rkllm_createDefaultParam.restype is rt.binding.RKLLMParam


def test_fingerprint_decoding_from_synthetic_buffers():
    """The decoder alone: bytes written are exact (two sentinels), the tail padding may stay unwritten."""
    from rklab.measure.runtimes import rkllm_h_1_2_3 as h123, rkllm_h_1_3_0 as h130

    def probe(h, size_written, fill_defaults=True):
        bufs = []
        for sent in loader.SENTINELS:
            raw = bytearray([sent]) * loader.PROBE_SIZE
            p = h.RKLLMParam()
            if fill_defaults:
                p.top_k, p.top_p, p.temperature, p.repeat_penalty, p.mirostat_tau, p.mirostat_eta = 40, 0.9, 0.8, 1.1, 5.0, 0.1
                p.extend_param.enabled_cpus_num, p.extend_param.n_batch = 4, 1
            raw[:size_written] = bytes(p)[:size_written]
            bufs.append(bytes(raw))
        return loader.read_fingerprint(*bufs)

    assert probe(h130, 180).bytes_written == 184 and probe(h130, 180).release == "1.3.0"  # tail pad unwritten
    assert probe(h123, 208).release == "1.2.3"
    fp = probe(h130, 184, fill_defaults=False)  # zeros where the defaults should be: no release
    assert fp.release is None and "match no supported release" in fp.how
    assert loader.read_fingerprint(b"\xa5" * 64, b"\x5a" * 64).bytes_written == 0
    # a byte equal to one sentinel still counts as written (it differs from the other)
    assert loader.read_fingerprint(b"\xa5\xa5", b"\xa5\x5a").bytes_written == 8


def test_undetectable_layout_asks_for_rkllm_version(fake_rkllm_libs, monkeypatch, tmp_path):
    monkeypatch.delenv("RKLLM_VERSION", raising=False)
    monkeypatch.setattr(loader, "call_struct_returning", lambda *a: (_ for _ in ()).throw(OSError("no libffi")))
    loader._PROBED.clear()
    try:
        with pytest.raises(RuntimeLibraryError) as err:
            rk.load_library(fake_rkllm_libs["1.3.0"])
        msg = _one_line(err.value)
        assert "cannot tell which rkllm.h release" in msg and "no libffi" in msg and "set RKLLM_VERSION" in msg
        assert "rkllm-runtime version" not in msg  # the old, false message of a string search
        monkeypatch.setenv("RKLLM_VERSION", "1.3.0")
        assert rk.load_library(fake_rkllm_libs["1.3.0"]).release_source == "env RKLLM_VERSION"
    finally:
        loader._PROBED.clear()


def test_rkllm_version_env_wins_with_a_warning_when_the_layout_disagrees(fake_rkllm, monkeypatch):
    other = "1.3.0" if fake_rkllm.abi == "1.2.3" else "1.2.3"
    monkeypatch.setenv("RKLLM_VERSION", other)
    with pytest.warns(RuntimeWarning, match=f"RKLLM_VERSION={other} but .* has the {fake_rkllm.abi} layout"):
        rt = rk.load_library(fake_rkllm.lib)
    assert (rt.release, rt.release_source) == (other, "env RKLLM_VERSION")
    monkeypatch.setenv("RKLLM_VERSION", "2.0.0")
    with pytest.raises(RuntimeLibraryError) as err:
        rk.load_library(fake_rkllm.lib)
    assert "RKLLM_VERSION=2.0.0" in _one_line(err.value) and "1.2.3, 1.3.0" in str(err.value)


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_banner_captured_at_init_and_recorded(fake_rkllm, monkeypatch, capfd, stream):
    """rkllm_init's banner is a format string filled at run time: rklab reads it from fd 1 / fd 2."""
    monkeypatch.setenv("FAKE_RKLLM_DRIVER", "0.9.8")
    monkeypatch.setenv("FAKE_RKLLM_PLATFORM", "RK3588")
    if stream == "stderr":
        monkeypatch.setenv("FAKE_RKLLM_BANNER_STDERR", "1")
    with _open(fake_rkllm) as llm:
        rec = llm.runtime_record
        assert llm.runtime_version == fake_rkllm.abi
    assert rec["reported_runtime_version"] == fake_rkllm.abi
    assert (rec["reported_driver_version"], rec["reported_platform"]) == ("0.9.8", "RK3588")
    assert rec["abi"] == fake_rkllm.abi and rec["abi_fingerprint"]["bytes_written"] in (184, 208)
    assert rec["warnings"] == []
    out, err = capfd.readouterr()
    assert "rkllm-runtime version: " + fake_rkllm.abi in err  # echoed for the user, not swallowed
    assert b"rkllm-runtime version: %s" in fake_rkllm.lib.read_bytes()  # no literal to search for


def test_banner_disagreeing_with_the_layout_warns(fake_rkllm, tmp_path, monkeypatch):
    lib = build_fake_rkllm(fake_rkllm.abi, tmp_path / "odd", version="1.2.2")
    with pytest.warns(RuntimeWarning, match=f"reports runtime 1.2.2 but rklab binds the {fake_rkllm.abi} header"):
        llm = RKLLM(fake_rkllm.model, library=lib, max_context=64, max_new_tokens=2)
    with llm:
        assert llm.runtime_version == "1.2.2" and llm.abi_release == fake_rkllm.abi
        assert llm.runtime_record["warnings"] and llm.generate(prompt="x", max_new_tokens=2).text == "tok0 tok1 "
    monkeypatch.setenv("RKLLM_VERSION", fake_rkllm.abi)  # agrees with the layout, not with the banner
    with pytest.warns(RuntimeWarning) as caught:
        RKLLM(fake_rkllm.model, library=lib, max_context=64, max_new_tokens=2).close()
    assert any(f"RKLLM_VERSION={fake_rkllm.abi} but the runtime reports 1.2.2" in str(w.message) for w in caught)


def test_old_npu_driver_refused_by_the_runtime_names_the_fix(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_DRIVER", "0.9.6")
    with pytest.raises(RKLLMRunError) as err:
        _open(fake_rkllm)
    msg = _one_line(err.value)
    assert "reports RKNPU driver 0.9.6, older than 0.9.7" in msg and "0.9.8" in msg
    assert fake_rkllm.live_handles() == 0


def test_old_npu_driver_refused_before_loading(fake_rkllm, tmp_path):
    from tests.fakes.sysfs import build_rk3588_tree

    tree = build_rk3588_tree(tmp_path / "board")
    tree.write("sys/kernel/debug/rknpu/version", "RKNPU driver: v0.9.6\n")
    with pytest.raises(RuntimeLibraryError) as err:
        _open(fake_rkllm, sys_root=tree.sys_root)
    assert "0.9.6 is older than 0.9.7" in _one_line(err.value)
    assert "init.model_path" not in fake_rkllm.logged()  # nothing was loaded
    tree.write("sys/kernel/debug/rknpu/version", "RKNPU driver: v0.9.7\n")
    with _open(fake_rkllm, sys_root=tree.sys_root) as llm:
        assert llm.host_driver_version == "0.9.7" and "0.9.8 is recommended" in llm.runtime_record["warnings"][0]


def test_every_header_function_is_callable_on_the_fake(fake_rkllm):
    """All 15 functions are bound with the header's types (LoRA, prompt cache, tools, cross-attention too)."""
    with _open(fake_rkllm) as llm:
        lib, h, handle = llm._lib, llm._h, llm._handle
        assert set(h.FUNCTIONS) <= {n for n in h.FUNCTIONS if getattr(lib, n).argtypes is not None}
        lora = h.RKLLMLoraAdapter(b"/tmp/a.lora", b"a", 1.0)
        assert lib.rkllm_load_lora(handle, rk.ctypes.byref(lora)) == 0
        assert lib.rkllm_load_prompt_cache(handle, b"/tmp/cache.bin") == 0
        assert lib.rkllm_release_prompt_cache(handle) == 0
        assert lib.rkllm_set_function_tools(handle, b"sys", b"[]", b"tool_response") == 0
        xattn = h.RKLLMCrossAttnParam(num_tokens=3)
        assert lib.rkllm_set_cross_attn_params(handle, rk.ctypes.byref(xattn)) == 0
        assert lib.rkllm_set_chat_template(handle, b"", b"<u>", b"<a>") == 0
        sizes = (rk.ctypes.c_int * 1)()
        assert lib.rkllm_get_kv_cache_size(handle, sizes) == 0
        assert lib.rkllm_is_running(handle) == {"1.2.3": 1, "1.3.0": 0}[fake_rkllm.abi]  # idle, per each header
    log = fake_rkllm.logged()
    assert log["load_lora"] == "/tmp/a.lora" and log["function_tools.response"] == "tool_response"
    assert log["cross_attn.num_tokens"] == "3" and log["chat_template.prefix"] == "<u>"


def test_multimodal_without_any_tags_refused(fake_rkllm):
    mm = MultimodalInput(prompt="<image>x", image_embed=np.zeros((4, 8), np.float32))
    with _open(fake_rkllm) as llm, pytest.raises(RklabError) as err:
        llm.generate(multimodal=mm, max_new_tokens=1)
    assert "img_content" in _one_line(err.value) and "<|vision_start|>" in str(err.value)
    assert "run.input_type" not in fake_rkllm.logged()


def test_out_of_range_counts_say_the_range():
    from rklab.measure.runtimes.rkllm import _positive_int

    with pytest.raises(RklabError) as exc:
        _positive_int("max_context", 3_000_000_000)
    assert str(exc.value) == ("max_context=3000000000 is not allowed; give a whole number from 1 to 2147483647 "
                              "(the runtime takes it as a C int)")
