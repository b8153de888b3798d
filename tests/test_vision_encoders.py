"""Synthetic ONNX encoder, the ONNX Runtime wrapper and the RKNNLite wrapper (against the test double)."""

import platform

import numpy as np
import pytest

from rklab.errors import RklabError, RuntimeLibraryError
from rklab.measure.vision.factory import open_encoder
from rklab.measure.vision.preprocess import preprocess
from rklab.measure.vision.rknn_encoder import CORE_MASKS, RknnEncoder, import_rknnlite, resolve_core_mask
from rklab.measure.vision.synthetic import (build_synthetic_encoder, ensure_synthetic_encoder, grid_for_tokens,
                                   is_synthetic, synthetic_encoder_path)
from rklab.measure.vision.testimages import demo_image_path


def test_grid_for_tokens():
    assert grid_for_tokens(196) == (14, 32)
    assert grid_for_tokens(256) == (16, 28)
    with pytest.raises(RklabError, match="n_tokens 200"):
        grid_for_tokens(200)
    with pytest.raises(RklabError, match="use one of"):
        grid_for_tokens(81)  # 9 does not divide 448


def test_synthetic_encoder_is_cached_and_marked(tmp_path, monkeypatch):
    monkeypatch.setenv("RKLAB_CACHE", str(tmp_path))
    p = ensure_synthetic_encoder(64, 32, dim=16, layers=1)
    assert p == synthetic_encoder_path(64, 32, dim=16, layers=1) and p.parent == tmp_path
    mtime = p.stat().st_mtime_ns
    assert ensure_synthetic_encoder(64, 32, dim=16, layers=1).stat().st_mtime_ns == mtime  # not rebuilt
    assert is_synthetic(p)
    assert not list(tmp_path.glob(".*.tmp"))
    from rklab.measure.modelfiles import check_model_file

    check_model_file(p, "onnx")


def test_synthetic_weights_are_seeded():
    a = build_synthetic_encoder(16, 8, dim=16, layers=1, seed=1).SerializeToString()
    b = build_synthetic_encoder(16, 8, dim=16, layers=1, seed=1).SerializeToString()
    c = build_synthetic_encoder(16, 8, dim=16, layers=1, seed=2).SerializeToString()
    assert a == b and a != c


def test_onnx_encoder_runs_the_synthetic_encoder(synthetic_onnx):
    enc = open_encoder("onnx", synthetic_onnx)
    try:
        assert enc.load_ms > 0 and enc.synthetic and enc.input_size == (448, 448)
        x = preprocess(demo_image_path(), 448)
        out = enc.run(x)
        assert len(out) == 1 and out[0].shape == (196, 576) and out[0].dtype == np.float32
        assert np.isfinite(out[0]).all() and out[0].std() > 0
        # deterministic, and different images give different embeddings
        assert np.array_equal(out[0], enc.run(x)[0])
        grey = np.full_like(x, 128)
        assert not np.allclose(out[0], enc.run(grey)[0])
        # a batch of two runs image by image and stacks per token
        two = enc.run(np.concatenate([x, grey]))
        assert two[0].shape == (392, 576) and np.array_equal(two[0][:196], out[0])
        assert enc.output_shapes() == [(196, 576)]
    finally:
        enc.release()
        enc.release()  # safe twice


def test_onnx_encoder_rejects_wrong_input(synthetic_onnx):
    with open_encoder("onnx", synthetic_onnx) as enc:
        with pytest.raises(RklabError, match="expects 448x448"):
            enc.run(np.zeros((1, 224, 224, 3), np.uint8))
        with pytest.raises(RklabError, match="uint8 NHWC"):
            enc.run(np.zeros((1, 448, 448, 3), np.float32))


def test_multi_output_encoder(tmp_path):
    import onnx

    p = tmp_path / "deepstack.onnx"
    onnx.save(build_synthetic_encoder(16, 8, dim=16, layers=1, outputs=4), str(p))
    with open_encoder("onnx", p) as enc:
        outs = enc.run(np.zeros((1, 448, 448, 3), np.uint8))
    assert [o.shape for o in outs] == [(16, 8)] * 4


def test_unknown_backend_and_bad_file(tmp_path):
    with pytest.raises(RklabError, match="vision_backend 'tpu'"):
        open_encoder("tpu", tmp_path / "x.onnx")
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"GGUF" + b"\0" * 4096)
    with pytest.raises(RklabError, match="not a ONNX file"):
        open_encoder("onnx", bad)


@pytest.mark.skipif(platform.machine() == "aarch64", reason="checks the message on non-board hosts")
def test_rknnlite_missing_off_board_is_one_line(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_rknnlite(name, *a, **k):
        if name.startswith("rknnlite"):
            raise ImportError("No module named 'rknnlite'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_rknnlite)
    with pytest.raises(RuntimeLibraryError) as exc:
        import_rknnlite()
    assert "aarch64" in str(exc.value) and "vision_backend='onnx'" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_core_masks(fake_rknnlite):
    assert resolve_core_mask("NPU_CORE_0_1_2", fake_rknnlite) == 7
    assert resolve_core_mask("0_1", fake_rknnlite) == 3
    assert resolve_core_mask(4) == 4
    assert resolve_core_mask("NPU_CORE_ALL") == CORE_MASKS["NPU_CORE_ALL"]
    with pytest.raises(RklabError, match="core_mask 'NPU_CORE_9'"):
        resolve_core_mask("NPU_CORE_9", fake_rknnlite)


def test_rknn_encoder_through_documented_calls(fake_rknnlite, fake_rknn_file, synthetic_onnx):
    x = preprocess(demo_image_path(), 448)
    enc = RknnEncoder(fake_rknn_file, core_mask="NPU_CORE_0_1_2", image_size=448)
    enc.load()
    out = enc.run(x)
    enc.release()
    assert [c[0] for c in fake_rknnlite.calls] == ["load_rknn", "init_runtime", "inference", "release"]
    assert fake_rknnlite.calls[1] == ("init_runtime", 7)
    assert fake_rknnlite.calls[2] == ("inference", (1, 448, 448, 3), "uint8", "nhwc")  # as image_enc.cc
    assert enc.runtime_version.startswith("fake RKNNLite") and enc.synthetic
    with open_encoder("onnx", synthetic_onnx) as ref:
        assert np.allclose(out[0], ref.run(x)[0], atol=1e-5)  # the same encoder behind the calls


@pytest.mark.parametrize("stage, words", [("load", "load_rknn"), ("init", "init_runtime(core_mask=NPU_CORE_0_1)"),
                                          ("inference", "inference")])
def test_rknn_failures_raise_with_context(fake_rknnlite, fake_rknn_file, monkeypatch, stage, words):
    monkeypatch.setenv("FAKE_RKNNLITE_FAIL", stage)
    enc = RknnEncoder(fake_rknn_file, core_mask="NPU_CORE_0_1")
    with pytest.raises(RklabError) as exc:
        enc.load()
        enc.run(np.zeros((1, 448, 448, 3), np.uint8))
    msg = str(exc.value)
    assert words in msg and str(fake_rknn_file) in msg and "\n" not in msg
    if stage == "init":
        assert fake_rknnlite.calls[-1] == ("release", None)  # freed after a failed init


def test_rknn_file_checked_before_runtime(fake_rknnlite, synthetic_onnx):
    with pytest.raises(RklabError, match="not a RKNN file"):
        RknnEncoder(synthetic_onnx)
    assert fake_rknnlite.calls == []


# Signatures of rknn-toolkit-lite2 2.5.0's RKNNLite (rknnlite/api/rknn_lite.py, manylinux aarch64 wheel).
RKNNLITE_250_SIGNATURES = {
    "__init__": "(self, verbose=False, verbose_file=None)",
    "load_rknn": "(self, path, key_path=None)",
    "init_runtime": "(self, target=None, device_id=None, async_mode=False, core_mask=0)",
    "inference": "(self, inputs, data_type=None, data_format=None, inputs_pass_through=None, get_frame_id=False, "
                 "reuse_outputs=False)",
    "get_sdk_version": "(self)",
    "list_support_target_platform": "(self, rknn_model=None)",
    "release": "(self)",
}


def test_double_has_the_real_signatures(fake_rknnlite):
    import inspect

    for name, sig in RKNNLITE_250_SIGNATURES.items():
        assert str(inspect.signature(getattr(fake_rknnlite, name))) == sig, name


def test_bad_rknn_loads_and_fails_in_init_runtime(fake_rknnlite, tmp_path):
    """As in 2.5.0: load_rknn only reads the file; the bad model fails when init_runtime builds the graph."""
    bad = tmp_path / "corrupt.rknn"
    bad.write_bytes(b"RKNN" + b"\x07" * (2 << 20))
    r = fake_rknnlite()
    assert r.load_rknn(str(bad)) == 0 and r.init_runtime() == -1 and r.get_sdk_version() is None
    assert r.inference(inputs=[np.zeros((1, 8, 8, 3), np.uint8)]) is None  # not initialised: None, no raise
    assert fake_rknnlite().load_rknn(str(tmp_path / "missing.rknn")) == -1
    enc = RknnEncoder(bad)
    with pytest.raises(RklabError) as exc:
        enc.load()
    msg = str(exc.value)
    assert "init_runtime" in msg and "load_rknn" not in msg and str(bad) in msg and "\n" not in msg
    assert [c[0] for c in fake_rknnlite.calls][-3:] == ["load_rknn", "init_runtime", "release"]


def test_wrong_input_size_makes_inference_return_none(fake_rknnlite, fake_rknn_file):
    enc = RknnEncoder(fake_rknn_file)
    enc.load()
    try:
        with pytest.raises(RklabError) as exc:
            enc.run(np.zeros((1, 392, 392, 3), np.uint8))  # the encoder takes 448 x 448
        msg = str(exc.value)
        assert "RKNNLite.inference" in msg and "returned None" in msg and "(1, 392, 392, 3)" in msg
        assert "image size" in msg
    finally:
        enc.release()
