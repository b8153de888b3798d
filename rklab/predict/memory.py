"""Memory model: a predicted breakdown of one RKLLM process (+ RKNN vision encoder) in MiB.

Parts (all **predicted**; "inferred" = a modelling assumption from board-rk3588.md, not a measurement):
- ``weights``: LLM matrices at the dtype's width + quantization scales: one fp32 scale per output channel
  for w8a8/w4a16; for the grouped dtypes (``*_gG``: w4a16_g32/g64/g128, w4a8_g32, w8a8_g128/g256/g512)
  ``group_bytes`` per group of G input values instead (calibrated on the RK3576/RV1126B w4a16_g128 rows,
  about 5.6 B: more than one fp32 scale). Norms fp32. The output head is always resident;
  a tied model's head *is* its embedding table, so it is counted once, here.
- ``embedding``: the input-embedding table. With ``embed_flash=1`` (Rockchip's demo default, runtime >= 1.2.0)
  it stays in the model file and rows are read on demand: 0 MiB resident. With ``embed_flash=0`` it is held
  in RAM as fp16 (inferred).
- ``kv``: fp16 K+V for the tokens actually used (prompt + image tokens + new tokens). The runtime reserves
  ``max_context`` worth (``kv_reserved_mb``) but untouched pages are not resident (inferred from the official rows).
- ``runtime``: runtime buffers and code = ``fixed(SoC) + k x Gparams``, calibrated on the official VmHWM rows of
  all four SoCs (:mod:`rklab.predict.calibration`). The same model at w4a16 and w8a8 on RK3576 leaves the
  same remainder, so this part scales with the model's size, not its bytes; ``fixed`` is learned per SoC
  (RK3562/RV1126B keep ~20-30 MB less than RK3588/RK3576) and a SoC without rows gets the mean.
- ``vision``: the RKNN encoder in fp16 (params x 2 B) + activation buffers proportional to
  patches x vision width (calibrated on the official Qwen2-VL-2B encoder row).
- ``image_embed``: the float32 image embeddings handed to RKLLM: image tokens x outputs x LLM width x 4 B
  (Qwen3-VL has 4 outputs: main + 3 DeepStack).
Totals: ``memory_mb`` = predicted process peak (VmHWM) = sum of the parts; ``available_drop_mb`` = predicted fall
of system MemAvailable = VmHWM + IOMMU page tables for NPU-mapped buffers (8 B per 4 KiB page, inferred).

NPU address space: the RKNPU maps buffers through 4 GB IOMMU domains (socs.md). RKLLM spreads its buffers
over domains, so only a *single* buffer larger than a domain cannot be placed: :meth:`MemoryBreakdown.npu_buffers_mb`
lists the largest candidates (the RKNN vision encoder, which lives in one domain; the output head matrix;
the KV cache reserved for max_context, inferred to be one allocation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

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
NPU_DOMAIN_MB = 4096         # one RKNPU IOMMU domain: a 32-bit IOVA space (socs.md)

# dtype -> (weight bits, group size or None for per-channel scales); every quantized_dtype RKLLM 1.3.0 lists
DTYPES: dict[str, tuple[int, int | None]] = {
    "w8a8": (8, None), "w8a8_g128": (8, 128), "w8a8_g256": (8, 256), "w8a8_g512": (8, 512),
    "w4a16": (4, None), "w4a16_g32": (4, 32), "w4a16_g64": (4, 64), "w4a16_g128": (4, 128),
    "w4a8_g32": (4, 32),
    "fp16": (16, None),
}


def check_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise RklabError(f"unknown dtype {dtype!r}; use one of: {', '.join(DTYPES)}")
    return dtype


def dtype_class(dtype: str) -> str:
    """The bandwidth class of a dtype: ``w8a8`` (8-bit weights), ``w4a16`` (4-bit weights) or ``fp16``."""
    bits, _ = DTYPES[check_dtype(dtype)]
    return {8: "w8a8", 4: "w4a16", 16: "fp16"}[bits]


def is_grouped(dtype: str) -> bool:
    return DTYPES[check_dtype(dtype)][1] is not None


@dataclass(frozen=True)
class MemoryConstants:
    """The calibrated free constants (see :func:`rklab.predict.calibration.calibrate`)."""

    runtime_fixed_mb: float                  # runtime buffers of a SoC without calibration rows (mean of the SoCs)
    runtime_mb_per_gparam: float             # runtime buffers growing with the model's size
    group_bytes: float                       # bytes stored per group of a grouped dtype (scale + offset)
    vision_buffer_bytes_per_patch_dim: float
    runtime_fixed_by_soc: dict = field(default_factory=dict)   # SoC -> fixed MB, where official rows exist

    def runtime_fixed(self, soc: str | None) -> float:
        return self.runtime_fixed_by_soc.get(soc, self.runtime_fixed_mb)


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
    head_mb: float = 0.0

    @property
    def npu_buffers_mb(self) -> dict[str, float]:
        """The largest single NPU allocations: each must fit one 4 GB IOMMU domain."""
        out = {"output head matrix": self.head_mb, "KV cache at max_context (inferred: one allocation)": self.kv_reserved_mb}
        if self.vision_mb:
            out["vision encoder (one RKNN model)"] = self.vision_mb
        return out

    def over_domain(self) -> tuple[str, float] | None:
        """(name, MB) of the largest single NPU buffer when it cannot fit one IOMMU domain, else None."""
        name, mb = max(self.npu_buffers_mb.items(), key=lambda kv: kv[1])
        return (name, mb) if mb > NPU_DOMAIN_MB else None

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


def _matrices(spec: ModelSpec) -> int:
    c = count(spec)
    return c.attention + c.mlp + c.router + (c.head if c.head else c.embedding)


def weight_parts(spec: ModelSpec, dtype: str = "w8a8") -> tuple[float, float]:
    """(bytes without group data, number of groups): matrices at the dtype's width + fp32 norms
    + one fp32 scale per output channel (per-channel dtypes); grouped dtypes have ``groups`` groups instead."""
    bits, group = DTYPES[check_dtype(dtype)]
    c = count(spec)
    matrices = _matrices(spec)
    size = matrices * bits / 8 + c.norms * NORM_BYTES
    if bits < 16 and group is None:
        size += quantized_output_channels(spec) * SCALE_BYTES
    return size, (matrices / group if group else 0.0)


def weight_bytes(spec: ModelSpec, dtype: str = "w8a8", group_bytes: float = SCALE_BYTES) -> float:
    """Resident bytes of the LLM's matrices incl. the output head and quantization scales (no input table).
    ``group_bytes``: bytes per group of a grouped dtype (default one fp32 scale; the engine passes the
    calibrated :attr:`MemoryConstants.group_bytes`)."""
    size, groups = weight_parts(spec, dtype)
    return size + groups * group_bytes


def head_bytes(spec: ModelSpec, dtype: str = "w8a8") -> float:
    """The output head matrix (vocab x hidden) at the dtype's width: the largest single weight tensor."""
    bits, _ = DTYPES[check_dtype(dtype)]
    return spec.vocab * spec.hidden * bits / 8


def streamed_bytes_per_token(spec: ModelSpec, dtype: str = "w8a8", group_bytes: float = SCALE_BYTES) -> float:
    """Weight bytes one decode step reads: all resident matrices; for MoE only the routed experts
    (the unrouted experts' share of the matrices is skipped, scales included pro rata)."""
    total = weight_bytes(spec, dtype, group_bytes)
    if not spec.is_moe:
        return total
    c = count(spec)
    return total * (1 - (c.mlp - c.expert_active_mlp) / _matrices(spec))


def image_tokens(spec: ModelSpec, with_vision: bool) -> int:
    return spec.vision.image_tokens if (with_vision and spec.vision) else 0


def breakdown(spec: ModelSpec, dtype: str, *, used_tokens: int, max_context: int, with_vision: bool,
              constants: MemoryConstants, embed_flash: int = 1, soc: str | None = None) -> MemoryBreakdown:
    """The predicted memory breakdown for ``used_tokens`` resident KV entries (text + image + new) on ``soc``
    (its calibrated runtime buffers; ``None`` or a SoC without rows: the mean of the calibrated SoCs)."""
    check_dtype(dtype)
    c = count(spec)
    weights = weight_bytes(spec, dtype, constants.group_bytes)
    embedding = 0.0 if embed_flash else c.embedding * 2
    kvt = kv_bytes_per_token(spec)
    weights_mb = weights / MIB
    runtime_mb = constants.runtime_fixed(soc) + constants.runtime_mb_per_gparam * c.llm / 1e9
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
        head_mb=head_bytes(spec, dtype) / MIB,
    )
