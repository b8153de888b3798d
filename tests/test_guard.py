"""rklab.measure.guard: OOM score, the MemAvailable guard (for real), pre-flight, kernel deaths."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rklab.measure import guard
from rklab.errors import MemoryAborted, PredictedOOM, RklabError
from rklab.predict.feasibility import estimate
from rklab.records import RecordWriter, read_records

MEMINFO = """MemTotal:        8110608 kB
MemFree:          204800 kB
MemAvailable:     {avail} kB
Buffers:            1024 kB
Cached:           512000 kB
Shmem:            {shmem} kB
"""
STATUS = """Name:\tpython
VmPeak:\t 3000000 kB
VmHWM:\t 2097152 kB
VmRSS:\t 1048576 kB
RssAnon:\t  900000 kB
RssFile:\t  100000 kB
RssShmem:\t  524288 kB
"""


def _write_atomic(path: Path, text: str) -> None:
    # a read of real /proc never sees half a file; the guard thread reads while the test writes
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_proc(root: Path, avail_kb: int, shmem_kb: int = 1024):
    (root / "self").mkdir(parents=True, exist_ok=True)
    _write_atomic(root / "meminfo", MEMINFO.format(avail=avail_kb, shmem=shmem_kb))
    _write_atomic(root / "self" / "status", STATUS)
    _write_atomic(root / "vmstat", "nr_free_pages 1000\noom_kill 3\n")


# ----------------------------------------------------------------------------- readers
def test_meminfo_and_sample_read_fake_proc(tmp_path):
    write_proc(tmp_path, avail_kb=1536000, shmem_kb=2048)
    assert guard.mem_available_mb(tmp_path) == pytest.approx(1500.0)
    s = guard.sample_memory(proc_root=tmp_path)
    assert s["vmhwm_mb"] == pytest.approx(2048.0)
    assert s["vmrss_mb"] == pytest.approx(1024.0)
    assert s["rss_shmem_mb"] == pytest.approx(512.0)
    assert s["shmem_mb"] == pytest.approx(2.0)
    # the monitor's sample keys are all there (None when the guard cannot read them cheaply)
    for key in ("t_s", "phase", "npu_load", "cpu_freq_mhz", "temps_c", "ddr_freq_mhz"):
        assert key in s


def test_meminfo_without_memavailable_falls_back_to_free_plus_cached(tmp_path):
    (tmp_path / "meminfo").write_text("MemTotal: 100 kB\nMemFree: 2048 kB\nCached: 1024 kB\n")
    assert guard.mem_available_mb(tmp_path) == pytest.approx(3.0)


def test_raise_oom_score_in_a_child_process():
    code = "import rklab.measure.guard as g; ok = g.raise_oom_score(); print(ok, open('/proc/self/oom_score_adj').read().strip())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "1000"]


def test_raise_oom_score_tolerates_missing_proc(tmp_path):
    assert guard.raise_oom_score(proc_root=tmp_path / "nope") is False


# ----------------------------------------------------------------------------- guard with a fake /proc
def test_guard_trips_once_calls_on_trip_once_and_keeps_the_trip_sample(tmp_path):
    write_proc(tmp_path, avail_kb=2_000_000)
    calls = []
    with guard.MemoryGuard(floor_mb=300, interval_s=0.01, proc_root=tmp_path, on_trip=lambda: calls.append(1)) as g:
        time.sleep(0.05)
        assert not g.tripped
        write_proc(tmp_path, avail_kb=200 * 1024)  # 200 MB < 300 MB floor
        deadline = time.monotonic() + 5
        while not g.tripped and time.monotonic() < deadline:
            time.sleep(0.01)
        write_proc(tmp_path, avail_kb=100 * 1024)
        # stays below the floor: on_trip must not be called again (wait until the guard saw it)
        deadline = time.monotonic() + 5
        while (g.last_sample.get("mem_available_mb") or 0) > 150 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert g.tripped and g.should_stop() and g.stop_requested.is_set()
    assert calls == [1]
    assert g.sample_at_trip["mem_available_mb"] == pytest.approx(200.0)
    assert g.last_sample["mem_available_mb"] == pytest.approx(100.0)
    assert g.min_available_mb == pytest.approx(100.0)
    with pytest.raises(MemoryAborted) as ei:
        g.check("llm run pp128/tg64")
    err = ei.value
    assert err.exit_code == 3
    assert "\n" not in str(err) and "200 MB" in str(err) and "300 MB" in str(err)
    assert err.last_sample["mem_available_mb"] == pytest.approx(200.0)


def test_guard_on_trip_exception_is_kept_not_raised(tmp_path):
    write_proc(tmp_path, avail_kb=100 * 1024)

    def boom():
        raise RuntimeError("abort failed")

    with guard.MemoryGuard(floor_mb=300, interval_s=0.01, proc_root=tmp_path, on_trip=boom) as g:
        pass
    assert g.tripped and isinstance(g.on_trip_error, RuntimeError)


def test_guard_heartbeat_survives_for_the_sweep(tmp_path):
    proc = tmp_path / "proc"
    write_proc(proc, avail_kb=150 * 1024)
    hb = tmp_path / "run" / "guard-heartbeat.json"
    with guard.MemoryGuard(floor_mb=300, interval_s=0.01, proc_root=proc, heartbeat_path=hb):
        pass
    beat = guard.read_heartbeat(hb)
    assert beat["tripped"] is True and beat["pid"] == os.getpid()
    assert beat["last_sample"]["mem_available_mb"] == pytest.approx(150.0)
    assert guard.read_heartbeat(tmp_path / "missing.json") is None


def test_guard_merges_monitor_sample(tmp_path):
    write_proc(tmp_path, avail_kb=100 * 1024)

    class Mon:  # the monitor's last_sample supplies what the guard does not read
        def last_sample(self):
            return {"phase": "decode", "temps_c": {"soc-thermal": 61.2}, "mem_available_mb": 999.0}

    with guard.MemoryGuard(floor_mb=300, interval_s=0.01, proc_root=tmp_path, monitor=Mon()) as g:
        pass
    s = g.sample_at_trip
    assert s["phase"] == "decode" and s["temps_c"] == {"soc-thermal": 61.2}
    assert s["mem_available_mb"] == pytest.approx(100.0)  # the guard's own fresher reading wins


@pytest.mark.parametrize("kwargs", [{"floor_mb": -1}, {"interval_s": 0}])
def test_guard_rejects_nonsense_settings(kwargs):
    with pytest.raises(ValueError):
        guard.MemoryGuard(**kwargs)


# ----------------------------------------------------------------------------- the real guard test
def _aborted_run(floor_mb: float, alloc_mb: int, writer: RecordWriter):
    """A 'benchmark run' whose work allocates memory; the guard's on_trip stops it like backend.abort."""
    stop = threading.Event()
    chunks = []
    with guard.MemoryGuard(floor_mb=floor_mb, interval_s=0.05, on_trip=stop.set) as g:
        try:
            step = 50
            for _ in range(alloc_mb // step):
                if stop.is_set():
                    break
                chunks.append(np.ones(step * 1024 * 1024 // 8))  # ones = touched pages
                time.sleep(0.1)
            deadline = time.monotonic() + 3
            while not g.tripped and time.monotonic() < deadline:
                time.sleep(0.05)
            g.check("the demo run")
            writer.append({"kind": "llm", "status": "ok"})
            return g, None, sum(c.nbytes for c in chunks) / 2**20
        except MemoryAborted as exc:
            rec = writer.append({"kind": "llm", "entry": "guard-test", **guard.outcome_fields(exc)})
            return g, rec, sum(c.nbytes for c in chunks) / 2**20
        finally:
            chunks.clear()


def test_guard_trips_for_real_on_this_machine(tmp_path):
    """Floor = live MemAvailable - 150 MB, then allocate up to 450 MB: the guard must trip."""
    writer = RecordWriter(tmp_path)
    for _attempt in range(3):  # other processes on a shared machine may move MemAvailable
        baseline = guard.mem_available_mb()
        floor = baseline - 150
        g, rec, allocated = _aborted_run(floor, 450, writer)
        if g.tripped and rec is not None:
            break
    else:
        pytest.fail("guard never tripped with a floor 150 MB below MemAvailable and 450 MB allocated")
    assert rec["status"] == "aborted_memory"
    # the guard stopped the work before it allocated everything it wanted
    assert allocated < 450
    sample = rec["last_sample"]
    assert sample["mem_available_mb"] < floor
    assert sample["vmrss_mb"] is not None and sample["vmrss_mb"] > 100
    # what it did, for the report
    print(f"\nGUARD baseline={baseline:.0f}MB floor={floor:.0f}MB tripped at "
          f"{sample['mem_available_mb']:.0f}MB after allocating {allocated:.0f}MB; vmrss={sample['vmrss_mb']:.0f}MB")
    back = read_records(tmp_path / "records.jsonl")
    assert back[-1]["status"] == "aborted_memory"
    assert back[-1]["last_sample"]["mem_available_mb"] == pytest.approx(sample["mem_available_mb"])
    assert "MemAvailable" in back[-1]["error"]["message"]


# ----------------------------------------------------------------------------- the pre-load memory check
def test_preflight_fits_returns_numbers_for_the_record():
    r = guard.check_predicted_memory(1000, available_mb=5000)
    assert r == {"predicted_mb": 1000.0, "available_mb": 5000.0, "margin_mb": 300.0, "fits": True, "forced": False}


def test_preflight_refuses_unless_forced():
    with pytest.raises(PredictedOOM) as ei:
        guard.check_predicted_memory(5800, available_mb=5900, what="Qwen3-VL-4B")
    e = ei.value
    assert e.predicted_mb == 5800 and e.available_mb == 5900 and e.exit_code == 3
    assert "Qwen3-VL-4B" in str(e) and "\n" not in str(e)
    assert "force: true on the plan entry" in str(e) and "rklab sweep ... --force" in str(e)
    assert guard.outcome_fields(e)["status"] == "skipped_predicted_oom"
    r = guard.check_predicted_memory(5800, available_mb=5900, force=True)
    assert r["fits"] is False and r["forced"] is True


def test_preflight_uses_live_memavailable():
    import psutil

    live = psutil.virtual_memory().available / 2**20
    assert guard.check_predicted_memory(10)["available_mb"] == pytest.approx(live, rel=0.2)
    with pytest.raises(PredictedOOM):
        guard.check_predicted_memory(live * 4)


def test_preflight_with_the_engine_prediction():
    est = estimate("Qwen3-0.6B", dtype="w8a8", max_context=4096)
    r = guard.check_predicted_memory(est.memory_mb, available_mb=8000)
    assert r["fits"] and r["predicted_mb"] == pytest.approx(est.memory_mb, abs=0.1)
    with pytest.raises(PredictedOOM):
        guard.check_predicted_memory(est.memory_mb, available_mb=est.memory_mb)  # no room for the margin


def test_outcome_fields_for_other_errors():
    f = guard.outcome_fields(RklabError("bad"))
    assert f == {"status": "failed", "error": {"type": "RklabError", "message": "bad"}}
