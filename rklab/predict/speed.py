"""Speed model (**predicted**): decode tok/s from bytes streamed per token, TTFT from a prefill-rate model.

Decode is memory-bound: every new token reads all resident weights (MoE: the routed experts) and the
KV cache once::

    1 / decode_tps = bytes_per_token / effective_bandwidth + fixed_per_token_s

TTFT is prefill of the prompt (plus image tokens) on the NPU::

    ttft_ms = prefill_fixed_ms + tokens x (per_token_ms + active_Gparams x ms_per_token_per_Gparam)

The constants are fitted on RK3588 reference rows (:mod:`rklab.predict.calibration`). On another board the
effective bandwidth scales with its physical DRAM ceiling and prefill with its NPU TOPS (inferred).
"""

from __future__ import annotations

from dataclasses import dataclass

from rklab.predict.boards import Board
from rklab.predict.catalog import ModelSpec
from rklab.predict.memory import kv_bytes_per_token, streamed_bytes_per_token
from rklab.predict.params import compute_params

CALIBRATION_CEILING_GBS = 4224e6 * 8 / 1e9   # RK3588 LPDDR4x-4224 x 64 bit: the boards the rows come from
CALIBRATION_TOPS = 6.0


@dataclass(frozen=True)
class SpeedConstants:
    bandwidth_efficiency: float      # effective / physical DRAM bandwidth
    fixed_per_token_ms: float        # per decode step, independent of model size
    prefill_fixed_ms: float
    prefill_per_token_ms: float
    prefill_ms_per_token_per_gparam: float

    def effective_bandwidth_gbs(self, board: Board) -> float:
        return self.bandwidth_efficiency * board.bandwidth_gbs


@dataclass(frozen=True)
class SpeedPrediction:
    bytes_per_token: float
    decode_tps: float
    ttft_ms: float
    bandwidth_pct: float             # achieved bytes/s as % of the physical ceiling
    ceiling_tps: float               # decode tok/s if every byte moved at the physical ceiling, no fixed cost


def decode_bytes_per_token(spec: ModelSpec, dtype: str, context_tokens: float) -> float:
    """Weights streamed + the KV cache read at ``context_tokens`` (the average context while decoding)."""
    return streamed_bytes_per_token(spec, dtype) + kv_bytes_per_token(spec) * context_tokens


def predict(spec: ModelSpec, dtype: str, board: Board, c: SpeedConstants, *, prefill_tokens: int,
            new_tokens: int) -> SpeedPrediction:
    bpt = decode_bytes_per_token(spec, dtype, prefill_tokens + new_tokens / 2)
    bw = c.effective_bandwidth_gbs(board) * 1e9
    step_s = bpt / bw + c.fixed_per_token_ms / 1000
    tps = 1.0 / step_s
    active_g = compute_params(spec) / 1e9
    npu_scale = CALIBRATION_TOPS / board.npu_tops
    ttft = c.prefill_fixed_ms + prefill_tokens * npu_scale * (
        c.prefill_per_token_ms + active_g * c.prefill_ms_per_token_per_gparam)
    ceiling = board.bandwidth_gbs * 1e9
    return SpeedPrediction(bytes_per_token=bpt, decode_tps=tps, ttft_ms=ttft,
                           bandwidth_pct=100.0 * bpt * tps / ceiling, ceiling_tps=ceiling / bpt)
