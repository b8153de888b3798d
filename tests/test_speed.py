"""Speed model: calibrated on the official rows, ceiling, MoE, other boards."""

import pytest

from rklab.predict.boards import load_board
from rklab.predict.calibration import calibrate, speed_residuals
from rklab.predict.feasibility import estimate


def test_physical_ceiling_rk3588():
    assert load_board("rk3588-8gb").bandwidth_gbs == pytest.approx(33.792)


def test_official_decode_rows_within_10_percent():
    res = speed_residuals()
    fit = res[res["used_in_fit"] == True]  # noqa: E712
    assert len(fit) == 34 and set(fit["soc"]) == {"RK3588", "RK3576", "RK3562", "RV1126B"}
    assert fit["decode_residual_pct"].abs().max() < 10
    assert fit["ttft_residual_pct"].abs().max() < 20


def test_effective_bandwidth_below_ceiling():
    c = calibrate()
    assert set(c.speed.efficiency) == {"w8a8", "w4a16"}
    assert all(0.5 < v < 1.0 for v in c.speed.efficiency.values())
    assert 0 < c.speed.fixed_ms_core_ghz < 60


def test_decode_and_ttft_predictions():
    e = estimate("Qwen3-0.6B")
    assert e.decode_tps == pytest.approx(32.2, rel=0.08)          # official 1.2.3: 32.16
    assert e.ttft_ms == pytest.approx(213.5, rel=0.15)            # official 1.2.3: 213.5
    assert 0 < e.bandwidth_pct < 100
    assert e.decode_tps < e.ceiling_tps
    big = estimate("Qwen3-8B")
    assert big.bandwidth_pct > e.bandwidth_pct                    # bigger models get closer to the ceiling


def test_moe_decode_reads_only_routed_experts():
    moe = estimate("Qwen3-30B-A3B")
    dense4 = estimate("Qwen3-4B")
    assert moe.decode_tps > dense4.decode_tps
    assert moe.memory_mb > 25_000


def test_narrower_dram_board_is_slower():
    a = estimate("Qwen3-0.6B", board="rk3588-8gb")
    b = estimate("Qwen3-0.6B", board="rk3576-8gb")
    assert b.decode_tps < a.decode_tps


def test_community_rows_explained():
    res = speed_residuals()
    comm = res[res["source"] == "community"]
    assert len(comm) and all("community board" in x for x in comm["explanation"])
