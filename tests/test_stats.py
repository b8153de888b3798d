import math

import numpy as np
import pytest

from rklab.measure.stats import bootstrap_ci, clean, rsd, summarize, summary_table


def test_summarize_known_values():
    s = summarize([5, 1, 4, 2, 3])
    assert s["n"] == 5
    assert s["median"] == 3 and s["q1"] == 2 and s["q3"] == 4 and s["iqr"] == 2
    assert s["min"] == 1 and s["max"] == 5 and s["mean"] == 3
    assert s["std"] == pytest.approx(math.sqrt(2.5))
    assert s["rsd"] == pytest.approx(math.sqrt(2.5) / 3)
    assert 1 <= s["ci_low"] <= 3 <= s["ci_high"] <= 5


def test_missing_values_are_dropped():
    assert clean([1.0, None, float("nan"), float("inf"), "x", True, 2]).tolist() == [1.0, 2.0]
    assert summarize([None, 4.0, float("nan")])["n"] == 1


def test_empty_and_single():
    assert summarize([])["n"] == 0 and summarize([])["median"] is None
    one = summarize([7.5])
    assert one["ci_low"] == one["ci_high"] == one["median"] == 7.5
    assert one["rsd"] is None and one["std"] is None


def test_bootstrap_is_seeded_and_narrows_with_more_data():
    rng = np.random.default_rng(1)
    small = rng.normal(100, 5, 8)
    large = rng.normal(100, 5, 200)
    assert bootstrap_ci(small, seed=3) == bootstrap_ci(small, seed=3)
    lo_s, hi_s = bootstrap_ci(small)
    lo_l, hi_l = bootstrap_ci(large)
    assert hi_l - lo_l < hi_s - lo_s
    assert lo_l < 100 < hi_l


def test_rsd():
    assert rsd([10, 10, 10]) == 0
    assert rsd([1]) is None
    assert rsd([9, 11]) == pytest.approx(math.sqrt(2) / 10)


def test_summary_table_groups_by_case_and_keeps_samples():
    runs = [{"case": "pp128/tg64", "decode_tps": v, "ttft_ms": 100 + v, "npu_load_mean": None} for v in (10, 12, 11)]
    runs += [{"case": "pp512/tg128", "decode_tps": 8.0, "ttft_ms": 400.0}]
    t = summary_table(runs)
    row = t[(t.case == "pp128/tg64") & (t.metric == "decode_tps")].iloc[0]
    assert row["n"] == 3 and row["median"] == 11 and row["samples"] == [10.0, 12.0, 11.0]
    assert set(t.metric) == {"decode_tps", "ttft_ms"}  # all-None metric left out
    assert len(t[t.case == "pp512/tg128"]) == 2


def test_pandas_column_and_no_bootstrap():
    import pandas as pd

    col = pd.Series([24.8, 25.0, None, 25.2, float("nan")])
    s = summarize(col, n_boot=0)
    assert s["n"] == 3 and s["ci_low"] is None and s["ci_high"] is None
    assert s["median"] == pytest.approx(col.median()) and s["std"] == pytest.approx(col.std(ddof=1))
    assert s["rsd"] == pytest.approx(col.std(ddof=1) / col.mean())
