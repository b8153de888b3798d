"""Speed at the clocks a board actually runs: clocks as inputs, read from a fake sysfs by the monitor."""

import pytest

from rklab.errors import RklabError
from rklab.measure.hostinfo import host_snapshot
from rklab.measure.monitor import Monitor
from rklab.predict.boards import Clocks, load_board
from rklab.predict.calibration import calibrate
from rklab.predict.catalog import get_model
from rklab.predict.feasibility import estimate
from rklab.predict.measured import npu_run_prediction, observed_clocks
from rklab.predict.speed import NPU_SHARE_OF_FIXED, decode_bytes_per_token


def test_pinned_clocks_are_the_default():
    b = load_board("rk3588-8gb")
    assert b.clocks == Clocks(2112, 1000, 2352)
    e = estimate("Qwen3-0.6B")
    assert e.clocks_pinned and e.ddr_mhz == 2112
    assert estimate("Qwen3-0.6B", clocks=Clocks()).decode_tps == e.decode_tps


def test_decode_scales_with_the_ddr_clock_exactly():
    """Only the DRAM term moves with the DDR clock: 1/tps = bytes/(eff x 2 x MHz x 8 B) + fixed."""
    b, c = load_board("rk3588-8gb"), calibrate().speed
    pinned = estimate("Qwen3-0.6B", with_vision=False)
    slow = estimate("Qwen3-0.6B", with_vision=False, clocks=Clocks(ddr_mhz=1068))
    bpt = decode_bytes_per_token(get_model("Qwen3-0.6B"), "w8a8", 128 + 64 / 2, c.group_bytes)
    dram = lambda mhz: bpt / (c.efficiency["w8a8"] * 2 * mhz * 1e6 * 8)
    fixed = 1 / pinned.decode_tps - dram(2112)
    assert 1 / slow.decode_tps == pytest.approx(dram(1068) + fixed, rel=1e-9)
    assert slow.ttft_ms > pinned.ttft_ms                      # the weight read of the prefill slows too
    assert slow.bandwidth_ceiling_gbs == pytest.approx(b.bandwidth_at(1068))


def test_npu_and_cpu_clocks_scale_the_fixed_cost():
    pinned = estimate("Qwen3-0.6B", with_vision=False)
    npu_half = estimate("Qwen3-0.6B", with_vision=False, clocks=Clocks(npu_mhz=500))
    cpu_half = estimate("Qwen3-0.6B", with_vision=False, clocks=Clocks(cpu_mhz=1176))
    assert npu_half.decode_tps < pinned.decode_tps and cpu_half.decode_tps < pinned.decode_tps
    if NPU_SHARE_OF_FIXED == 0.5:                              # equal shares: the same slow-down
        assert npu_half.decode_tps == pytest.approx(cpu_half.decode_tps)
    assert npu_half.ttft_ms > 1.8 * pinned.ttft_ms * 0.9       # prefill compute is NPU-bound
    with pytest.raises(RklabError, match="DDR clock"):
        Clocks(ddr_mhz=-5)


def test_clock_scaled_prediction_from_a_fake_board(rk3588_tree_unpinned):
    """A stock board under dmc_ondemand at 1068 MHz: the monitor's samples give the clocks, the engine
    predicts at them, and the sentence says the DDR clock explains a measured 16 tok/s."""
    t = rk3588_tree_unpinned
    t.set_devfreq("dmc", 1068000000, "dmc_ondemand")
    t.set_devfreq("fdab0000.npu", 1000000000, "rknpu_ondemand")
    for pol in ("policy4", "policy6"):
        t.set_cpu(pol, 2352000, "schedutil")
    mon = Monitor(pid=t.pid, proc_root=t.proc_root, sys_root=t.sys_root)
    samples = [mon.sample() for _ in range(3)]
    clocks = Clocks.mean_of(samples)
    assert clocks == Clocks(1068, 1000, 2352)
    assert Clocks.from_host(host_snapshot(t.proc_root, t.sys_root)) == clocks
    pred = npu_run_prediction("Qwen3-0.6B", "w8a8", "rk3588-8gb", prompt_tokens=128, new_tokens=64, clocks=clocks,
                              measured_decode_tps=16.0, governors={"ddr_mhz": "dmc_ondemand"})
    assert pred["predicted_decode_tps_observed"] < 0.75 * pred["predicted_decode_tps_pinned"]
    text = pred["explanation"]
    assert "DDR averaged 1,068 MHz under dmc_ondemand" in text and "measured 16.0" in text
    assert f"pinned clocks predict {pred['predicted_decode_tps_pinned']:.1f}" in text
    assert "NPU" not in text                                   # the NPU ran at its pinned clock


def test_run_record_clocks_and_unknown_clocks():
    run = {"ddr_mhz_mean": 1560.0, "npu_mhz_mean": None, "cpu_mhz_mean": float("nan")}
    assert observed_clocks(run) == Clocks(ddr_mhz=1560)
    p = npu_run_prediction("Qwen3-0.6B", "w8a8", "rk3588-8gb", prompt_tokens=128, new_tokens=64, clocks=None,
                           measured_decode_tps=30)
    assert "not readable" in p["explanation"]
    same = npu_run_prediction("Qwen3-0.6B", "w8a8", "rk3588-8gb", prompt_tokens=128, new_tokens=64,
                              clocks=Clocks(2112, 1000, 2352), measured_decode_tps=11.3, lang="zh")
    assert "差距不是频率造成的" in same["explanation"]


def test_run_prediction_for_both_backends(demo_gguf):
    from rklab.predict.measured import run_prediction

    npu = run_prediction({"backend": "rkllm", "model_name": "Qwen3-0.6B", "dtype": "w8a8", "kind": "llm",
                          "prompt_tokens": 128, "new_tokens": 64, "max_context": 4096, "ddr_mhz_mean": 1068.0,
                          "decode_tps": 16.0, "host.ddr_governor": "dmc_ondemand"}, "rk3588-8gb")
    assert npu["predicted_decode_tps"] < npu["predicted_decode_tps_pinned"] and "dmc_ondemand" in npu["explanation"]
    assert npu["predicted_memory_mb"] == pytest.approx(estimate("Qwen3-0.6B").memory_mb)
    cpu = run_prediction({"backend": "llamacpp", "model.path": str(demo_gguf), "prompt_tokens": 128,
                          "new_tokens": 32, "max_context": 512, "rss_before_load_mb": 132.3,
                          "host.mem_bandwidth.gbs": 10.0, "decode_tps": 20.0, "vmhwm_mb": 273.2}, "rk3588-8gb")
    assert abs(cpu["predicted_memory_mb"] / 273.2 - 1) < 0.1 and 0 < cpu["pct_of_ceiling"] < 100
    old = run_prediction({"backend": "llamacpp", "model.path": str(demo_gguf), "max_context": 512}, "rk3588-8gb")
    assert old["predicted_memory_mb"] is None and "older record" in old["note"]
