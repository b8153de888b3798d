"""`rklab doctor` on fake RK3588 trees (pinned, stock, no DDR devfreq, old driver, no root) and on this PC."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rklab.measure.doctor import FAIL, NA, OK, WARN, format_doctor, run_doctor
from tests.fakes.sysfs import build_rk3588_tree


def _doctor(tree, **kw):
    return run_doctor(proc_root=tree.proc_root, sys_root=tree.sys_root, **kw)


def _by(rep, name):
    return next(c for c in rep.checks if c.name.startswith(name))


def test_pinned_board_with_a_runtime_is_all_ok(tmp_path, fake_rkllm_libs, monkeypatch):
    monkeypatch.delenv("RKLLM_VERSION", raising=False)
    rep = _doctor(build_rk3588_tree(tmp_path), library=fake_rkllm_libs["1.3.0"])
    assert rep.on_board and rep.soc == "RK3588" and rep.ok
    assert {c.status for c in rep.checks} == {OK}, format_doctor(rep)
    rt = _by(rep, "RKLLM runtime")
    assert "rkllm.h 1.3.0 (layout fingerprint" in rt.detail and "wrote 184 bytes" in rt.detail
    assert "fix_freq_rk3588.sh" in _by(rep, "board").detail
    assert _by(rep, "RKNPU driver").detail == "RKNPU driver 0.9.8"
    assert "2352 MHz of max 2352 MHz" in _by(rep, "CPU policy4").detail
    assert "dmc: governor userspace, 2112 MHz of max 2112 MHz" in _by(rep, "DDR clock").detail
    assert "CmaTotal 64 MB" in _by(rep, "CMA").detail
    assert "nothing stops measurements" in format_doctor(rep) and "all clocks at once" not in format_doctor(rep)


def test_stock_clocks_get_the_exact_commands(tmp_path, fake_rkllm_libs):
    rep = _doctor(build_rk3588_tree(tmp_path, pinned=False), library=fake_rkllm_libs["1.2.3"])
    pol4 = _by(rep, "CPU policy4")
    assert pol4.status == WARN and "governor schedutil, 408 MHz of max 2352 MHz" in pol4.detail
    assert pol4.fix.startswith("echo userspace | sudo tee /sys/devices/system/cpu/cpufreq/policy4/scaling_governor && "
                               "echo 2352000 | sudo tee /sys/devices/system/cpu/cpufreq/policy4/scaling_setspeed")
    assert str(tmp_path) not in pol4.fix
    npu = _by(rep, "NPU clock")
    assert npu.status == WARN and "echo 1000000000 | sudo tee /sys/class/devfreq/fdab0000.npu/userspace/set_freq" in npu.fix
    ddr = _by(rep, "DDR clock")
    assert ddr.status == WARN and "echo 2112000000 | sudo tee /sys/class/devfreq/dmc/userspace/set_freq" in ddr.fix
    idle = _by(rep, "cpuidle")
    assert idle.status == WARN and "cpu0" in idle.detail and "state1/disable" in idle.fix
    assert rep.ok  # unpinned clocks are warnings: measurements run, slower than Rockchip's
    text = format_doctor(rep)
    assert "[WARN] CPU policy0" in text and "fix: echo userspace" in text
    assert "all clocks at once, as for Rockchip's benchmark table: sudo bash rknn-llm/scripts/fix_freq_rk3588.sh" in text
    assert rep.to_dict()["fix_freq"].startswith("sudo bash rknn-llm/scripts/fix_freq_rk3588.sh")


def test_missing_ddr_devfreq_is_a_failure_no_script_fixes(tmp_path, fake_rkllm_libs):
    rep = _doctor(build_rk3588_tree(tmp_path, ddr_devfreq=False), library=fake_rkllm_libs["1.3.0"])
    ddr = _by(rep, "DDR clock")
    assert ddr.status == FAIL and "bootloader lacks DMC DVFS" in ddr.detail and "flash" in ddr.fix
    assert not rep.ok and "1 problem(s)" in format_doctor(rep)


@pytest.mark.parametrize("version, status", [("0.9.6", FAIL), ("0.9.7", WARN), ("0.9.8", OK)])
def test_driver_version(tmp_path, fake_rkllm_libs, version, status):
    tree = build_rk3588_tree(tmp_path)
    tree.write("sys/kernel/debug/rknpu/version", f"RKNPU driver: v{version}\n")
    drv = _by(_doctor(tree, library=fake_rkllm_libs["1.3.0"]), "RKNPU driver")
    assert drv.status == status and version in drv.detail
    if status != OK:
        assert "rknpu driver 0.9.8" in drv.fix


def test_without_root_the_driver_check_says_sudo(tmp_path, fake_rkllm_libs):
    drv = _by(_doctor(build_rk3588_tree(tmp_path, debugfs=False), library=fake_rkllm_libs["1.3.0"]), "RKNPU driver")
    assert drv.status == WARN and "/sys/kernel/debug/rknpu/version is not readable" in drv.detail
    assert drv.fix.startswith("sudo rklab doctor")


def test_missing_library_on_the_board(tmp_path, monkeypatch):
    monkeypatch.delenv("RKLLM_LIB", raising=False)
    rt = _by(_doctor(build_rk3588_tree(tmp_path), library=tmp_path / "none" / "librkllmrt.so"), "RKLLM runtime")
    assert rt.status == FAIL and "does not exist" in rt.detail
    assert "librkllm_api/aarch64/librkllmrt.so /usr/lib/" in rt.fix


def test_other_soc_points_at_its_own_script(tmp_path, fake_rkllm_libs):
    tree = build_rk3588_tree(tmp_path, pinned=False)
    tree.write("proc/device-tree/compatible", "rockchip,rk3576-evb\x00rockchip,rk3576\x00")
    rep = _doctor(tree, library=fake_rkllm_libs["1.3.0"])
    assert rep.soc == "RK3576" and "fix_freq_rk3576.sh" in format_doctor(rep)


def test_on_a_pc_the_board_checks_do_not_apply(tmp_path, monkeypatch):
    monkeypatch.delenv("RKLLM_LIB", raising=False)
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "meminfo").write_text("MemTotal:       16000000 kB\nMemAvailable:   12000000 kB\n")
    rep = run_doctor(proc_root=proc, sys_root=tmp_path / "sys")
    assert not rep.on_board and rep.ok
    statuses = {c.name: c.status for c in rep.checks}
    assert statuses["board"] == NA and statuses["RKLLM runtime (librkllmrt.so)"] == NA
    assert statuses["RKNPU driver"] == NA and statuses["CMA"] == NA and statuses["free memory"] == OK
    assert "do not apply" in _by(rep, "board").detail


def test_cli_on_this_machine():
    r = subprocess.run([sys.executable, "-m", "rklab.cli", "doctor", "--json"], capture_output=True, text=True)
    data = json.loads(r.stdout)
    assert r.returncode == (0 if data["ok"] else 1)
    assert data["checks"][0]["name"] == "board"
    text = subprocess.run([sys.executable, "-m", "rklab.cli", "doctor"], capture_output=True, text=True).stdout
    assert text.startswith("rklab doctor:")
