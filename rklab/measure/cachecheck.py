"""No cache may flatter a measurement: empty the KV cache before every run, flag suspiciously fast prefills.

Rockchip's CHANGELOGs list automatic prompt-cache reuse (1.2.0), automatic reuse of embedding
input (1.2.3) and a new multimodal cache-reuse strategy (1.3.0); llama-cpp-python's ``Llama``
also reuses a matching prefix of its KV cache. The protocol repeats one input many times, so a
repetition's TTFT could be a cache hit. rklab therefore, for every run (warm-ups included):

1. empties the KV cache first (:func:`clear_cache`: RKLLM ``rkllm_clear_kv_cache(handle, 0, NULL,
   NULL)``, as both releases declare it; llama.cpp ``llama_memory_clear``), recorded as
   ``kv_cache_cleared`` (True / False when the call failed / None when the backend has no cache);
2. starts the input with a per-run prefix (:func:`rklab.measure.prompts.run_prefix`; multimodal:
   before the image), so it differs from the previous run's in its first tokens; recorded as
   ``cache_prefix``;
3. flags ``cache_suspected`` (:func:`cache_flags`): the run's prefill was more than 30 % faster
   (prefill rate above 1.3x) than the median of the earlier measured repetitions of the same case
   (VLM: the same image). The first repetition has nothing to compare with (None). The flag is
   computed when the run is recorded, because records are never rewritten.
"""

from __future__ import annotations

import statistics

CACHE_SPEEDUP = 1.3  # prefill rate above this multiple of the median of the earlier repetitions


def clear_cache(backend) -> bool | None:
    """Empty the backend's KV cache; True/False for the call's outcome, None when it has no cache API."""
    clear = getattr(backend, "clear_cache", None)
    if clear is None:
        return None
    return bool(clear())


def cache_flags(prefill_ms: float | None, earlier_ms: list) -> dict:
    """``{"cache_suspected", "cache_check"}`` of one run against the earlier repetitions' prefill times."""
    ref = [float(x) for x in earlier_ms if isinstance(x, (int, float)) and x > 0]
    if not isinstance(prefill_ms, (int, float)) or prefill_ms <= 0 or not ref:
        return {"cache_suspected": None, "cache_check": None}
    median = statistics.median(ref)
    speedup = median / float(prefill_ms)
    return {"cache_suspected": speedup > CACHE_SPEEDUP,
            "cache_check": f"prefill {prefill_ms:.1f} ms vs median {median:.1f} ms of {len(ref)} earlier "
                           f"repetition(s): {speedup:.2f}x"}


def flag_run(run: dict, earlier: list[dict]) -> dict:
    """Add the cache flags to ``run`` (in place) from ``earlier`` runs of the same case/image; returns it."""
    run.update(cache_flags(run.get("prefill_ms"), [r.get("prefill_ms") for r in earlier]))
    return run


def suspected_count(runs: list[dict]) -> int:
    return sum(1 for r in runs if r.get("cache_suspected") is True)
