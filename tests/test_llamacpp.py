"""The llama.cpp backend on the real demo model (SmolLM2-135M, hidden 576)."""

import threading

import numpy as np
import pytest

from rklab.errors import ModelFileError, RklabError
from rklab.measure.runtimes.base import MultimodalInput
from rklab.measure.runtimes.factory import open_backend
from rklab.measure.runtimes.llamacpp import LlamaCpp

PROMPT = "The capital of France is Paris. The capital of Germany is"


@pytest.fixture(scope="module")
def llm(demo_gguf):
    b = LlamaCpp(demo_gguf, max_context=512, n_threads=1)
    yield b
    b.close()


def test_model_facts(llm):
    assert llm.name == "llamacpp"
    assert llm.hidden_size == 576
    assert llm.n_vocab == 49152
    assert llm.runtime_version.startswith("llama-cpp-python 0.3.")
    assert llm.n_threads >= 1


def test_greedy_is_deterministic_and_prompt_equals_token_ids(llm):
    ids = llm.tokenize(PROMPT)
    a = llm.generate(prompt=PROMPT, max_new_tokens=12)
    b = llm.generate(token_ids=ids, max_new_tokens=12)
    assert a.token_ids == b.token_ids
    assert a.text == b.text and "Berlin" in a.text
    assert a.prompt_tokens == len(ids)


def test_full_length_timestamps_and_runtime_counters(llm):
    ids = llm.tokenize(PROMPT)
    r = llm.generate(token_ids=ids, max_new_tokens=40, ignore_eos=True)
    assert r.n_tokens == 40 and len(r.token_ids) == 40
    assert r.final_state == "length"  # hit the limit: the same word as RKLLM uses
    assert r.start_ns < r.token_ns[0] and r.token_ns == sorted(r.token_ns) and r.token_ns[-1] <= r.end_ns
    assert r.perf.prefill_tokens == len(ids)
    assert r.perf.decode_tokens == 39  # first token comes from the prompt's logits
    assert r.perf.prefill_ms > 0 and r.perf.decode_ms > 0
    # the harness's wall-clock span contains the runtime's eval time of the same 39 tokens
    span_ms = (r.token_ns[-1] - r.token_ns[0]) / 1e6
    assert span_ms >= r.perf.decode_ms * 0.98
    assert r.perf.memory_mb is None


def test_counters_reset_per_generation(llm):
    llm.generate(prompt=PROMPT * 3, max_new_tokens=20)
    r = llm.generate(prompt="Hi", max_new_tokens=3)
    assert r.perf.prefill_tokens == len(llm.tokenize("Hi"))
    assert r.perf.decode_tokens == 2


def test_stop_at_eos_matches_the_forced_run(llm):
    chat = "<|im_start|>user\nSay hello.<|im_end|>\n<|im_start|>assistant\n"
    forced = llm.generate(prompt=chat, max_new_tokens=32, ignore_eos=True)
    eos_at = next((i for i, t in enumerate(forced.token_ids) if llm.is_eog(t)), None)
    natural = llm.generate(prompt=chat, max_new_tokens=32, ignore_eos=False)
    if eos_at is None:
        assert natural.token_ids == forced.token_ids and natural.final_state == "length"
    else:
        assert natural.token_ids == forced.token_ids[:eos_at + 1]
        assert natural.final_state == "finish"
    assert forced.n_tokens == 32


def test_embeddings_reproduce_token_generation(llm, demo_token_embeddings):
    ids = llm.tokenize(PROMPT)
    by_ids = llm.generate(token_ids=ids, max_new_tokens=10)
    embd = demo_token_embeddings(ids)
    assert embd.shape == (len(ids), 576) and embd.dtype == np.float32
    by_embd = llm.generate(embeddings=embd, max_new_tokens=10)
    assert by_embd.token_ids == by_ids.token_ids
    assert by_embd.prompt_tokens == len(ids)
    assert by_embd.perf.prefill_tokens == len(ids)


def test_multimodal_text_image_text(llm, demo_token_embeddings):
    ids = llm.tokenize(PROMPT)
    pre, mid_text, post = "The capital of France is", " Paris. The capital of", " Germany is"
    mid = llm.tokenize(mid_text, add_bos=False)
    assert llm.tokenize(pre) + mid + llm.tokenize(post, add_bos=False) == ids
    mm = MultimodalInput(prompt=f"{pre}<image>{post}", image_embed=demo_token_embeddings(mid))
    r = llm.generate(multimodal=mm, max_new_tokens=10)
    assert r.token_ids == llm.generate(token_ids=ids, max_new_tokens=10).token_ids
    assert r.extra["segments"] == [("tokens", 5), ("embd", len(mid)), ("tokens", 2)]


def test_multimodal_with_image_tags_inserts_them(llm):
    embd = np.zeros((4, 576), dtype=np.float32)
    mm = MultimodalInput(prompt="<image>What is it?", image_embed=embd, img_start="<|im_start|>", img_end="<|im_end|>")
    r = llm.generate(multimodal=mm, max_new_tokens=2)
    kinds = r.extra["segments"]
    assert kinds[0] == ("tokens", 1) and kinds[1] == ("embd", 4)
    assert r.prompt_tokens == 1 + 4 + len(llm.tokenize("<|im_end|>What is it?", add_bos=False))


def test_embedding_width_mismatch_names_both(llm):
    with pytest.raises(RklabError, match=r"width 2304 .* hidden size 576"):
        llm.generate(embeddings=np.zeros((3, 2304), dtype=np.float32), max_new_tokens=2)
    mm = MultimodalInput(prompt="<image>x", image_embed=np.zeros((3, 100), dtype=np.float32))
    with pytest.raises(RklabError, match=r"width 100 .* 576"):
        llm.generate(multimodal=mm, max_new_tokens=2)


def test_bad_generate_inputs(llm):
    with pytest.raises(RklabError, match="exactly one"):
        llm.generate(prompt="a", token_ids=[1], max_new_tokens=2)
    with pytest.raises(RklabError, match="placeholders"):
        llm.generate(multimodal=MultimodalInput(prompt="no image", image_embed=np.zeros((2, 576), np.float32)))
    with pytest.raises(RklabError, match="outside the vocabulary"):
        llm.generate(token_ids=[10 ** 6], max_new_tokens=2)
    with pytest.raises(RklabError, match="does not fit max_context 512"):
        llm.generate(token_ids=[1] * 500, max_new_tokens=64)
    # exactly filling the context is refused too, as on RKLLM (prompt + new must be < the context)
    with pytest.raises(RklabError, match="must be less than the context"):
        llm.generate(token_ids=[1] * 448, max_new_tokens=64)


def test_abort_from_another_thread(demo_gguf):
    with LlamaCpp(demo_gguf, max_context=4096, n_threads=1) as b:
        got = {}
        t = threading.Thread(target=lambda: got.setdefault("r", b.generate(prompt="Count:", max_new_tokens=4000)))
        t.start()
        while t.is_alive() and not got:
            b.abort()
            t.join(0.05)
        r = got["r"]
        assert r.final_state == "aborted"
        assert r.n_tokens < 4000
        again = b.generate(prompt="Count:", max_new_tokens=3)  # the flag is cleared for the next call
        assert again.n_tokens == 3 and again.final_state == "length"


def test_close_twice_and_use_after_close(demo_gguf):
    b = LlamaCpp(demo_gguf, max_context=128, n_threads=1)
    b.close()
    b.close()
    with pytest.raises(RklabError, match="closed"):
        b.generate(prompt="x", max_new_tokens=1)


def test_factory_demo_and_bad_files(tmp_path, demo_gguf):
    with open_backend("llamacpp", "demo", max_context=128, n_threads=1) as b:
        assert b.model_path == str(demo_gguf)
        assert b.generate(prompt="Hi", max_new_tokens=2).n_tokens == 2
    with pytest.raises(ModelFileError, match="does not exist"):
        open_backend("llamacpp", tmp_path / "missing.gguf")
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"\x00\x01garbage" * 200000)
    with pytest.raises(ModelFileError, match="not a GGUF"):
        open_backend("llamacpp", junk)
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF\x03\x00\x00\x00" + bytes(range(256)) * 8192)
    with pytest.raises(ModelFileError, match="llama.cpp could not load"):
        open_backend("llamacpp", corrupt)
    with pytest.raises(ModelFileError, match="not an .rkllm"):
        open_backend("rkllm", demo_gguf)
    with pytest.raises(RklabError, match="demo model is a GGUF"):
        open_backend("rkllm", "demo")
    with pytest.raises(RklabError, match="unknown backend"):
        open_backend("onnx", demo_gguf)


def test_default_threads_follow_physical_cores_and_affinity(monkeypatch):
    import os

    import psutil

    from rklab.measure.runtimes.llamacpp import physical_cores

    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 8 if not logical else 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    assert physical_cores() == 8
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {4, 5, 6, 7})  # taskset -c 4-7 on an RK3588
    assert physical_cores() == 4


def test_default_threads_use_the_big_cluster_of_an_rk3588(rk3588_tree, tmp_path, monkeypatch):
    import os

    from rklab.measure.runtimes.llamacpp import big_cores, default_threads, physical_cores

    sys_root = str(rk3588_tree.sys_root)
    assert big_cores(sys_root) == {4, 5, 6, 7}  # policy4 + policy6 (2.352 GHz) beat policy0 (1.8 GHz)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    assert default_threads(sys_root) == 4
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 6, 7})  # taskset -c 0,1,6,7
    assert default_threads(sys_root) == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})  # only little cores allowed
    assert default_threads(sys_root) == physical_cores()
    assert big_cores(str(tmp_path / "no-sys")) == set()  # a VM: no cpufreq, all cores alike
