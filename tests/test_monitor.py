"""Monitor, memory readers and host snapshot against fake RK3588 trees (and the real /proc)."""

import os
import time

import pytest

from rklab.measure.hostinfo import clock_check, host_snapshot
from rklab.measure.monitor import Monitor, parse_npu_load, read_memory, reset_peak_rss
from tests.fakes.sysfs import build_rk3588_tree


def test_parse_npu_load_driver_format():
    assert parse_npu_load("NPU load:  Core0: 35%, Core1:  0%, Core2: 100%,\n") == [35.0, 0.0, 100.0]
    assert parse_npu_load("NPU load:  Core2:  7%, Core0: 1%, Core1: 2%,") == [1.0, 2.0, 7.0]
    assert parse_npu_load("NPU load:  42%\n") == [42.0]  # single-core driver format
    assert parse_npu_load("") is None
    assert parse_npu_load(None) is None
    assert parse_npu_load("permission denied") is None


def test_read_memory_from_fake_tree(rk3588_tree):
    rk3588_tree.set_memory(vmhwm_kb=1048576, vmrss_kb=524288, rss_shmem_kb=204800,
                           mem_available_kb=4194304, shmem_kb=307200)
    m = read_memory(rk3588_tree.pid, rk3588_tree.proc_root)
    assert m == {"vmhwm_mb": 1024.0, "vmrss_mb": 512.0, "rss_shmem_mb": 200.0,
                 "mem_available_mb": 4096.0, "shmem_mb": 300.0}


def test_read_memory_missing_process_gives_none(tmp_path):
    m = read_memory(123, tmp_path)
    assert set(m.values()) == {None}


def test_sample_reads_every_documented_source(rk3588_tree):
    rk3588_tree.set_npu_load(40, 20, 0)
    mon = Monitor(pid=rk3588_tree.pid, proc_root=rk3588_tree.proc_root, sys_root=rk3588_tree.sys_root)
    s = mon.sample()
    assert s["vmhwm_mb"] == 400.0
    assert s["mem_available_mb"] == pytest.approx(5000000 / 1024)
    assert s["npu_load"] == [40.0, 20.0, 0.0]
    assert s["cpu_freq_mhz"] == {"policy0": 1800.0, "policy4": 2352.0, "policy6": 2352.0}
    assert s["cpu_governor"]["policy4"] == "userspace"
    assert s["npu_freq_mhz"] == 1000.0 and s["npu_governor"] == "userspace"
    assert s["ddr_freq_mhz"] == 2112.0 and s["ddr_governor"] == "userspace"
    assert s["temps_c"]["soc-thermal"] == pytest.approx(41.23)
    assert len(s["temps_c"]) == 7
    assert mon.max_freq_mhz == {"cpu": {"policy0": 1800.0, "policy4": 2352.0, "policy6": 2352.0},
                                "npu": 1000.0, "ddr": 2112.0}
    # the caps (scaling_max_freq / devfreq max_freq) that thermal throttling lowers
    assert s["cpu_cap_mhz"] == {"policy0": 1800.0, "policy4": 2352.0, "policy6": 2352.0}
    assert s["npu_cap_mhz"] == 1000.0 and s["ddr_cap_mhz"] == 2112.0
    rk3588_tree.set_cpu_cap("policy6", 1800000)
    rk3588_tree.set_devfreq_cap("fdab0000.npu", 800000000)
    s2 = mon.sample()
    assert s2["cpu_cap_mhz"]["policy6"] == 1800.0 and s2["npu_cap_mhz"] == 800.0
    assert mon.max_freq_mhz["cpu"]["policy6"] == 2352.0  # the hardware max is not the cap


def test_missing_and_garbage_files_are_none_not_errors(tmp_path):
    fr = build_rk3588_tree(tmp_path, debugfs=False)
    fr.write("sys/class/devfreq/dmc/cur_freq", "garbage\n")
    fr.write("sys/class/thermal/thermal_zone0/temp", "\n")
    mon = Monitor(pid=fr.pid, proc_root=fr.proc_root, sys_root=fr.sys_root)
    s = mon.sample()
    assert s["npu_load"] is None
    assert s["ddr_freq_mhz"] is None
    assert "soc-thermal" not in s["temps_c"]
    empty = Monitor(pid=1, proc_root=tmp_path / "none", sys_root=tmp_path / "none").sample()
    for key in ("vmhwm_mb", "mem_available_mb", "npu_load", "cpu_freq_mhz", "npu_freq_mhz", "ddr_freq_mhz", "temps_c"):
        assert empty[key] is None


def _wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while not pred() and time.monotonic() < end:
        time.sleep(0.01)
    return pred()


def test_thread_samples_marks_phases_and_stops(rk3588_tree):
    mon = Monitor(pid=rk3588_tree.pid, interval_s=0.01, proc_root=rk3588_tree.proc_root,
                  sys_root=rk3588_tree.sys_root)
    with mon:
        mon.mark("load")
        assert _wait_for(lambda: any(s["phase"] == "load" for s in mon.samples))
        mon.mark("decode", run="pp128/tg64#0")
        assert _wait_for(lambda: any(s["phase"] == "decode" for s in mon.samples))
    n = len(mon.samples)
    time.sleep(0.05)
    assert len(mon.samples) == n  # stopped
    assert not mon.running
    ts = [s["t_s"] for s in mon.samples]
    assert ts == sorted(ts)
    assert mon.samples[-1]["run"] == "pp128/tg64#0"
    assert mon.last_sample() is mon.samples[-1]
    with pytest.raises(ValueError):
        mon.mark("lunch")


def test_sampler_errors_never_reach_the_run(rk3588_tree, monkeypatch):
    mon = Monitor(pid=rk3588_tree.pid, interval_s=0.005, proc_root=rk3588_tree.proc_root,
                  sys_root=rk3588_tree.sys_root)

    def boom():
        raise RuntimeError("sensor fell off")

    monkeypatch.setattr(mon, "sample", boom)
    with mon:
        assert _wait_for(lambda: mon.errors >= 3)
    assert mon.samples == []


def test_host_snapshot_pinned_board(rk3588_tree):
    h = host_snapshot(rk3588_tree.proc_root, rk3588_tree.sys_root, runtime_version="1.2.3")
    assert h["board_model"] == "Radxa ROCK 5B"
    assert h["soc"] == "RK3588"
    assert h["kernel"] == "5.10.160-rockchip-rk3588"
    assert h["npu_driver_version"] == "0.9.8"
    assert h["runtime_version"] == "1.2.3"
    assert h["cpu_model"] == "4x Cortex-A55 + 4x Cortex-A76"
    assert h["cpu_cores"] == 8
    assert h["mem_total_mb"] == pytest.approx(8110608 / 1024)
    assert h["cpu_governors"] == {"policy0": "userspace", "policy4": "userspace", "policy6": "userspace"}
    assert h["clocks_pinned"] is True
    assert h["clocks_pinned_reasons"] == []
    for key in ("python", "rklab_version", "llama_cpp_python_version"):
        assert h[key]


def test_clocks_not_pinned_lists_reasons(rk3588_tree_unpinned):
    c = clock_check(rk3588_tree_unpinned.sys_root)
    assert c["clocks_pinned"] is False
    text = " | ".join(c["clocks_pinned_reasons"])
    assert "policy0 governor schedutil" in text
    assert "policy4 at 408 MHz < max 2352 MHz" in text
    assert "NPU at 300 MHz < 1000 MHz" in text
    assert "DDR governor dmc_ondemand" in text


def test_one_cpu_policy_below_max_breaks_pinning(rk3588_tree):
    rk3588_tree.set_cpu("policy6", 2208000, "performance")
    c = clock_check(rk3588_tree.sys_root)
    assert c["clocks_pinned"] is False
    assert c["clocks_pinned_reasons"] == ["policy6 at 2208 MHz < max 2352 MHz"]


def test_clocks_unknown_without_cpufreq(tmp_path):
    c = clock_check(tmp_path)
    assert c["clocks_pinned"] is None
    assert len(c["clocks_pinned_reasons"]) == 5


def test_reset_peak_rss_on_this_process():
    if not reset_peak_rss():
        pytest.skip("clear_refs not writable here")
    before = read_memory()["vmhwm_mb"]
    block = bytearray(64 << 20)  # touch 64 MB
    block[::4096] = b"\x01" * len(block[::4096])
    peak = read_memory()["vmhwm_mb"]
    del block
    assert peak >= before + 60
    assert reset_peak_rss()
    after = read_memory()["vmhwm_mb"]
    assert after < peak - 50


def test_reset_peak_rss_reports_failure(tmp_path):
    assert reset_peak_rss(99999999, tmp_path / "nope") is False
