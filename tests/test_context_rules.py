"""RKLLM's max_context rules in the engine: <= 16384, a multiple of 32, <= the model's max_position."""

import json

import pytest

from rklab.cli import main
from rklab.errors import RklabError
from rklab.predict import feasibility as fz
from rklab.predict.catalog import ModelSpec, get_model


def _small_model(tmp_path, max_position=2048):
    cfg = {"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
           "num_key_value_heads": 2, "vocab_size": 1000, "max_position_embeddings": max_position,
           "model_type": "llama"}
    d = tmp_path / "tiny-llm"
    d.mkdir()
    p = d / "config.json"
    p.write_text(json.dumps(cfg))
    return p


def test_default_context_is_min_of_4096_and_the_model_limit(tmp_path):
    spec = ModelSpec.from_hf_config(_small_model(tmp_path))
    e = fz.estimate(spec)                          # no context: a 2048-position model no longer errors out
    assert e.max_context == 2048
    assert fz.estimate("Qwen3-0.6B").max_context == 4096
    assert fz.default_context(spec) == 2048


def test_context_above_the_model_limit_names_the_config_file(tmp_path):
    path = _small_model(tmp_path)
    spec = ModelSpec.from_hf_config(path)
    with pytest.raises(RklabError) as exc:
        fz.estimate(spec, max_context=4096)
    msg = str(exc.value)
    assert str(path) in msg and "2,048 positions" in msg and "--context 2048" in msg
    assert "\n" not in msg
    with pytest.raises(RklabError, match=r"data/models\.yaml"):
        fz.estimate("SmolLM2-135M-Instruct", max_context=16384)   # catalog model: 8192 positions


@pytest.mark.parametrize("ctx,needle", [(32768, "RKLLM's maximum of 16384"), (5000, "multiple of 32"),
                                        (20, "multiple of 32")])
def test_rkllm_context_rules(ctx, needle):
    with pytest.raises(RklabError, match=needle):
        fz.estimate("Qwen3-0.6B", max_context=ctx, prompt_tokens=4, new_tokens=4)
    assert fz.check_context(get_model("Qwen3-0.6B"), 16384) == 16384


def test_cli_estimate_default_context_and_one_line_error(tmp_path, capsys):
    path = _small_model(tmp_path)
    assert main(["estimate", "--hf-config", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["max_context"] == 2048
    assert main(["estimate", "--hf-config", str(path), "--context", "8192"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(path) in err


def test_largest_context_and_sweep_follow_the_rules():
    assert fz.largest_context("Qwen3-0.6B") == 16384
    assert fz.largest_context("SmolLM2-135M-Instruct") == 8192
    sweep = fz.context_sweep(["Qwen3-0.6B"])
    assert sweep["context"].max() == 16384
