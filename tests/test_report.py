"""Report logic (notebook 04) on TEST DATA records, and `rklab report` with the real notebook.

The records come from tests/fixtures/report_records.py: invented numbers shaped like real
records, labelled test data; the expected values below follow from them by hand.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from rklab import i18n
from rklab import report as rr
from rklab.errors import RklabError
from rklab.report.compare import text_prompt_tokens
from rklab.report.summary import VLM_STAGES, vlm_stages
from rklab.report.verdicts import verdict_table
from rklab.report.html import check_self_contained, plotlyjs_marker


@pytest.fixture
def rep(fake_sweep):
    return rr.build_report([fake_sweep], lang="en")


def test_only_the_complete_attempt_is_read(rep):
    npu = rep.measured[rep.measured["entry"] == "qwen3-0.6b-npu"]
    assert set(npu["case"]) == {"pp128/tg64", "pp512/tg128"}
    head = npu[npu["case"] == "pp128/tg64"].iloc[0]
    assert head["n"] == 3  # not 4: attempt-1's 99 tok/s run is ignored
    assert head["decode_tps"] == pytest.approx(25.0)
    assert head["decode_tps_std"] == pytest.approx(0.2)
    assert head["ttft_ms"] == pytest.approx(221.0)
    assert head["vmhwm_mb"] == pytest.approx(792.0)
    assert (rep.runs["decode_tps"] != 99.0).all()


def test_comparison_puts_quoted_and_measured_side_by_side(rep):
    c = rep.comparison
    q = c[c["model"] == "Qwen3-0.6B"]
    assert list(dict.fromkeys(q["source"])) == ["official", "seed", "community", "measured"]
    meas = q[q["source"] == "measured"].set_index("label")
    assert meas.loc["measured rkllm", "decode_tps"] == pytest.approx(25.0)
    assert meas.loc["measured rkllm", "decode_tps_err"] == pytest.approx(0.2)
    assert meas.loc["measured llamacpp", "decode_tps"] == pytest.approx(12.0)
    assert "pp128/tg64" in meas.loc["measured rkllm", "conditions"]
    off = q[(q["source"] == "official") & (q["runtime"] == "1.2.3")].iloc[0]
    assert off["decode_tps"] == pytest.approx(32.16) and off["memory_kind"] == "VmHWM"
    assert "fix_freq" in off["conditions"] or "pinned" in off["conditions"]
    # reference rows of models nobody measured stay out; the OOM'd limit test's references stay in
    assert "Qwen3-4B" not in set(c["model"])
    assert "Qwen3-VL-4B" in set(c["model"])


def test_comparison_table_says_how_each_memory_figure_was_taken_in_the_report_language(rep):
    en = rr.comparison_display(rep)
    kinds_en = set(en[i18n.text("report.memory_kind", "en")])
    assert {"VmHWM", "as quoted", "total used memory (method not stated)"} <= kinds_en
    zh = rr.comparison_display(rr.build_report(rep.run_dirs, lang="zh"))
    kinds_zh = set(zh[i18n.text("report.memory_kind", "zh")])
    assert {"VmHWM（进程峰值）", "照原文引用", "系统总占用（方法未说明）"} <= kinds_zh
    assert "as quoted" not in kinds_zh


def test_predicted_vs_measured_residuals(rep):
    from rklab.predict.boards import Clocks
    from rklab.predict.feasibility import estimate

    p = rep.predicted.set_index(["entry", "case"])
    row = p.loc[("qwen3-0.6b-npu", "pp128/tg64")]
    kw = dict(dtype="w8a8", max_context=4096, prompt_tokens=128, new_tokens=64, with_vision=False)
    pinned, at_clock = estimate("Qwen3-0.6B", **kw), estimate("Qwen3-0.6B", clocks=Clocks(ddr_mhz=1560), **kw)
    # predicted at the clocks the monitor saw (DDR 1560 MHz) beside the pinned-clock prediction
    assert row["predicted_decode_tps"] == pytest.approx(at_clock.decode_tps)
    assert row["predicted_decode_tps_pinned"] == pytest.approx(pinned.decode_tps)
    assert row["decode_residual_pct"] == pytest.approx((25.0 / at_clock.decode_tps - 1) * 100)
    assert row["memory_residual_pct"] == pytest.approx((792.0 / pinned.memory_mb - 1) * 100)
    assert "DDR averaged 1,560 MHz under dmc_ondemand" in row["explanation"]
    cpu = p.loc[("qwen3-0.6b-cpu", "pp128/tg64")]
    assert math.isnan(cpu["predicted_decode_tps"]) and "GGUF" in cpu["note"]
    lines = rr.prediction_lines(rep)
    assert any(line.startswith("qwen3-0.6b-npu (pp128/tg64): DDR averaged") for line in lines)
    # a llama.cpp record without its GGUF path has neither prediction: the line says so, no "- % of - tok/s"
    cpu_line = next(line for line in lines if line.startswith("qwen3-0.6b-cpu"))
    assert "no CPU prediction" in cpu_line and "GGUF" in cpu_line and " - " not in cpu_line


def test_npu_vs_cpu_for_every_plan_model(rep):
    t = rep.npu_cpu.set_index("model")
    assert list(t.index) == ["Qwen3-0.6B", "Qwen3-1.7B", "InternVL3.5-1B", "Qwen3-VL-4B"]
    assert t["npu_decode_tps"].notna().all() and t["cpu_decode_ceiling_tps"].notna().all()
    assert t.loc["Qwen3-0.6B", "in_plan"] == "CPU, NPU" and t.loc["Qwen3-0.6B", "cpu_type"] == "q8_0"
    assert t.loc["Qwen3-0.6B", "measured_npu_decode_tps"] == pytest.approx(25.0)
    assert t.loc["Qwen3-0.6B", "measured_cpu_decode_tps"] == pytest.approx(12.0)
    assert math.isnan(t.loc["Qwen3-1.7B", "measured_npu_decode_tps"])     # planned, not measured: predicted only
    assert "STREAM" in t.loc["Qwen3-0.6B", "cpu_bandwidth_source"]       # off-board: the board's quoted bandwidth
    shown = rr.npu_cpu_display(rep)
    assert len(shown) == 4 and "CPU predicted decode ceiling (tok/s)" in shown.columns


def test_llamacpp_run_gets_gguf_memory_and_ceiling(tmp_path, demo_gguf):
    """A llama.cpp record with its GGUF path, the RSS before load and the host's bandwidth (TEST DATA
    shaped like the demo sweep's record on the x86 VM)."""
    from rklab.records import RecordWriter
    from tests.fixtures.report_records import _entry, _run

    rec = _run("demo-llm", "SmolLM2-135M-Instruct", "llamacpp", "q4_1", "llm", (128, 32), 0, 20.0, 150.0, 273.2,
               rss_before_load_mb=132.3)
    rec["model"]["path"] = str(demo_gguf)
    rec["max_context"] = 512
    rec["host"] = {**rec["host"], "soc": None, "mem_bandwidth": {"gbs": 10.0}}
    w = RecordWriter(tmp_path / "demo-llm" / "attempt-1")
    w.append(rec)
    w.append(_entry("demo-llm", "SmolLM2-135M-Instruct", "llamacpp", "ok"))
    r = rr.build_report([tmp_path], lang="en")
    row = r.predicted.iloc[0]
    assert abs(row["memory_residual_pct"]) < 10 and 0 < row["pct_of_ceiling"] < 100
    assert f"predicted from the GGUF file {demo_gguf.name}" in row["explanation"]
    assert any("memory-bandwidth ceiling" in line for line in rr.prediction_lines(r))
    # a llama.cpp-only report does not show the NPU's clock columns, all of them empty
    shown = rr.predicted_display(r)
    assert "predicted peak (MB)" in shown.columns and "% of the CPU decode ceiling (%)" in shown.columns
    assert not [c for c in shown.columns if "pinned clocks" in c or "observed clocks" in c]


def test_warnings(rep):
    kinds = {(w.kind, w.entry) for w in rep.warnings}
    assert ("clocks", "qwen3-0.6b-npu") in kinds  # DDR governor not pinned
    assert any(w.kind == "clocks" and "DDR" in w.message for w in rep.warnings)
    # 25.0 vs official 32.16 (v1.2.3, same runtime) = -22 %: > 20 %
    dev = [w for w in rep.warnings if w.kind == "deviation"]
    assert len(dev) == 1 and "decode (tok/s)" in dev[0].message and "-22 %" in dev[0].message
    assert "decode_tps" not in dev[0].message  # words for people, not column names
    # TTFT 600/900/1200 ms on pp512: RSD 33 % > 10 %; decode RSD there is 2 %: no warning
    var = [w.message for w in rep.warnings if w.kind == "variance"]
    assert var == ["pp512/tg128 TTFT (ms) varies a lot (RSD 33 % > 10 %)"]
    assert ("limit_test", "qwen3-vl-4b-npu-limit") in kinds
    assert not [w for w in rep.warnings if w.kind in ("throttling", "host", "synthetic", "cache")]


def test_cache_suspected_runs_are_counted_and_warned_from_the_records(fake_sweep):
    import json

    f = fake_sweep / "qwen3-0.6b-npu" / "attempt-2" / "records.jsonl"
    lines = [json.loads(x) for x in f.read_text().splitlines()]
    flagged = [rec for rec in lines if rec.get("metrics", {}).get("case") == "pp128/tg64"][1:3]
    for rec in flagged:
        rec["metrics"]["cache_suspected"] = True
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = rr.build_report([fake_sweep], lang="en")
    m = r.measured.set_index(["entry", "case"])
    assert m.loc[("qwen3-0.6b-npu", "pp128/tg64"), "cache_suspected"] == 2
    assert m.loc[("qwen3-0.6b-npu", "pp512/tg128"), "cache_suspected"] == 0  # old records: no key, no flag
    cache = [w for w in r.warnings if w.kind == "cache"]
    assert [(w.entry, w.message) for w in cache] == [
        ("qwen3-0.6b-npu", "pp128/tg64: 2 run(s) flagged cache suspected (prefill more than 30 % faster than "
                           "the median of the earlier repetitions)")]


def test_throttling_and_off_board_host_warnings(fake_sweep):
    import json

    f = fake_sweep / "qwen3-0.6b-cpu" / "attempt-1" / "records.jsonl"
    lines = [json.loads(x) for x in f.read_text().splitlines()]
    lines[0]["metrics"]["throttled"] = True
    for rec in lines:
        if rec["kind"] == "llm":
            rec["host"]["soc"] = None
            rec["host"]["cpu_model"] = "TEST x86 CPU"
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = rr.build_report([fake_sweep], lang="zh")
    kinds = {(w.kind, w.entry) for w in r.warnings}
    assert ("throttling", "qwen3-0.6b-cpu") in kinds and ("host", "qwen3-0.6b-cpu") in kinds
    assert any("TEST x86 CPU" in w.message and "不是 RK3588" in w.message for w in r.warnings)


def test_verdict_table_uses_measured_values_where_measured(rep):
    v = rep.verdicts.set_index("model")
    assert len(v) == 17  # the seed's three tables
    assert v.loc["Qwen3-0.6B", "verdict_source"] == "measured"
    assert v.loc["Qwen3-0.6B", "measured_mb"] == pytest.approx(792.0)
    assert v.loc["Qwen3-0.6B", "measured_decode_tps"] == pytest.approx(25.0)
    assert v.loc["InternVL3.5-1B", "verdict"] == "fits" and v.loc["InternVL3.5-1B", "measured_mb"] == 1600.0
    assert v.loc["Qwen3-VL-4B", "verdict"] == "oom" and v.loc["Qwen3-VL-4B", "verdict_source"] == "measured"
    assert v.loc["Qwen3-8B", "verdict"] == "excluded"  # from sweep.json's excluded list
    assert v.loc["Qwen3-4B", "verdict_source"] == "predicted" and np.isnan(v.loc["Qwen3-4B", "measured_mb"])
    assert v.loc["Qwen3-0.6B", "seed_ram_mb"] == "~774"
    zh = rr.verdicts_display(rr.build_report([rep.run_dirs[0]], lang="zh"))
    assert "实测 OOM" in set(zh["可行性"]) and "实测" in set(zh["依据"])


def test_measured_tight_and_exceeds_follow_the_board_budget(rep):
    from rklab.predict.boards import load_board

    b = load_board("rk3588-8gb")
    m = rep.measured.copy()
    m.loc[m["entry"] == "qwen3-0.6b-npu", "vmhwm_mb"] = b.budget_mb * 0.9
    m.loc[m["entry"] == "internvl3.5-1b-npu", "vmhwm_mb"] = b.budget_mb + 1
    v = verdict_table(m, rep.entries, lang="en").set_index("model")
    assert v.loc["Qwen3-0.6B", "verdict"] == "tight" and v.loc["InternVL3.5-1B", "verdict"] == "exceeds"


def test_benchmark_log_markdown_has_tables_and_sources(rep, tmp_path):
    paths = rr.write_benchmark_log(rep, tmp_path / "results" / "benchmark_log.md", copy_to=[tmp_path / "copy.md"])
    text = paths[0].read_text()
    assert paths[1].read_text() == text
    for heading in ("## Summary", "## Warnings", "## Measured details", "## Final verdict table", "## Test conditions",
                    "## Sources"):
        assert heading in text
    assert "| qwen3-0.6b-npu | Qwen3-0.6B | rkllm | w8a8 | pp128/tg64 | 3 | 25.00 ± 0.20 | 221 ± 1 |" in text
    assert "airockchip/rknn-llm benchmark.md (release v1.2.3)" in text
    # every table row has as many cells as its header
    for block in re.findall(r"((?:^\|.*\|\n)+)", text, re.M):
        rows = block.strip().splitlines()
        widths = {len(re.split(r"(?<!\\)\|", r)) for r in rows}
        assert len(widths) == 1, rows[:3]


def test_a_folder_without_records_is_refused_not_reported_empty(tmp_path):
    """Issue 13: an empty folder used to give an empty report and exit 0."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(RklabError) as exc:
        rr.build_report([tmp_path / "empty"], lang="en")
    assert f"{tmp_path / 'empty'} holds no records (no records.jsonl below it)" in str(exc.value)
    (tmp_path / "empty" / "records.jsonl").write_text("not json\n")
    with pytest.raises(RklabError, match=r"holds no readable records \(1 line\(s\) skipped, first: .*records.jsonl:1: not JSON"):
        rr.build_report([tmp_path / "empty"], lang="en")
    with pytest.raises(RklabError, match="does not exist"):
        rr.build_report([tmp_path / "nope"])
    with pytest.raises(RklabError, match="use zh or en"):
        rr.build_report([tmp_path / "empty"], lang="fr")


def test_skipped_lines_and_newer_schemas(fake_sweep, tmp_path):
    """A corrupt line in the middle is shown with its file and line; a newer schema is refused."""
    import shutil

    sweep = tmp_path / "sweep"
    shutil.copytree(fake_sweep, sweep)
    files = sorted(sweep.rglob("records.jsonl"))
    target = next(f for f in files if "attempt-" in str(f) and len(f.read_text().splitlines()) > 1)
    lines = target.read_text().splitlines()
    target.write_text("\n".join([lines[0], '{"schema": "rklab.record/1", "metrics": {"rep": ', *lines[1:]]) + "\n")
    r = rr.build_report([sweep], lang="en")
    skipped = [w for w in r.warnings if w.kind == "skipped_line"]
    assert [w.entry for w in skipped] == [f"{target}:2"] and "not JSON" in skipped[0].message
    assert f"{target}:2" in rr.warnings_html(r)
    with open(target, "a") as fh:
        fh.write(lines[0].replace("rklab.record/1", "rklab.record/2") + "\n")
    with pytest.raises(RklabError, match=rf"{target}:{len(lines) + 2} has records of schema rklab.record/2"):
        rr.build_report([sweep], lang="en")


def test_figures(rep):
    from rklab.report.plots import report as rp

    fig = rp.comparison_figure(rep, "decode_tps")
    names = [t.name for t in fig.data]
    assert names == ["official (quoted)", "seed report (quoted)", "community (quoted)", "measured"]
    meas = fig.data[-1]
    err = {(m, lab): e for m, lab, e in zip(meas.x[0], meas.x[1], meas.error_y.array)}
    assert err[("Qwen3-0.6B", "measured rkllm")] == pytest.approx(0.2)
    assert err[("InternVL3.5-1B", "measured rkllm")] == pytest.approx(0.28284, rel=1e-3)  # std of 22.0, 22.4
    assert list(meas.x[0]) == ["Qwen3-0.6B", "Qwen3-0.6B", "InternVL3.5-1B"]  # plan order
    assert rp.predicted_figure(rep) is not None
    assert rp.npu_cpu_figure(rep) is not None  # Qwen3-0.6B on both backends
    vlm = rp.vlm_stage_figure(rep)
    assert [t.name for t in vlm.data] == ["preprocess", "vision encoder", "LLM prefill (image + text) → first token",
                                          "decode"]  # "other" is 0 here (12 + 850 + 400 = ttft_e2e 1262): not drawn
    assert list(vlm.data[1].x) == [850.0]
    bw = rp.bandwidth_figure(rep)
    assert "33.8 GB/s" in bw.data[0].name
    mem = rp.memory_budget_figure(rep)
    assert "usable budget 5,361 MB" in [t.name for t in mem.data]  # the board's lines are named in the legend
    assert [s.x0 for s in mem.layout.shapes] == [pytest.approx(rep.board.budget_mb), pytest.approx(rep.board.physical_mb)]


def test_rklab_report_cli_writes_offline_html_and_the_log(fake_report):
    run, html_path, md, stdout = fake_report
    assert f"HTML report: {html_path}" in stdout
    html = html_path.read_text()
    info = check_self_contained(html)
    assert info["plotlyjs_copies"] == 1 and info["plot_divs"] >= 8
    assert info["bytes"] < 8 * 1024 * 1024
    assert html.count(plotlyjs_marker()) == 1
    assert "cdnjs" not in html and "require.min.js" not in html and "MathJax.js" not in html
    assert 'class="jp-InputArea' not in html  # code hidden
    assert "RK3588 大模型测试报告" in html
    assert md.exists() and (run / "benchmark_log.md").read_text() == md.read_text()
    assert "最终可行性表" in md.read_text()


def test_check_self_contained_rejects_network_and_duplicates():
    with pytest.raises(RklabError, match="fetch from the network"):
        check_self_contained('<script src="https://cdn.example/x.js"></script>')
    with pytest.raises(RklabError, match="fetch from the network"):
        check_self_contained('<link rel="stylesheet" href="//cdn.example/x.css">')
    check_self_contained('<a href="https://github.com/airockchip/rknn-llm">source</a>')  # a link is not a fetch
    m = plotlyjs_marker()
    with pytest.raises(RklabError, match="2 times"):
        check_self_contained(m + m + '<div class="plotly-graph-div"></div>')
    with pytest.raises(RklabError, match="over the"):
        check_self_contained("x" * 100, max_bytes=10)


def _rewrite(path, change):
    import json

    recs = [json.loads(x) for x in path.read_text().splitlines()]
    for rec in recs:
        change(rec)
    path.write_text("".join(json.dumps(x) + "\n" for x in recs))


def test_guard_outcome_after_measured_runs_wins_over_the_measured_vmhwm(fake_sweep):
    """[ok, ok, aborted_memory] / [ok..., oom]: the runs are shown, the verdict is not fits."""
    def aborted(rec):
        if rec["kind"] == "entry":
            rec["status"] = "aborted_memory"
            rec["error"] = {"type": "aborted_memory", "message": "TEST MemAvailable 250 MB < floor (2 runs measured before)"}

    def oom(rec):
        if rec["kind"] == "entry":
            rec["status"] = "oom"
            rec["error"] = {"type": "oom", "message": "TEST SIGKILL (3 runs measured before)"}

    _rewrite(fake_sweep / "internvl3.5-1b-npu" / "attempt-1" / "records.jsonl", aborted)
    _rewrite(fake_sweep / "qwen3-0.6b-npu" / "attempt-2" / "records.jsonl", oom)
    r = rr.build_report([fake_sweep], lang="en")
    v = r.verdicts.set_index("model")
    vl = v.loc["InternVL3.5-1B"]
    assert vl["measured_mb"] == 1600.0 and vl["verdict_source"] == "measured"
    assert vl["verdict"] == "exceeds"  # was "fits" from the partial VmHWM
    assert "memory guard" in vl["verdict_reason"] and "2 runs measured before" in vl["verdict_reason"]
    q = v.loc["Qwen3-0.6B"]
    assert q["verdict"] == "oom" and q["measured_decode_tps"] == pytest.approx(25.0)
    assert "OOM killer" in q["verdict_reason"]
    shown = rr.verdicts_display(r).set_index("model")
    assert shown.loc["Qwen3-0.6B", "verdict"] == "OOM (measured)"
    assert "2 runs measured before" in shown.loc["InternVL3.5-1B", "reason"]
    # an ok entry of the same model on the CPU does not change the NPU verdict; untouched models keep theirs
    assert v.loc["Qwen3-VL-4B", "verdict"] == "oom"


def test_vlm_prediction_counts_the_image_tokens_once(rep):
    from rklab.predict.feasibility import estimate

    row = rep.predicted.set_index("entry").loc["internvl3.5-1b-npu"]
    # the record's prompt_tokens (300) is the runtime's prefill: 256 image + 44 text tokens
    est = estimate("InternVL3.5-1B", dtype="w8a8", max_context=4096, prompt_tokens=44, new_tokens=64, with_vision=True)
    assert est.image_tokens == 256 and est.prompt_tokens == 44
    assert row["predicted_ttft_ms"] == pytest.approx(est.ttft_ms)
    assert row["predicted_memory_mb"] == pytest.approx(est.memory_mb)
    double = estimate("InternVL3.5-1B", dtype="w8a8", max_context=4096, prompt_tokens=300, new_tokens=64, with_vision=True)
    assert double.ttft_ms > est.ttft_ms * 1.1  # the old, double-counted prediction differs measurably
    # no text_tokens and no image_tokens in the record: the catalog's image tokens are taken off
    m = rep.measured.set_index("entry").loc["internvl3.5-1b-npu"].copy()
    m["image_tokens"] = None
    assert text_prompt_tokens(m) == 44
    m["text_tokens"] = 40
    assert text_prompt_tokens(m) == 40
    llm = rep.measured[rep.measured["entry"] == "qwen3-0.6b-npu"].iloc[0]
    assert text_prompt_tokens(llm) == 128  # text-only runs: the prompt as recorded


def test_vlm_stages_add_up_to_the_measured_end_to_end(fake_sweep):
    f = fake_sweep / "internvl3.5-1b-npu" / "attempt-1" / "records.jsonl"
    e2e = iter([3000.0, 3100.0])

    def stop_early(rec):  # RKLLM stopped at EOS after 40 of 64 tokens; 10 ms hand-over before the prefill
        if rec["kind"] == "vlm":
            rec["metrics"].update(generated_tokens=40, e2e_ms=next(e2e), ttft_e2e_ms=1272.0)

    _rewrite(f, stop_early)
    r = rr.build_report([fake_sweep], lang="en")
    st = vlm_stages(r.measured).set_index("entry").loc["internvl3.5-1b-npu"]
    assert st["preprocess_ms"] == 12.0 and st["encoder_ms"] == 850.0 and st["llm_prefill_ms"] == 400.0
    assert st["other_ms"] == pytest.approx(10.0)
    assert st["decode_ms"] == pytest.approx(3050.0 - 1272.0)  # median e2e - median ttft_e2e
    assert st["e2e_ms"] == pytest.approx(3050.0) and st["e2e_measured"]
    assert sum(st[k] for k in VLM_STAGES) == pytest.approx(3050.0)
    from rklab.report.plots import report as rp

    fig = rp.vlm_stage_figure(r)
    assert sum(float(tr.x[0]) for tr in fig.data) == pytest.approx(3050.0)
    assert "other (embedding hand-over etc.)" in [tr.name for tr in fig.data]
    zh = rp.vlm_stage_figure(rr.build_report([fake_sweep], lang="zh"))
    assert "LLM 预填充（图像+文本）→ 首 token" in [tr.name for tr in zh.data]


def test_vlm_decode_stage_without_e2e_uses_the_generated_tokens(fake_sweep):
    _rewrite(fake_sweep / "internvl3.5-1b-npu" / "attempt-1" / "records.jsonl",
             lambda rec: rec.get("metrics", {}).update(generated_tokens=33))
    r = rr.build_report([fake_sweep], lang="en")
    st = vlm_stages(r.measured).set_index("entry").loc["internvl3.5-1b-npu"]
    assert st["decode_ms"] == pytest.approx(32 / 22.2 * 1000)  # (33 - 1) tokens at the median 22.2 tok/s
    assert not st["e2e_measured"] and st["e2e_ms"] == pytest.approx(sum(st[k] for k in VLM_STAGES))


def test_throttled_and_clocks_below_max_are_separate(fake_sweep):
    def below(rec):  # governor ondemand: clocks below max, no thermal cap
        if rec["kind"] == "llm":
            rec["metrics"]["clocks_below_max"] = True

    _rewrite(fake_sweep / "qwen3-0.6b-npu" / "attempt-2" / "records.jsonl", below)
    r = rr.build_report([fake_sweep], lang="en")
    c = r.conditions.set_index("entry")
    assert c.loc["qwen3-0.6b-npu", "clocks_below_max"] is True and not c.loc["qwen3-0.6b-npu", "throttled"]
    assert c.loc["qwen3-0.6b-cpu", "clocks_below_max"] is None  # old records without the key still load
    msgs = [w for w in r.warnings if w.entry == "qwen3-0.6b-npu" and w.kind in ("clocks", "throttling")]
    assert len(msgs) == 1 and "not pinned" in msgs[0].message  # no second warning for clocks_below_max
    shown = rr.conditions_display(r).set_index("entry")
    assert shown.loc["qwen3-0.6b-npu", "a clock below max while running"] == "yes"
    assert shown.loc["qwen3-0.6b-cpu", "a clock below max while running"] == "unknown"
    assert shown.loc["qwen3-0.6b-npu", "clocks pinned"] == "no"
    # pinned clocks that still ran below max: that one is worth a warning

    def pinned(rec):
        if rec["kind"] == "llm":
            rec["host"]["clocks_pinned"] = True
            rec["host"]["clocks_pinned_reasons"] = []

    _rewrite(fake_sweep / "qwen3-0.6b-npu" / "attempt-2" / "records.jsonl", pinned)
    r = rr.build_report([fake_sweep], lang="zh")
    msgs = [w.message for w in r.warnings if w.entry == "qwen3-0.6b-npu" and w.kind == "clocks"]
    assert msgs == ["频率已固定，但测试中有时钟低于最高频率"]


def test_display_tables_have_localized_headers(fake_sweep):
    r = rr.build_report([fake_sweep], lang="zh")
    c = rr.conditions_display(r)
    assert list(c.columns)[:3] == ["测试项", "主机", "SoC / CPU"]
    assert "频率已固定" in c.columns and set(c["频率已固定"]) == {"否"}
    assert "过热降频" in c.columns and set(c["过热降频"]) == {"否"}
    tables = [rr.measured_display(r), rr.comparison_display(r), rr.verdicts_display(r), rr.predicted_display(r),
              rr.entries_display(r), c, rr.boards_display(r)]
    for df in tables[:-1]:  # zh headers: no raw snake_case keys; one board: named once, not on every row
        assert "板卡" not in df.columns and "板卡配置" not in df.columns, list(df.columns)
    assert list(rr.boards_display(r).columns)[:2] == ["板卡", "板卡配置"]
    for df in tables:
        assert not [h for h in df.columns if re.fullmatch(r"[a-z_]+", h)], list(df.columns)
    assert "说明" in rr.predicted_display(r).columns and "解释" in rr.predicted_display(r).columns
    assert any("DDR 平均 1,560 MHz" in x for x in rr.predicted_display(r)["解释"])
    e = rr.entries_display(r).set_index("测试项")
    assert e.loc["qwen3-vl-4b-npu-limit", "状态"] == "内存耗尽被终止"
    md = rr.benchmark_log_markdown(r)
    assert "| 测试项 | 主机 |" in md and "| 板卡 | 板卡配置 | 测试项 |" not in md and "clocks_pinned" not in md
    en = rr.conditions_display(rr.build_report([fake_sweep], lang="en"))
    assert "clocks pinned" in en.columns and "thermal throttling" in en.columns


def test_default_run_dirs_pick_the_newest_sweep(tmp_path, monkeypatch):
    import os

    from rklab import report as rr

    monkeypatch.setenv("RKLAB_RUNS", str(tmp_path))
    assert rr.default_run_dirs([]) == []
    old, new = tmp_path / "20260101-000000", tmp_path / "20260102-000000"
    for i, d in enumerate((old, new)):
        d.mkdir()
        (d / "sweep.json").write_text("{}")
        os.utime(d, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "not-a-sweep").mkdir()
    assert rr.default_run_dirs([]) == [new]
    assert rr.default_run_dirs([str(old)]) == [old]


def test_write_report_logs_targets(tmp_path, fake_sweep):
    from rklab import report as rr

    rep = rr.build_report([fake_sweep], lang="en")
    assert rr.write_report_logs(rep, [], None) == []
    written = rr.write_report_logs(rep, [tmp_path], tmp_path / "results" / "benchmark_log.md")
    assert written == [tmp_path / "results" / "benchmark_log.md", tmp_path / "benchmark_log.md"]
    assert all(p.read_text(encoding="utf-8").startswith("#") for p in written)
    # results_md naming the run folder's own log (what the sweep and the fleet pass): written once
    assert rr.write_report_logs(rep, [tmp_path], tmp_path / "benchmark_log.md") == [tmp_path / "benchmark_log.md"]


@pytest.mark.parametrize("lang, measured_words", [("en", "measured peak 792 MB"), ("zh", "实测峰值 792 MB")])
def test_every_verdict_row_says_why_in_the_report_language(fake_sweep, lang, measured_words):
    v = rr.build_report([fake_sweep], lang=lang).verdicts.set_index("model")
    assert v["verdict_reason"].map(lambda s: isinstance(s, str) and s.strip() != "").all()
    assert measured_words in v.loc["Qwen3-0.6B", "verdict_reason"]  # measured: the peak against the budget
    assert "TEST: OOM on 8 GB" in v.loc["Qwen3-8B", "verdict_reason"]  # excluded: the plan's reason
    assert "7,921" in v.loc["Qwen3-32B", "verdict_reason"]  # predicted: the engine's reason


def test_a_model_of_the_sweep_the_seed_does_not_list_gets_a_row(fake_sweep):
    import json

    f = fake_sweep / "qwen3-0.6b-cpu" / "attempt-1" / "records.jsonl"
    lines = [json.loads(x) for x in f.read_text().splitlines()]
    for rec in lines:
        rec["model"]["name"] = "SmolLM2-135M-Instruct"
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    v = rr.build_report([fake_sweep], lang="en").verdicts.set_index("model")
    assert len(v) == 18 and v.loc["SmolLM2-135M-Instruct", "verdict_source"] == "predicted"
    assert "measured on the CPU (llama.cpp) only" in v.loc["SmolLM2-135M-Instruct", "verdict_reason"]


def test_the_answer_first(rep):
    from rklab.report.answer import answer_lines, answer_rows
    from rklab.report.plots import report as rp

    lines = answer_lines(rep)
    assert len(lines) == 4
    assert lines[0].startswith("On the RK3588 8 GB (usable budget 5,361 MB), 7 of 17 models fit: InternVL3.5-1B")
    assert "excluded by the plan, not tested: Qwen3-8B" in lines[1] and "Qwen3-VL-4B" in lines[1]  # measured OOM
    from rklab.predict.feasibility import feasibility_table

    pred = feasibility_table(lang="en").set_index("model")["predicted_decode_tps"]
    assert "Qwen3-0.6B 25.0 tok/s (TTFT 221 ms)" in lines[2]  # measured on the NPU, then the others predicted
    assert f"predicted at {pred['Qwen3-1.7B']:.1f} tok/s (Qwen3-1.7B)" in lines[2]
    assert lines[3].startswith("Measured peak memory: InternVL3.5-1B 1,600 MB, Qwen3-0.6B 792 MB")
    a = answer_rows(rep).set_index("model")
    assert a.loc["Qwen3-0.6B", "memory_source"] == "measured" and a.loc["Qwen3-4B", "memory_source"] == "predicted"
    fig = rp.answer_figure(rep)
    bars = {t.name: t for t in fig.data if t.type == "bar"}
    assert set(bars) == {"fits", "tight", "infeasible", "OOM (measured)", "excluded (not tested)"}
    fits = bars["fits"]
    shapes = dict(zip(fits.y, fits.marker.pattern.shape))
    assert shapes["Qwen3-0.6B"] == "" and shapes["Qwen3-4B"] == "/"  # solid measured, hatched predicted
    labels = [a.text for a in fig.layout.annotations]
    assert any("792 MB · measured 25.0 tok/s" in s for s in labels)
    assert any(s.endswith("MB ▶ · predicted 0.9 tok/s") for s in labels)  # Qwen3-32B: cut at the edge, marked


def test_an_empty_section_says_why_and_what_fills_it(rep, tmp_path):
    assert rr.why_empty(rep, "pred_vs_meas") == ""  # predictions to show: the section says nothing more
    cpu_only = rr.build_report([rep.run_dirs[0]], lang="en")
    cpu_only.measured = cpu_only.measured[cpu_only.measured["backend"] == "llamacpp"]
    cpu_only.predicted = cpu_only.predicted[cpu_only.predicted["backend"] == "llamacpp"]
    why = rr.why_empty(cpu_only, "pred_vs_meas")  # TEST DATA records carry no GGUF path: nothing predicted
    assert why.startswith("Nothing to compare: no GGUF path in the record.") and "fill this section" in why
    from rklab.records import RecordWriter
    from tests.fixtures.report_records import _entry

    RecordWriter(tmp_path / "failed-only").append(_entry("e", "Qwen3-0.6B", "rkllm", "failed", message="TEST"))
    empty = rr.build_report([tmp_path / "failed-only"], lang="zh")  # records, but no measured run
    assert "没有成功的实测运行" in rr.why_empty(empty, "vlm_stages")
    assert "没有测试计划" in rr.why_empty(empty, "npu_cpu")  # no plan: no model to predict
    assert "kind: vlm" in rr.why_empty(cpu_only, "vlm_stages")


def test_why_not_pinned_in_one_phrase():
    from rklab.report.conditions import clock_reasons_summary

    unreadable = ["policy0: cpufreq not readable", "policy4: cpufreq not readable",
                  "NPU devfreq /sys/class/devfreq/fdab0000.npu not readable",
                  "DDR devfreq /sys/class/devfreq/dmc not readable"]
    assert clock_reasons_summary(unreadable, "Intel Xeon", "en") == "CPU/NPU/DDR clock files not readable: not a Rockchip board"
    assert clock_reasons_summary("; ".join(unreadable), None, "zh") == "CPU/NPU/DDR 频率文件不可读：不是 Rockchip 板子"
    failed = ["DDR governor dmc_ondemand (pinned needs userspace/performance)", "policy4 at 1800 MHz < max 2352 MHz"]
    assert clock_reasons_summary(failed, "RK3588", "zh") == ("DDR 调频策略为 dmc_ondemand（固定频率需要 userspace 或 "
                                                              "performance）；policy4 运行在 1800 MHz，低于 2352 MHz")


# ----------------------------------------------------------------------------- many boards (a fleet folder)
@pytest.fixture
def fleet_rep(tmp_path):
    from tests.fixtures.report_records import make_fake_fleet

    return rr.build_report([make_fake_fleet(tmp_path / "TEST-FIXTURE-fleet")], board="rk3588-8gb", lang="en")


def test_fleet_report_keeps_boards_apart(fleet_rep):
    r = fleet_rep
    # boards in the order of their folders (boards/<board_id>), then the ones with no results
    assert r.boards == [("board-16gb", "rk3588-16gb"), ("board-8gb", "rk3588-8gb"), ("board-down", "rk3588-8gb")]
    assert r.many_boards
    m = r.measured.set_index("board")
    # the same entry and case on two boards (same hostname): two rows, each the median of its own runs
    assert list(r.measured["entry"]) == ["qwen3-0.6b-npu", "qwen3-0.6b-npu"] and r.measured["host_name"].nunique() == 1
    assert m.loc["board-8gb", "decode_tps"] == pytest.approx(25.0) and m.loc["board-16gb", "decode_tps"] == pytest.approx(26.0)
    measured = r.comparison[r.comparison["source"] == "measured"]
    assert list(measured["label"]) == ["board-16gb · measured rkllm", "board-8gb · measured rkllm"]
    assert list(r.conditions["board"]) == ["board-16gb", "board-8gb"]
    assert list(r.conditions["profile"]) == ["rk3588-16gb", "rk3588-8gb"]


def test_fleet_verdicts_are_per_board_profile(fleet_rep):
    v = fleet_rep.verdicts.set_index(["board", "model"])
    # Qwen3-8B: more than the 8 GB board's budget, fits the 16 GB board (engine prediction per profile)
    assert v.loc[("board-8gb", "Qwen3-8B"), "verdict"] == "exceeds"
    assert v.loc[("board-16gb", "Qwen3-8B"), "verdict"] == "fits"
    assert v.loc[("board-8gb", "Qwen3-0.6B"), "measured_decode_tps"] == pytest.approx(25.0)
    assert v.loc[("board-16gb", "Qwen3-0.6B"), "measured_decode_tps"] == pytest.approx(26.0)
    assert set(fleet_rep.verdicts["board"]) == {"board-8gb", "board-16gb"}  # board-down measured nothing
    nc = fleet_rep.npu_cpu  # predicted NPU/CPU per board profile, each beside its own board's measurement
    assert set(zip(nc["board"], nc["profile"])) == {("board-8gb", "rk3588-8gb"), ("board-16gb", "rk3588-16gb")}
    assert dict(zip(nc["board"], nc["measured_npu_decode_tps"])) == pytest.approx({"board-8gb": 25.0, "board-16gb": 26.0})
    assert list(fleet_rep.predicted["board"]) == ["board-16gb", "board-8gb"]


def test_fleet_warnings_name_their_board(fleet_rep):
    ws = fleet_rep.warnings
    assert ws and all(w.board != "-" for w in ws)
    down = [w for w in ws if w.kind == "board"]
    assert [(w.board, w.where) for w in down] == [("board-down", "board-down")]
    assert "unreachable" in down[0].message and "Connection refused" in down[0].message
    assert {w.board for w in ws if w.kind == "clocks"} == {"board-8gb", "board-16gb"}
    html = rr.warnings_html(fleet_rep)
    assert "[clocks] board-8gb · qwen3-0.6b-npu" in html


def test_fleet_answer_is_per_board(fleet_rep):
    from rklab.report.answer import answer_lines
    from rklab.report.plots import report as rp

    lines = answer_lines(fleet_rep)
    assert len(lines) == 8  # four sentences per board that measured something (board-down measured nothing)
    assert lines[0].startswith("On the RK3588 16 GB board-16gb (usable budget 13,553 MB), 11 of 17 models fit")
    assert lines[4].startswith("On the RK3588 8 GB board-8gb (usable budget 5,361 MB), 8 of 17 models fit")
    assert "Qwen3-0.6B 26.0 tok/s" in lines[2] and "Qwen3-0.6B 25.0 tok/s" in lines[6]  # each board's own run
    fig = rp.answer_figure(fleet_rep)
    ys = {y for t in fig.data if t.type == "bar" for y in t.y}
    assert {"board-8gb · Qwen3-8B", "board-16gb · Qwen3-8B"} <= ys
    limits = [t.name for t in fig.data if t.type == "scatter"]
    assert "usable budget 13,553 MB (rk3588-16gb)" in limits and "usable budget 5,361 MB (rk3588-8gb)" in limits


def test_fleet_tables_and_the_same_model_chart(fleet_rep):
    from rklab.report.plots import report as rp

    b = rr.boards_display(fleet_rep).set_index("board")
    assert b.loc["board-16gb", "entries ok"] == "1/1" and b.loc["board-down", "entries ok"] == "0/0"
    assert b.loc["board-down", "last fleet run"].startswith("unreachable at 'connect': TEST-FIXTURE")
    assert b.loc["board-8gb", "last fleet run"] == "ok"
    for df in (rr.measured_display(fleet_rep), rr.verdicts_display(fleet_rep), rr.predicted_display(fleet_rep),
               rr.entries_display(fleet_rep), rr.conditions_display(fleet_rep), rr.comparison_display(fleet_rep)):
        assert "board" in df.columns, list(df.columns)
    fig = rp.boards_figure(fleet_rep)
    bars = {(t.name, t.xaxis): list(t.y) for t in fig.data}
    assert bars[("board-8gb (rk3588-8gb)", "x")] == pytest.approx([25.0])
    assert bars[("board-16gb (rk3588-16gb)", "x")] == pytest.approx([26.0])
    assert bars[("board-16gb (rk3588-16gb)", "x3")] == pytest.approx([790.0])  # VmHWM
    assert "board-8gb" in rr.report_intro(fleet_rep) and "RK3588 16 GB" in rr.report_intro(fleet_rep)
    # one board: no such chart
    assert rp.boards_figure(rr.build_report([fleet_rep.run_dirs[0] + "/boards/board-8gb"], lang="en")) is None
