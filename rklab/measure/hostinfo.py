"""Static description of the host a benchmark ran on (``host_snapshot``), stored in every record.

Board identity comes from the device tree (``/proc/device-tree/model``, ``compatible``);
the NPU driver version from ``/sys/kernel/debug/rknpu/version`` (root only); clocks from
cpufreq/devfreq. ``clocks_pinned`` answers "were clocks fixed the way Rockchip's
``fix_freq_rk3588.sh`` fixes them for the official benchmark table?":

- CPU policies policy0/policy4/policy6: governor ``userspace`` or ``performance`` and
  current frequency == the policy's maximum (``cpuinfo_max_freq``);
- NPU (``fdab0000.npu``): governor ``userspace``/``performance`` at 1 GHz;
- DDR (``dmc``): governor ``userspace``/``performance`` at its highest available frequency.

It is ``True`` when every check passes, ``False`` when one fails, ``None`` when some could
not be read (not root, not an RK3588) and none failed; ``clocks_pinned_reasons`` lists the
failed or unreadable checks.

``mem_bandwidth``: a short CPU read-bandwidth probe (:mod:`rklab.measure.membw`, once per process, on the
cores llama.cpp uses), the denominator of llama.cpp's decode ceiling. Only for the real host (``/proc``).
"""

from __future__ import annotations

import os
import platform
import re
import sys
from pathlib import Path

from rklab import __version__
from rklab.measure.membw import host_bandwidth

CPU_POLICIES = ("policy0", "policy4", "policy6")
NPU_DEBUGFS = "kernel/debug/rknpu"
NPU_DEVFREQ = "class/devfreq/fdab0000.npu"
DDR_DEVFREQ = "class/devfreq/dmc"
NPU_PINNED_MHZ = 1000.0
PINNED_GOVERNORS = ("userspace", "performance")
# ARM "CPU part" ids in /proc/cpuinfo (ARM technical reference manuals).
ARM_PARTS = {"0xd03": "Cortex-A53", "0xd05": "Cortex-A55", "0xd08": "Cortex-A72", "0xd0b": "Cortex-A76",
             "0xd0d": "Cortex-A77", "0xd41": "Cortex-A78"}


def read_text(path) -> str | None:
    """Stripped text of a small file, or None when missing/unreadable (NULs of device-tree strings removed)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    text = raw.replace(b"\x00", b"\n").decode("utf-8", errors="replace").strip()
    return text or None


def read_int(path) -> int | None:
    t = read_text(path)
    try:
        return int(t.split()[0]) if t else None
    except ValueError:
        return None


def freq_max_hz(dev_dir, cpu: bool = False) -> int | None:
    """Hardware maximum of a cpufreq policy (kHz, ``cpuinfo_max_freq``) or devfreq device (Hz).

    For devfreq the highest of ``available_frequencies`` is used (``max_freq`` can be a
    lowered policy cap), falling back to ``max_freq``.
    """
    d = Path(dev_dir)
    if cpu:
        v = read_int(d / "cpuinfo_max_freq")
        if v is not None:
            return v
        avail = read_text(d / "scaling_available_frequencies")
    else:
        avail = read_text(d / "available_frequencies")
    if avail:
        vals = [int(x) for x in avail.split() if x.isdigit()]
        if vals:
            return max(vals)
    return read_int(d / ("scaling_max_freq" if cpu else "max_freq"))


def soc_from_compatible(compatible: list[str]) -> str | None:
    for c in compatible:
        m = re.match(r"rockchip,(rk\d+\w*)$", c)
        if m:
            return m.group(1).upper()
    return None


def _cpu_model(cpuinfo: str | None) -> str | None:
    if not cpuinfo:
        return platform.processor() or None
    m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    if m:
        return m.group(1).strip()
    parts = re.findall(r"^CPU part\s*:\s*(0x[0-9a-fA-F]+)", cpuinfo, re.M)
    if parts:
        counts: dict[str, int] = {}
        for p in parts:
            name = ARM_PARTS.get(p.lower(), f"ARM part {p}")
            counts[name] = counts.get(name, 0) + 1
        return " + ".join(f"{n}x {name}" for name, n in counts.items())
    m = re.search(r"^Hardware\s*:\s*(.+)$", cpuinfo, re.M)
    return m.group(1).strip() if m else None


def _pkg_version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None


def clock_check(sys_root="/sys") -> dict:
    """Current clocks and governors plus the fix_freq_rk3588.sh verdict (see module doc)."""
    s = Path(sys_root)
    out: dict = {"cpu_governors": {}, "cpu_freq_mhz": {}, "cpu_max_mhz": {}}
    failed: list[str] = []
    unknown: list[str] = []
    for pol in CPU_POLICIES:
        d = s / "devices/system/cpu/cpufreq" / pol
        gov = read_text(d / "scaling_governor")
        cur = read_int(d / "scaling_cur_freq")
        mx = freq_max_hz(d, cpu=True)
        out["cpu_governors"][pol] = gov
        out["cpu_freq_mhz"][pol] = cur / 1000 if cur is not None else None
        out["cpu_max_mhz"][pol] = mx / 1000 if mx is not None else None
        if gov is None or cur is None or mx is None:
            unknown.append(f"{pol}: cpufreq not readable")
            continue
        if gov not in PINNED_GOVERNORS:
            failed.append(f"{pol} governor {gov} (pinned needs userspace/performance)")
        if cur < mx:
            failed.append(f"{pol} at {cur / 1000:.0f} MHz < max {mx / 1000:.0f} MHz")
    for key, rel, want in (("npu", NPU_DEVFREQ, NPU_PINNED_MHZ), ("ddr", DDR_DEVFREQ, None)):
        d = s / rel
        gov = read_text(d / "governor")
        cur = read_int(d / "cur_freq")
        mx = freq_max_hz(d)
        out[f"{key}_governor"] = gov
        out[f"{key}_freq_mhz"] = cur / 1e6 if cur is not None else None
        out[f"{key}_max_mhz"] = mx / 1e6 if mx is not None else None
        if gov is None or cur is None:
            unknown.append(f"{key.upper()} devfreq {d} not readable")
            continue
        if gov not in PINNED_GOVERNORS:
            failed.append(f"{key.upper()} governor {gov} (pinned needs userspace/performance)")
        target = want if want is not None else (mx / 1e6 if mx is not None else None)
        if target is None:
            unknown.append(f"{key.upper()} max frequency unknown")
        elif cur / 1e6 + 0.5 < target:
            failed.append(f"{key.upper()} at {cur / 1e6:.0f} MHz < {target:.0f} MHz")
    out["clocks_pinned"] = False if failed else (None if unknown else True)
    out["clocks_pinned_reasons"] = failed + unknown
    return out


def npu_driver_version(sys_root: str | os.PathLike = "/sys") -> str | None:
    """The rknpu driver version from debugfs (``RKNPU driver: v0.9.8`` -> ``0.9.8``); None if unreadable."""
    m = re.search(r"v?(\d+\.\d+\.\d+)", read_text(Path(sys_root) / NPU_DEBUGFS / "version") or "")
    return m.group(1) if m else None


# The RKLLM runtime refuses to initialise on an older RKNPU driver (it prints "please upgrade to 0.9.7"
# and rkllm_init fails); the SDK manuals of 1.2.3 and 1.3.0 (section 2.4) ask for 0.9.8.
MIN_NPU_DRIVER = (0, 9, 7)
RECOMMENDED_NPU_DRIVER = (0, 9, 8)
DRIVER_FIX = ("update the board's kernel to one with rknpu driver 0.9.8 (the vendor image, or rebuild the kernel "
              "with rknpu_driver_0.9.8 as the RKLLM SDK manual section 2.4 describes)")


def version_tuple(version: str | None) -> tuple[int, ...] | None:
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", version or "")
    return tuple(int(x) for x in m.groups()) if m else None


def driver_status(version: str | None) -> tuple[str, str]:
    """``(status, detail)`` of an RKNPU driver version for RKLLM: ok | warn (0.9.7) | fail (< 0.9.7) | unknown."""
    v = version_tuple(version)
    if v is None:
        return "unknown", "RKNPU driver version unknown"
    if v < MIN_NPU_DRIVER:
        return "fail", (f"RKNPU driver {version} is older than 0.9.7: the RKLLM runtime refuses to initialise "
                        "(recommended 0.9.8)")
    if v < RECOMMENDED_NPU_DRIVER:
        return "warn", f"RKNPU driver {version} works; 0.9.8 is recommended (RKLLM SDK manual 2.4)"
    return "ok", f"RKNPU driver {version}"


def host_snapshot(proc_root="/proc", sys_root="/sys", runtime_version: str | None = None,
                  bandwidth: bool = True) -> dict:
    """Board, SoC, kernel, NPU driver, runtime, CPU, memory, clocks, software versions and (real host,
    ``bandwidth``) the measured CPU memory bandwidth."""
    p = Path(proc_root)
    compatible = (read_text(p / "device-tree/compatible") or "").split()
    cpuinfo = read_text(p / "cpuinfo")
    meminfo = read_text(p / "meminfo") or ""
    m = re.search(r"^MemTotal:\s*(\d+)\s*kB", meminfo, re.M)
    npu_ver = npu_driver_version(sys_root) or read_text(Path(sys_root) / NPU_DEBUGFS / "version")
    n_logical = len(re.findall(r"^processor\s*:", cpuinfo or "", re.M)) or None
    if str(proc_root) == "/proc":
        n_logical = os.cpu_count()
        try:
            import psutil

            n_physical = psutil.cpu_count(logical=False)
        except Exception:  # pragma: no cover
            n_physical = None
    else:
        n_physical = None
    snap = {
        "board_model": read_text(p / "device-tree/model"),
        "soc": soc_from_compatible(compatible),
        "compatible": compatible or None,
        "machine": platform.machine(),
        "kernel": read_text(p / "sys/kernel/osrelease") or platform.release(),
        "npu_driver_version": npu_ver,
        "runtime_version": runtime_version,
        "cpu_model": _cpu_model(cpuinfo),
        "cpu_cores": n_logical,
        "cpu_cores_physical": n_physical,
        "mem_total_mb": int(m.group(1)) / 1024 if m else None,
        "hostname": platform.node(),
        "python": sys.version.split()[0],
        "rklab_version": __version__,
        "llama_cpp_python_version": _pkg_version("llama_cpp_python"),
    }
    snap.update(clock_check(sys_root))
    if bandwidth and str(proc_root) == "/proc":
        snap["mem_bandwidth"] = host_bandwidth(str(sys_root))
    return snap
