"""Verdicts, budgets (incl. the live budget on a real board), seed side-by-side, context sweep."""

import pandas as pd
import pytest

from rklab.predict import feasibility as fz
from rklab.predict.boards import load_board
from rklab.errors import RklabError

EXPECTED = {
    "Qwen3-0.6B": {"fits"}, "Qwen3-1.7B": {"fits"}, "Qwen3-4B": {"fits"},
    "InternVL3.5-1B": {"fits"}, "InternVL3.5-2B": {"fits"}, "Qwen3-VL-2B": {"fits"},
    "InternVL3.5-4B": {"fits", "tight"}, "Qwen3-VL-4B": {"tight"},
    **{m: {"exceeds", "infeasible"} for m in ["Qwen3-8B", "InternVL3.5-8B", "Qwen3-14B", "Qwen3-32B", "Qwen3-VL-8B",
                                              "Qwen3-VL-32B", "Qwen3-VL-30B-A3B", "InternVL3.5-14B",
                                              "InternVL3.5-30B-A3B"]},
}


@pytest.fixture(scope="module")
def table_en():
    return fz.feasibility_table("rk3588-8gb", 4096, "en")


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_seed_models_expected_verdicts(table_en, model):
    row = table_en.set_index("model").loc[model]
    assert row["verdict"] in EXPECTED[model], row["reason"]


def test_table_shape_and_labels(table_en):
    assert len(table_en) == 20
    for col in ["model", "dtype", "memory_mb", "budget_mb", "verdict", "reason", "predicted_decode_tps",
                "predicted_ttft_ms"]:
        assert col in table_en
    zh = fz.feasibility_table("rk3588-8gb", 4096, "zh")
    labels = dict(zip(zh["model"], zh["verdict_label"]))
    assert labels["Qwen3-0.6B"] == "可以跑" and labels["Qwen3-VL-4B"] == "极限"
    assert labels["Qwen3-8B"] in ("超出可用内存", "不可行")
    assert "预测峰值" in zh.set_index("model").loc["Qwen3-0.6B", "reason"]


def test_to_dict_contract():
    d = fz.estimate("Qwen3-VL-2B").to_dict()
    for key in ["model", "dtype", "params", "weights_mb", "kv_mb", "vision_mb", "memory_mb", "available_drop_mb",
                "budget_mb", "decode_tps", "ttft_ms", "bandwidth_pct", "verdict", "reason"]:
        assert key in d
    assert d["params"] == 1_720_574_976 + 406_960_000


def test_budget_from_board_yaml():
    b = load_board("rk3588-8gb")
    assert b.physical_mb == pytest.approx(8110608 / 1024)
    assert b.budget_mb == pytest.approx(8110608 / 1024 - 2560)
    assert 5.2 * 1024 < b.budget_mb < 6 * 1024          # seed: 5.5-6 GB usable
    assert b.supports("w8a8") and not b.supports("w4a16")


def test_w4a16_unsupported_on_rk3588_supported_on_rk3576():
    e = fz.estimate("Qwen3-8B", dtype="w4a16")
    assert e.verdict == "unsupported" and "w4a16" in e.reason and "RK3588" in e.reason
    e2 = fz.estimate("Qwen3-8B", dtype="w4a16", board="rk3576-8gb")
    assert e2.verdict != "unsupported"
    assert e2.memory_mb < fz.estimate("Qwen3-8B").memory_mb * 0.6


def test_bigger_board_is_only_a_yaml_file():
    e = fz.estimate("Qwen3-8B", board="rk3588-16gb")
    assert e.verdict in ("fits", "tight")
    with pytest.raises(RklabError, match="closest"):
        load_board("rk3588-8g")


def test_live_budget_on_a_real_board(tmp_path, monkeypatch):
    import psutil

    dt = tmp_path / "device-tree"
    dt.mkdir()
    (dt / "compatible").write_bytes(b"radxa,rock-5b\0rockchip,rk3588\0")

    class VM:
        total = 8110608 * 1024
        available = 3000 * 1024 * 1024

    monkeypatch.setattr(psutil, "virtual_memory", lambda: VM)
    e = fz.estimate("Qwen3-4B", proc_root=str(tmp_path))
    assert e.live_mem_available_mb == pytest.approx(3000)
    assert e.budget_mb == pytest.approx(3000)
    assert e.verdict == "exceeds" and "live MemAvailable" in e.reason
    off = fz.estimate("Qwen3-4B", proc_root=str(tmp_path / "none"))
    assert off.live_mem_available_mb is None and off.verdict == "fits"


def test_bad_numbers_and_contexts():
    with pytest.raises(RklabError, match="context"):
        fz.estimate("Qwen3-0.6B", max_context=-1)
    with pytest.raises(RklabError, match="new tokens"):
        fz.estimate("Qwen3-0.6B", new_tokens=-3)
    with pytest.raises(RklabError, match="cannot hold"):
        fz.estimate("Qwen3-VL-2B", max_context=256)
    with pytest.raises(RklabError, match="limit of 40,960 positions"):
        fz.estimate("Qwen3-0.6B", max_context=65536)
    with pytest.raises(RklabError, match="dtype"):
        fz.estimate("Qwen3-0.6B", dtype="int3")
    t = fz.feasibility_table(context=256, lang="en")
    row = t.set_index("model").loc["Qwen3-VL-2B"]
    assert row["verdict"] == "fits" and "context raised from 256 to 416" in row["reason"]   # 388 -> a multiple of 32


def test_seed_comparison_flags_and_reasons():
    s = fz.seed_comparison("rk3588-8gb", 4096, "en").set_index("model")
    assert len(s) == 17
    q8 = s.loc["Qwen3-8B"]
    assert q8["flag"] and q8["verdict"] == "unsupported" and "w4a16 is not available" in q8["reason"]
    assert "with w8a8" in q8["reason"]
    vl4 = s.loc["Qwen3-VL-4B"]
    assert vl4["flag"] and "total used memory" in vl4["reason"] and vl4["diff_pct"] < -15
    assert not s.loc["Qwen3-0.6B", "flag"]                 # 774 quoted vs predicted within 15 %
    assert s.loc["InternVL3.5-4B", "flag"]                 # seed fits, engine tight
    assert s.loc["Qwen3-32B", "verdict"] == "infeasible" and not s.loc["Qwen3-32B", "flag"]
    # every row says why: flagged or not
    assert s["reason"].map(lambda r: isinstance(r, str) and r.strip() != "").all()
    # a seed lower bound (">16,000") the prediction is above: not a 97 % difference, an agreement
    q32 = s.loc["Qwen3-32B"]
    assert q32["reason"] == (f"the seed gives only a lower bound (~16,000+ MB); the engine's {q32['memory_mb']:,.0f} MB "
                             "is above it, so they agree")
    # below the seed's ">10,000" but within 15 % of it: agrees, and says it is not above the bound
    assert s.loc["Qwen3-VL-8B", "reason"].startswith("agrees: memory within ±15 % (-11 %)")
    assert s.loc["Qwen3-0.6B", "reason"] == "agrees: memory within ±15 % (+1 %), same verdict"
    zh = fz.seed_comparison(lang="zh").set_index("model")
    assert "不支持" in zh.loc["Qwen3-8B", "reason"] and "下限" in zh.loc["Qwen3-VL-30B-A3B", "reason"]
    assert not zh["reason"].str.contains("memory|verdict|engine:").any()  # no English in zh


def test_seed_performance_says_08s_is_load_time():
    p = fz.seed_performance_comparison(lang="en").set_index("model")
    assert "load" in p.loc["InternVL3.5-1B", "reason"].lower()
    assert abs(p.loc["Qwen3-0.6B", "decode_diff_pct"]) < 10


def test_seed_performance_explains_every_decode_difference():
    p = fz.seed_performance_comparison(lang="en").set_index("model")
    for model in ("InternVL3.5-1B", "InternVL3.5-2B", "InternVL3.5-4B"):  # 29-37 % off: a community board
        assert p.loc[model, "decode_diff_pct"] > 15
        assert p.loc[model, "reason"].startswith("decode differs by +") and "community board" in p.loc[model, "reason"]
    assert p.loc["Qwen3-0.6B", "reason"] == "agrees: decode within ±15 % (+0 %)"
    zh = fz.seed_performance_comparison(lang="zh").set_index("model")
    assert zh.loc["InternVL3.5-1B", "reason"].startswith("解码相差 +30%；社区板子")


def test_context_sweep_and_largest_context():
    sweep = fz.context_sweep(["Qwen3-0.6B", "Qwen3-VL-4B"])
    assert set(sweep["model"]) == {"Qwen3-0.6B", "Qwen3-VL-4B"}
    g = sweep[sweep["model"] == "Qwen3-0.6B"].sort_values("context")
    assert g["memory_mb"].is_monotonic_increasing
    best = fz.largest_context("Qwen3-VL-4B")
    assert 196 + 64 < best < 4096                          # tight at 4096 used tokens 388, not with a full context
    e = fz.estimate("Qwen3-VL-4B", max_context=best, prompt_tokens=best - 196 - 64, new_tokens=64)
    assert e.memory_mb <= e.budget_mb
    e = fz.estimate("Qwen3-VL-4B", max_context=best + 32, prompt_tokens=best + 32 - 196 - 64, new_tokens=64)
    assert e.memory_mb > e.budget_mb
    assert best % 32 == 0
    assert fz.largest_context("Qwen3-0.6B") == 16384       # capped at RKLLM's maximum max_context


def test_localize_renames_columns():
    t = fz.feasibility_table(lang="zh")
    loc = fz.localize(t, "zh", ["model", "memory_mb", "verdict_label"])
    assert list(loc.columns) == ["模型", "预测峰值 VmHWM (MB)", "可行性"]
    assert isinstance(loc, pd.DataFrame)
    perf = fz.localize(fz.seed_performance_comparison(lang="en"), "en")
    assert "-" in perf.values and not perf.isna().any().any()  # missing quoted TTFTs show as "-"
