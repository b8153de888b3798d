"""``rklab doctor``: will measurements on this machine match Rockchip's? Each problem with the command that fixes it.

What decides it (Rockchip's benchmark conditions, ``fix_freq_rk3588.sh`` in rknn-llm's ``scripts/``):

- the RKLLM runtime library: found, for this architecture, and which ``rkllm.h`` release its
  layout matches (:mod:`rklab.measure.runtimes.rkllm_loader`; the library is opened and
  ``rkllm_createDefaultParam`` called, no model is loaded);
- the RKNPU driver version (below 0.9.7 the runtime refuses to start, 0.9.8 recommended);
- CPU, NPU and DDR governors and current against maximum clocks, and cpuidle's deep state (the
  script pins all of them; the official numbers were taken that way);
- whether DDR devfreq exists at all: boards whose bootloader lacks DMC DVFS have no
  ``/sys/class/devfreq/dmc`` and run the DDR at whatever the bootloader set, far below the
  official numbers, and no script can fix that;
- CMA size and free memory.

On a machine that is not a Rockchip board (no ``rockchip,rk*`` in the device tree) the board
checks say plainly that they do not apply. Paths are read under ``proc_root`` / ``sys_root`` (the
tests use fake trees); the fix commands always name the real ``/sys`` paths.
"""

from __future__ import annotations

import glob
import os
import platform
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rklab.errors import RklabError
from rklab.i18n import text
from rklab.measure.hostinfo import (DRIVER_FIX, NPU_DEBUGFS, PINNED_GOVERNORS, driver_status, freq_max_hz,
                                    npu_driver_version, read_int, read_text, soc_from_compatible)
from rklab.measure.monitor import read_meminfo
from rklab.measure.runtimes import rkllm_loader

OK, WARN, FAIL, NA = "ok", "warn", "fail", "n/a"
# Rockchip's frequency-pinning script per SoC (github.com/airockchip/rknn-llm, scripts/).
FIX_FREQ_SCRIPTS = {"RK3588": "fix_freq_rk3588.sh", "RK3576": "fix_freq_rk3576.sh", "RK3562": "fix_freq_rk3562.sh",
                    "RV1126B": "fix_freq_rv1126b.sh"}
RKNN_LLM = "github.com/airockchip/rknn-llm"
# The scripts start with `#!/system/bin/sh` (Android); on Linux run them through sh/bash.
SCRIPT_NOTE = "run it with `sudo bash` (its first line names Android's /system/bin/sh); clocks reset at reboot"
MIN_MEM_AVAILABLE_MB = 1024.0


@dataclass
class Check:
    category: str  # platform | runtime | driver | clocks | memory
    name: str
    status: str  # ok | warn | fail | n/a
    detail: str
    fix: str = ""  # the exact command (or step) that fixes it


@dataclass
class DoctorReport:
    machine: str
    soc: str | None
    board: str | None
    checks: list[Check] = field(default_factory=list)

    @property
    def on_board(self) -> bool:
        return self.soc is not None

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failures

    def add(self, *args, **kw) -> Check:
        c = Check(*args, **kw)
        self.checks.append(c)
        return c

    @property
    def clocks_to_pin(self) -> bool:
        return any(c.category == "clocks" and c.status in (WARN, FAIL) for c in self.checks)

    def to_dict(self) -> dict:
        return {"machine": self.machine, "soc": self.soc, "board": self.board, "ok": self.ok,
                "fix_freq": fix_freq_command(self.soc) if self.clocks_to_pin else None,
                "checks": [asdict(c) for c in self.checks]}


def _real(path: Path, sys_root: Path) -> str:
    """``path`` under ``sys_root`` as the real ``/sys/...`` path (for fix commands)."""
    try:
        return "/sys/" + str(Path(path).relative_to(sys_root))
    except ValueError:
        return str(path)


def _tee(value, path: str) -> str:
    return f"echo {value} | sudo tee {path}"


def fix_freq_command(soc: str | None) -> str:
    script = FIX_FREQ_SCRIPTS.get(soc or "", "fix_freq_<soc>.sh")
    return f"sudo bash rknn-llm/scripts/{script} (from {RKNN_LLM}; {SCRIPT_NOTE})"


# --------------------------------------------------------------------------- checks

def _check_runtime(rep: DoctorReport, library) -> None:
    name = "RKLLM runtime (librkllmrt.so)"
    if not rep.on_board and not (library or os.environ.get("RKLLM_LIB")):
        rep.add("runtime", name, NA, f"not a Rockchip board ({rep.machine}): RKLLM runs on the board only; "
                                     "here rklab measures with llama.cpp on the CPU")
        return
    try:
        rt = rkllm_loader.load_library(library)
    except RklabError as exc:
        rep.add("runtime", name, FAIL, str(exc),
                "sudo cp rknn-llm/rkllm-runtime/Linux/librkllm_api/aarch64/librkllmrt.so /usr/lib/ "
                f"(from the {RKNN_LLM} release you use), or set RKLLM_LIB")
        return
    fp = rt.fingerprint
    rep.add("runtime", name, OK, f"{rt.path}: rkllm.h {rt.release} ({rt.release_source}; {fp.summary()})")


def _check_driver(rep: DoctorReport, sys_root: Path) -> None:
    name = "RKNPU driver"
    if not rep.on_board:
        rep.add("driver", name, NA, "no Rockchip NPU on this machine")
        return
    version = npu_driver_version(sys_root)
    if version is None:
        where = sys_root / NPU_DEBUGFS / "version"
        rep.add("driver", name, WARN, f"{_real(where, sys_root)} is not readable (debugfs needs root)",
                "sudo rklab doctor   (if debugfs is not mounted: sudo mount -t debugfs none /sys/kernel/debug)")
        return
    status, detail = driver_status(version)
    rep.add("driver", name, {"fail": FAIL, "warn": WARN}.get(status, OK), detail, DRIVER_FIX if status != "ok" else "")


def _devfreq(sys_root: Path, pattern: str) -> Path | None:
    hits = sorted(glob.glob(str(sys_root / "class/devfreq" / pattern)))
    return Path(hits[0]) if hits else None


def _check_cpus(rep: DoctorReport, sys_root: Path) -> None:
    policies = sorted(glob.glob(str(sys_root / "devices/system/cpu/cpufreq/policy*")),
                      key=lambda p: int(re.sub(r"\D", "", Path(p).name) or 0))
    if not policies:
        rep.add("clocks", "CPU clocks", WARN, "no cpufreq policies readable", "")
        return
    for pol in map(Path, policies):
        gov = read_text(pol / "scaling_governor")
        cur = read_int(pol / "scaling_cur_freq")
        mx = freq_max_hz(pol, cpu=True)
        name = f"CPU {pol.name}"
        if gov is None or cur is None or mx is None:
            rep.add("clocks", name, WARN, "governor or frequency not readable")
            continue
        pinned = gov in PINNED_GOVERNORS and cur >= mx
        detail = f"governor {gov}, {cur / 1000:.0f} MHz of max {mx / 1000:.0f} MHz"
        fix = (f"{_tee('userspace', _real(pol / 'scaling_governor', sys_root))} && "
               f"{_tee(mx, _real(pol / 'scaling_setspeed', sys_root))}")
        rep.add("clocks", name, OK if pinned else WARN, detail + ("" if pinned else ": not pinned at max"),
                "" if pinned else fix)
    idle = sorted(glob.glob(str(sys_root / "devices/system/cpu/cpu[0-9]*/cpuidle/state1/disable")))
    if idle:
        enabled = [Path(p).parts[-4] for p in idle if read_text(p) != "1"]
        rep.add("clocks", "cpuidle state1", WARN if enabled else OK,
                f"deep idle enabled on {', '.join(enabled)}" if enabled else "disabled on every core (as fix_freq sets)",
                "for f in /sys/devices/system/cpu/cpu*/cpuidle/state1/disable; do echo 1 | sudo tee $f; done"
                if enabled else "")


def _check_devfreq(rep: DoctorReport, sys_root: Path, key: str, pattern: str) -> None:
    label = {"npu": "NPU clock", "ddr": "DDR clock"}[key]
    dev = _devfreq(sys_root, pattern)
    if dev is None:
        if key == "ddr":
            rep.add("clocks", label, FAIL, "no DDR devfreq (/sys/class/devfreq/dmc): the bootloader lacks DMC DVFS, "
                                           "so DDR runs at the bootloader's frequency, often far below the official "
                                           "2112 MHz; decode speed follows DDR bandwidth",
                    "no command fixes it: flash a board image whose bootloader enables DMC DVFS (the board vendor's "
                    "current image), then pin the clocks")
        else:
            rep.add("clocks", label, WARN, "no NPU devfreq node (/sys/class/devfreq/*.npu)", "")
        return
    gov = read_text(dev / "governor")
    cur = read_int(dev / "cur_freq")
    mx = freq_max_hz(dev)
    if gov is None or cur is None or mx is None:
        rep.add("clocks", label, WARN, f"{_real(dev, sys_root)}: governor or frequency not readable", "sudo rklab doctor")
        return
    pinned = gov in PINNED_GOVERNORS and cur + 5e5 >= mx
    detail = f"{dev.name}: governor {gov}, {cur / 1e6:.0f} MHz of max {mx / 1e6:.0f} MHz"
    fix = f"{_tee('userspace', _real(dev / 'governor', sys_root))} && {_tee(mx, _real(dev / 'userspace/set_freq', sys_root))}"
    rep.add("clocks", label, OK if pinned else WARN, detail + ("" if pinned else ": not pinned at max"),
            "" if pinned else fix)


def _check_memory(rep: DoctorReport, proc_root: Path) -> None:
    try:
        mem = read_meminfo(proc_root)
    except OSError:
        mem = {}
    if not mem:
        rep.add("memory", "memory", WARN, f"{proc_root / 'meminfo'} not readable")
        return
    if rep.on_board:
        cma = (f"CmaTotal {mem['CmaTotal']:.0f} MB, CmaFree {mem.get('CmaFree', 0):.0f} MB" if "CmaTotal" in mem
               else "the kernel reports no CmaTotal (CMA disabled)")
        rep.add("memory", "CMA", OK, cma + " (recorded for comparison: the rknpu driver with IOMMU allocates NPU "
                                           "buffers from ordinary pages, not from CMA)")
    else:
        rep.add("memory", "CMA", NA, "no Rockchip NPU on this machine")
    avail, total = mem.get("MemAvailable"), mem.get("MemTotal")
    if avail is None or total is None:
        rep.add("memory", "free memory", WARN, "MemAvailable/MemTotal missing from meminfo")
        return
    low = avail < MIN_MEM_AVAILABLE_MB
    rep.add("memory", "free memory", WARN if low else OK,
            f"MemAvailable {avail:,.0f} MB of {total:,.0f} MB" + (": too little to load a model" if low else ""),
            "close the desktop and other programs (sudo systemctl isolate multi-user.target)" if low else "")


def run_doctor(*, proc_root: str | os.PathLike = "/proc", sys_root: str | os.PathLike = "/sys",
               library: str | os.PathLike | None = None) -> DoctorReport:
    """All checks (see the module docstring); nothing is changed on the machine."""
    proc, sys_ = Path(proc_root), Path(sys_root)
    compatible = (read_text(proc / "device-tree/compatible") or "").split()
    soc = soc_from_compatible(compatible)
    rep = DoctorReport(machine=platform.machine(), soc=soc, board=read_text(proc / "device-tree/model"))
    if soc:
        script = FIX_FREQ_SCRIPTS.get(soc)
        rep.add("platform", "board", OK, f"{rep.board or 'Rockchip board'}, SoC {soc}"
                + (f"; Rockchip's clock script for it: rknn-llm/scripts/{script}" if script else ""))
    else:
        rep.add("platform", "board", NA, f"this {rep.machine} machine is not a Rockchip board (no rockchip,rk* in "
                                         f"{proc / 'device-tree/compatible'}): the NPU, driver, clock and CMA checks "
                                         "do not apply; measurements here are llama.cpp on this CPU")
    _check_runtime(rep, library)
    _check_driver(rep, sys_)
    if soc:
        _check_cpus(rep, sys_)
        _check_devfreq(rep, sys_, "npu", "*.npu")
        _check_devfreq(rep, sys_, "ddr", "dmc")
    else:
        rep.add("clocks", "CPU / NPU / DDR clocks", NA, "clock pinning (fix_freq_*.sh) is for the board")
    _check_memory(rep, proc)
    return rep


def format_doctor(rep: DoctorReport, lang: str = "en") -> str:
    w = lambda key, **kw: text(f"doctor.{key}", lang, **kw)  # noqa: E731
    status_word = {OK: w("ok"), WARN: w("warn"), FAIL: w("fail"), NA: w("na")}
    where = f"{rep.board or rep.machine}" + (f" ({rep.soc})" if rep.soc else "")
    lines = [f"{w('title')}: {where}"]
    for c in rep.checks:
        lines.append(f"  [{status_word[c.status]}] {c.name}: {c.detail}")
        if c.fix and c.status in (WARN, FAIL):
            lines.append(f"      {w('fix')}: {c.fix}")
    if rep.clocks_to_pin:
        lines.append(f"{w('all_clocks')}: {fix_freq_command(rep.soc)}")
    n = len(rep.failures)
    lines.append(w("bad", n=n) if n else (w("good") if rep.on_board else w("good_pc")))
    return "\n".join(lines)
