import json
from pathlib import Path

import pytest

from rklab.predict.catalog import ModelSpec, get_model, load_catalog
from rklab.errors import RklabError
from rklab.predict.params import count

CONFIGS = Path(__file__).parent / "data" / "hf_configs"


def test_get_model_is_case_insensitive_and_unknown_names_list_closest():
    assert get_model("qwen3-vl-2b").name == "Qwen3-VL-2B"
    with pytest.raises(RklabError) as err:
        get_model("Qwen3-1B")
    msg = str(err.value)
    assert "Qwen3-1B" in msg and "closest" in msg and "Qwen3-" in msg and "\n" not in msg


def test_catalog_vlm_facts():
    vl = get_model("Qwen3-VL-2B").vision
    assert (vl.image_tokens, vl.outputs, vl.patches) == (196, 4, 784)
    iv = get_model("InternVL3.5-2B").vision
    assert (iv.image_tokens, iv.outputs, iv.img_content) == (256, 1, "<IMG_CONTEXT>")
    assert set(load_catalog()["Qwen3-4B"].rk3588_published) == {"w8a8"}


def test_hf_config_plain_reproduces_catalog():
    spec = ModelSpec.from_hf_config(CONFIGS / "qwen3-0.6b.json")
    assert spec.kind == "llm" and spec.qk_norm and spec.tie_embeddings
    assert count(spec).llm == 596_049_920


def test_hf_config_moe():
    spec = ModelSpec.from_hf_config(CONFIGS / "qwen3-30b-a3b.json")
    assert spec.is_moe and spec.experts == 128 and spec.experts_per_token == 8
    assert count(spec).llm == 30_532_122_624


@pytest.mark.parametrize("fname,llm,vision,tokens,outputs", [
    ("qwen3-vl-2b.json", 1_720_574_976, 406_960_000, 196, 4),
    ("internvl-style.json", 751_632_384, 309_265_408, 256, 1),
])
def test_hf_config_vlm(fname, llm, vision, tokens, outputs):
    spec = ModelSpec.from_hf_config(CONFIGS / fname)
    c = count(spec)
    assert spec.kind == "vlm" and c.llm == llm
    assert spec.vision.params_source == "estimated"
    assert abs(c.vision - vision) / vision < 0.06           # generic ViT formula vs quoted count
    assert (spec.vision.image_tokens, spec.vision.outputs) == (tokens, outputs)


def test_hf_config_missing_key_names_key_and_file():
    path = CONFIGS / "missing-key.json"
    with pytest.raises(RklabError) as err:
        ModelSpec.from_hf_config(path)
    assert "num_hidden_layers" in str(err.value) and str(path) in str(err.value)


def test_hf_config_bad_files(tmp_path):
    with pytest.raises(RklabError, match="does not exist"):
        ModelSpec.from_hf_config(tmp_path / "nope.json")
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(RklabError, match="not valid JSON"):
        ModelSpec.from_hf_config(bad)
    neg = tmp_path / "neg.json"
    cfg = json.loads((CONFIGS / "qwen3-0.6b.json").read_text())
    cfg["hidden_size"] = -4
    neg.write_text(json.dumps(cfg))
    with pytest.raises(RklabError, match="hidden_size"):
        ModelSpec.from_hf_config(neg)
