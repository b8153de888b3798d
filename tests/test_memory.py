"""Memory model: parts, calibration on the official VmHWM rows, residual explanations."""

import pytest

from rklab.predict.calibration import calibrate, memory_residuals
from rklab.predict.catalog import get_model, with_llm_only
from rklab.predict.feasibility import estimate
from rklab.predict.memory import MIB, breakdown, kv_bytes_per_token, weight_bytes
from rklab.predict.reference import runtime_key


def test_kv_bytes_per_token_qwen3_06b():
    assert kv_bytes_per_token(get_model("Qwen3-0.6B")) == 114_688


def test_weights_w8a8_scales_per_channel_and_group():
    spec = get_model("Qwen3-0.6B")
    per_channel = weight_bytes(spec, "w8a8")
    g128 = weight_bytes(spec, "w8a8_g128")
    # int8 matrices + fp32 norms: tied model, the table is the head (counted once)
    assert per_channel > 596_049_920 and per_channel < 596_049_920 * 1.01
    # one fp32 scale per 128 weights (norms are a rounding error here)
    assert g128 - 596_049_920 == pytest.approx(596_049_920 / 128 * 4, rel=0.02)
    assert g128 > per_channel
    assert weight_bytes(spec, "w4a16") < per_channel * 0.55


def test_untied_input_table_is_not_resident_with_embed_flash():
    spec = get_model("InternVL3.5-1B")
    cal = calibrate().memory
    flash = breakdown(spec, "w8a8", used_tokens=192, max_context=4096, with_vision=False, constants=cal)
    ram = breakdown(spec, "w8a8", used_tokens=192, max_context=4096, with_vision=False, constants=cal, embed_flash=0)
    assert flash.embedding_mb == 0
    assert ram.embedding_mb == pytest.approx(151936 * 1024 * 2 / MIB)
    assert flash.weights_mb == pytest.approx(weight_bytes(get_model("Qwen3-0.6B")) / MIB, rel=1e-3)


def test_kv_resident_for_used_tokens_reserved_for_context():
    e = estimate("Qwen3-0.6B", max_context=8192, prompt_tokens=128, new_tokens=64)
    assert e.kv_mb == pytest.approx(192 * 114688 / MIB)
    assert e.kv_reserved_mb == pytest.approx(8192 * 114688 / MIB)
    e2 = estimate("Qwen3-0.6B", max_context=4096, prompt_tokens=128, new_tokens=64)
    assert e2.memory_mb == pytest.approx(e.memory_mb)


def test_vision_parts_qwen3_vl_four_outputs():
    e = estimate("Qwen3-VL-2B")
    assert e.image_tokens == 196 and e.used_tokens == 128 + 196 + 64
    assert e.image_embed_mb == pytest.approx(196 * 4 * 2048 * 4 / MIB)
    assert e.vision_mb > 406_960_000 * 2 / MIB
    llm = estimate("Qwen3-VL-2B", with_vision=False)
    assert llm.vision_mb == 0 and llm.image_embed_mb == 0
    assert e.memory_mb == pytest.approx(e.weights_mb + e.embedding_mb + e.kv_mb + e.runtime_mb + e.vision_mb
                                        + e.image_embed_mb)
    assert e.available_drop_mb > e.memory_mb


OFFICIAL_NEW = [("Qwen3-0.6B", "1.2.3", 773.77), ("Qwen3-0.6B", "1.3.0", 791.11),
                ("Qwen3-VL-2B", "1.2.3", 1892.13), ("Qwen3-VL-2B", "1.3.0", 1868.98)]


@pytest.mark.parametrize("model,runtime,vmhwm", OFFICIAL_NEW)
def test_official_vmhwm_rows_within_10_percent(model, runtime, vmhwm):
    e = estimate(model, with_vision=False, prompt_tokens=128, new_tokens=64)
    assert abs(e.memory_mb - vmhwm) / vmhwm < 0.10


def test_every_official_row_of_every_soc_is_within_5_percent():
    res = memory_residuals()
    rows = res[(res["source"] == "official") & (res["memory_kind"] == "VmHWM")
               & res["runtime"].map(lambda v: runtime_key(v) >= runtime_key("1.2.1"))]
    assert len(rows) == 22 and set(rows["soc"]) == {"RK3588", "RK3576", "RK3562", "RV1126B"}
    assert rows["residual_pct"].abs().max() < 5, rows[["soc", "model", "dtype", "residual_pct"]]


def test_calibration_is_reproducible_and_physical():
    c = calibrate()
    assert c.memory_rows == 22
    assert set(c.memory.runtime_fixed_by_soc) == {"RK3588", "RK3576", "RK3562", "RV1126B"}
    assert all(100 < v < 300 for v in c.memory.runtime_fixed_by_soc.values())
    assert 0 <= c.memory.runtime_mb_per_gparam < 100
    assert 4 <= c.memory.group_bytes < 16          # at least the fp32 scale of each group
    assert c.memory.vision_buffer_bytes_per_patch_dim > 0


def test_every_rkllm_dtype_has_a_memory_model():
    spec = get_model("Qwen3-1.7B")
    g = {d: weight_bytes(spec, d) for d in ("w4a16", "w4a16_g32", "w4a16_g64", "w4a16_g128", "w4a8_g32",
                                            "w8a8", "w8a8_g128", "w8a8_g256", "w8a8_g512")}
    assert g["w4a16_g32"] > g["w4a16_g64"] > g["w4a16_g128"]   # smaller groups: more scales
    assert g["w4a8_g32"] == g["w4a16_g32"]                      # same 4-bit weights and groups
    assert g["w8a8_g128"] > g["w8a8_g256"] > g["w8a8_g512"] > g["w8a8"] * 0.99
    assert 0.45 < g["w4a16"] / g["w8a8"] < 0.55


def test_older_and_incomparable_rows_are_explained():
    res = memory_residuals()
    beta = res[res["runtime"] == "1.2.1b1"].dropna(subset=["predicted_mb"])
    assert len(beta) == 8 and all("1.2.1b1" in x for x in beta["explanation"])   # 3 catalog + 5 reference shapes
    total = res[res["memory_kind"].str.startswith("total used")]
    assert len(total) and all("not comparable" in x for x in total["explanation"])
    long_ctx = res[(res["source"] == "community") & (res["memory_kind"] == "VmHWM")]
    assert all("resident KV" in x for x in long_ctx["explanation"])
    assert all(x for x in res["explanation"])
