"""Benchmark prompts of an exact token length.

Prefill cost depends on the number of prompt tokens, not on their meaning, so every
benchmark prompt is cut from one fixed English passage (written for rklab): tokenize the
passage (repeated as often as needed), then trim to exactly N tokens. The model's BOS
token, when it uses one, stays at position 0 and counts as one of the N.

Runtimes that cannot tokenize from Python (RKLLM 1.2.3: ``tokenize()`` returns None) get a
text prompt of roughly N tokens (:func:`approx_text_prompt`); the harness then records
the runtime's own ``prefill_tokens`` as the prompt length (``prompt_tokens_source =
"runtime"``) and recalibrates the text length after each warmup run.

Every run's prompt starts with :func:`run_prefix` (``"<word> <n>: "``, counted inside the N
tokens), so consecutive runs differ in their first tokens: a runtime that reuses a matching
prompt prefix from its KV cache (RKLLM since 1.2.0, llama-cpp-python's ``Llama``) cannot make a
repetition's prefill look faster than it is. A model's BOS token still comes first.
"""

from __future__ import annotations

from typing import Callable, Sequence

from rklab.errors import RklabError
from rklab.paths import data_dir


def prompt_file(name: str) -> str:
    """A prompt text from data/prompts/ (read once, at import)."""
    return (data_dir() / "prompts" / name).read_text(encoding="utf-8")


BASE_TEXT = prompt_file("benchmark_passage.txt")  # data/prompts/: edit there
RUN_PREFIX_WORDS = tuple(prompt_file("run_prefixes.txt").split())
# English prose averages about 0.75 words per token with BPE vocabularies of 32k-150k entries.
WORDS_PER_TOKEN = 0.75


def exact_token_prompt(tokenize: Callable[[str], Sequence[int] | None], n_tokens: int,
                       text: str = BASE_TEXT) -> list[int]:
    """Exactly ``n_tokens`` token ids cut from ``text`` repeated (raises if ``tokenize`` returns None)."""
    n = int(n_tokens)
    if n < 1:
        raise RklabError(f"prompt length {n_tokens} must be at least 1 token")
    if not text.strip():
        raise RklabError("the prompt text is empty; give some text to cut the prompt from")
    reps = 1
    while True:
        ids = tokenize(text * reps)
        if ids is None:
            raise RklabError("this backend cannot tokenize; use approx_text_prompt() for it")
        ids = list(ids)
        if len(ids) >= n:
            return ids[:n]
        if not ids:
            raise RklabError("the tokenizer returned no tokens for the prompt text")
        # grow geometrically towards the target
        reps = max(reps + 1, int(reps * n / max(len(ids), 1)) + 1)


def approx_text_prompt(n_tokens: int, text: str = BASE_TEXT, words_per_token: float = WORDS_PER_TOKEN,
                       prefix: str = "") -> str:
    """Text of about ``n_tokens`` tokens: ``prefix`` then whole words from ``text`` repeated (prefix words count)."""
    n_words = max(1, round(int(n_tokens) * words_per_token))
    head = prefix.split()
    words = text.split()
    out = head[:n_words] + [words[i % len(words)] for i in range(max(n_words - len(head), 0))]
    return " ".join(out)


def run_prefix(n: int) -> str:
    """The prefix of the ``n``-th run of a benchmark: a first word that differs from run ``n - 1``'s, and ``n``."""
    return f"{RUN_PREFIX_WORDS[int(n) % len(RUN_PREFIX_WORDS)]} {int(n)}: "
