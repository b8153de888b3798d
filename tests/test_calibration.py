"""Calibration on both reference tables: per-SoC residuals, inferred board facts, leave-one-model-out."""

import pandas as pd
import pytest

from rklab.predict.boards import load_board
from rklab.predict.calibration import (bus_width_evidence, calibrate, leave_one_model_out, model_group,
                                       residuals_by_soc, summarize)
from rklab.predict.reference import load_reference, reference_spec

SOCS = {"RK3588", "RK3576", "RK3562", "RV1126B"}


@pytest.fixture(scope="module")
def in_sample():
    return residuals_by_soc()


@pytest.fixture(scope="module")
def loo():
    return leave_one_model_out()


def test_both_reference_tables_are_loaded_with_their_source():
    df = load_reference()
    assert set(df["file"]) == {"rk3588.csv", "other_socs.csv"}
    assert set(df["platform"]) == SOCS
    other = df[df["file"] == "other_socs.csv"]
    assert len(other) == 21 and other["reference"].str.contains("benchmark.md").all()


def test_older_rows_get_shapes_from_reference_models():
    llama = reference_spec("Llama3-8B")
    assert llama is not None and not llama.tie_embeddings and llama.vocab == 128256
    assert reference_spec("Qwen3-VL-2B").kind == "llm"            # the language model alone
    assert reference_spec("no-such-model") is None
    assert model_group("Qwen3-VL-2B") == model_group("Qwen3-1.7B")   # same language-model shape: one fold


@pytest.mark.parametrize("soc", sorted(SOCS))
def test_every_soc_is_calibrated_within_bounds(in_sample, soc):
    rows = in_sample[in_sample["soc"] == soc].dropna(subset=["residual_pct"])
    for quantity, bound in (("memory_mb", 5), ("decode_tps", 10), ("ttft_ms", 20)):
        r = rows[rows["quantity"] == quantity]["residual_pct"]
        assert len(r) > 0 and r.abs().max() < bound, (soc, quantity, r.tolist())


def test_per_soc_constants_where_rows_exist():
    c = calibrate()
    assert set(c.memory.runtime_fixed_by_soc) == SOCS
    assert set(c.speed.prefill_scale_by_soc) == SOCS and c.speed.prefill_scale_by_soc["RK3588"] == 1.0
    s = c.speed.prefill_scale_by_soc
    assert s["RK3588"] < s["RK3576"] < s["RK3562"]           # fewer NPU cores: slower prefill
    # shared physics: one efficiency per dtype class for all SoCs, 4-bit weights no better than 8-bit
    assert 0.8 < c.speed.efficiency["w4a16"] <= c.speed.efficiency["w8a8"] < 1.0


def test_unpublished_bus_widths_are_decided_by_the_calibration():
    ev = bus_width_evidence()
    assert set(ev["soc"]) == {"RK3562", "RV1126B"}
    for soc, g in ev.groupby("soc"):
        chosen = g[g["chosen"]].iloc[0]
        others = g[~g["chosen"]]
        assert chosen["bus_bits"] == load_board({"RK3562": "rk3562-4gb", "RV1126B": "rv1126b-4gb"}[soc]).dram_bus_bits
        assert chosen["decode_mean_abs_pct"] < others["decode_mean_abs_pct"].min(), g
        assert chosen["decode_mean_abs_pct"] < 6


def test_inferred_facts_are_marked_in_the_board_yaml():
    assert "dram.bus_bits" in load_board("rk3562-4gb").inferred
    assert "clocks.ddr_mhz" in load_board("rk3562-4gb").inferred
    assert load_board("rv1126b-4gb").inferred == ("dram.bus_bits",)
    assert load_board("rk3588-8gb").inferred == ()


def test_leave_one_model_out_meets_memory_and_decode_targets(loo):
    rows = loo.dropna(subset=["residual_pct"])
    assert rows["fold"].nunique() == 8 and set(rows["soc"]) == SOCS
    mean = rows.assign(a=rows["residual_pct"].abs()).groupby("quantity")["a"].mean()
    assert mean["memory_mb"] < 5 and mean["decode_tps"] < 8
    # TTFT misses the 15 % target (docs/feasibility.md says why); this guards against it getting worse
    assert mean["ttft_ms"] < 20


def test_loo_marks_socs_without_rows_in_the_fold(loo):
    unseen = loo[loo["soc_unseen"]]
    # leaving Qwen3-0.6B out leaves RK3562 and RV1126B without any row: shared physics only
    assert set(unseen["soc"]) == {"RK3562", "RV1126B"} and set(unseen["fold"]) == {"Qwen3-0.6B"}


def test_summarize_is_wide_per_quantity(loo):
    t = summarize(loo)
    assert isinstance(t, pd.DataFrame) and {"memory_mb_mean", "decode_tps_mean", "ttft_ms_mean"} <= set(t.columns)
    assert ("RK3576", "w4a16_grouped") in t.index
