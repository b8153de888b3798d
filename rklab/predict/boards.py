"""Boards (``data/boards/<name>.yaml``): memory, DRAM bus, pinned clocks, NPU and supported dtypes.

Adding a board is adding a YAML file. On a real board (detected through
``/proc/device-tree/compatible``) :meth:`Board.live_memory` reads MemTotal/MemAvailable with psutil.

RKLLM runs on four SoCs only (:data:`RKLLM_SOCS`, socs.md: the runtime refuses others with "Platform
error"); a board of RK3566/RK3568 is refused with one line. ``Board.clocks`` are the clocks Rockchip's
``fix_freq_<soc>.sh`` pins for the official benchmark table: the speed model's default clocks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rklab.errors import RklabError
from rklab.i18n import text
from rklab.paths import data_dir
from rklab.predict.catalog import closest_names

MIB = 1 << 20
RKLLM_SOCS = ("RK3588", "RK3576", "RK3562", "RV1126B")
NOT_RKLLM_SOCS = ("RK3566", "RK3568")   # socs.md: RKLLM's "Platform error: must be either RK3588, RK3576, RV1126B, or RK3562"


def _positive(value, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise RklabError(f"{what} must be a positive number of MHz, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Clocks:
    """DDR, NPU and big-cluster CPU clocks in MHz (DDR: the devfreq ``dmc`` clock; transfers/s = 2 x clock).

    ``None`` for a clock means "as pinned" (the board's official clock) when the clocks are resolved
    against a board with :meth:`resolved`."""

    ddr_mhz: float | None = None
    npu_mhz: float | None = None
    cpu_mhz: float | None = None

    def __post_init__(self):
        for name in ("ddr_mhz", "npu_mhz", "cpu_mhz"):
            label = f"{name[:3].upper()} clock (--{name.replace('_', '-')})"
            object.__setattr__(self, name, _positive(getattr(self, name), label))

    def resolved(self, pinned: "Clocks") -> "Clocks":
        """These clocks with every missing one taken from ``pinned``."""
        return Clocks(*(getattr(self, k) if getattr(self, k) is not None else getattr(pinned, k)
                        for k in ("ddr_mhz", "npu_mhz", "cpu_mhz")))

    def describe(self) -> str:
        parts = [f"{label} {v:,.0f} MHz" for label, v in (("DDR", self.ddr_mhz), ("NPU", self.npu_mhz),
                                                           ("CPU", self.cpu_mhz)) if v is not None]
        return ", ".join(parts) or "pinned clocks"

    @classmethod
    def from_host(cls, host: dict | None) -> "Clocks":
        """Clocks from a host snapshot or monitor summary dict (keys ``ddr_freq_mhz``, ``npu_freq_mhz``,
        ``cpu_freq_mhz`` = a number or ``{policy: MHz}``, of which the fastest policy counts: the big cluster).
        Missing or unreadable clocks stay ``None`` (= as pinned)."""
        host = host or {}
        cpu = host.get("cpu_freq_mhz")
        if isinstance(cpu, dict):
            vals = [v for v in cpu.values() if isinstance(v, (int, float)) and v > 0]
            cpu = max(vals) if vals else None

        def ok(v):
            return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 else None

        return cls(ok(host.get("ddr_freq_mhz")), ok(host.get("npu_freq_mhz")), ok(cpu))

    @classmethod
    def mean_of(cls, samples) -> "Clocks":
        """The average clocks over monitor samples (``rklab.measure.monitor`` dicts; unreadable ones skipped;
        CPU: the fastest policy of each sample, i.e. the big cluster)."""
        per = [cls.from_host(s) for s in samples or ()]

        def mean(name):
            vals = [getattr(c, name) for c in per if getattr(c, name) is not None]
            return sum(vals) / len(vals) if vals else None

        return cls(mean("ddr_mhz"), mean("npu_mhz"), mean("cpu_mhz"))

    def to_dict(self) -> dict:
        return {"ddr_mhz": self.ddr_mhz, "npu_mhz": self.npu_mhz, "cpu_mhz": self.cpu_mhz}


@dataclass(frozen=True)
class Board:
    name: str
    soc: str
    mem_total_kb: int
    system_resident_mb: tuple[float, float]
    dram_bus_bits: int
    clocks: Clocks                   # pinned clocks of the official benchmark (fix_freq_<soc>.sh)
    npu_cores: int
    npu_tops: float
    supported_dtypes: tuple[str, ...]
    cpu_bandwidth_gbs: float | None = None   # CPU-side memory bandwidth (quoted), llama.cpp's decode ceiling
    cpu_bandwidth_source: str = ""
    inferred: tuple[str, ...] = ()           # facts not published, decided from calibration (e.g. dram.bus_bits)
    tight_fraction: float = 0.85
    soc_compatible: str = ""
    labels: dict = field(default_factory=dict)
    dtypes_source: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def physical_mb(self) -> float:
        """MemTotal in MiB: the physical-RAM line of the verdicts."""
        return self.mem_total_kb / 1024

    @property
    def budget_mb(self) -> float:
        """Usable budget: MemTotal minus the high end of the system's resident memory (conservative)."""
        return self.physical_mb - max(self.system_resident_mb)

    @property
    def dram_mt_per_s(self) -> float:
        """DRAM transfers per second (millions) at the pinned DDR clock (double data rate: 2 x clock)."""
        return 2 * self.clocks.ddr_mhz

    @property
    def bandwidth_gbs(self) -> float:
        """Physical DRAM bandwidth ceiling in GB/s (10^9 B/s) at the pinned DDR clock."""
        return self.bandwidth_at(self.clocks.ddr_mhz)

    def bandwidth_at(self, ddr_mhz: float) -> float:
        """Physical DRAM bandwidth in GB/s at a DDR clock: 2 x clock x bus bytes."""
        return 2 * ddr_mhz * 1e6 * self.dram_bus_bits / 8 / 1e9

    def label(self, lang: str = "zh") -> str:
        return self.labels.get(lang, self.name)

    def describe(self, lang: str = "zh") -> str:
        """One line: memory, budget, DRAM ceiling, dtypes (all from the board YAML)."""
        c = self.clocks
        inferred = text("board.inferred", lang, items=", ".join(self.inferred)) if self.inferred else ""
        return text("board.describe", lang, label=self.label(lang), physical=self.physical_mb, budget=self.budget_mb,
                    cores=self.npu_cores, bus=self.dram_bus_bits, ddr=c.ddr_mhz, bandwidth=self.bandwidth_gbs,
                    npu=c.npu_mhz, cpu=c.cpu_mhz, inferred=inferred, dtypes=", ".join(self.supported_dtypes))

    def supports(self, dtype: str) -> bool:
        return dtype in self.supported_dtypes

    def is_this_board(self, proc_root: str = "/proc") -> bool:
        """True when running on this SoC (its compatible string is in the device tree)."""
        if not self.soc_compatible:
            return False
        try:
            raw = Path(proc_root, "device-tree", "compatible").read_bytes()
        except OSError:
            return False
        return self.soc_compatible.encode() in raw.split(b"\0")

    def live_memory(self, proc_root: str = "/proc") -> dict | None:
        """Live ``{"mem_total_mb", "mem_available_mb"}`` from psutil, only on a real board of this SoC."""
        if not self.is_this_board(proc_root):
            return None
        import psutil

        vm = psutil.virtual_memory()
        return {"mem_total_mb": vm.total / MIB, "mem_available_mb": vm.available / MIB}


def boards_dir() -> Path:
    return data_dir() / "boards"


def list_boards() -> list[str]:
    return sorted(p.stem for p in boards_dir().glob("*.yaml"))


@functools.lru_cache(maxsize=16)
def _load(path: str) -> Board:
    p = Path(path)
    doc = yaml.safe_load(p.read_text()) or {}

    def get(*keys):
        d: Any = doc
        for k in keys:
            if not isinstance(d, dict) or k not in d:
                raise RklabError(f"board file {p} lacks key {'.'.join(keys)!r}; add it (see data/boards/rk3588-8gb.yaml)")
            d = d[k]
        return d

    soc = str(get("soc")).upper()
    if soc in NOT_RKLLM_SOCS:
        raise RklabError(_not_rkllm(soc, str(p)))
    resident = get("memory", "system_resident_mb")
    resident = tuple(float(x) for x in (resident if isinstance(resident, list) else [resident, resident]))
    cpu = doc.get("cpu") if isinstance(doc.get("cpu"), dict) else {}
    try:
        clocks = Clocks(float(get("clocks", "ddr_mhz")), float(get("clocks", "npu_mhz")), float(get("clocks", "cpu_mhz")))
    except (TypeError, ValueError, RklabError) as exc:
        raise RklabError(f"board file {p}: clocks must be positive numbers in MHz ({exc}); fix the clocks block") from None
    inferred = [f"dram.{k}" for k in (doc.get("dram", {}).get("inferred") or [])]
    inferred += [f"clocks.{k}" for k in (doc.get("clocks", {}).get("inferred") or [])]
    board = Board(
        name=doc.get("name", p.stem),
        soc=soc,
        mem_total_kb=int(get("memory", "mem_total_kb")),
        system_resident_mb=resident,
        dram_bus_bits=int(get("dram", "bus_bits")),
        clocks=clocks,
        npu_cores=int(get("npu", "cores")),
        npu_tops=float(get("npu", "tops")),
        supported_dtypes=tuple(get("dtypes", "supported")),
        cpu_bandwidth_gbs=float(cpu["mem_bandwidth_gbs"]) if cpu.get("mem_bandwidth_gbs") else None,
        cpu_bandwidth_source=str(cpu.get("mem_bandwidth_source", "")),
        inferred=tuple(inferred),
        tight_fraction=float(doc.get("verdict", {}).get("tight_fraction", 0.85)),
        soc_compatible=doc.get("soc_compatible", ""),
        labels=doc.get("label", {}) or {},
        dtypes_source=doc.get("dtypes", {}).get("source", ""),
        raw=doc,
    )
    if board.mem_total_kb <= 0 or board.budget_mb <= 0:
        raise RklabError(f"board file {p}: memory.mem_total_kb must exceed system_resident_mb; fix the numbers")
    return board


def load_board(name: str | Board = "rk3588-8gb") -> Board:
    """A board by name (``data/boards/<name>.yaml``) or a path to a board YAML; cached, so repeated
    calls do no file I/O."""
    if isinstance(name, Board):
        return name
    return _resolve(str(name), str(data_dir()))


@functools.lru_cache(maxsize=32)
def _resolve(name: str, root: str) -> Board:
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return _load(str(p.resolve()))
    path = Path(root) / "boards" / f"{name}.yaml"
    if not path.is_file():
        for soc in NOT_RKLLM_SOCS:
            if name.upper().startswith(soc):
                raise RklabError(_not_rkllm(soc, name))
        known = list_boards()
        close = closest_names(str(name), known) or known
        raise RklabError(f"unknown board {name!r}; closest: {', '.join(close)} (files in data/boards/)")
    return _load(str(path))


def _not_rkllm(soc: str, what: str) -> str:
    return (f"board {what}: RKLLM does not run on {soc} (the runtime supports {', '.join(RKLLM_SOCS)} only; "
            f"socs.md, SDK 1.3.0); pick one of: {', '.join(list_boards())}")
