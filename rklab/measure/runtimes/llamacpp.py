"""llama.cpp CPU backend (through llama-cpp-python), filling the same result as RKLLM.

Why the low-level API: the high-level ``Llama.__call__`` hides when each token is
produced and stops at EOS. Here we drive ``llama_decode`` ourselves:

- the prompt (tokens, or embeddings in a batch with ``embd`` set) is decoded in chunks of
  ``n_batch`` with logits only for the last position;
- each new token is picked by greedy argmax over the last logits (deterministic; equal to
  llama.cpp's greedy sampler, without its per-token candidate-array cost), its
  ``time.perf_counter_ns()`` is taken right after, then it is decoded (one-token batch);
- EOS is ignored by default so every run generates exactly ``max_new_tokens``;
- every generation starts from an empty KV memory (``llama_memory_clear``), unlike the
  high-level ``Llama`` which reuses the longest matching prefix of the previous prompt;
  :meth:`LlamaCpp.clear_cache` does the same on the protocol's request before each run;
- the runtime's own counters come from llama.cpp's perf context (``t_p_eval_ms``,
  ``n_p_eval``, ``t_eval_ms``, ``n_eval``), reset at the start of each generation together
  with the KV memory, and split into prefill/decode at the first token (see
  :func:`_perf_totals`). With N generated tokens the runtime's decode covers N-1 tokens
  (the first comes from the prompt's logits), the same N-1 that rklab's wall-clock decode
  rate (N-1)/(t_last - t_first) uses.
"""

from __future__ import annotations

import ctypes
import threading
import time
from typing import Sequence

import numpy as np

from rklab.errors import ModelFileError, RklabError
from rklab.measure.runtimes.base import IMAGE_PLACEHOLDER, GenerationResult, MultimodalInput, RuntimePerf



def physical_cores() -> int:
    """Physical CPU cores this process may run on (one llama.cpp thread per physical core).

    Respects the CPU affinity mask, so ``taskset -c 4-7 rklab bench ...`` on an RK3588
    uses 4 threads on the A76 cluster.
    """
    import os

    try:
        import psutil

        n = psutil.cpu_count(logical=False)
    except Exception:  # pragma: no cover - psutil is a dependency
        n = None
    n = n or os.cpu_count() or 1
    try:
        n = min(n, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        pass
    return max(int(n), 1)


def big_cores(sys_root: str = "/sys") -> set[int]:
    """CPUs of the fastest cluster on a big.LITTLE SoC (RK3588: the A76 cores 4-7), read from
    cpufreq policies (``related_cpus`` + ``cpuinfo_max_freq``); empty when all cores are alike
    or cpufreq is not readable (a VM, most x86 machines)."""
    from pathlib import Path

    clusters: dict[int, set[int]] = {}
    for pol in Path(sys_root, "devices/system/cpu/cpufreq").glob("policy*"):
        try:
            mx = int((pol / "cpuinfo_max_freq").read_text().split()[0])
            cpus = {int(c) for c in (pol / "related_cpus").read_text().split()}
        except (OSError, ValueError, IndexError):
            continue
        clusters.setdefault(mx, set()).update(cpus)
    if len(clusters) < 2:
        return set()
    return clusters[max(clusters)]


def default_threads(sys_root: str = "/sys") -> int:
    """llama.cpp threads: one per big core this process may use on a big.LITTLE SoC (RK3588: 4,
    the A76 cluster; mixing in the slow A55 cores makes every token wait for them), else one
    per physical core. ``taskset -c 4-7`` additionally pins the threads to the A76 cores."""
    import os

    big = big_cores(sys_root)
    if big:
        try:
            allowed = os.sched_getaffinity(0)
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            allowed = big
        usable = big & allowed
        if usable:
            return len(usable)
    return physical_cores()


def _perf_totals(pc) -> tuple[float, int]:
    """(ms, tokens) evaluated so far by a context: prompt-eval plus eval counters.

    llama.cpp files a synchronised batch of one token under "eval" and a larger one under
    "prompt eval", so a one-token prompt would land in "eval". rklab therefore snapshots the
    totals when the first token's logits are ready: everything before is prefill, the
    rest decode. ``llama_perf_context`` reports ``max(1, n)``; a zero time means n = 0.
    """
    ms = float(pc.t_p_eval_ms) + float(pc.t_eval_ms)
    n = (int(pc.n_p_eval) if pc.t_p_eval_ms > 0 else 0) + (int(pc.n_eval) if pc.t_eval_ms > 0 else 0)
    return ms, n


class _LlamaLog:
    """Keeps llama.cpp's warning and error lines while a model loads.

    With ``verbose=False`` llama-cpp-python sends them nowhere, so a GGUF of an unknown architecture
    only raises "Failed to load model from file". This swaps in a log callback for the load (ggml log
    levels: 3 warn, 4 error) and puts llama-cpp-python's own callback back afterwards.
    """

    def __init__(self, llama_cpp):
        self._ll = llama_cpp
        self.lines: list[tuple[int, str]] = []

        @llama_cpp.llama_log_callback
        def keep(level, text, user_data):
            if level >= 3 and text:
                self.lines.append((int(level), text.decode("utf-8", errors="replace").strip()))

        self._callback = keep  # a reference, or ctypes frees the callback while llama.cpp holds it

    def __enter__(self):
        self._ll.llama_log_set(self._callback, ctypes.c_void_p(0))
        return self

    def __exit__(self, *exc):
        from llama_cpp import _logger  # llama-cpp-python's own callback (set when llama_cpp is imported)

        self._ll.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))
        return False

    def error(self) -> str:
        """The first error llama.cpp logged (``error loading model: unknown model architecture: 'x'``)."""
        for level, text in self.lines:
            if level == 4 and "error" in text:
                return text.split(": ", 1)[1] if text.startswith("llama_") and ": " in text else text
        return ""


class LlamaCpp:
    """A GGUF model on the CPU through llama.cpp.

    ``max_context`` is the llama.cpp context (prompt + new tokens must fit);
    ``n_threads`` defaults to :func:`default_threads` (on an RK3588 the 4 A76 cores; elsewhere
    the physical cores the process may use). ``seed`` is kept for the record: sampling is greedy.
    """

    name = "llamacpp"

    def __init__(self, model_path, *, max_context: int = 4096, n_threads: int | None = None, seed: int = 0,
                 n_batch: int = 512):
        try:
            import llama_cpp
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise RklabError("llama-cpp-python is not installed; run `make setup`") from exc
        self._ll = llama_cpp
        self.runtime_version = f"llama-cpp-python {llama_cpp.__version__}"
        self.model_path = str(model_path)
        self.max_context = int(max_context)
        if self.max_context < 8:
            raise RklabError(f"max_context {max_context} is too small; use at least a few hundred tokens")
        self.n_threads = int(n_threads or default_threads())
        self.seed = seed
        self.n_batch = int(min(n_batch, self.max_context))
        self._abort = threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        self._llama = None
        t0 = time.perf_counter_ns()
        try:
            with _LlamaLog(llama_cpp) as log:
                self._llama = llama_cpp.Llama(
                    model_path=self.model_path,
                    n_ctx=self.max_context,
                    n_batch=self.n_batch,
                    n_ubatch=self.n_batch,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    seed=seed,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as exc:
            said = log.error()
            if said:
                raise ModelFileError(
                    f"llama.cpp could not load {self.model_path}: {said}; use a GGUF of a model this llama.cpp "
                    f"({self.runtime_version}) supports, complete and unmodified") from exc
            raise ModelFileError(f"llama.cpp could not load {self.model_path} ({exc}); check that it is a complete GGUF file") from exc
        self.load_ms = (time.perf_counter_ns() - t0) / 1e6
        self._model = self._llama._model.model
        self._vocab = self._llama._model.vocab
        self._ctx = self._llama._ctx.ctx
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self.hidden_size = int(llama_cpp.llama_model_n_embd(self._model))
        self._add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self._vocab))
        self._tok_batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)

    # ------------------------------------------------------------------ helpers
    def tokenize(self, text: str, *, add_bos: bool | None = None) -> list[int]:
        """Token ids exactly as :meth:`generate` feeds ``prompt=text`` (BOS per the model, special tokens parsed)."""
        self._check_open()
        bos = self._add_bos if add_bos is None else add_bos
        return list(self._llama.tokenize(text.encode("utf-8"), add_bos=bos, special=True))

    def detokenize(self, token_ids: Sequence[int]) -> str:
        return self._llama.detokenize(list(token_ids)).decode("utf-8", errors="replace")

    def is_eog(self, token_id: int) -> bool:
        return bool(self._ll.llama_vocab_is_eog(self._vocab, int(token_id)))

    def clear_cache(self) -> bool:
        """Empty the KV memory (``llama_memory_clear``); :meth:`generate` starts from an empty one anyway."""
        self._check_open()
        with self._lock:
            self._ll.llama_memory_clear(self._ll.llama_get_memory(self._ctx), True)
        return True

    def abort(self) -> None:
        """Stop the running generation after the current token (thread-safe)."""
        self._abort.set()

    def close(self) -> None:
        """Free the batch, context and model; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._llama is not None:
            self._ll.llama_batch_free(self._tok_batch)
            self._llama.close()
            self._llama = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    def _check_open(self):
        if self._closed or self._llama is None:
            raise RklabError(f"the llama.cpp backend for {self.model_path} is closed; open it again")

    # ------------------------------------------------------------------ decoding
    def _decode_tokens(self, ids: Sequence[int], pos0: int, want_logits: bool) -> int:
        ll = self._ll
        b = self._tok_batch
        n = len(ids)
        for start in range(0, n, self.n_batch):
            chunk = ids[start:start + self.n_batch]
            b.n_tokens = len(chunk)
            for i, tok in enumerate(chunk):
                b.token[i] = int(tok)
                b.pos[i] = pos0 + start + i
                b.n_seq_id[i] = 1
                b.seq_id[i][0] = 0
                b.logits[i] = 0
            if want_logits and start + len(chunk) == n:
                b.logits[len(chunk) - 1] = 1
            self._check_rc(ll.llama_decode(self._ctx, b), "tokens")
        return pos0 + n

    def _decode_embeddings(self, embd: np.ndarray, pos0: int, want_logits: bool) -> int:
        ll = self._ll
        n, width = embd.shape
        pos = pos0
        for start in range(0, n, self.n_batch):
            chunk = np.ascontiguousarray(embd[start:start + self.n_batch], dtype=np.float32)
            m = chunk.shape[0]
            b = ll.llama_batch_init(m, width, 1)
            try:
                ctypes.memmove(b.embd, chunk.ctypes.data, chunk.nbytes)
                b.n_tokens = m
                for i in range(m):
                    b.pos[i] = pos + i
                    b.n_seq_id[i] = 1
                    b.seq_id[i][0] = 0
                    b.logits[i] = 0
                if want_logits and start + m == n:
                    b.logits[m - 1] = 1
                self._check_rc(ll.llama_decode(self._ctx, b), "embeddings")
            finally:
                ll.llama_batch_free(b)
            pos += m
        return pos

    def _check_rc(self, rc: int, what: str):
        if rc == 0:
            return
        if rc == 1:
            raise RklabError(f"llama.cpp found no KV slot for the {what} (context {self.max_context} too small); raise max_context")
        if rc == 2:
            raise RuntimeError("llama.cpp decode aborted")
        raise RuntimeError(f"llama_decode failed with code {rc} while decoding {what} of {self.model_path}")

    def _check_embeddings(self, arr, what: str) -> np.ndarray:
        a = np.asarray(arr)
        if a.ndim != 2:
            raise RklabError(f"{what} must be a 2-D float32 array (tokens, hidden), got shape {a.shape}")
        if a.shape[1] != self.hidden_size:
            raise RklabError(
                f"{what} width {a.shape[1]} does not match the LLM hidden size {self.hidden_size} of "
                f"{self.model_path}; the encoder must project to the LLM's hidden size"
            )
        if a.shape[0] == 0:
            raise RklabError(f"{what} has no rows; give at least one embedding")
        return np.ascontiguousarray(a, dtype=np.float32)

    def _prepare(self, prompt, token_ids, embeddings, multimodal):
        """Turn the one given input into a list of segments ("tokens", ids) / ("embd", array)."""
        given = [x is not None for x in (prompt, token_ids, embeddings, multimodal)]
        if sum(given) != 1:
            raise RklabError("generate() needs exactly one of prompt=, token_ids=, embeddings=, multimodal=")
        if prompt is not None:
            return [("tokens", self.tokenize(prompt))]
        if token_ids is not None:
            ids = [int(t) for t in token_ids]
            bad = [t for t in ids if not 0 <= t < self.n_vocab]
            if bad:
                raise RklabError(f"token id {bad[0]} is outside the vocabulary (0..{self.n_vocab - 1}) of {self.model_path}")
            return [("tokens", ids)]
        if embeddings is not None:
            return [("embd", self._check_embeddings(embeddings, "embeddings"))]
        return self._multimodal_segments(multimodal)

    def _multimodal_segments(self, mm: MultimodalInput):
        parts = mm.prompt.split(IMAGE_PLACEHOLDER)
        n_image = max(int(mm.n_image), 1)
        if len(parts) - 1 != n_image:
            raise RklabError(
                f"multimodal prompt has {len(parts) - 1} {IMAGE_PLACEHOLDER} placeholders but n_image is {n_image}; "
                f"put one {IMAGE_PLACEHOLDER} per image in the prompt"
            )
        embd = self._check_embeddings(mm.image_embed, "image embeddings")
        if embd.shape[0] % n_image:
            raise RklabError(f"image embeddings have {embd.shape[0]} rows, not a multiple of n_image={n_image}")
        per = embd.shape[0] // n_image
        segs: list = []
        for k in range(n_image):
            text = parts[k] + (mm.img_start or "")
            if k > 0:
                text = (mm.img_end or "") + text
            ids = self.tokenize(text, add_bos=self._add_bos if k == 0 else False)
            if ids:
                segs.append(("tokens", ids))
            segs.append(("embd", embd[k * per:(k + 1) * per]))
        tail = (mm.img_end or "") + parts[-1]
        ids = self.tokenize(tail, add_bos=False)
        if ids:
            segs.append(("tokens", ids))
        return segs

    # ------------------------------------------------------------------ generate
    def generate(self, *, prompt: str | None = None, token_ids: Sequence[int] | None = None,
                 embeddings: np.ndarray | None = None, multimodal: MultimodalInput | None = None,
                 max_new_tokens: int = 64, ignore_eos: bool = True) -> GenerationResult:
        """One greedy generation; per-token ``perf_counter_ns`` stamps; perf context counters."""
        self._check_open()
        ll = self._ll
        max_new_tokens = int(max_new_tokens)
        if max_new_tokens < 1:
            raise RklabError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        segments = self._prepare(prompt, token_ids, embeddings, multimodal)
        n_prompt = sum(len(s[1]) for s in segments)
        if n_prompt == 0:
            raise RklabError("the prompt is empty; give at least one token")
        if n_prompt + max_new_tokens >= self.max_context:  # the same rule as RKLLM (max_context_len > both)
            raise RklabError(
                f"prompt of {n_prompt} tokens + {max_new_tokens} new tokens does not fit max_context "
                f"{self.max_context}: prompt + new tokens must be less than the context; "
                f"use a shorter prompt or a larger context (--context)"
            )
        with self._lock:
            self._abort.clear()
            mem = ll.llama_get_memory(self._ctx)
            ll.llama_memory_clear(mem, True)
            ll.llama_perf_context_reset(self._ctx)
            tokens: list[int] = []
            token_ns: list[int] = []
            state = "finish"
            n_vocab = self.n_vocab
            start_ns = time.perf_counter_ns()
            pos = 0
            for i, (kind, data) in enumerate(segments):
                last = i == len(segments) - 1
                if kind == "tokens":
                    pos = self._decode_tokens(data, pos, want_logits=last)
                else:
                    pos = self._decode_embeddings(data, pos, want_logits=last)
            b = self._tok_batch
            get_logits = ll.llama_get_logits_ith
            prefill = None
            while True:
                if self._abort.is_set():
                    state = "aborted"
                    break
                ptr = get_logits(self._ctx, -1)
                tok = int(np.argmax(np.ctypeslib.as_array(ptr, shape=(n_vocab,))))
                token_ns.append(time.perf_counter_ns())
                tokens.append(tok)
                if prefill is None:
                    prefill = _perf_totals(ll.llama_perf_context(self._ctx))
                if not ignore_eos and self.is_eog(tok):
                    break
                if len(tokens) >= max_new_tokens:
                    state = "length"  # hit the token limit, as RKLLM reports it (EOS would be "finish")
                    break
                b.n_tokens = 1
                b.token[0] = tok
                b.pos[0] = pos
                b.n_seq_id[0] = 1
                b.seq_id[0][0] = 0
                b.logits[0] = 1
                self._check_rc(ll.llama_decode(self._ctx, b), "generated token")
                pos += 1
            end_ns = time.perf_counter_ns()
            total_ms, total_n = _perf_totals(ll.llama_perf_context(self._ctx))
            pre_ms, pre_n = prefill if prefill is not None else (total_ms, total_n)
            dec_ms, dec_n = total_ms - pre_ms, total_n - pre_n
            perf = RuntimePerf(
                prefill_ms=pre_ms if pre_n else None,
                prefill_tokens=pre_n or None,
                decode_ms=dec_ms if dec_n else None,
                decode_tokens=dec_n or None,
                memory_mb=None,  # llama.cpp has no own peak-memory figure; rklab reads VmHWM
            )
        return GenerationResult(
            text=self.detokenize(tokens),
            token_ids=tokens,
            start_ns=start_ns,
            token_ns=token_ns,
            end_ns=end_ns,
            prompt_tokens=n_prompt,
            perf=perf,
            final_state=state,
            extra={"n_threads": self.n_threads, "segments": [(k, len(d)) for k, d in segments]},
        )
