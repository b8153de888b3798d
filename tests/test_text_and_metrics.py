"""rklab.i18n (every text in zh and en, one language check) and rklab.metrics (the registry that
labels and rounds the display tables and checks records before they are written)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from rklab import i18n, metrics
from rklab.errors import RklabError
from rklab.records import RECORDS_FILE, RecordWriter, read_records
from rklab.runfolder import Status


def test_every_text_has_both_languages_and_a_namespace():
    documented = set(re.findall(r"``(\w+)\.``", i18n.__doc__))  # the namespace table of rklab/i18n.py
    for key, pair in i18n.TEXT.items():
        assert "." in key and key.split(".")[0] in documented, f"{key}: add its namespace to rklab.i18n's table"
        assert len(pair) == 2 and all(isinstance(s, str) and s.strip() for s in pair), key
        zh, en = pair
        # the same placeholders in both languages
        assert set(re.findall(r"{(\w+)", zh)) == set(re.findall(r"{(\w+)", en)), key


def test_text_fills_placeholders_and_refuses_unknown_keys():
    assert i18n.text("report.summary.entries", "en", n=3, ok=2) == "3 entries, 2 measured successfully."
    assert i18n.text("report.summary.entries", "zh", n=3, ok=2) == "共 3 个测试项，2 个成功。"
    with pytest.raises(KeyError, match="report.nope"):
        i18n.text("report.nope", "en")


def test_one_language_check_names_the_input():
    assert i18n.check_lang("zh") == "zh" and i18n.check_lang("en") == "en"
    for name in ("lang", "--lang", "parameter lang"):
        with pytest.raises(RklabError) as exc:
            i18n.check_lang("fr", name)
        assert str(exc.value) == f"{name}='fr' is not supported; use zh or en"
    with pytest.raises(RklabError):
        i18n.text("report.title", "de")


def test_every_metric_and_status_and_verdict_has_its_words():
    for name in metrics.METRICS:
        assert i18n.has_text(f"metric.{name}"), name
        assert metrics.label(name, "zh") and metrics.label(name, "en")
    for status in Status:
        assert i18n.has_text(f"status.{status}"), status
    for verdict in (*i18n.VERDICTS, "oom", "excluded", "failed"):
        assert i18n.verdict_label(verdict, "zh") != verdict
    # the predicted and the measured TTFT never share a label
    assert i18n.label("predicted_ttft_ms", "en") == "predicted TTFT (ms)"
    assert metrics.label("ttft_ms", "en") == "TTFT (ms)"


def test_metric_digits_drive_the_formatting():
    assert metrics.fmt("decode_tps", 25.0) == "25.00"
    assert metrics.fmt("ttft_ms", 221.4) == "221"
    assert metrics.fmt("vmhwm_mb", 791.6) == "792"
    for missing in (None, float("nan"), float("inf"), "n/a"):
        assert metrics.fmt("decode_tps", missing) == "-"
    with pytest.raises(KeyError, match="rklab.metrics.METRICS"):
        metrics.get("decode_speed")


@pytest.mark.parametrize("bad, words", [
    ({"decode_tps": "12.5"}, "decode_tps='12.5': expected number (tok/s), got str"),
    ({"ttft_ms": -3.0}, "ttft_ms=-3.0 is out of range"),
    ({"generated_tokens": 4.5}, "generated_tokens=4.5: expected int"),
    ({"prompt_tokens": True}, "prompt_tokens=True: expected int"),
    ({"throttled": "no"}, "throttled='no': expected bool"),
    ({"case": 128}, "case=128: expected text"),
    ({"my_counter": object()}, "my_counter="),
])
def test_bad_metrics_are_refused_before_anything_is_written(tmp_path, bad, words):
    w = RecordWriter(tmp_path)
    w.append({"kind": "llm", "status": "ok", "metrics": {"decode_tps": 12.5}})
    before = (tmp_path / RECORDS_FILE).read_bytes()
    with pytest.raises(ValueError) as exc:
        w.append({"kind": "llm", "status": "ok", "metrics": {"decode_tps": 12.0, **bad}})
    assert words in str(exc.value)
    assert (tmp_path / RECORDS_FILE).read_bytes() == before


def test_good_metrics_pass_in_every_form(tmp_path):
    ok = {"decode_tps": np.float32(12.5), "ttft_ms": 210, "prompt_tokens": np.int64(128), "throttled": None,
          "mem_available_drop_mb": -12.0, "prefill_tps": math.nan, "token_offsets_ms": [0.0, 40.1],
          "a_runtime_counter": 7, "encoder_output_shapes": [[196, 576]]}
    RecordWriter(tmp_path).append({"kind": "llm", "status": Status.OK, "metrics": ok})
    rec = read_records(tmp_path / RECORDS_FILE)[0]
    assert rec["status"] == "ok" and rec["metrics"]["decode_tps"] == 12.5 and rec["metrics"]["a_runtime_counter"] == 7
