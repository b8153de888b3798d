"""`rklab feasibility` and `rklab estimate`: the CLI contract other tools depend on."""

import json
from pathlib import Path

import pytest

from rklab.cli import main

CONFIGS = Path(__file__).parent / "data" / "hf_configs"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_feasibility_json(capsys):
    code, out, _ = run(capsys, "feasibility", "--format", "json", "--lang", "en")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 20
    for key in ["model", "dtype", "memory_mb", "budget_mb", "verdict", "reason"]:
        assert key in rows[0]
    by = {r["model"]: r for r in rows}
    assert by["Qwen3-VL-4B"]["verdict"] == "tight"
    assert by["Qwen3-0.6B"]["verdict"] == "fits"


def test_feasibility_json_verdict_stays_english_in_zh(capsys):
    _, out, _ = run(capsys, "feasibility", "--format", "json", "--lang", "zh")
    by = {r["model"]: r for r in json.loads(out)}
    assert by["Qwen3-0.6B"]["verdict"] == "fits" and by["Qwen3-0.6B"]["verdict_label"] == "可以跑"


def test_feasibility_table_csv_md(capsys):
    code, out, _ = run(capsys, "feasibility")
    assert code == 0 and "可以跑" in out and "极限" in out and "Qwen3-32B" in out
    _, out, _ = run(capsys, "feasibility", "--format", "csv", "--lang", "en", "--context", "2048")
    header = out.splitlines()[0].split(",")
    assert "memory_mb" in header and len(out.splitlines()) == 21
    _, out, _ = run(capsys, "feasibility", "--format", "md", "--lang", "en", "--board", "rk3588-16gb")
    assert out.startswith("| model |") and "|---|" in out


def test_estimate_json_model(capsys):
    code, out, _ = run(capsys, "estimate", "--model", "Qwen3-0.6B", "--json")
    d = json.loads(out)
    assert code == 0 and d["params"] == 596_049_920
    for key in ["weights_mb", "kv_mb", "vision_mb", "memory_mb", "decode_tps", "ttft_ms", "verdict"]:
        assert key in d
    assert abs(d["memory_mb"] - 773.77) / 773.77 < 0.1


@pytest.mark.parametrize("fname,kind", [("qwen3-0.6b.json", "llm"), ("qwen3-vl-2b.json", "vlm"),
                                        ("internvl-style.json", "vlm"), ("qwen3-30b-a3b.json", "llm")])
def test_estimate_hf_config(capsys, fname, kind):
    code, out, _ = run(capsys, "estimate", "--hf-config", str(CONFIGS / fname), "--json")
    d = json.loads(out)
    assert code == 0 and d["kind"] == kind
    assert (d["vision_mb"] > 0) == (kind == "vlm")


def test_estimate_text_and_calibration(capsys):
    code, out, _ = run(capsys, "estimate", "--model", "Qwen3-VL-2B", "--dtype", "w8a8_g128", "--context", "2048")
    assert code == 0 and "VmHWM" in out and "w8a8_g128" in out
    assert "  verdict: fits: predicted peak" in out  # the word once in en
    code, out, _ = run(capsys, "estimate", "--model", "Qwen3-0.6B", "--lang", "zh")
    assert code == 0 and "可行性: 可以跑 (fits): 预测峰值" in out  # zh: the label and the word --json carries
    code, out, _ = run(capsys, "estimate", "--calibration")
    assert code == 0 and "runtime_fixed_mb" in out and "calibration row" in out and "1.2.1b1" in out


@pytest.mark.parametrize("argv,needle", [
    (["estimate", "--model", "Qwen3-9B"], "closest"),
    (["estimate", "--hf-config", str(CONFIGS / "missing-key.json")], "num_hidden_layers"),
    (["estimate", "--model", "Qwen3-0.6B", "--context", "-5"], "context"),
    (["estimate", "--model", "Qwen3-0.6B", "--prompt-tokens", "-1"], "prompt tokens"),
    (["estimate"], "--model"),
    (["feasibility", "--board", "rk9999"], "unknown board"),
    (["feasibility", "--context", "0"], "context"),
])
def test_errors_exit_2_one_line_no_traceback(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("rklab: error:") and needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_debug_shows_traceback(capsys):
    code, _, err = run(capsys, "--debug", "estimate", "--model", "Qwen3-9B")
    assert code == 2 and "Traceback" in err


def test_missing_key_error_names_the_file(capsys):
    _, _, err = run(capsys, "estimate", "--hf-config", str(CONFIGS / "missing-key.json"))
    assert "missing-key.json" in err


def test_feasibility_when_every_row_is_unsupported(capsys):
    """A context over every model's maximum positions: one unsupported row per model, no crash."""
    from rklab.cli import main

    assert main(["feasibility", "--context", "300000", "--format", "json", "--lang", "en"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 20 and {r["verdict"] for r in rows} == {"unsupported"}
    assert all("positions" in r["reason"] and r["memory_mb"] is None for r in rows)
