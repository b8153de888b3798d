"""A fake RK3588 /proc + /sys tree (file formats as on a board with kernel 5.10 / rknpu 0.9.8).

Only the files rklab reads are created, with the exact text layout of the real ones
(``/proc/<pid>/status`` and ``/proc/meminfo`` in kB, cpufreq in kHz, devfreq in Hz,
thermal in millidegrees, device-tree strings NUL-terminated, the rknpu debugfs ``load``
line as the driver prints it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

A55_MAX_KHZ = 1800000
A76_MAX_KHZ = 2352000
NPU_FREQS_HZ = [300000000, 400000000, 500000000, 600000000, 700000000, 800000000, 900000000, 1000000000]
DDR_FREQS_HZ = [528000000, 1068000000, 1560000000, 2112000000]
THERMAL_TYPES = ["soc-thermal", "bigcore0-thermal", "bigcore1-thermal", "littlecore-thermal",
                 "center-thermal", "gpu-thermal", "npu-thermal"]

STATUS_TEMPLATE = """Name:\tpython3
Umask:\t0022
State:\tR (running)
Tgid:\t{pid}
Ngid:\t0
Pid:\t{pid}
PPid:\t1
TracerPid:\t0
Uid:\t1000\t1000\t1000\t1000
Gid:\t1000\t1000\t1000\t1000
FDSize:\t256
Groups:\t4 20 24 27 29 44 46 100 1000
VmPeak:\t 2457600 kB
VmSize:\t 2400000 kB
VmLck:\t       0 kB
VmPin:\t       0 kB
VmHWM:\t {vmhwm_kb} kB
VmRSS:\t {vmrss_kb} kB
RssAnon:\t  310000 kB
RssFile:\t   90000 kB
RssShmem:\t {rss_shmem_kb} kB
VmData:\t  600000 kB
VmStk:\t     132 kB
VmExe:\t    2836 kB
VmLib:\t   30000 kB
VmPTE:\t    1500 kB
VmSwap:\t       0 kB
HugetlbPages:\t       0 kB
CoreDumping:\t0
THP_enabled:\t1
Threads:\t9
SigQ:\t0/31437
Cpus_allowed:\tff
Cpus_allowed_list:\t0-7
voluntary_ctxt_switches:\t1200
nonvoluntary_ctxt_switches:\t30
"""

MEMINFO_TEMPLATE = """MemTotal:        8110608 kB
MemFree:          900000 kB
MemAvailable:    {mem_available_kb} kB
Buffers:           40000 kB
Cached:          2500000 kB
SwapCached:            0 kB
Active:          1500000 kB
Inactive:        2000000 kB
SwapTotal:       4055300 kB
SwapFree:        4055300 kB
Dirty:               100 kB
AnonPages:       1400000 kB
Mapped:           500000 kB
Shmem:           {shmem_kb} kB
KReclaimable:      90000 kB
Slab:             200000 kB
CmaTotal:          65536 kB
CmaFree:           60000 kB
"""

CPUINFO = "".join(
    f"processor\t: {i}\nBogoMIPS\t: 48.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp "
    f"cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: "
    f"{'0x2' if i < 4 else '0x4'}\nCPU part\t: {'0xd05' if i < 4 else '0xd0b'}\nCPU revision\t: 0\n\n"
    for i in range(8)
)


@dataclass
class FakeRoot:
    proc_root: Path
    sys_root: Path
    pid: int

    def write(self, rel: str, text: str) -> Path:
        """Write a file relative to the fake root (``proc/...`` or ``sys/...``)."""
        p = self.proc_root.parent / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    def set_memory(self, *, vmhwm_kb=None, vmrss_kb=None, rss_shmem_kb=0, mem_available_kb=5000000, shmem_kb=60000):
        vmhwm_kb = vmhwm_kb if vmhwm_kb is not None else 409600
        vmrss_kb = vmrss_kb if vmrss_kb is not None else vmhwm_kb
        self.write(f"proc/{self.pid}/status", STATUS_TEMPLATE.format(
            pid=self.pid, vmhwm_kb=vmhwm_kb, vmrss_kb=vmrss_kb, rss_shmem_kb=rss_shmem_kb))
        self.write("proc/meminfo", MEMINFO_TEMPLATE.format(mem_available_kb=mem_available_kb, shmem_kb=shmem_kb))

    def set_npu_load(self, *cores: int):
        self.write("sys/kernel/debug/rknpu/load",
                   "NPU load:  " + " ".join(f"Core{i}: {v:2d}%," for i, v in enumerate(cores)) + "\n")

    def set_cpu(self, policy: str, cur_khz: int, governor: str):
        base = f"sys/devices/system/cpu/cpufreq/{policy}"
        self.write(f"{base}/scaling_cur_freq", f"{cur_khz}\n")
        self.write(f"{base}/scaling_governor", f"{governor}\n")

    def set_cpu_cap(self, policy: str, max_khz: int):
        """Lower (or restore) a policy's ``scaling_max_freq``, as thermal/firmware throttling does."""
        self.write(f"sys/devices/system/cpu/cpufreq/{policy}/scaling_max_freq", f"{max_khz}\n")

    def set_devfreq_cap(self, dev: str, max_hz: int):
        """Lower (or restore) a devfreq device's ``max_freq`` (``fdab0000.npu`` / ``dmc``)."""
        self.write(f"sys/class/devfreq/{dev}/max_freq", f"{max_hz}\n")

    def set_devfreq(self, dev: str, cur_hz: int, governor: str):
        self.write(f"sys/class/devfreq/{dev}/cur_freq", f"{cur_hz}\n")
        self.write(f"sys/class/devfreq/{dev}/governor", f"{governor}\n")


def build_rk3588_tree(root: Path, *, pid: int = 4242, pinned: bool = True, debugfs: bool = True,
                      npu_load=(35, 12, 0), temps_mc=(41230, 42000, 41600, 40800, 41000, 40500, 40900),
                      ddr_devfreq: bool = True) -> FakeRoot:
    """Create ``root/proc`` and ``root/sys`` as on an RK3588 8 GB board.

    ``pinned=True``: clocks as after Rockchip's fix_freq_rk3588.sh (userspace governors at max,
    cpuidle state1 disabled); ``pinned=False``: the stock state (ondemand / dmc_ondemand, idle
    frequencies, deep idle on). ``debugfs=False``: no /sys/kernel/debug (not root).
    ``ddr_devfreq=False``: no /sys/class/devfreq/dmc, as on boards whose bootloader lacks DMC DVFS.
    """
    root = Path(root)
    fr = FakeRoot(proc_root=root / "proc", sys_root=root / "sys", pid=pid)
    fr.set_memory()
    fr.write("proc/cpuinfo", CPUINFO)
    fr.write("proc/device-tree/model", "Radxa ROCK 5B\x00")
    fr.write("proc/device-tree/compatible", "radxa,rock-5b\x00rockchip,rk3588\x00")
    fr.write("proc/sys/kernel/osrelease", "5.10.160-rockchip-rk3588\n")
    for policy, mx, avail in (("policy0", A55_MAX_KHZ, [408000, 600000, 816000, 1008000, 1200000, 1416000, 1608000, 1800000]),
                              ("policy4", A76_MAX_KHZ, [408000, 816000, 1200000, 1608000, 2016000, 2208000, 2352000]),
                              ("policy6", A76_MAX_KHZ, [408000, 816000, 1200000, 1608000, 2016000, 2208000, 2352000])):
        base = f"sys/devices/system/cpu/cpufreq/{policy}"
        first = int(policy[len("policy"):])
        fr.write(f"{base}/related_cpus", " ".join(str(c) for c in range(first, first + (4 if first == 0 else 2))) + "\n")
        fr.write(f"{base}/cpuinfo_max_freq", f"{mx}\n")
        fr.write(f"{base}/scaling_max_freq", f"{mx}\n")
        fr.write(f"{base}/scaling_available_frequencies", " ".join(map(str, avail)) + " \n")
        fr.set_cpu(policy, mx if pinned else 408000, "userspace" if pinned else "schedutil")
    for cpu in range(8):
        fr.write(f"sys/devices/system/cpu/cpu{cpu}/cpuidle/state1/disable", "1\n" if pinned else "0\n")
    devfreqs = [("fdab0000.npu", NPU_FREQS_HZ, "rknpu_ondemand")] + ([("dmc", DDR_FREQS_HZ, "dmc_ondemand")]
                                                                      if ddr_devfreq else [])
    for dev, freqs, stock_gov in devfreqs:
        fr.write(f"sys/class/devfreq/{dev}/available_frequencies", " ".join(map(str, freqs)) + "\n")
        fr.write(f"sys/class/devfreq/{dev}/max_freq", f"{freqs[-1]}\n")
        fr.set_devfreq(dev, freqs[-1] if pinned else freqs[0], "userspace" if pinned else stock_gov)
    for i, (ztype, mc) in enumerate(zip(THERMAL_TYPES, temps_mc)):
        fr.write(f"sys/class/thermal/thermal_zone{i}/type", f"{ztype}\n")
        fr.write(f"sys/class/thermal/thermal_zone{i}/temp", f"{mc}\n")
    if debugfs:
        fr.set_npu_load(*npu_load)
        fr.write("sys/kernel/debug/rknpu/version", "RKNPU driver: v0.9.8\n")
    return fr
