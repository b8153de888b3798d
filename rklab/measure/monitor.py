"""Background system sampler (default 10 Hz) for benchmark runs on an RK3588 (or any Linux).

What one sample holds (paths from docs/board-rk3588 facts; ``None`` when a file is missing
or unreadable, e.g. not root for debugfs, or not an RK3588):

- ``vmhwm_mb``, ``vmrss_mb``, ``rss_shmem_mb``: ``/proc/<pid>/status`` (peak RSS, RSS, and
  the shmem part of RSS where rknpu's GEM buffers show up);
- ``mem_available_mb``, ``shmem_mb``: ``/proc/meminfo``;
- ``npu_load``: per-core percentages from ``/sys/kernel/debug/rknpu/load``
  (``NPU load:  Core0: xx%, Core1: xx%, Core2: xx%,``; the driver averages over ~1 s);
- ``cpu_freq_mhz`` / ``cpu_governor``: ``cpufreq/policy{0,4,6}/scaling_cur_freq`` / ``scaling_governor``;
- ``npu_freq_mhz`` / ``npu_governor``: ``/sys/class/devfreq/fdab0000.npu``;
- ``ddr_freq_mhz`` / ``ddr_governor``: ``/sys/class/devfreq/dmc``;
- ``cpu_cap_mhz`` / ``npu_cap_mhz`` / ``ddr_cap_mhz``: the current frequency *caps*
  (cpufreq ``scaling_max_freq``, devfreq ``max_freq``). Thermal and firmware throttling lower
  these below the hardware maximum (``Monitor.max_freq_mhz``: ``cpuinfo_max_freq`` / the highest
  of ``available_frequencies``), which is what the per-run ``throttled`` flag looks at;
- ``temps_c``: ``/sys/class/thermal/thermal_zone*/temp`` keyed by the zone's ``type``.

Cost: the file list is resolved once at start (missing files are not retried), each
sample is a handful of small reads and no psutil calls, so 10 Hz stays well under 1 % of
one core (``benchmarks/bench_harness_overhead.py`` measures it; ``Monitor.cpu_time_s``
is the sampler thread's own CPU time). The sampler never raises into the run: any error
in a sample is counted in ``Monitor.errors`` and the sample is skipped.

The static host description lives in :mod:`rklab.measure.hostinfo`; :func:`host_snapshot` is
re-exported here.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

from rklab.measure.hostinfo import (  # noqa: F401  (re-exported)
    CPU_POLICIES,
    DDR_DEVFREQ,
    NPU_DEBUGFS,
    NPU_DEVFREQ,
    freq_max_hz,
    host_snapshot,
    read_text,
)

PHASES = ("load", "prefill", "decode", "idle")
_NPU_CORE_RE = re.compile(r"Core(\d+):\s*([\d.]+)\s*%")
_PCT_RE = re.compile(r"([\d.]+)\s*%")
_STATUS_KEYS = {b"VmHWM:": "vmhwm_mb", b"VmRSS:": "vmrss_mb", b"RssShmem:": "rss_shmem_mb"}
_MEMINFO_KEYS = {b"MemAvailable:": "mem_available_mb", b"Shmem:": "shmem_mb"}


class _FileCache:
    """Keeps files open and re-reads them with ``pread(fd, n, 0)``.

    procfs/sysfs/debugfs regenerate a file's text on every read from offset 0, so one
    ``pread`` per sample replaces open + read + close (about 4x cheaper in Python).
    A file that fails is reopened once per read, then reported as missing (None).
    """

    def __init__(self):
        self._fds: dict[str, int] = {}
        self._lock = threading.Lock()

    def read(self, path: str | None) -> bytes | None:
        if not path:
            return None
        fd = self._fds.get(path)
        for _ in range(2):
            if fd is None:
                with self._lock:
                    fd = self._fds.get(path)
                    if fd is None:
                        try:
                            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                        except OSError:
                            return None
                        self._fds[path] = fd
            try:
                return os.pread(fd, 65536, 0)
            except OSError:
                self._drop(path)
                fd = None
        return None

    def _drop(self, path: str) -> None:
        with self._lock:
            fd = self._fds.pop(path, None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self) -> None:
        for path in list(self._fds):
            self._drop(path)


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _kb_fields(raw: bytes | None, keys: dict) -> dict:
    """Parse ``Key:   1234 kB`` lines into MB values for the wanted keys."""
    out = {v: None for v in keys.values()}
    if not raw:
        return out
    for line in raw.split(b"\n"):
        k = line[: line.find(b":") + 1]
        name = keys.get(k)
        if name is not None:
            parts = line.split()
            try:
                out[name] = int(parts[1]) / 1024.0
            except (IndexError, ValueError):
                pass
    return out


def parse_npu_load(text: str | None) -> list[float] | None:
    """``NPU load:  Core0: 35%, Core1:  0%, Core2:  0%,`` -> [35.0, 0.0, 0.0] (older drivers: one value)."""
    if not text:
        return None
    cores = _NPU_CORE_RE.findall(text)
    if cores:
        return [float(v) for _, v in sorted(cores, key=lambda c: int(c[0]))]
    single = _PCT_RE.findall(text)
    return [float(single[0])] if single else None


def read_meminfo(proc_root: str | os.PathLike = "/proc") -> dict[str, float]:
    """``/proc/meminfo`` as ``{field: MB}`` (kB values divided by 1024); OSError when unreadable.

    The one full meminfo parser (the guard and the VLM pipeline use it); the per-sample
    readers only pick MemAvailable and Shmem.
    """
    out: dict[str, float] = {}
    with open(f"{proc_root}/meminfo", "rb") as fh:
        raw = fh.read()
    for line in raw.split(b"\n"):
        key, _, rest = line.partition(b":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key.strip().decode("ascii", "replace")] = int(parts[0]) / 1024.0
    return out


def read_status(pid: int | str | None = None, proc_root: str | os.PathLike = "/proc") -> dict:
    """``vmhwm_mb``, ``vmrss_mb``, ``rss_shmem_mb`` of ``/proc/<pid>/status`` (None when unreadable)."""
    pid = os.getpid() if pid is None else pid
    return _kb_fields(_read_bytes(f"{proc_root}/{pid}/status"), _STATUS_KEYS)


def read_memory(pid: int | None = None, proc_root: str | os.PathLike = "/proc") -> dict:
    """One reading of the process and system memory figures (MB; None when unreadable)."""
    root = str(proc_root)
    out = read_status(pid, root)
    out.update(_kb_fields(_read_bytes(f"{root}/meminfo"), _MEMINFO_KEYS))
    return out


def reset_peak_rss(pid: int | None = None, proc_root: str | os.PathLike = "/proc") -> bool:
    """Reset the process's VmHWM to its current RSS (``echo 5 > /proc/<pid>/clear_refs``).

    Returns whether it worked (it needs write access to the file; kernels >= 4.0).
    """
    pid = os.getpid() if pid is None else pid
    try:
        with open(f"{proc_root}/{pid}/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class Monitor:
    """Samples memory, NPU load, clocks and temperatures in a daemon thread.

    Use as a context manager or with ``start()``/``stop()``. ``mark(phase)`` labels the
    samples taken from then on (``load``, ``prefill``, ``decode``, ``idle``); ``mark`` also
    takes an optional ``run`` label (e.g. ``"pp128/tg64#2"``) kept in each sample.
    ``t_s`` is seconds since ``start()``; ``t0_ns`` is that start as ``perf_counter_ns``.
    """

    def __init__(self, pid: int | None = None, interval_s: float = 0.1,
                 proc_root: str | os.PathLike = "/proc", sys_root: str | os.PathLike = "/sys"):
        self.pid = os.getpid() if pid is None else int(pid)
        self.interval_s = float(interval_s)
        self.proc_root = str(proc_root)
        self.sys_root = str(sys_root)
        self.samples: list[dict] = []
        self.errors = 0
        self.cpu_time_s = 0.0
        self.t0_ns: int | None = None
        self._phase = "idle"
        self._run: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._files = _FileCache()
        self._resolve_paths()

    # ----------------------------------------------------------------- setup
    def _resolve_paths(self) -> None:
        """Find once which files exist; sampling then reads only those."""
        p, s = self.proc_root, self.sys_root
        self._status = f"{p}/{self.pid}/status"
        self._meminfo = f"{p}/meminfo"

        def ok(path: str) -> str | None:
            return path if os.access(path, os.R_OK) else None

        self._npu_load = ok(f"{s}/{NPU_DEBUGFS}/load")
        self._cpu = {}
        for pol in CPU_POLICIES:
            base = f"{s}/devices/system/cpu/cpufreq/{pol}"
            cur, gov = ok(f"{base}/scaling_cur_freq"), ok(f"{base}/scaling_governor")
            if cur or gov:
                self._cpu[pol] = (cur, gov, ok(f"{base}/scaling_max_freq"))
        self._npu = (ok(f"{s}/{NPU_DEVFREQ}/cur_freq"), ok(f"{s}/{NPU_DEVFREQ}/governor"),
                     ok(f"{s}/{NPU_DEVFREQ}/max_freq"))
        self._ddr = (ok(f"{s}/{DDR_DEVFREQ}/cur_freq"), ok(f"{s}/{DDR_DEVFREQ}/governor"),
                     ok(f"{s}/{DDR_DEVFREQ}/max_freq"))
        self._zones: list[tuple[str, str]] = []
        tdir = Path(s) / "class" / "thermal"
        try:
            zones = sorted(tdir.glob("thermal_zone*"), key=lambda z: int(z.name[12:] or 0))
        except (OSError, ValueError):
            zones = []
        for z in zones:
            ztype = read_text(z / "type") or z.name
            if os.access(z / "temp", os.R_OK):
                self._zones.append((ztype, str(z / "temp")))
        # Max frequencies (for the throttling flag), read once.
        self.max_freq_mhz = {
            "cpu": {pol: _mhz(freq_max_hz(f"{s}/devices/system/cpu/cpufreq/{pol}", cpu=True), khz=True)
                    for pol in self._cpu},
            "npu": _mhz(freq_max_hz(f"{s}/{NPU_DEVFREQ}")),
            "ddr": _mhz(freq_max_hz(f"{s}/{DDR_DEVFREQ}")),
        }

    # ----------------------------------------------------------------- sampling
    def sample(self) -> dict:
        """Take one sample now (also used by the thread). Never raises for missing files."""
        t = time.perf_counter_ns()
        d: dict = {"t_s": (t - self.t0_ns) / 1e9 if self.t0_ns else 0.0, "phase": self._phase}
        if self._run is not None:
            d["run"] = self._run
        rd = self._files.read
        d.update(_kb_fields(rd(self._status), _STATUS_KEYS))
        d.update(_kb_fields(rd(self._meminfo), _MEMINFO_KEYS))
        d["npu_load"] = parse_npu_load(_text(rd(self._npu_load)))
        cpu_f, cpu_g, cpu_cap = {}, {}, {}
        for pol, (cur, gov, cap) in self._cpu.items():
            cpu_f[pol] = _mhz(_int(rd(cur)), khz=True)
            cpu_g[pol] = _text(rd(gov))
            cpu_cap[pol] = _mhz(_int(rd(cap)), khz=True)
        d["cpu_freq_mhz"] = cpu_f or None
        d["cpu_governor"] = cpu_g or None
        d["cpu_cap_mhz"] = cpu_cap if any(v is not None for v in cpu_cap.values()) else None
        d["npu_freq_mhz"] = _mhz(_int(rd(self._npu[0])))
        d["npu_governor"] = _text(rd(self._npu[1]))
        d["npu_cap_mhz"] = _mhz(_int(rd(self._npu[2])))
        d["ddr_freq_mhz"] = _mhz(_int(rd(self._ddr[0])))
        d["ddr_governor"] = _text(rd(self._ddr[1]))
        d["ddr_cap_mhz"] = _mhz(_int(rd(self._ddr[2])))
        temps = {}
        for ztype, path in self._zones:
            v = _int(rd(path))
            if v is not None:
                temps[ztype] = v / 1000.0
        d["temps_c"] = temps or None
        return d

    def record(self) -> dict | None:
        """Take one sample and append it to ``samples`` (what the thread does each tick)."""
        try:
            s = self.sample()
        except Exception:  # the sampler must never take the run down
            self.errors += 1
            return None
        with self._lock:
            self.samples.append(s)
        return s

    def _loop(self) -> None:
        c0 = time.thread_time()
        next_t = time.perf_counter()
        while not self._stop.is_set():
            self.record()
            self.cpu_time_s = time.thread_time() - c0
            next_t += self.interval_s
            delay = next_t - time.perf_counter()
            if delay < 0:  # fell behind (suspended, overloaded): do not burst
                next_t = time.perf_counter()
                delay = 0
            self._stop.wait(delay)
        self.cpu_time_s = time.thread_time() - c0

    def start(self) -> "Monitor":
        if self._thread is not None:
            return self
        self.t0_ns = time.perf_counter_ns()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rklab-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> "Monitor":
        """Stop the thread and close the files it kept open (a later sample reopens them)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            self._files.close()
        return self

    def __enter__(self):
        return self.start()

    def __del__(self):  # pragma: no cover - best effort
        try:
            self._files.close()
        except Exception:
            pass

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def running(self) -> bool:
        return self._thread is not None

    def mark(self, phase: str, run: str | None = None) -> None:
        """Label samples taken from now on with ``phase`` (and ``run`` when given)."""
        if phase not in PHASES:
            raise ValueError(f"phase {phase!r} is not one of {PHASES}")
        self._phase = phase
        if run is not None:
            self._run = run

    def last_sample(self) -> dict:
        """The newest sample (taking one now if none was recorded yet)."""
        with self._lock:
            if self.samples:
                return self.samples[-1]
        return self.sample()

    def samples_between(self, t0_ns: int, t1_ns: int) -> list[dict]:
        """Samples taken between two ``perf_counter_ns`` instants."""
        if self.t0_ns is None:
            return []
        a, b = (t0_ns - self.t0_ns) / 1e9, (t1_ns - self.t0_ns) / 1e9
        with self._lock:
            return [s for s in self.samples if a <= s["t_s"] <= b]


def _text(raw: bytes | None) -> str | None:
    if not raw:
        return None
    try:
        return raw.decode("ascii").strip() or None
    except UnicodeDecodeError:
        return None


def _int(raw: bytes | None) -> int | None:
    t = _text(raw)
    if t is None:
        return None
    try:
        return int(t.split()[0].split("@")[0])
    except (ValueError, IndexError):
        return None


def _mhz(value: int | None, khz: bool = False) -> float | None:
    """cpufreq values are kHz, devfreq values are Hz."""
    if value is None:
        return None
    return value / 1000.0 if khz else value / 1e6
