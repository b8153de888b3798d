"""Boards (``data/boards/<name>.yaml``): memory, DRAM bandwidth, NPU and supported dtypes.

Adding a board is adding a YAML file. On a real board (detected through
``/proc/device-tree/compatible``) :meth:`Board.live_memory` reads MemTotal/MemAvailable with psutil.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rklab.errors import RklabError
from rklab.paths import data_dir

MIB = 1 << 20


@dataclass(frozen=True)
class Board:
    name: str
    soc: str
    mem_total_kb: int
    system_resident_mb: tuple[float, float]
    dram_mt_per_s: float
    dram_bus_bits: int
    npu_cores: int
    npu_tops: float
    supported_dtypes: tuple[str, ...]
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
    def bandwidth_gbs(self) -> float:
        """Physical DRAM bandwidth ceiling in GB/s (10^9 B/s): transfers/s x bus bytes."""
        return self.dram_mt_per_s * 1e6 * self.dram_bus_bits / 8 / 1e9

    def label(self, lang: str = "zh") -> str:
        return self.labels.get(lang, self.name)

    def describe(self, lang: str = "zh") -> str:
        """One line: memory, budget, DRAM ceiling, dtypes (all from the board YAML)."""
        if lang == "zh":
            return (f"{self.label(lang)}：MemTotal {self.physical_mb:,.0f} MB，可用预算 {self.budget_mb:,.0f} MB，"
                    f"DRAM 带宽上限 {self.bandwidth_gbs:.1f} GB/s，支持量化 {', '.join(self.supported_dtypes)}")
        return (f"{self.label(lang)}: MemTotal {self.physical_mb:,.0f} MB, usable budget {self.budget_mb:,.0f} MB, "
                f"DRAM ceiling {self.bandwidth_gbs:.1f} GB/s, dtypes {', '.join(self.supported_dtypes)}")

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

    resident = get("memory", "system_resident_mb")
    resident = tuple(float(x) for x in (resident if isinstance(resident, list) else [resident, resident]))
    board = Board(
        name=doc.get("name", p.stem),
        soc=get("soc"),
        mem_total_kb=int(get("memory", "mem_total_kb")),
        system_resident_mb=resident,
        dram_mt_per_s=float(get("dram", "mt_per_s")),
        dram_bus_bits=int(get("dram", "bus_bits")),
        npu_cores=int(get("npu", "cores")),
        npu_tops=float(get("npu", "tops")),
        supported_dtypes=tuple(get("dtypes", "supported")),
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
        from rklab.predict.catalog import closest_names

        known = list_boards()
        close = closest_names(str(name), known) or known
        raise RklabError(f"unknown board {name!r}; closest: {', '.join(close)} (files in data/boards/)")
    return _load(str(path))
