"""No cache may flatter a measurement (issue 9, point 4).

The fake librkllmrt.so simulates the runtime's automatic prefix cache in its worst case (a run
whose leading input equals the previous run's is not prefilled again, even with keep_history 0,
until rkllm_clear_kv_cache). These tests show that the cache is real in the fake, that rklab's two
protections (an empty KV cache before every run, a per-run prefix in the first tokens) each keep
it from serving a repetition, and that ``cache_suspected`` flags a flattered repetition. Taking
either protection out of the protocol makes ``test_protocol_runs_never_hit_the_prefix_cache`` fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from rklab.measure import cachecheck, protocol
from rklab.measure.protocol import BenchConfig, run_llm_benchmark
from rklab.measure.prompts import RUN_PREFIX_WORDS, run_prefix
from rklab.measure.runtimes.base import MultimodalInput
from rklab.measure.runtimes.rkllm import RKLLM
from tests.fakes.backend import ScriptedBackend

US_PER_TOKEN = "1500"  # the fake's prefill cost per uncached prompt token


def _runs_in_log(lines: list[str]) -> list[dict]:
    """The fake's log cut into one dict per rkllm_run (with the clear_kv_cache calls before it)."""
    runs, cleared = [], 0
    for line in lines:
        key, _, value = line.partition("=")
        if key == "clear_kv_cache":
            cleared += 1
        elif key == "run.input_type":
            runs.append({"cleared_before": cleared})
            cleared = 0
        elif key.startswith("run.") and runs:
            runs[-1][key[4:]] = value
    return runs


def test_the_fake_runtime_has_a_prefix_cache(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_PREFILL_US_PER_TOKEN", US_PER_TOKEN)
    prompt = " ".join(f"w{i}" for i in range(40))
    with RKLLM(fake_rkllm.model, max_context=256, max_new_tokens=2) as llm:
        cold = llm.generate(prompt=prompt, max_new_tokens=2)
        warm = llm.generate(prompt=prompt, max_new_tokens=2)  # the same input again: served from the cache
        half = llm.generate(prompt=" ".join(prompt.split()[:20] + ["x"] * 20), max_new_tokens=2)
        assert llm.clear_cache() is True
        after_clear = llm.generate(prompt=prompt, max_new_tokens=2)
    logged = _runs_in_log(fake_rkllm.log_lines())
    assert [r["cached_tokens"] for r in logged] == ["0", "40", "20", "0"]
    assert warm.ttft_ms < cold.ttft_ms / 3 and after_clear.ttft_ms > warm.ttft_ms * 3
    assert cachecheck.cache_flags(warm.ttft_ms, [cold.ttft_ms])["cache_suspected"] is True
    assert cachecheck.cache_flags(after_clear.ttft_ms, [cold.ttft_ms])["cache_suspected"] is False
    assert half.ttft_ms < cold.ttft_ms


def test_protocol_runs_never_hit_the_prefix_cache(fake_rkllm, monkeypatch):
    monkeypatch.setenv("FAKE_RKLLM_PREFILL_US_PER_TOKEN", US_PER_TOKEN)
    with RKLLM(fake_rkllm.model, max_context=256, max_new_tokens=4) as llm:
        res = run_llm_benchmark(llm, BenchConfig(cases=[(32, 4)], warmup=1, reps=4, adaptive=False), progress=False)
    logged = _runs_in_log(fake_rkllm.log_lines())
    assert len(logged) == 5
    # protection 1: the whole KV cache is emptied before every run, warm-up included
    assert all(r["cleared_before"] == 1 for r in logged)
    assert [ln for ln in fake_rkllm.log_lines() if ln.startswith("clear_kv_cache=")] == ["clear_kv_cache=0"] * 5
    # protection 2: consecutive inputs differ in their first word
    firsts = [r["prompt"].split()[0] for r in logged]
    assert all(a != b for a, b in zip(firsts, firsts[1:])) and firsts[0] == RUN_PREFIX_WORDS[0]
    # ... so no run was served from the cache, and no repetition looks cached
    assert [r["cached_tokens"] for r in logged] == ["0"] * 5
    assert [r["kv_cache_cleared"] for r in res.runs] == [True] * 4
    assert [r["cache_prefix"] for r in res.runs] == [run_prefix(n) for n in range(1, 5)]
    assert res.warmups[0]["cache_prefix"] == run_prefix(0)
    assert res.runs[0]["cache_suspected"] is None  # nothing earlier to compare with
    assert all(r["cache_suspected"] is False for r in res.runs[1:])


@pytest.mark.parametrize("remove", ["clear", "prefix", "both"])
def test_without_the_protections_the_cache_flatters(fake_rkllm, monkeypatch, remove):
    """What the test above guards against: with a protection removed the fake serves runs from its cache."""
    monkeypatch.setenv("FAKE_RKLLM_PREFILL_US_PER_TOKEN", US_PER_TOKEN)
    if remove in ("clear", "both"):
        monkeypatch.setattr(protocol, "clear_cache", lambda backend: None)
    if remove in ("prefix", "both"):
        monkeypatch.setattr(protocol, "run_prefix", lambda n: "")
    with RKLLM(fake_rkllm.model, max_context=256, max_new_tokens=4) as llm:
        res = run_llm_benchmark(llm, BenchConfig(cases=[(32, 4)], warmup=1, reps=4, adaptive=False), progress=False)
    cached = [int(r["cached_tokens"]) for r in _runs_in_log(fake_rkllm.log_lines())]
    if remove == "both":
        assert cached[0] == 0 and all(c > 20 for c in cached[1:])  # every repetition after the first prefill
        assert res.runs[0]["cache_suspected"] is None
        assert cachecheck.suspected_count(res.runs) >= 1  # the flattered repetitions are flagged
        first_measured = res.runs[0]["prefill_ms"]
        assert all(r["prefill_ms"] < first_measured for r in res.runs[1:])
    else:  # one protection alone still keeps the cache out
        assert cached == [0] * 5


def test_cache_flag_rule():
    flags = cachecheck.cache_flags
    assert flags(70.0, [100.0, 100.0, 110.0])["cache_suspected"] is True  # 1.43x faster
    assert flags(80.0, [100.0, 100.0, 110.0])["cache_suspected"] is False  # 1.25x: noise, not a cache
    assert flags(100.0, [])["cache_suspected"] is None
    assert flags(None, [100.0])["cache_suspected"] is None
    assert "median 100.0 ms of 3 earlier" in flags(70.0, [100.0, 100.0, 110.0])["cache_check"]


def test_protocol_flags_a_flattered_repetition_on_any_backend():
    b = ScriptedBackend(ttft_ms=100.0)
    ttfts = iter([100.0, 100.0, 100.0, 60.0, 100.0])  # warm-up, reps 0..3

    real = b.generate

    def generate(**kw):
        b.ttft_ms = next(ttfts)
        return real(**kw)

    b.generate = generate
    res = run_llm_benchmark(b, BenchConfig(cases=[(16, 4)], warmup=1, reps=4, adaptive=False), progress=False)
    assert [r["cache_suspected"] for r in res.runs] == [None, False, True, False]
    assert [r["kv_cache_cleared"] for r in res.runs] == [None] * 4  # the scripted backend has no cache API
    # the token prompt begins (after its BOS) with the run's own prefix word
    assert [c["token_ids"][1] for c in b.calls] == [b.tokenize(run_prefix(n))[1] for n in range(5)]


def test_llamacpp_runs_start_empty_with_their_own_prefix(demo_gguf):
    from rklab.measure.runtimes.llamacpp import LlamaCpp

    with LlamaCpp(demo_gguf, max_context=256, n_threads=2) as llm:
        res = run_llm_benchmark(llm, BenchConfig(cases=[(24, 2)], warmup=1, reps=2, adaptive=False),
                                progress=False)
        assert llm.clear_cache() is True
        mem = llm._ll.llama_get_memory(llm._ctx)
        assert llm._ll.llama_memory_seq_pos_max(mem, 0) == -1  # empty
        prefixes = [llm.tokenize(run_prefix(n))[:3] for n in range(3)]
    assert [r["kv_cache_cleared"] for r in res.runs] == [True, True]
    assert len({tuple(p) for p in prefixes}) == 3  # the first tokens after BOS differ run to run


def test_multimodal_prefix_goes_before_the_image(fake_rkllm, monkeypatch):
    """1.3.0's multimodal cache reuse: the same image behind different first words is prefilled in full."""
    from rklab.measure.vlm import VlmPipeline

    monkeypatch.setenv("FAKE_RKLLM_PREFILL_US_PER_TOKEN", US_PER_TOKEN)
    embed = np.random.default_rng(0).standard_normal((16, 8)).astype(np.float32)
    with RKLLM(fake_rkllm.model, max_context=256, max_new_tokens=2, img_start="<s>", img_end="</s>",
               img_content="<p>") as llm:
        pipe = VlmPipeline.__new__(VlmPipeline)  # only multimodal_input() is used: no encoder needed
        pipe.image_hw = (448, 448)
        pipe.spec = type("S", (), {"img_start": "<s>", "img_end": "</s>", "img_content": "<p>"})()
        for n in range(3):
            llm.generate(multimodal=pipe.multimodal_input(embed, "<image>What is it?", run_prefix(n)),
                         max_new_tokens=2)
        for _ in range(2):  # no prefix, no clear: the second run is served from the cache
            llm.generate(multimodal=MultimodalInput(prompt="<image>What is it?", image_embed=embed,
                                                    img_content="<p>"), max_new_tokens=2)
    logged = _runs_in_log(fake_rkllm.log_lines())
    assert [r["prompt"] for r in logged[:3]] == [run_prefix(n) + "<image>What is it?" for n in range(3)]
    assert [r["cached_tokens"] for r in logged] == ["0", "0", "0", "0", str(16 + 3)]
