"""A model file that is not the model the plan names is refused before loading (unless forced).

Before: ``model: Qwen3-32B`` with the SmolLM2 GGUF was recorded "Qwen3-32B, ok, 128 tok/s".
"""

from __future__ import annotations

import shutil

import pytest

from rklab.errors import ModelFileError, RklabError
from rklab.measure.modelfiles import ModelMismatch, check_context, check_identity, gguf_summary, require_identity
from rklab.predict.gguf_file import file_type_name, read_gguf_header
from rklab.records import read_records


def test_gguf_header_of_the_demo_model(demo_gguf):
    s = gguf_summary(demo_gguf)
    assert s["architecture"] == "llama" and s["block_count"] == 30 and s["embedding_length"] == 576
    assert s["context_length"] == 8192 and s["file_type"] == "q4_1" and s["size_label"] == "135M"
    assert s["n_params"] == 134_515_008  # = the catalog's llm_params of SmolLM2-135M-Instruct


def test_file_type_names_follow_llama_cpp():
    import llama_cpp

    consts = {getattr(llama_cpp, c): c for c in dir(llama_cpp) if c.startswith("LLAMA_FTYPE_")}
    for number in (0, 1, 2, 3, 7, 8, 15, 18, 32):  # the file types rklab's plans and the demo use
        name = file_type_name(number)
        const = "LLAMA_FTYPE_ALL_F32" if name == "f32" else f"LLAMA_FTYPE_MOSTLY_{name.upper()}"
        assert consts[number] == const, name


def test_truncated_gguf_header_is_one_line(demo_gguf, tmp_path):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(demo_gguf.read_bytes()[:4096])
    with pytest.raises(ModelFileError, match="ends inside its GGUF header"):
        read_gguf_header(cut)


def test_demo_gguf_matches_its_catalog_entry_and_not_others(demo_gguf):
    assert check_identity(demo_gguf, "gguf", "SmolLM2-135M-Instruct", "q4_1")["status"] == "match"
    bad = check_identity(demo_gguf, "gguf", "Qwen3-32B")
    assert bad["status"] == "mismatch"
    assert "30 blocks, the catalog's Qwen3-32B has 64 layers" in bad["reason"] and "135M parameters" in bad["reason"]
    # same shape family, other size: SmolLM2-360M
    assert check_identity(demo_gguf, "gguf", "SmolLM2-360M-Instruct")["status"] == "mismatch"
    # the quantisation the plan names is checked too
    assert "quantisation q4_1, expected q8_0" in check_identity(demo_gguf, "gguf", "SmolLM2-135M-Instruct", "q8_0")["reason"]
    assert check_identity(demo_gguf, "gguf", "My-Own-Finetune")["status"] == "unchecked"


def test_rkllm_and_rknn_sizes_against_the_predicted_weights(tmp_path):
    from tests.fixtures.fake_rkllm import make_fake_rkllm_model

    small = make_fake_rkllm_model(tmp_path / "small.rkllm", size_mb=17)
    right = make_fake_rkllm_model(tmp_path / "right.rkllm", size_mb=900)  # sparse: no disk used
    r = check_identity(small, "rkllm", "Qwen3-0.6B", "w8a8")
    assert r["status"] == "mismatch" and "predicted at 909 MB" in r["reason"]
    assert check_identity(right, "rkllm", "Qwen3-0.6B", "w8a8")["status"] == "match"
    assert check_identity(right, "rkllm", "Qwen3-32B", "w8a8")["status"] == "mismatch"
    enc = tmp_path / "enc.rknn"
    with open(enc, "wb") as fh:
        fh.write(b"RKNN" + b"\0" * 60)
        fh.truncate(5 << 20)
    v = check_identity(enc, "rknn", "Qwen3-VL-2B", part="vision")
    assert v["status"] == "mismatch" and "vision encoder in fp16" in v["reason"]


def test_require_identity_refuses_unless_forced(demo_gguf):
    with pytest.raises(ModelMismatch) as exc:
        require_identity(demo_gguf, "gguf", "Qwen3-32B", how="cli")
    msg = str(exc.value)
    assert f"model file {demo_gguf} is not Qwen3-32B" in msg and msg.endswith("add --force-model to measure it anyway")
    assert "\n" not in msg
    forced = require_identity(demo_gguf, "gguf", "Qwen3-32B", force=True)
    assert forced["status"] == "mismatch" and forced["forced"] is True


def test_notebook_refuses_a_file_of_another_model_and_records_a_forced_one(tmp_path, demo_gguf, monkeypatch):
    import rklab.measure.runtimes.factory as factory
    import rklab.measure.session as nr

    monkeypatch.setattr(factory, "open_backend", lambda *a, **k: pytest.fail("must not load another model"))
    with pytest.raises(ModelMismatch, match="is not Qwen3-32B.*set force_model=True"):
        nr.bench_llm(model="Qwen3-32B", cases=[[8, 2]], reps=1, out_dir=str(tmp_path / "refused"),
                            progress=False)
    assert not (tmp_path / "refused" / "records.jsonl").exists()
    monkeypatch.undo()
    res = nr.bench_llm(model="Qwen3-32B", dtype="w8a8", cases=[[8, 2]], reps=1, warmup=0, adaptive=False,
                              max_context=64, force=True, force_model=True, out_dir=str(tmp_path / "forced"),
                              progress=False)
    rec = read_records(tmp_path / "forced" / "records.jsonl")
    assert res.ok and rec and all(r["model"]["identity"]["forced"] for r in rec)
    assert "30 blocks" in rec[0]["model"]["identity"]["reason"]


def test_models_check_flags_the_mismatch_up_front(tmp_path):
    from rklab.orchestrate.plancheck import check_plan

    plan = tmp_path / "plan.yaml"
    plan.write_text("plan: x\nboard: rk3588-8gb\nentries:\n  - name: big\n    kind: llm\n    model: Qwen3-32B\n"
                    "    backend: llamacpp\n    model_path: demo\n    cases: [[16, 4]]\n", encoding="utf-8")
    report = check_plan(plan)
    bad = [i for i in report.failures if i.name == "big: model_path"]
    assert bad and "is not Qwen3-32B" in bad[0].detail and "force_model: true" in bad[0].detail
    plan.write_text(plan.read_text() + "    force_model: true\n", encoding="utf-8")
    ok = [i for i in check_plan(plan).items if i.name == "big: model_path"]
    assert ok[0].status == "ok" and "NOT Qwen3-32B" in ok[0].detail


def test_context_limits_match_estimate(demo_gguf, tmp_path):
    from rklab.predict.feasibility import estimate

    for ctx in (10**12, 100_000):
        with pytest.raises(RklabError) as est:
            estimate("SmolLM2-135M-Instruct", max_context=ctx)
        with pytest.raises(RklabError) as bench:
            check_context(ctx, "SmolLM2-135M-Instruct", demo_gguf, "gguf")
        assert str(est.value) == str(bench.value)
        assert str(bench.value).startswith(f"context {ctx} is over SmolLM2-135M-Instruct's limit of 8,192 positions")
        assert str(bench.value).endswith("use --context 8192 or less")
    # .rkllm: all of RKLLM's rules, as estimate applies them (a multiple of 32, at most 16384)
    for ctx in (4100, 32768):
        with pytest.raises(RklabError) as est:
            estimate("Qwen3-0.6B", max_context=ctx)
        with pytest.raises(RklabError) as bench:
            check_context(ctx, "Qwen3-0.6B", tmp_path / "q.rkllm", "rkllm")
        assert str(est.value) == str(bench.value)
    check_context(4100, "Qwen3-0.6B", tmp_path / "q.gguf", "gguf")  # llama.cpp takes any context up to 40960
    check_context(8192, "SmolLM2-135M-Instruct", demo_gguf, "gguf")
    # not in the catalog: the GGUF's trained context; and never more than a C int
    other = tmp_path / "mine.gguf"
    shutil.copy(demo_gguf, other)
    with pytest.raises(RklabError, match="trained context of 8192 tokens"):
        check_context(9000, None, other, "gguf")
    with pytest.raises(RklabError, match="more than the runtimes accept"):
        check_context(2**31, None, tmp_path / "x.rkllm", "rkllm")


def test_sweep_records_the_refusal_with_its_reason(tmp_path, demo_gguf):
    from rklab.orchestrate.sweep import run_sweep

    plan = tmp_path / "plan.yaml"
    plan.write_text("plan: x\nboard: rk3588-8gb\nentries:\n  - name: big\n    kind: llm\n    model: Qwen3-32B\n"
                    "    backend: llamacpp\n    model_path: demo\n    cases: [[16, 4]]\n    reps: 1\n", encoding="utf-8")
    result = run_sweep(plan, out=tmp_path / "out", lang="en", report=False, progress=False)
    outcome = [o for o in result.outcomes if o.name == "big"][0]
    assert outcome.status == "failed" and "is not Qwen3-32B" in outcome.message
    entry = [r for r in read_records(outcome.attempt_dir / "records.jsonl") if r["kind"] == "entry"][0]
    assert entry["error"]["type"] == "ModelMismatch" and "30 blocks" in entry["error"]["message"]
    assert not [r for r in read_records(outcome.attempt_dir / "records.jsonl") if r.get("status") == "ok"]
