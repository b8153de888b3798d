"""rklab.display: one formatter for every table a reader sees (headers, units, digits, flags, missing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rklab import display as rd


def test_numbers_flags_and_missing_values_read_like_a_report():
    df = pd.DataFrame({
        "model": ["Qwen3-14B", "Qwen3-0.6B", None],
        "params": [14768307200, 596049920, np.nan],  # shown in billions
        "memory_mb": [13900.8, np.float64(779.3), np.nan],
        "decode_tps": [2.1049, 32.06, None],
        "flag": [True, np.bool_(False), None],
        "verdict": ["infeasible", "fits", "tight"],
        "cpu_freq_mhz": [{"policy0": 1800.0, "policy4": None}, {}, None],
    }, index=[3, 7, 11])  # a filtered frame: its index is not shown
    t = rd.format_table(df, "en")
    assert list(t.columns) == ["model", "parameters (billions)", "predicted peak VmHWM (MB)", "decode (tok/s)", "flag",
                               "verdict", "CPU clocks (MHz)"]
    assert t.iloc[0].tolist() == ["Qwen3-14B", "14.77", "13,901", "2.10", "yes", "infeasible", "policy0 1,800"]
    assert t.iloc[1].tolist() == ["Qwen3-0.6B", "0.60", "779", "32.06", "no", "fits", "-"]
    assert t.iloc[2].tolist() == ["-", "-", "-", "-", "unknown", "tight", "-"]
    zh = rd.format_table(df, "zh")
    assert list(zh.columns)[:3] == ["模型", "参数量 (十亿)", "预测峰值 VmHWM (MB)"]
    assert zh.iloc[0, 4] == "是" and zh.iloc[1, 4] == "否" and zh.iloc[0, 5] == "不可行"


def test_a_column_nobody_registered_gets_its_unit_from_its_name():
    df = pd.DataFrame({"clock_scaled_decode_tps": [12.345], "cache_suspected": [True], "image_prefill_ms": [1234.5],
                       "board_temp_c": [51.26], "notes": ["x"]})
    t = rd.format_table(df, "en")
    assert list(t.columns) == ["clock scaled decode (tok/s)", "cache suspected", "image part of prefill (ms)",
                               "board temp (°C)", "note"]
    assert t.iloc[0].tolist() == ["12.3", "yes", "1,234", "51", "x"]


def test_overrides_say_which_prediction_a_column_holds():
    from rklab.predict.feasibility import FULL_PIPELINE_LABELS, LLM_ONLY_LABELS

    df = pd.DataFrame({"predicted_decode_tps": [31.1]})
    full = rd.format_table(df, "en", labels=FULL_PIPELINE_LABELS).columns[0]
    llm = rd.format_table(df, "en", labels=LLM_ONLY_LABELS).columns[0]
    assert "full pipeline" in full and "language model only" in llm and full != llm


def test_html_has_its_own_scroll_container_no_index_and_escapes():
    df = pd.DataFrame({"model": ["<b>x</b>"], "memory_mb": [1000.0], "reason": ["why " * 30]})
    html = rd.table_html(rd.format_table(df, "en"), name="t")
    assert '<div class="rklab-table" data-table="t">' in html and "overflow-x:auto" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert '<td class="num">1,000</td>' in html and '<td class="long"><div>' in html
    assert "<th></th>" not in html  # no index column
    empty = rd.table(pd.DataFrame(), "zh", empty="没有数据的原因")
    assert "没有数据的原因" in empty._repr_html_() and len(empty) == 0


NUM1 = rd.Column("x", kind="number", digits=1)


@pytest.mark.parametrize("value, col, text", [
    (float("nan"), NUM1, "-"), (None, NUM1, "-"), ("nan", NUM1, "-"), ("None", rd.Column("x", kind="text"), "-"),
    (np.float64(30.2199), NUM1, "30.2"), (-0.3, rd.Column("x", digits=0), "0"),
    (1234567, rd.Column("x", kind="int"), "1,234,567"), ([1, 2.5], rd.Column("x", kind="any"), "1, 2.50"),
    (np.int64(4096), rd.Column("x", kind="any"), "4,096")])
def test_format_value(value, col, text):
    assert rd.format_value(value, col, "en") == text


def test_heading_follows_the_language():
    assert rd.heading("engine.h.table", "zh")._repr_markdown_() == "## 可行性总表 (预测)"
    md = rd.heading("engine.h.title", "en", level=1, note=["engine.h.intro", "a literal line"])._repr_markdown_()
    assert md.startswith("# 01 · Feasibility") and md.endswith("\n\na literal line")
