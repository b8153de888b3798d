"""What every backend returns, and the interface the benchmark protocol drives.

Both the RKLLM (NPU) and llama.cpp (CPU) backends fill the same
:class:`GenerationResult`, so one harness measures both.
Timestamps are ``time.perf_counter_ns()`` values taken inside the runtime's
token callback (RKLLM) or right after each token is produced (llama.cpp).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np


@dataclass
class RuntimePerf:
    """The runtime's own counters for one generation (RKLLMPerfStat / llama.cpp perf context)."""

    prefill_ms: float | None = None
    prefill_tokens: int | None = None
    decode_ms: float | None = None
    decode_tokens: int | None = None
    memory_mb: float | None = None  # RKLLM: documented as process VmHWM

    @property
    def prefill_tps(self) -> float | None:
        if self.prefill_ms and self.prefill_tokens:
            return self.prefill_tokens / (self.prefill_ms / 1000.0)
        return None

    @property
    def decode_tps(self) -> float | None:
        if self.decode_ms and self.decode_tokens:
            return self.decode_tokens / (self.decode_ms / 1000.0)
        return None


@dataclass
class GenerationResult:
    """One generation: text, per-token timestamps and the runtime's own perf block."""

    text: str
    token_ids: list[int]
    start_ns: int  # perf_counter_ns() just before the runtime call
    token_ns: list[int]  # perf_counter_ns() of each generated token, in order
    end_ns: int  # perf_counter_ns() when the runtime call returned
    prompt_tokens: int | None
    perf: RuntimePerf = field(default_factory=RuntimePerf)
    final_state: str = "finish"  # finish | error | aborted | length
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_tokens(self) -> int:
        return len(self.token_ns)

    @property
    def ttft_ms(self) -> float | None:
        """Wall time from the call to the first generated token."""
        if not self.token_ns:
            return None
        return (self.token_ns[0] - self.start_ns) / 1e6

    @property
    def decode_tps(self) -> float | None:
        """(N-1) / (t_last - t_first): excludes TTFT, as MLPerf/vLLM define it."""
        if len(self.token_ns) < 2:
            return None
        span = (self.token_ns[-1] - self.token_ns[0]) / 1e9
        return (len(self.token_ns) - 1) / span if span > 0 else None

    @property
    def e2e_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6

    def token_offsets_ms(self) -> list[float]:
        """Token timestamps relative to the call, in ms."""
        return [(t - self.start_ns) / 1e6 for t in self.token_ns]


IMAGE_PLACEHOLDER = "<image>"  # where a multimodal prompt puts the image (both runtimes expand it)


@dataclass
class MultimodalInput:
    """Image embeddings plus a prompt holding the literal ``<image>`` placeholder."""

    prompt: str
    image_embed: np.ndarray  # float32, shape (n_image_tokens, width)
    n_image: int = 1
    image_width: int = 448
    image_height: int = 448
    img_start: str = ""
    img_end: str = ""
    img_content: str = ""

    @property
    def n_image_tokens(self) -> int:
        return int(self.image_embed.shape[0]) // max(self.n_image, 1)


class Backend(Protocol):
    """The interface :mod:`rklab.measure.protocol` drives."""

    name: str  # "rkllm" | "llamacpp"
    runtime_version: str
    model_path: str
    max_context: int

    def tokenize(self, text: str) -> list[int] | None:
        """Token ids for text, or None when the runtime cannot tokenize (RKLLM 1.2.3)."""

    def generate(
        self,
        *,
        prompt: str | None = None,
        token_ids: Sequence[int] | None = None,
        embeddings: np.ndarray | None = None,
        multimodal: MultimodalInput | None = None,
        max_new_tokens: int = 64,
        ignore_eos: bool = True,
    ) -> GenerationResult:
        """Run one generation from exactly one kind of input; raises RklabError/RuntimeError on failure."""

    def abort(self) -> None:
        """Ask a running generation to stop soon (thread-safe; RKLLM: rkllm_abort).

        The interrupted ``generate`` returns with ``final_state == "aborted"``.
        """

    def close(self) -> None:
        """Free the model; safe to call twice."""
