"""`rklab bench llm|vlm` end to end (real llama.cpp on the demo model) and its bad inputs."""

import json

import pytest

from rklab.cli import main

FAST = ["--prompt-tokens", "32", "--new-tokens", "8", "--reps", "2", "--warmup", "1", "--threads", "1",
        "--context", "256", "--no-adaptive"]


def test_bench_llm_demo_json_and_records(demo_gguf, tmp_path, capsys):
    out_dir = tmp_path / "run"
    rc = main(["bench", "llm", "--backend", "llamacpp", "--model", "demo", *FAST, "--json", "--hz", "50",
               "--out", str(out_dir)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    d = json.loads(cap.out)  # stdout is exactly one JSON object (progress went to stderr)
    assert len(d["runs"]) == 2
    for r in d["runs"]:
        for key in ("ttft_ms", "prefill_tps", "decode_tps", "runtime_decode_tps", "vmhwm_mb"):
            assert isinstance(r[key], float) and r[key] > 0, key
        assert r["prompt_tokens"] == 32 and r["generated_tokens"] == 8
        assert r["runtime_prefill_tokens"] == 32 and r["runtime_decode_tokens"] == 7
        assert r["memory_baseline"] == "before_load"
    metrics = {row["metric"] for row in d["summary"]}
    assert {"decode_tps", "ttft_ms", "vmhwm_mb"} <= metrics
    assert d["host"]["llama_cpp_python_version"] and d["backend"]["name"] == "llamacpp"
    assert d["model"]["size_bytes"] == demo_gguf.stat().st_size
    assert d["load"]["load_ms"] > 0 and d["monitor"]["samples"] > 0
    lines = (out_dir / "records.jsonl").read_text().splitlines()
    assert len(lines) == len(d["runs"])
    rec = json.loads(lines[0])
    assert rec["kind"] == "llm" and rec["status"] == "ok" and rec["metrics"]["decode_tps"] > 0
    # the same conditions as notebook 02's records (one record builder)
    assert rec["model"]["name"] == "SmolLM2-135M-Instruct" and rec["model"]["dtype"] == "q4_1"
    assert rec["model"]["size_bytes"] == demo_gguf.stat().st_size and rec["model"]["hash"]
    assert rec["model"]["path"] == str(demo_gguf.resolve())
    assert rec["case"] == "pp32/tg8" and rec["max_context"] == 256 and rec["backend"] == "llamacpp"
    assert rec["runtime"]["name"] == "llamacpp" and rec["runtime"]["version"]
    assert rec["host"]["machine"] and "driver_version" in rec
    assert rec["metrics"]["llm_load_ms"] == pytest.approx(d["load"]["load_ms"])


def test_bench_llm_table(demo_gguf, capsys):
    rc = main(["bench", "llm", "--model", "demo", *FAST, "--no-progress", "--hz", "0"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "pp32/tg8" in out and "decode t/s" in out and "clocks pinned" in out


@pytest.mark.parametrize("args,match", [
    (["bench", "llm", "--model", "/nope/model.gguf"], "does not exist"),
    (["bench", "llm", "--model", "demo", "--context", "100"], "pp128/tg64 needs 192 tokens but --context is 100"),
    (["bench", "llm", "--model", "demo", "--prompt-tokens", "1", "2", "--new-tokens", "1", "2", "3"], "same number"),
    (["bench", "llm", "--model", "demo", "--reps", "0"], "--reps 0"),
    (["bench", "llm", "--backend", "rkllm", "--model", "demo"], "demo model is a GGUF"),
    (["bench", "vlm"], "--demo"),
])
def test_bad_input_one_line_exit_2(args, match, capsys):
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("rklab: error: ") and match in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_case_exactly_filling_the_context_is_refused_before_loading(monkeypatch, capsys):
    import rklab.measure.runtimes.factory as factory

    def must_not_load(*a, **k):
        raise AssertionError("the model was loaded before the context check")

    monkeypatch.setattr(factory, "open_backend", must_not_load)
    rc = main(["bench", "llm", "--model", "demo", "--prompt-tokens", "32", "--new-tokens", "8", "--context", "40"])
    err = capsys.readouterr().err
    assert rc == 2 and "pp32/tg8 needs 40 tokens" in err
    assert "prompt + new tokens must be less than the context" in err and err.count("\n") == 1


def test_garbage_model_file(tmp_path, capsys):
    junk = tmp_path / "m.gguf"
    junk.write_text("this is not a model\n" * 100000)
    assert main(["bench", "llm", "--model", str(junk)]) == 2
    assert "not a GGUF" in capsys.readouterr().err
    assert main(["bench", "llm", "--backend", "rkllm", "--model", str(junk)]) == 2
    assert "not an .rkllm" in capsys.readouterr().err


def test_bad_out_dir_is_refused_before_loading(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("keep me\n")
    for out, match in ((a_file, "is a file"), (a_file / "run", "cannot be created")):
        assert main(["bench", "llm", "--model", "/nope.gguf", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert match in err and str(out) in err and err.count("\n") == 1
    assert a_file.read_text() == "keep me\n"


@pytest.mark.parametrize("args,match", [
    (["llm", "--model", "demo", "--context", "0"], "--context 0"),
    (["llm", "--model", "demo", "--new-tokens", "0"], "--new-tokens 0"),
    (["llm", "--model", "demo", "--prompt-tokens", "-16"], "--prompt-tokens -16"),
    (["llm", "--model", "demo", "--reps", "-3"], "--reps -3"),
    (["llm", "--model", "demo", "--warmup", "-1"], "--warmup -1"),
    (["vlm", "--demo", "--reps", "0"], "--reps 0"),
    (["vlm", "--demo", "--new-tokens", "0"], "--new-tokens 0"),
    (["vlm", "--demo", "--image", "/nope/cat.png"], "/nope/cat.png"),
    (["llm", "--model", "demo", "--mem-floor-mb", "-1"], "--mem-floor-mb -1"),
    (["vlm", "--demo", "--mem-floor-mb", "-5"], "--mem-floor-mb -5"),
])
def test_numbers_and_paths_named(args, match, capsys):
    assert main(["bench", *args]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_bench_vlm_runs_the_guarded_session(monkeypatch, capsys, tmp_path):
    import pandas as pd

    import rklab.measure.session as session
    from rklab.measure.outcome import BenchOutcome

    img = tmp_path / "x.png"
    img.write_bytes(b"\x89PNG")

    seen = {}

    def fake_bench_vlm(**kw):
        seen.update(kw)
        return BenchOutcome(
            kind="vlm", status="ok", message="", params={"reps": kw["reps"], "new_tokens": kw["new_tokens"]},
            out_dir=tmp_path, model={"name": "SmolLM2-135M-Instruct"}, synthetic=True, recorded=False,
            summary=pd.DataFrame([{"image": "x.png", "encoder_ms": 12.5, "prefill_ms": 30.0, "ttft_ms": 31.0,
                                   "decode_tps": 90.0, "vmhwm_mb": 300.0, "ci": float("nan")}]),
            runs=[{"image_tokens": 64, "generated_tokens": 9}])

    monkeypatch.setattr(session, "bench_vlm", fake_bench_vlm)
    assert main(["bench", "vlm", "--demo", "--reps", "4", "--new-tokens", "9", "--image", str(img), "--json",
                 "--mem-floor-mb", "500"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (seen["reps"], seen["images"], seen["new_tokens"]) == (4, [str(img)], 9)
    assert seen["mem_floor_mb"] == 500 and seen["record"] is False and seen["force"] is False
    assert d["synthetic"] is True and d["image_tokens"] == 64 and d["ci"] is None
    assert main(["bench", "vlm", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "12.5" in out


def test_bench_llm_keeps_the_crash_safety_promises(demo_gguf, tmp_path, capsys, monkeypatch):
    """`rklab bench llm` runs the notebooks' guarded session: OOM score, pre-load check, memory guard."""
    import rklab.measure.session as session

    scores = []
    monkeypatch.setattr(session, "raise_oom_score", lambda: scores.append(1000) or True)
    # the guard: a floor above any machine's MemAvailable stops the run, one line, exit 3, the record kept
    out_dir = tmp_path / "run"
    rc = main(["bench", "llm", "--model", "demo", *FAST, "--no-progress", "--mem-floor-mb", "9000000",
               "--out", str(out_dir)])
    err = capsys.readouterr().err
    assert rc == 3 and scores == [1000]
    assert err.startswith("rklab: error: aborted_memory: memory guard stopped") and err.count("\n") == 1
    recs = [json.loads(x) for x in (out_dir / "records.jsonl").read_text().splitlines()]
    assert [r["status"] for r in recs] == ["aborted_memory"] and recs[0]["source"] == "rklab bench llm"
    # the pre-load check: a prediction that cannot fit skips the run before anything is loaded
    monkeypatch.setattr(session, "predicted_memory", lambda *a, **k: {"memory_mb": 10_000_000.0})
    monkeypatch.setattr(session.factory, "open_backend", lambda *a, **k: pytest.fail("must not load"))
    rc = main(["bench", "llm", "--model", "demo", *FAST, "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 3 and "skipped_predicted_oom" in err and "predicted to need" in err and err.count("\n") == 1
