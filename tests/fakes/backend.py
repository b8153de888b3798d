"""A scripted Backend for protocol tests: known timestamps and counters, no model.

``generate`` returns a GenerationResult whose token times follow a schedule, so every
metric the protocol derives has an exact expected value. ``during`` is called inside
``generate`` (between the real start and end instants), e.g. to record monitor samples.
"""

from __future__ import annotations

import time

from rklab.measure.runtimes.base import GenerationResult, RuntimePerf


class ScriptedBackend:
    name = "scripted"
    runtime_version = "scripted 1.0"
    model_path = "/models/scripted.bin"

    def __init__(self, *, max_context=4096, ttft_ms=50.0, intervals_ms=(10.0,), can_tokenize=True,
                 runtime_prompt_overhead=0, words_per_token=0.75, during=None, abort_at_call=None,
                 memory_mb=None):
        self.max_context = max_context
        self.ttft_ms = ttft_ms
        self.intervals_ms = list(intervals_ms)  # decode interval per call (cycled)
        self.can_tokenize = can_tokenize
        self.runtime_prompt_overhead = runtime_prompt_overhead
        self.words_per_token = words_per_token
        self.during = during
        self.abort_at_call = abort_at_call
        self.memory_mb = memory_mb
        self.calls: list[dict] = []

    def tokenize(self, text):
        if not self.can_tokenize:
            return None
        return [1] + [100 + (hash(w) % 1000) for w in text.split()]

    def generate(self, *, prompt=None, token_ids=None, embeddings=None, multimodal=None,
                 max_new_tokens=64, ignore_eos=True):
        call = len(self.calls)
        interval = self.intervals_ms[call % len(self.intervals_ms)]
        if token_ids is not None:
            n_prompt = len(token_ids)
        else:
            n_prompt = round(len(prompt.split()) / self.words_per_token) + self.runtime_prompt_overhead
        self.calls.append({"prompt": prompt, "token_ids": token_ids, "max_new_tokens": max_new_tokens,
                           "ignore_eos": ignore_eos, "n_prompt": n_prompt})
        start = time.perf_counter_ns()
        if self.during:
            self.during()
        n = max_new_tokens
        state = "finish"
        if self.abort_at_call is not None and call == self.abort_at_call:
            n, state = max(1, max_new_tokens // 2), "aborted"
        first = start + int(self.ttft_ms * 1e6)
        token_ns = [first + int(i * interval * 1e6) for i in range(n)]
        end = max(time.perf_counter_ns(), token_ns[-1] + 1000)
        return GenerationResult(
            text="x" * n, token_ids=[7] * n, start_ns=start, token_ns=token_ns, end_ns=end,
            prompt_tokens=n_prompt if token_ids is not None else None,
            perf=RuntimePerf(prefill_ms=self.ttft_ms * 0.9, prefill_tokens=n_prompt,
                             decode_ms=(n - 1) * interval * 0.99, decode_tokens=n - 1, memory_mb=self.memory_mb),
            final_state=state,
        )

    def abort(self):
        pass

    def close(self):
        pass
