"""Parameter counts reproduce every row of the quoted facts table exactly."""

import csv
from pathlib import Path

import pytest

from rklab.predict.catalog import get_model, load_catalog
from rklab.predict.params import compute_params, count

FACTS = Path(__file__).resolve().parents[1] / "data" / "models.yaml"
ROWS = {m.name: m for m in load_catalog().values()}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_llm_params_match_quoted_count(name):
    spec = ROWS[name]
    assert count(spec).llm == spec.llm_params


def test_catalog_has_every_facts_row():
    facts = Path(__file__).resolve().parents[2] / "shared" / "facts" / "models.csv"  # ../shared beside the clone
    if facts.is_file():
        names = [r["model"] for r in csv.DictReader(facts.open())]
        assert sorted(names) == sorted(ROWS)
    assert len(ROWS) == 20


def test_known_anchor_counts():
    assert count(get_model("Qwen3-0.6B")).llm == 596_049_920
    assert count(get_model("InternVL3.5-1B")).llm == 751_632_384
    # InternVL3.5-1B = untied Qwen3-0.6B: the extra head is vocab x hidden
    assert count(get_model("InternVL3.5-1B")).head == 151936 * 1024


def test_vlm_total_is_llm_plus_vision():
    c = count(get_model("InternVL3.5-1B"))
    assert c.vision == 304_012_288 + 5_253_120
    assert c.total == 751_632_384 + 309_265_408


def test_moe_active_params_match_card():
    c = count(get_model("Qwen3-30B-A3B"))
    assert c.llm == 30_532_122_624
    assert c.router == 48 * 2048 * 128
    assert 3.2e9 < c.active < 3.45e9          # model card: 3.3B active


def test_qk_norm_and_tied_head_make_the_difference():
    spec = get_model("Qwen3-0.6B")
    c = count(spec)
    assert c.head == 0
    assert c.norms == 28 * (2 * 1024 + 2 * 128) + 1024
    # tied: the table is the head, so it is compute; untied: the input table is not
    assert compute_params(spec) == c.llm
    untied = get_model("InternVL3.5-1B")
    assert compute_params(untied) == count(untied).llm - 151936 * 1024
