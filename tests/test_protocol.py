"""Benchmark protocol with a scripted backend (exact expected numbers) and fake board trees."""

import pytest

from rklab.errors import RklabError
from rklab.measure.monitor import Monitor
from rklab.measure.protocol import BenchConfig, run_llm_benchmark
from tests.fakes.backend import ScriptedBackend


def test_metrics_from_known_timestamps():
    b = ScriptedBackend(ttft_ms=64.0, intervals_ms=(12.5,), memory_mb=777.0)
    res = run_llm_benchmark(b, BenchConfig(cases=[(128, 64)], warmup=1, reps=3), progress=False)
    assert len(res.runs) == 3 and len(res.warmups) == 1
    assert [c["token_ids"] is not None and len(c["token_ids"]) for c in b.calls] == [128] * 4
    assert all(c["max_new_tokens"] == 64 and c["ignore_eos"] for c in b.calls)
    r = res.runs[0]
    assert r["case"] == "pp128/tg64" and r["rep"] == 0 and r["warmup"] is False
    assert r["prompt_tokens"] == 128 and r["prompt_tokens_source"] == "exact"
    assert r["generated_tokens"] == 64
    assert r["ttft_ms"] == pytest.approx(64.0, abs=1e-3)
    assert r["prefill_ms"] == r["ttft_ms"]
    assert r["prefill_tps"] == pytest.approx(2000.0, rel=1e-4)
    assert r["decode_tps"] == pytest.approx(80.0, rel=1e-4)  # 63 / (63 * 12.5 ms)
    assert r["runtime_decode_tps"] == pytest.approx(80.0 / 0.99, rel=1e-4)
    assert r["runtime_prefill_tps"] == pytest.approx(128 / 0.0576, rel=1e-4)
    assert r["runtime_decode_tokens"] == 63
    assert r["runtime_memory_mb"] == 777.0
    assert len(r["token_offsets_ms"]) == 64 and r["token_offsets_ms"][1] - r["token_offsets_ms"][0] == pytest.approx(12.5, abs=1e-3)
    assert r["vmhwm_mb"] > 0 and r["memory_baseline"] == "run_start"
    assert r["throttled"] is None and r["clocks_below_max"] is None and r["npu_load_mean"] is None
    s = res.summary
    row = s[(s.case == "pp128/tg64") & (s.metric == "decode_tps")].iloc[0]
    assert row["n"] == 3 and row["median"] == pytest.approx(80.0, rel=1e-4) and len(row["samples"]) == 3
    assert res.host["runtime_version"] == "scripted 1.0"
    d = res.to_dict()
    assert set(d) >= {"runs", "summary", "host", "config", "backend"}
    assert d["backend"]["name"] == "scripted"


def test_default_matrix_and_on_run():
    b = ScriptedBackend()
    seen = []
    res = run_llm_benchmark(b, BenchConfig(warmup=0, reps=2), progress=False, on_run=seen.append)
    assert [r["case"] for r in res.runs] == ["pp128/tg64"] * 2 + ["pp512/tg128"] * 2 + ["pp1024/tg128"] * 2
    assert seen == res.runs
    assert sorted(set(res.summary.case)) == ["pp1024/tg128", "pp128/tg64", "pp512/tg128"]


def test_adaptive_adds_runs_until_stable_or_cap():
    noisy = ScriptedBackend(intervals_ms=(10.0, 14.0))
    res = run_llm_benchmark(noisy, BenchConfig(cases=[(16, 8)], warmup=0, reps=3, max_rep_factor=3), progress=False)
    assert len(res.runs) == 9  # never below 3 % rsd: capped at 3x
    stable = ScriptedBackend(intervals_ms=(10.0,))
    res = run_llm_benchmark(stable, BenchConfig(cases=[(16, 8)], warmup=0, reps=3), progress=False)
    assert len(res.runs) == 3
    off = ScriptedBackend(intervals_ms=(10.0, 14.0))
    res = run_llm_benchmark(off, BenchConfig(cases=[(16, 8)], warmup=0, reps=3, adaptive=False), progress=False)
    assert len(res.runs) == 3


def test_adaptive_stops_once_spread_falls():
    from rklab.measure.stats import rsd

    # rates 100, 95.2 (rsd 3.4 %) -> one more run at 100 gives rsd 2.8 % < 3 %: stop at 3
    b = ScriptedBackend(intervals_ms=(10.0, 10.5) + (10.0,) * 8)
    res = run_llm_benchmark(b, BenchConfig(cases=[(16, 8)], warmup=0, reps=2, max_rep_factor=5), progress=False)
    rates = [r["decode_tps"] for r in res.runs]
    assert len(res.runs) == 3
    assert rsd(rates[:2]) > 0.03 > rsd(rates)


def test_context_overflow_is_refused_before_running():
    b = ScriptedBackend(max_context=512)
    with pytest.raises(RklabError, match="pp512/tg128 needs 640 tokens but max_context is 512"):
        run_llm_benchmark(b, BenchConfig(cases=[(128, 64), (512, 128)]), progress=False)
    assert b.calls == []


def test_bad_config():
    with pytest.raises(RklabError):
        run_llm_benchmark(ScriptedBackend(), BenchConfig(cases=[(0, 5)]), progress=False)
    with pytest.raises(RklabError):
        run_llm_benchmark(ScriptedBackend(), BenchConfig(cases=[], reps=1), progress=False)
    with pytest.raises(RklabError):
        run_llm_benchmark(ScriptedBackend(), BenchConfig(reps=0), progress=False)


def test_text_prompt_when_runtime_cannot_tokenize():
    b = ScriptedBackend(can_tokenize=False, words_per_token=0.6, runtime_prompt_overhead=0)
    res = run_llm_benchmark(b, BenchConfig(cases=[(200, 16)], warmup=1, reps=2), progress=False)
    assert all(c["prompt"] is not None for c in b.calls)
    assert b.calls[0]["n_prompt"] == 250  # 150 words / 0.6
    # recalibrated after the warmup: the measured runs are close to 200 runtime tokens
    assert all(abs(r["prompt_tokens"] - 200) <= 2 for r in res.runs)
    assert all(r["prompt_tokens_source"] == "runtime" for r in res.runs)
    assert res.runs[0]["prompt_tokens"] == res.runs[0]["runtime_prefill_tokens"]


def test_abort_stops_the_benchmark():
    b = ScriptedBackend(abort_at_call=2)
    res = run_llm_benchmark(b, BenchConfig(cases=[(16, 8), (32, 8)], warmup=1, reps=3), progress=False)
    assert res.aborted
    assert len(res.runs) == 2 and res.runs[-1]["final_state"] == "aborted"
    assert len(b.calls) == 3


def test_monitor_metrics_on_a_board_tree(rk3588_tree_unpinned):
    fr = rk3588_tree_unpinned
    fr.set_memory(vmhwm_kb=900 * 1024, vmrss_kb=880 * 1024, rss_shmem_kb=300 * 1024,
                  mem_available_kb=4000 * 1024, shmem_kb=400 * 1024)
    fr.set_npu_load(60, 30, 0)
    mon = Monitor(pid=fr.pid, interval_s=3600, proc_root=fr.proc_root, sys_root=fr.sys_root)

    def during():
        mon.record()
        fr.set_npu_load(90, 60, 30)
        fr.write("sys/class/thermal/thermal_zone0/temp", "55000\n")
        mon.record()

    b = ScriptedBackend(during=during)
    baseline = {"mem_available_mb": 4500.0, "shmem_mb": 250.0}
    with mon:
        res = run_llm_benchmark(b, BenchConfig(cases=[(16, 8)], warmup=0, reps=1), monitor=mon,
                                baseline=baseline, progress=False)
    r = res.runs[0]
    assert r["vmhwm_mb"] == 900.0 and r["rss_shmem_mb"] == 300.0
    assert r["mem_available_drop_mb"] == 500.0 and r["shmem_rise_mb"] == 150.0
    assert r["memory_baseline"] == "before_load"
    assert r["npu_load_mean"] == pytest.approx((30 + 60) / 2)
    assert r["npu_load_max"] == 90.0
    assert r["temp_start_c"] == pytest.approx(42.0) and r["temp_end_c"] == 55.0
    # ondemand at idle clocks: not at max, but nothing lowered the caps -> not thermal throttling
    assert r["clocks_below_max"] is True and "policy0 at 408 MHz < max 1800 MHz" in r["throttle_detail"]
    assert r["throttled"] is False
    assert r["monitor_samples"] == 2
    assert {s["phase"] for s in res.samples if s.get("run") == "pp16/tg8#0"} == {"prefill"}
    assert res.host["soc"] == "RK3588" and res.host["clocks_pinned"] is False


def test_pinned_board_is_not_throttled(rk3588_tree):
    mon = Monitor(pid=rk3588_tree.pid, interval_s=3600, proc_root=rk3588_tree.proc_root,
                  sys_root=rk3588_tree.sys_root)
    b = ScriptedBackend(during=mon.record, ttft_ms=0.0)
    with mon:
        res = run_llm_benchmark(b, BenchConfig(cases=[(16, 8)], warmup=0, reps=1), monitor=mon, progress=False)
    r = res.runs[0]
    assert r["throttled"] is False and r["clocks_below_max"] is False and r["throttle_detail"] is None
    # ttft 0: the sample taken during generate is after the first token -> decode phase
    assert [s["phase"] for s in res.samples if s.get("run") == "pp16/tg8#0"] == ["decode"]


def test_load_time_token_limit_is_set_per_case_before_its_runs():
    """RKLLM 1.2.3 fixes max_new_tokens at load: the protocol re-sets it for each case."""

    class LoadTimeLimit(ScriptedBackend):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.limits: list[int] = []

        def set_max_new_tokens(self, n):
            reloaded = bool(self.limits) and self.limits[-1] != n
            self.limits.append(n)
            self.calls.append({"set_limit": n})
            self.load_ms = 100.0 + n
            return reloaded

    b = LoadTimeLimit()
    res = run_llm_benchmark(b, BenchConfig(cases=[(16, 8), (32, 4)], warmup=1, reps=2, adaptive=False),
                            progress=False)
    assert b.limits == [8, 4]
    # the reload's wall time is on the first measured run after it, nowhere else
    assert [r.get("reload_ms") for r in res.runs] == [None, None, 104.0, None]
    order = [c.get("set_limit", c.get("max_new_tokens")) for c in b.calls]
    assert order == [8, 8, 8, 8, 4, 4, 4, 4]
    assert [c["set_limit"] for c in b.calls if "set_limit" in c] == [8, 4]


def test_a_case_that_exactly_fills_the_context_is_refused():
    b = ScriptedBackend(max_context=192)
    with pytest.raises(RklabError, match="pp128/tg64 needs 192 tokens but max_context is 192: "
                                         "prompt \\+ new tokens must be less than the context"):
        run_llm_benchmark(b, BenchConfig(cases=[(128, 64)]), progress=False)


@pytest.mark.parametrize("where, cap, detail", [
    ("cpu", ("policy4", 1608000), "policy4 capped at 1608 MHz < max 2352 MHz"),
    ("npu", ("fdab0000.npu", 700000000), "NPU capped at 700 MHz < max 1000 MHz"),
    ("ddr", ("dmc", 1560000000), "DDR capped at 1560 MHz < max 2112 MHz"),
])
def test_thermal_cap_during_the_run_sets_throttled(rk3588_tree, where, cap, detail):
    fr = rk3588_tree
    mon = Monitor(pid=fr.pid, interval_s=3600, proc_root=fr.proc_root, sys_root=fr.sys_root)

    def during():
        mon.record()
        if where == "cpu":
            fr.set_cpu_cap(*cap)
        else:
            fr.set_devfreq_cap(*cap)
        mon.record()

    b = ScriptedBackend(during=during)
    with mon:
        res = run_llm_benchmark(b, BenchConfig(cases=[(16, 8)], warmup=0, reps=1), monitor=mon, progress=False)
    r = res.runs[0]
    # current clocks stayed at max (pinned board), but a cap fell below the hardware max
    assert r["throttled"] is True and r["clocks_below_max"] is False
    assert detail in r["throttle_detail"]


def test_unreadable_caps_leave_throttled_unknown(rk3588_tree):
    import os

    fr = rk3588_tree
    for pol in ("policy0", "policy4", "policy6"):
        os.remove(fr.sys_root / f"devices/system/cpu/cpufreq/{pol}/scaling_max_freq")
    for dev in ("fdab0000.npu", "dmc"):
        os.remove(fr.sys_root / f"class/devfreq/{dev}/max_freq")
    mon = Monitor(pid=fr.pid, interval_s=3600, proc_root=fr.proc_root, sys_root=fr.sys_root)
    b = ScriptedBackend(during=mon.record)
    with mon:
        r = run_llm_benchmark(b, BenchConfig(cases=[(16, 8)], warmup=0, reps=1), monitor=mon,
                              progress=False).runs[0]
    assert r["throttled"] is None and r["clocks_below_max"] is False


def test_guard_tripped_between_runs_starts_no_further_run(tmp_path):
    """A trip between two generations (nothing for backend.abort to stop) still ends the benchmark."""
    from rklab.errors import MemoryAborted
    from rklab.measure.guard import MemoryGuard
    from tests.fakes.sysfs import build_rk3588_tree

    fr = build_rk3588_tree(tmp_path / "board")
    guard = MemoryGuard(floor_mb=300, proc_root=fr.proc_root, pid=fr.pid)  # polled by hand, no thread
    b = ScriptedBackend()

    def on_run(run):
        if run["rep"] == 1:  # memory falls after the second run, before the third starts
            fr.set_memory(mem_available_kb=100 * 1024)
            guard._poll()

    res = run_llm_benchmark(b, BenchConfig(cases=[(16, 8), (32, 8)], warmup=1, reps=4, adaptive=False),
                            on_run=on_run, should_stop=guard.should_stop, progress=False)
    assert guard.tripped and res.aborted
    assert len(res.runs) == 2 and len(b.calls) == 3  # warmup + 2 runs, then nothing
    with pytest.raises(MemoryAborted):
        guard.check()
