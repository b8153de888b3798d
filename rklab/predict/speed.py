"""Speed model (**predicted**): decode tok/s from bytes streamed per token, TTFT from a prefill model,
both at given clocks (default: the clocks Rockchip pins for the official table, ``Board.clocks``).

Decode is memory-bound: every new token reads all resident weights (MoE: the routed experts) and the
KV cache once. Shared physics across the four SoCs, with the SoC entering only through its facts::

    step_ms = bytes_per_token / (efficiency[dtype class] x DRAM bandwidth(DDR clock, bus width))
              + (fixed + grouped x Gweights) / (NPU cores x NPU GHz)        [x the clock factor below]

``efficiency`` is learned per dtype class (8-bit and 4-bit weights); ``fixed`` is the per-step cost the
NPU spreads over its cores (kernel launches, synchronisation); ``grouped`` the extra dequantisation work
of the grouped dtypes (``*_gG``). Fitted on all official decode rows of the four SoCs, this reproduces every
row within 10 % (docs/feasibility.md), which is what decides the unpublished bus widths.

TTFT is prefill of the prompt (plus image tokens)::

    ttft_ms = S(SoC) x [P x (a + Gp x (b + grouped x bg)) + attention x layers x heads x head_dim x P^2 / 1e9]
              + weight bytes / effective DRAM bandwidth

``Gp``: billions of parameters multiplied per prompt token (no input table, no output head: the head runs
for the last position only; MoE: routed experts). The ``P^2`` term is attention over the growing context
(it makes long prompts slower per token). The last term is one pass over the weights (physics: it is
what makes short prompts of big models slow per token). ``S`` is the SoC's prefill time relative to RK3588, learned per SoC
where official rows exist; for a SoC without rows ``(3 / cores)^gamma x (1000 MHz / NPU clock)`` with
``gamma`` fitted across the SoCs that have rows.

Clocks: the DRAM term scales with the DDR clock (physics); prefill with the NPU clock (inferred: NPU
compute); the fixed per-step decode cost half with the NPU and half with the CPU clock (inferred: the
reference rows were all taken at pinned clocks, so they cannot separate the two).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rklab.predict.boards import Board, Clocks
from rklab.predict.catalog import ModelSpec
from rklab.predict.memory import (SCALE_BYTES, dtype_class, is_grouped, kv_bytes_per_token,
                                  streamed_bytes_per_token)
from rklab.predict.params import count

REFERENCE_CORES = 3          # prefill scales are relative to RK3588: 3 NPU cores at 1 GHz
REFERENCE_NPU_MHZ = 1000.0
NPU_SHARE_OF_FIXED = 0.5     # inferred (see module doc)


@dataclass(frozen=True)
class SpeedConstants:
    """The calibrated constants (:func:`rklab.predict.calibration.calibrate`)."""

    efficiency: dict                         # dtype class -> effective / physical DRAM bandwidth
    fixed_ms_core_ghz: float                 # decode fixed cost per step x NPU cores x NPU GHz
    grouped_ms_per_gparam_core_ghz: float    # grouped dtypes: extra per step per Gweights x cores x GHz
    prefill_ms_per_token: float              # a (RK3588 scale)
    prefill_ms_per_token_gparam: float       # b
    prefill_grouped_ms_per_token_gparam: float   # bg
    attention_ms: float                      # per layers x heads x head_dim x P^2 / 1e9 (RK3588 scale)
    prefill_scale_by_soc: dict = field(default_factory=dict)   # SoC -> S, where official rows exist
    prefill_core_exponent: float = 1.0       # gamma, for SoCs without rows
    group_bytes: float = SCALE_BYTES         # bytes per group (from the memory calibration)

    def efficiency_of(self, dtype: str) -> float:
        cls = dtype_class(dtype)
        return self.efficiency.get(cls, self.efficiency.get("w8a8", 1.0))

    def prefill_scale(self, board: Board) -> float:
        """Prefill time relative to RK3588 at the board's pinned clocks."""
        if board.soc in self.prefill_scale_by_soc:
            return self.prefill_scale_by_soc[board.soc]
        return prefill_scale_law(board.npu_cores, board.clocks.npu_mhz, self.prefill_core_exponent)


def prefill_scale_law(cores: int, npu_mhz: float, exponent: float) -> float:
    return (REFERENCE_CORES / cores) ** exponent * (REFERENCE_NPU_MHZ / npu_mhz)


@dataclass(frozen=True)
class SpeedPrediction:
    bytes_per_token: float
    decode_tps: float
    ttft_ms: float
    bandwidth_pct: float             # achieved bytes/s as % of the physical ceiling at these clocks
    ceiling_tps: float               # decode tok/s if every byte moved at the physical ceiling, no fixed cost
    clocks: Clocks                   # the clocks predicted at (resolved: none missing)
    prefill_tps: float = 0.0


def decode_bytes_per_token(spec: ModelSpec, dtype: str, context_tokens: float,
                           group_bytes: float = SCALE_BYTES) -> float:
    """Weights streamed + the KV cache read at ``context_tokens`` (the average context while decoding)."""
    return streamed_bytes_per_token(spec, dtype, group_bytes) + kv_bytes_per_token(spec) * context_tokens


def prefill_gparams(spec: ModelSpec) -> float:
    """Billions of parameters multiplied per prompt token: attention + MLP (MoE: routed experts) + routers;
    no input table (a lookup) and no output head (it runs for the last position only)."""
    c = count(spec)
    return (c.attention + c.expert_active_mlp + c.router) / 1e9


def streamed_gweights(spec: ModelSpec) -> float:
    """Billions of weights one decode step multiplies (incl. the head; MoE: routed experts)."""
    c = count(spec)
    return (c.attention + c.expert_active_mlp + c.router + (c.head or c.embedding)) / 1e9


def attention_units(spec: ModelSpec, tokens: float) -> float:
    """layers x heads x head_dim x tokens^2 / 1e9: the attention work of a prefill of ``tokens`` tokens."""
    return spec.layers * spec.heads * spec.head_dim * tokens * tokens / 1e9


def predict(spec: ModelSpec, dtype: str, board: Board, c: SpeedConstants, *, prefill_tokens: int,
            new_tokens: int, clocks: Clocks | None = None) -> SpeedPrediction:
    """Decode tok/s and TTFT of ``spec`` at ``dtype`` on ``board`` at ``clocks`` (missing ones: as pinned)."""
    pinned = board.clocks
    at = (clocks or Clocks()).resolved(pinned)
    bpt = decode_bytes_per_token(spec, dtype, prefill_tokens + new_tokens / 2, c.group_bytes)
    ceiling = board.bandwidth_at(at.ddr_mhz) * 1e9
    core_ghz = board.npu_cores * pinned.npu_mhz / 1000
    grouped = is_grouped(dtype)
    fixed_ms = (c.fixed_ms_core_ghz + (c.grouped_ms_per_gparam_core_ghz * streamed_gweights(spec) if grouped else 0)) / core_ghz
    fixed_ms *= NPU_SHARE_OF_FIXED * pinned.npu_mhz / at.npu_mhz + (1 - NPU_SHARE_OF_FIXED) * pinned.cpu_mhz / at.cpu_mhz
    step_s = bpt / (c.efficiency_of(dtype) * ceiling) + fixed_ms / 1000
    tps = 1.0 / step_s
    ttft = ttft_ms(spec, dtype, board, c, prefill_tokens, at)
    return SpeedPrediction(bytes_per_token=bpt, decode_tps=tps, ttft_ms=ttft,
                           bandwidth_pct=100.0 * bpt * tps / ceiling, ceiling_tps=ceiling / bpt, clocks=at,
                           prefill_tps=prefill_tokens / ttft * 1000 if ttft > 0 else 0.0)


def ttft_ms(spec: ModelSpec, dtype: str, board: Board, c: SpeedConstants, tokens: float,
            clocks: Clocks | None = None) -> float:
    """Prefill time of ``tokens`` prompt tokens: NPU compute at the NPU clock + reading the weights at the
    DDR clock (both default to the board's pinned clocks)."""
    at = (clocks or Clocks()).resolved(board.clocks)
    if tokens <= 0:
        return 0.0
    per_token = c.prefill_ms_per_token + prefill_gparams(spec) * (
        c.prefill_ms_per_token_gparam + (c.prefill_grouped_ms_per_token_gparam if is_grouped(dtype) else 0))
    compute = c.prefill_scale(board) * (tokens * per_token + c.attention_ms * attention_units(spec, tokens))
    return compute * board.clocks.npu_mhz / at.npu_mhz + prefill_read_ms(spec, dtype, board, c, at.ddr_mhz)


def prefill_read_ms(spec: ModelSpec, dtype: str, board: Board, c: SpeedConstants, ddr_mhz: float | None = None) -> float:
    """A prefill reads every weight once: the weight bytes at the decode's effective bandwidth."""
    bw = c.efficiency_of(dtype) * board.bandwidth_at(ddr_mhz or board.clocks.ddr_mhz) * 1e9
    return streamed_bytes_per_token(spec, dtype, c.group_bytes) / bw * 1000
