"""llama.cpp on the CPU (**predicted**): memory from the GGUF file, decode ceiling from bytes per token.

Memory of a llama.cpp process (what VmHWM counts), each part from the GGUF file read with the ``gguf``
package (tensor types and sizes, layer count, KV heads and head sizes, vocabulary):

- ``weights``: the whole file. llama.cpp maps it (mmap) and touches every tensor at load, so the file's
  pages are resident (file-backed RSS).
- ``kv``: the KV cache for ``n_ctx`` tokens, f16 K and V (llama.cpp's default cache type):
  ``n_ctx x layers x kv_heads x (key_length + value_length) x 2 B``. llama.cpp clears it at load, so all of it
  is resident, not only the tokens used (measured here: RSS grows with n_ctx at load).
- ``compute``: the scratch a prompt batch touches: per batch token the attention scores over the used KV
  (heads x KV length padded to 256 x 4 B) and the f32 activations (6 x width + 3 x FFN width), plus one
  row of logits.
- ``runtime``: llama.cpp's own RSS: the library code and the Python binding (:data:`LIBRARY_MB`) and the
  tokenizer tables (:data:`TOKENIZER_BYTES_PER_TOKEN` per vocabulary entry). Both were **measured** once on the
  x86 development host with llama-cpp-python 0.3.36 (``import llama_cpp``: +16 MB RSS; a vocabulary-only load
  of SmolLM2's 49,152-token GGUF: +17 MB) and are inferred to hold elsewhere.

The predicted VmHWM of a benchmark run = the process's RSS before the model was loaded (measured, in the
run record) + these parts.

Decode ceiling: a token reads every weight it multiplies once (all tensors except an untied input
table, of which it reads one row) and the KV cache so far, so ``tok/s <= bandwidth / bytes per token``. The
bandwidth is the host's measured read bandwidth (:mod:`rklab.measure.membw`, recorded with the host) or,
before anything is measured, the board's quoted CPU bandwidth (``cpu.mem_bandwidth_gbs`` in the board YAML).

Without a file (a plan model not downloaded yet) :func:`facts_from_spec` builds the same facts from the
catalog architecture and a GGUF tensor type (``q8_0``, ``q4_1``, ...; a file type such as ``Q4_K_M`` counts
as its base type, an approximation).
"""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import gguf

from rklab.errors import RklabError
from rklab.predict.catalog import ModelSpec
from rklab.predict.gguf_file import read_gguf_header
from rklab.predict.params import count

MIB = 1 << 20
KV_BYTES = 2                        # f16 K and V
LIBRARY_MB = 16.0                   # measured here: RSS growth of `import llama_cpp` (0.3.36, x86_64)
TOKENIZER_BYTES_PER_TOKEN = 350.0   # measured here: vocab-only load of the demo GGUF, 17 MB / 49,152 tokens
KV_PAD = 256                        # llama.cpp pads the KV length it attends over
DEFAULT_UBATCH = 512
METADATA_BYTES_PER_TOKEN = 36.0     # GGUF header (tokenizer strings, merges) per vocabulary entry: the demo file's 1.79 MB / 49,152


@dataclass(frozen=True)
class GgufFacts:
    """What the memory and speed predictions need from a GGUF file (or a catalog model at a GGUF type)."""

    name: str
    architecture: str
    layers: int
    hidden: int
    ffn: int
    heads: int
    kv_heads: int
    key_length: int
    value_length: int
    vocab: int
    context_length: int
    file_bytes: int                 # the whole file (mapped and touched at load)
    tensor_bytes: int               # all tensors
    input_table_bytes: int          # token_embd
    tied: bool                      # no separate output tensor: the input table is the output head
    types: dict                     # tensor type name -> bytes
    source: str                     # "gguf file <path>" or "architecture (<model>) at <type>"

    @property
    def kv_bytes_per_token(self) -> int:
        return self.layers * self.kv_heads * (self.key_length + self.value_length) * KV_BYTES

    @property
    def streamed_bytes(self) -> float:
        """Weight bytes one decode step reads (an untied input table: one row only)."""
        return self.tensor_bytes - (0 if self.tied else self.input_table_bytes)


def _largest(value):
    """A per-layer value stored as an array (some architectures vary heads or FFN width by layer)
    counts at its largest."""
    return max(value) if isinstance(value, list) else value


def read_gguf(path: str | os.PathLike) -> GgufFacts:
    """The facts of a GGUF file (header and tensor table only; the weights are not read)."""
    p = Path(path)
    if not p.is_file():
        raise RklabError(f"GGUF file {p} does not exist; give the path of a .gguf model")
    st = p.stat()
    return _read_gguf(str(p.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _read_gguf(path: str, size: int, mtime_ns: int) -> GgufFacts:
    """Cached per file version (path, size, mtime): the report asks for the same file once per run."""
    p = Path(path)
    h = read_gguf_header(p)
    arch = h.architecture
    if not arch:
        raise RklabError(f"GGUF file {p} lacks key 'general.architecture'; is it a model file?")

    def need(key):
        v = h.arch_value(key)
        if v is None:
            raise RklabError(f"GGUF file {p} lacks key '{arch}.{key}'; rklab cannot predict its memory")
        return v

    heads = int(need("attention.head_count"))
    hidden = int(need("embedding_length"))
    kv_heads = int(_largest(h.arch_value("attention.head_count_kv", heads)))
    head_dim = hidden // heads
    types: dict[str, int] = {}
    embd = 0
    for t in h.tensors:
        types[t.type.name] = types.get(t.type.name, 0) + t.n_bytes
        if t.name == "token_embd.weight":
            embd = t.n_bytes
    tokens = h.metadata.get("tokenizer.ggml.tokens") or {"array_of": 0}
    return GgufFacts(
        name=str(h.metadata.get("general.name", p.stem)), architecture=str(arch),
        layers=int(need("block_count")), hidden=hidden,
        ffn=int(_largest(h.arch_value("feed_forward_length", 0))), heads=heads, kv_heads=kv_heads,
        key_length=int(h.arch_value("attention.key_length", head_dim)),
        value_length=int(h.arch_value("attention.value_length", head_dim)),
        vocab=int(h.arch_value("vocab_size", 0) or tokens["array_of"]),
        context_length=int(h.arch_value("context_length", 0) or 0),
        file_bytes=size, tensor_bytes=sum(types.values()), input_table_bytes=embd,
        tied=all(t.name != "output.weight" for t in h.tensors), types=types, source=f"gguf file {p}",
    )


def ggml_type(name: str) -> gguf.GGMLQuantizationType:
    """A GGUF tensor type from a name like ``q8_0``, ``Q4_1``, ``f16`` or a file type like ``Q4_K_M``."""
    key = str(name).upper()
    for suffix in ("_S", "_M", "_L", "_XL"):
        if key.endswith(suffix) and key[: -len(suffix)] in gguf.GGMLQuantizationType.__members__:
            key = key[: -len(suffix)]
    try:
        return gguf.GGMLQuantizationType[key]
    except KeyError:
        known = "q4_0, q4_1, q5_0, q5_1, q8_0, q4_k, q5_k, q6_k, f16, bf16"
        raise RklabError(f"unknown GGUF type {name!r}; use one of: {known}") from None


def tensor_bytes(n: int, qtype: gguf.GGMLQuantizationType) -> float:
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    return n / block * size


def head_type(q: gguf.GGMLQuantizationType, width: int) -> gguf.GGMLQuantizationType:
    """The type llama.cpp's quantizer gives the output head (a tied model's input table): types under
    8 bits are raised to Q6_K, or to Q8_0 when the width is not a multiple of 256 (the K-quant block)."""
    block, size = gguf.GGML_QUANT_SIZES[q]
    if size * 8 / block >= 8:
        return q
    return gguf.GGMLQuantizationType.Q6_K if width % 256 == 0 else gguf.GGMLQuantizationType.Q8_0


def facts_from_spec(spec: ModelSpec, gguf_type: str) -> GgufFacts:
    """GGUF facts of a catalog model converted at ``gguf_type``: matrices and an untied input table at that
    type, the output head as llama.cpp's quantizer keeps it (:func:`head_type`), norms f32, plus the header
    (:data:`METADATA_BYTES_PER_TOKEN` per vocabulary entry). An approximation of a real file."""
    q = ggml_type(gguf_type)
    c = count(spec)
    hq = head_type(q, spec.hidden)
    body = c.attention + c.mlp + c.router
    head = tensor_bytes(c.head or c.embedding, hq)
    embd = head if spec.tie_embeddings else tensor_bytes(c.embedding, q)
    tensors = tensor_bytes(body, q) + head + (0 if spec.tie_embeddings else embd) + c.norms * 4
    total = tensors + spec.vocab * METADATA_BYTES_PER_TOKEN
    return GgufFacts(
        name=spec.name, architecture=spec.family or "llm", layers=spec.layers, hidden=spec.hidden,
        ffn=spec.intermediate or spec.moe_intermediate or 0, heads=spec.heads, kv_heads=spec.kv_heads,
        key_length=spec.head_dim, value_length=spec.head_dim, vocab=spec.vocab,
        context_length=spec.max_position or 0, file_bytes=int(total), tensor_bytes=int(tensors),
        input_table_bytes=int(embd), tied=spec.tie_embeddings,
        types={q.name: int(tensors - head), hq.name: int(head)} if hq != q else {q.name: int(tensors)},
        source=f"architecture ({spec.name}, data/models.yaml) at {q.name}",
    )


@dataclass(frozen=True)
class CpuMemory:
    weights_mb: float
    kv_mb: float
    compute_mb: float
    runtime_mb: float
    baseline_mb: float              # RSS before the model was loaded (measured), 0 when not known

    @property
    def model_mb(self) -> float:
        return self.weights_mb + self.kv_mb + self.compute_mb + self.runtime_mb

    @property
    def memory_mb(self) -> float:
        """Predicted VmHWM of the process."""
        return self.baseline_mb + self.model_mb

    def to_dict(self) -> dict:
        return {**asdict(self), "model_mb": self.model_mb, "memory_mb": self.memory_mb}


def llamacpp_memory(facts: GgufFacts, n_ctx: int, prompt_tokens: int, new_tokens: int = 0,
                    n_ubatch: int = DEFAULT_UBATCH, baseline_mb: float = 0.0) -> CpuMemory:
    """Predicted memory of a llama.cpp process that loaded ``facts`` with ``n_ctx`` and ran one prompt."""
    if n_ctx < 1:
        raise RklabError(f"context {n_ctx} must be at least 1")
    u = max(1, min(prompt_tokens or 1, n_ubatch, n_ctx))
    used = min(n_ctx, prompt_tokens + new_tokens)
    n_kv = min(n_ctx, -(-max(used, 1) // KV_PAD) * KV_PAD)
    compute = u * (facts.heads * n_kv * 4 + (6 * facts.hidden + 3 * facts.ffn) * 4) + facts.vocab * 4
    return CpuMemory(
        weights_mb=facts.file_bytes / MIB, kv_mb=n_ctx * facts.kv_bytes_per_token / MIB, compute_mb=compute / MIB,
        runtime_mb=LIBRARY_MB + facts.vocab * TOKENIZER_BYTES_PER_TOKEN / MIB, baseline_mb=float(baseline_mb or 0.0),
    )


@dataclass(frozen=True)
class CpuDecodeCeiling:
    bytes_per_token: float
    bandwidth_gbs: float
    ceiling_tps: float
    bandwidth_source: str


def decode_ceiling(facts: GgufFacts, context_tokens: float, bandwidth_gbs: float,
                   bandwidth_source: str = "") -> CpuDecodeCeiling:
    """The memory-bound upper bound on llama.cpp's decode tok/s at ``context_tokens`` of KV."""
    if not bandwidth_gbs or bandwidth_gbs <= 0:
        raise RklabError("no CPU memory bandwidth known for this host or board; measure it (the host snapshot "
                         "records it) or add cpu.mem_bandwidth_gbs to the board YAML")
    bpt = facts.streamed_bytes + facts.kv_bytes_per_token * context_tokens
    return CpuDecodeCeiling(bytes_per_token=bpt, bandwidth_gbs=float(bandwidth_gbs),
                            ceiling_tps=bandwidth_gbs * 1e9 / bpt, bandwidth_source=bandwidth_source)
