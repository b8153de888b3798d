"""A short CPU memory-bandwidth probe, recorded with the host snapshot (``host["mem_bandwidth"]``).

llama.cpp's decode on the CPU is memory-bound: each token reads every weight once, so
``bandwidth / bytes per token`` is its decode ceiling (:mod:`rklab.predict.cpu`). The probe reads a
buffer far larger than the last-level cache on the cores llama.cpp uses (on an RK3588 the four A76 cores,
:func:`rklab.measure.runtimes.llamacpp.big_cores`), one numpy reduction per thread (numpy releases the
GIL), and keeps the best of a few passes. It takes about half a second and 256 MB of RAM for a moment.

What it is: a *read* bandwidth through numpy, measured (with the host it ran on). What it is not: STREAM.
On a host whose last-level cache is large (some x86 VMs report hundreds of MB) part of the buffer may be
served from cache; the record keeps the buffer size and the cache size so a reader can judge.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np

from rklab.measure.runtimes.llamacpp import big_cores, default_threads

PROBE_MB = 256
PASSES = 3


def _llc_mb(sys_root: str = "/sys") -> float | None:
    """Size of the largest cache of cpu0 in MB (sysfs ``cache/index*/size``), None when unreadable."""
    best = None
    for d in Path(sys_root, "devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            text = (d / "size").read_text().strip().upper()
        except OSError:
            continue
        mult = {"K": 1 / 1024, "M": 1.0, "G": 1024.0}.get(text[-1:], None)
        try:
            mb = float(text[:-1]) * mult if mult else float(text) / (1 << 20)
        except ValueError:
            continue
        best = mb if best is None else max(best, mb)
    return best


def probe_bandwidth(total_mb: int = PROBE_MB, threads: int | None = None, passes: int = PASSES,
                    sys_root: str = "/sys") -> dict:
    """Measured read bandwidth (GB/s = 1e9 B/s) of ``threads`` threads (default: llama.cpp's default,
    pinned to the big cores on a big.LITTLE SoC) over ``total_mb`` MB, best of ``passes``."""
    threads = max(1, int(threads or default_threads(sys_root)))
    cpus = sorted(big_cores(sys_root))
    n = max(1, total_mb * (1 << 20) // 8 // threads)
    bufs = [np.ones(n, dtype=np.float64) for _ in range(threads)]
    old = None
    if cpus and hasattr(os, "sched_setaffinity"):
        try:
            old = os.sched_getaffinity(0)
            os.sched_setaffinity(0, set(cpus) & old or old)   # threads started below inherit it
        except OSError:
            old = None
    try:
        best = 0.0
        for _ in range(passes):
            start, done = threading.Barrier(threads + 1), threading.Barrier(threads + 1)

            def read(buf):
                start.wait()
                np.maximum.reduce(buf)
                done.wait()

            workers = [threading.Thread(target=read, args=(b,), daemon=True) for b in bufs]
            for w in workers:
                w.start()
            start.wait()
            t0 = time.perf_counter()
            done.wait()
            dt = time.perf_counter() - t0
            for w in workers:
                w.join()
            best = max(best, threads * n * 8 / dt / 1e9)
    finally:
        if old is not None:
            os.sched_setaffinity(0, old)
        del bufs
    return {"gbs": round(best, 2), "threads": threads, "cpus": cpus or None, "buffer_mb": total_mb,
            "llc_mb": _llc_mb(sys_root), "passes": passes,
            "method": "numpy max-reduce read of a buffer per thread, best pass (rklab.measure.membw)"}


_CACHED: dict = {}


def host_bandwidth(sys_root: str = "/sys") -> dict:
    """:func:`probe_bandwidth` once per process (the host does not change between entries)."""
    if sys_root not in _CACHED:
        try:
            _CACHED[sys_root] = probe_bandwidth(sys_root=sys_root)
        except (MemoryError, OSError, RuntimeError) as exc:   # never fail a benchmark over the probe
            _CACHED[sys_root] = {"gbs": None, "error": f"{exc.__class__.__name__}: {exc}"}
    return dict(_CACHED[sys_root])
