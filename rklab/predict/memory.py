"""Memory model: a predicted breakdown of one RKLLM process (+ RKNN vision encoder) in MiB.

Parts (all **predicted**; "inferred" = a modelling assumption from board-rk3588.md, not a measurement):
- ``weights``: LLM matrices at the dtype's width + quantization scales (per output channel, fp32,
  for w8a8/w4a16; per group of G input values for *_gG). Norms fp32. The output head is always resident;
  a tied model's head *is* its embedding table, so it is counted once, here.
- ``embedding``: the input-embedding table. With ``embed_flash=1`` (Rockchip's demo default, runtime >= 1.2.0)
  it stays in the model file and rows are read on demand: 0 MiB resident. With ``embed_flash=0`` it is held
  in RAM as fp16 (inferred).
- ``kv``: fp16 K+V for the tokens actually used (prompt + image tokens + new tokens). The runtime reserves
  ``max_context`` worth (``kv_reserved_mb``) but untouched pages are not resident (inferred from the official rows).
- ``runtime``: runtime buffers and code = ``fixed + fraction x weights``, both calibrated on official VmHWM rows
  (:mod:`rklab.predict.calibration`).
- ``vision``: the RKNN encoder in fp16 (params x 2 B) + activation buffers proportional to
  patches x vision width (calibrated on the official Qwen2-VL-2B encoder row).
- ``image_embed``: the float32 image embeddings handed to RKLLM: image tokens x outputs x LLM width x 4 B
  (Qwen3-VL has 4 outputs: main + 3 DeepStack).
Totals: ``memory_mb`` = predicted process peak (VmHWM) = sum of the parts; ``available_drop_mb`` = predicted fall
of system MemAvailable = VmHWM + IOMMU page tables for NPU-mapped buffers (8 B per 4 KiB page, inferred).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rklab.predict.catalog import ModelSpec
from rklab.errors import RklabError
from rklab.predict.params import count, quantized_output_channels

MIB = 1 << 20
KV_BYTES = 2                 # fp16 K and V (board-rk3588.md)
SCALE_BYTES = 4              # fp32 scale per channel / group (inferred)
NORM_BYTES = 4               # fp32 norms (inferred; negligible)
IMAGE_EMBED_BYTES = 4        # float32 embeddings (official multimodal demo)
VISION_BYTES = 2             # RKNN vision encoder in fp16
IOMMU_OVERHEAD = 8 / 4096    # page-table bytes per NPU-mapped byte (inferred)

# dtype -> (weight bits, group size or None for per-channel scales)
DTYPES: dict[str, tuple[int, int | None]] = {
    "w8a8": (8, None), "w8a8_g128": (8, 128), "w8a8_g256": (8, 256), "w8a8_g512": (8, 512),
    "w4a16": (4, None), "w4a16_g32": (4, 32), "w4a16_g64": (4, 64), "w4a16_g128": (4, 128),
    "fp16": (16, None),
}


def check_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise RklabError(f"unknown dtype {dtype!r}; use one of: {', '.join(DTYPES)}")
    return dtype


@dataclass(frozen=True)
class MemoryConstants:
    """The calibrated free constants (see :func:`rklab.predict.calibration.calibrate`)."""

    runtime_fixed_mb: float
    runtime_weight_fraction: float
    vision_buffer_bytes_per_patch_dim: float


@dataclass(frozen=True)
class MemoryBreakdown:
    weights_mb: float
    embedding_mb: float
    kv_mb: float
    kv_reserved_mb: float
    runtime_mb: float
    vision_weights_mb: float
    vision_buffers_mb: float
    image_embed_mb: float
    used_tokens: int
    kv_bytes_per_token: int

    @property
    def vision_mb(self) -> float:
        return self.vision_weights_mb + self.vision_buffers_mb

    @property
    def llm_mb(self) -> float:
        return self.weights_mb + self.embedding_mb + self.kv_mb + self.runtime_mb

    @property
    def memory_mb(self) -> float:
        """Predicted process peak resident set (VmHWM)."""
        return self.llm_mb + self.vision_mb + self.image_embed_mb

    @property
    def available_drop_mb(self) -> float:
        """Predicted fall of MemAvailable: VmHWM + IOMMU page tables of the NPU-mapped buffers."""
        npu_mapped = self.weights_mb + self.kv_mb + self.vision_mb
        return self.memory_mb + npu_mapped * IOMMU_OVERHEAD

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(vision_mb=self.vision_mb, llm_mb=self.llm_mb, memory_mb=self.memory_mb,
                 available_drop_mb=self.available_drop_mb)
        return d


def kv_bytes_per_token(spec: ModelSpec) -> int:
    """fp16 K+V per token: 2 x layers x kv_heads x head_dim x 2 B (Qwen3-0.6B: 114688 B)."""
    return 2 * spec.layers * spec.kv_heads * spec.head_dim * KV_BYTES


def weight_bytes(spec: ModelSpec, dtype: str = "w8a8") -> float:
    """Resident bytes of the LLM's matrices incl. the output head and quantization scales (no input table)."""
    bits, group = DTYPES[check_dtype(dtype)]
    c = count(spec)
    matrices = c.attention + c.mlp + c.router + (c.head if c.head else c.embedding)
    size = matrices * bits / 8 + c.norms * NORM_BYTES
    if bits < 16:
        if group is None:
            size += quantized_output_channels(spec) * SCALE_BYTES
        else:
            size += matrices / group * SCALE_BYTES
    return size


def streamed_bytes_per_token(spec: ModelSpec, dtype: str = "w8a8") -> float:
    """Weight bytes one decode step reads: all resident matrices; for MoE only the routed experts
    (the unrouted experts' share of the matrices is skipped, scales included pro rata)."""
    total = weight_bytes(spec, dtype)
    if not spec.is_moe:
        return total
    c = count(spec)
    matrices = c.attention + c.mlp + c.router + (c.head if c.head else c.embedding)
    return total * (1 - (c.mlp - c.expert_active_mlp) / matrices)


def image_tokens(spec: ModelSpec, with_vision: bool) -> int:
    return spec.vision.image_tokens if (with_vision and spec.vision) else 0


def breakdown(spec: ModelSpec, dtype: str, *, used_tokens: int, max_context: int, with_vision: bool,
              constants: MemoryConstants, embed_flash: int = 1) -> MemoryBreakdown:
    """The predicted memory breakdown for ``used_tokens`` resident KV entries (text + image + new)."""
    check_dtype(dtype)
    c = count(spec)
    weights = weight_bytes(spec, dtype)
    embedding = 0.0 if embed_flash else c.embedding * 2
    kvt = kv_bytes_per_token(spec)
    weights_mb = weights / MIB
    runtime_mb = constants.runtime_fixed_mb + constants.runtime_weight_fraction * weights_mb
    vision_w = vision_b = image = 0.0
    if with_vision and spec.vision:
        v = spec.vision
        vision_w = v.params * VISION_BYTES / MIB
        vision_b = constants.vision_buffer_bytes_per_patch_dim * v.patches * v.hidden / MIB
        image = v.image_tokens * v.outputs * spec.hidden * IMAGE_EMBED_BYTES / MIB
    return MemoryBreakdown(
        weights_mb=weights_mb, embedding_mb=embedding / MIB, kv_mb=used_tokens * kvt / MIB,
        kv_reserved_mb=max_context * kvt / MIB, runtime_mb=runtime_mb, vision_weights_mb=vision_w,
        vision_buffers_mb=vision_b, image_embed_mb=image, used_tokens=int(used_tokens), kv_bytes_per_token=kvt,
    )
