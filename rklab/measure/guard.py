"""Make running out of memory boring on an 8 GB board.

Four tools, used by the benchmark notebooks (``rklab.measure.session``) and the sweep:

* :func:`raise_oom_score` — a benchmark kernel volunteers as the kernel OOM killer's first
  victim (``oom_score_adj = 1000``), so JupyterLab and the desktop survive a model that
  does not fit.
* :class:`MemoryGuard` — a thread that reads ``MemAvailable`` every ``interval_s`` and,
  when it falls below ``floor_mb``, keeps the last monitor-style sample, sets ``tripped``
  (and the sticky ``stop_requested`` event, read through ``should_stop()`` by the benchmark
  loops before each run) and calls ``on_trip`` once (typically ``backend.abort``). The caller then raises
  :class:`~rklab.errors.MemoryAborted` (``guard.check()`` does it) and records
  ``status: aborted_memory`` with ``guard.last_sample``.
* :func:`check_predicted_memory` — before loading, compare the engine's predicted memory with
  the live ``MemAvailable``; raise :class:`~rklab.errors.PredictedOOM` (``status:
  skipped_predicted_oom``) unless forced. (Not to be confused with the plan check,
  :mod:`rklab.orchestrate.plancheck`, which looks for files, runtimes and disk before a sweep.)
* :func:`read_heartbeat` — the last sample a guard wrote to its ``heartbeat_path``: the sweep
  reads it after a kernel was killed (a kernel's death itself is classified by
  :func:`rklab.orchestrate.notebooks.classify_kernel_death`).

Nothing here allocates memory or needs root; every /proc reader takes ``proc_root`` so the
tests can point it at a fake tree.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

import psutil

from rklab.errors import MemoryAborted, PredictedOOM
from rklab.measure.monitor import read_meminfo as _monitor_read_meminfo
from rklab.measure.monitor import read_status
from rklab.nbparams import DEFAULT_FLOOR_MB
from rklab.runfolder import Status

MIB = 1024 * 1024
# Head-room the pre-flight keeps on top of the prediction: the guard's floor, so a run the
# pre-flight lets through is not one the guard is certain to abort.
DEFAULT_MARGIN_MB = DEFAULT_FLOOR_MB

__all__ = [
    "DEFAULT_FLOOR_MB",
    "DEFAULT_MARGIN_MB",
    "MemoryGuard",
    "check_predicted_memory",
    "mem_available_mb",
    "outcome_fields",
    "raise_oom_score",
    "read_heartbeat",
    "read_meminfo",
    "sample_memory",
]


# --------------------------------------------------------------------------- /proc readers
# One parser for /proc/meminfo and /proc/<pid>/status lives in rklab.measure.monitor; these names stay
# here because the sweep and the tests import them from the guard.
read_meminfo = _monitor_read_meminfo


def mem_available_mb(proc_root: str | os.PathLike = "/proc") -> float:
    """The kernel's estimate of memory available to new work, in MB (``MemAvailable``)."""
    info = read_meminfo(proc_root)
    if "MemAvailable" in info:
        return info["MemAvailable"]
    # Kernels before 3.14 lack MemAvailable; free + page cache is the usual stand-in.
    return info.get("MemFree", 0.0) + info.get("Cached", 0.0)


def _read_status_mb(pid: int | str, proc_root: str | os.PathLike) -> dict[str, float | None]:
    return read_status(pid, proc_root)


def sample_memory(pid: int | str = "self", proc_root: str | os.PathLike = "/proc", t0: float | None = None,
                  phase: str | None = None) -> dict[str, Any]:
    """One sample with the memory keys of :class:`rklab.measure.monitor.Monitor` samples.

    Keys the guard cannot read cheaply (NPU load, clocks, temperatures) are ``None``; when a
    monitor is attached to the guard its last sample supplies them.
    """
    now = time.monotonic()
    sample: dict[str, Any] = {
        "t_s": round(now - t0, 4) if t0 is not None else 0.0,
        "phase": phase,
        "vmhwm_mb": None,
        "vmrss_mb": None,
        "rss_shmem_mb": None,
        "mem_available_mb": None,
        "shmem_mb": None,
        "npu_load": None,
        "cpu_freq_mhz": None,
        "npu_freq_mhz": None,
        "ddr_freq_mhz": None,
        "temps_c": None,
    }
    sample.update(_read_status_mb(pid, proc_root))
    try:
        info = read_meminfo(proc_root)
        sample["mem_available_mb"] = info.get("MemAvailable")
        sample["shmem_mb"] = info.get("Shmem")
    except OSError:
        pass
    return sample


# --------------------------------------------------------------------------- OOM score
def raise_oom_score(adj: int = 1000, proc_root: str | os.PathLike = "/proc") -> bool:
    """Make this process the OOM killer's first choice (``/proc/self/oom_score_adj``).

    Raising the value needs no privilege. Returns True when the value now reads back as
    ``adj``; False when it could not be written (e.g. no /proc) — never raises.
    """
    adj = max(-1000, min(1000, int(adj)))
    path = Path(proc_root) / "self" / "oom_score_adj"
    try:
        with open(path, "w", encoding="ascii") as fh:
            fh.write(str(adj))
        with open(path, "r", encoding="ascii") as fh:
            return int(fh.read().strip()) == adj
    except (OSError, ValueError):
        return False


# --------------------------------------------------------------------------- guard thread
class MemoryGuard:
    """Abort a run before the kernel's OOM killer has to pick a victim.

    ::

        with MemoryGuard(floor_mb=300, on_trip=backend.abort) as guard:
            result = backend.generate(...)
            guard.check()          # raises MemoryAborted(last_sample=...) if it tripped

    ``monitor`` (optional, a :class:`rklab.measure.monitor.Monitor`): its ``last_sample()`` is merged
    under the guard's own memory readings, so the recorded sample has temperatures, clocks
    and NPU load too. ``heartbeat_path`` (optional): the latest sample is written there
    (atomically, at most every ``heartbeat_every_s``) so a sweep can still read it after
    the kernel was SIGKILLed (:func:`read_heartbeat`).
    """

    def __init__(
        self,
        floor_mb: float = DEFAULT_FLOOR_MB,
        interval_s: float = 0.1,
        proc_root: str | os.PathLike = "/proc",
        on_trip: Callable[[], Any] | None = None,
        *,
        pid: int | str = "self",
        monitor: Any = None,
        heartbeat_path: str | os.PathLike | None = None,
        heartbeat_every_s: float = 1.0,
    ):
        if floor_mb is None or float(floor_mb) < 0:
            raise ValueError(f"floor_mb must be >= 0, got {floor_mb!r}")
        if float(interval_s) <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s!r}")
        self.floor_mb = float(floor_mb)
        self.interval_s = float(interval_s)
        self.proc_root = proc_root
        self.on_trip = on_trip
        self.pid = pid
        self.monitor = monitor
        self.heartbeat_path = Path(heartbeat_path) if heartbeat_path else None
        self.heartbeat_every_s = float(heartbeat_every_s)
        self.tripped = False
        # Sticky: once set it stays set, so a trip that lands *between* two generations (when
        # on_trip's backend.abort has nothing to abort) still stops the next run from starting.
        self.stop_requested = threading.Event()
        self.last_sample: dict[str, Any] = {}
        self.trip_sample: dict[str, Any] = {}
        self.min_available_mb: float | None = None
        self.samples_taken = 0
        self.on_trip_error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()
        self._last_heartbeat = 0.0

    # -- lifecycle
    def start(self) -> "MemoryGuard":
        if self._thread is not None:
            return self
        self._t0 = time.monotonic()
        self._stop.clear()
        self._poll()  # a first reading before the work starts
        self._thread = threading.Thread(target=self._run, name="rklab-memory-guard", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(1.0, 5 * self.interval_s))
            self._thread = None

    def __enter__(self) -> "MemoryGuard":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the check
    def _sample(self) -> dict[str, Any]:
        sample: dict[str, Any] = {}
        if self.monitor is not None:
            try:
                sample.update(self.monitor.last_sample() or {})
            except Exception:  # a monitor hiccup must not kill the guard
                pass
        own = sample_memory(self.pid, self.proc_root, t0=self._t0, phase=sample.get("phase"))
        for key, value in own.items():
            if value is not None or key not in sample:
                sample[key] = value
        sample["source"] = "rklab.guard"
        return sample

    def _poll(self) -> None:
        try:
            sample = self._sample()
        except OSError:
            return
        self.samples_taken += 1
        self.last_sample = sample
        avail = sample.get("mem_available_mb")
        if avail is not None:
            self.min_available_mb = avail if self.min_available_mb is None else min(self.min_available_mb, avail)
        if avail is not None and avail < self.floor_mb and not self.tripped:
            self.tripped = True
            self.stop_requested.set()
            self.trip_sample = dict(sample)
            self._write_heartbeat(force=True)
            if self.on_trip is not None:
                try:
                    self.on_trip()
                except BaseException as exc:  # recorded, never raised from the thread
                    self.on_trip_error = exc
            return
        self._write_heartbeat()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._poll()

    def _write_heartbeat(self, force: bool = False) -> None:
        if self.heartbeat_path is None:
            return
        now = time.monotonic()
        if not force and now - self._last_heartbeat < self.heartbeat_every_s:
            return
        self._last_heartbeat = now
        payload = {
            "pid": os.getpid(),
            "floor_mb": self.floor_mb,
            "tripped": self.tripped,
            "min_available_mb": self.min_available_mb,
            "last_sample": self.trip_sample or self.last_sample,
        }
        tmp = self.heartbeat_path.with_name(self.heartbeat_path.name + f".{os.getpid()}.tmp")
        try:
            self.heartbeat_path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(payload, default=str), encoding="utf-8")
            os.replace(tmp, self.heartbeat_path)
        except OSError:
            pass

    # -- for the caller
    @property
    def sample_at_trip(self) -> dict[str, Any]:
        """The sample that tripped the guard (``last_sample`` keeps updating until stop)."""
        return self.trip_sample or self.last_sample

    def error(self, what: str = "the run") -> MemoryAborted:
        """The :class:`MemoryAborted` to raise after a trip (one line, with the sample)."""
        s = self.sample_at_trip
        avail = s.get("mem_available_mb")
        avail_txt = f"{avail:.0f} MB" if isinstance(avail, (int, float)) else "unknown"
        return MemoryAborted(
            f"memory guard stopped {what}: MemAvailable {avail_txt} fell below the floor of "
            f"{self.floor_mb:.0f} MB; use a smaller model or context, close other programs, "
            f"or lower mem_floor_mb",
            last_sample=dict(s),
        )

    def should_stop(self) -> bool:
        """True once the guard tripped (sticky): pass as ``should_stop`` to the benchmark loops."""
        return self.tripped or self.stop_requested.is_set()

    def check(self, what: str = "the run") -> None:
        """Raise :class:`MemoryAborted` if the guard tripped."""
        if self.tripped:
            raise self.error(what)


# --------------------------------------------------------------------------- the pre-load memory check
def check_predicted_memory(
    predicted_mb: float,
    *,
    available_mb: float | None = None,
    force: bool = False,
    margin_mb: float = DEFAULT_MARGIN_MB,
    what: str = "the model",
) -> dict[str, Any]:
    """Will ``predicted_mb`` (the engine's predicted memory, e.g.
    ``rklab.predict.feasibility.estimate(...).memory_mb``) fit in the live ``MemAvailable``?

    ``available_mb`` defaults to psutil's reading now. Raises :class:`PredictedOOM` when
    ``predicted_mb + margin_mb > available_mb`` unless ``force``; otherwise returns
    ``{predicted_mb, available_mb, margin_mb, fits, forced}`` for the record.
    """
    if predicted_mb is None:
        raise ValueError("predicted_mb is required (the engine's predicted memory in MB)")
    predicted_mb = float(predicted_mb)
    if available_mb is None:
        available_mb = psutil.virtual_memory().available / MIB
    available_mb = float(available_mb)
    margin_mb = float(margin_mb)
    fits = predicted_mb + margin_mb <= available_mb
    result = {
        "predicted_mb": round(predicted_mb, 1),
        "available_mb": round(available_mb, 1),
        "margin_mb": round(margin_mb, 1),
        "fits": fits,
        "forced": bool(force and not fits),
    }
    if not fits and not force:
        raise PredictedOOM(
            f"{what} is predicted to need {predicted_mb:.0f} MB but only {available_mb:.0f} MB is available "
            f"(keeping {margin_mb:.0f} MB spare); skipped — free memory, pick a smaller model/context, "
            f"or set force: true on the plan entry or run `rklab sweep ... --force` to try anyway",
            predicted_mb=predicted_mb,
            available_mb=available_mb,
        )
    return result


def read_heartbeat(path: str | os.PathLike) -> dict[str, Any] | None:
    """The last heartbeat a :class:`MemoryGuard` wrote (``{pid, floor_mb, tripped, last_sample}``)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def outcome_fields(exc: BaseException) -> dict[str, Any]:
    """Record fields for a guard outcome: ``status``, ``error`` and the evidence.

    :class:`MemoryAborted` -> ``status: aborted_memory`` + ``last_sample``;
    :class:`PredictedOOM` -> ``status: skipped_predicted_oom`` + ``preflight``
    (predicted and available MB); anything else -> ``status: failed``.
    Merge into the record: ``writer.append({**base, **outcome_fields(exc)})``.
    """
    error = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, MemoryAborted):
        return {"status": Status.ABORTED_MEMORY, "last_sample": dict(exc.last_sample or {}), "error": error}
    if isinstance(exc, PredictedOOM):
        return {
            "status": Status.SKIPPED_PREDICTED_OOM,
            "preflight": {"predicted_mb": exc.predicted_mb, "available_mb": exc.available_mb},
            "error": error,
        }
    return {"status": Status.FAILED, "error": error}
