"""Test double of ``rknnlite.api.RKNNLite`` (rknn-toolkit-lite2 2.5.0), never shipped in the product.

It follows the real class's public behaviour (read from ``rknnlite/api/rknn_lite.py`` of the
2.5.0 aarch64 wheel; no code copied): the same method signatures and return conventions, and
the same failure points:

- ``load_rknn(path, key_path=None)`` only READS the file: -1 when it does not exist or cannot be
  read, else 0 (whatever the bytes are);
- ``init_runtime(target=None, device_id=None, async_mode=False, core_mask=NPU_CORE_AUTO)`` builds
  the graph: -1 when no model was loaded or the model is bad or incompatible, else the result of
  setting the core mask (0); a second call releases the first runtime. (The real class also
  refuses ``target=None`` on a non-ARM host; the double behaves as on the board.)
- ``inference(inputs, data_type=None, data_format=None, inputs_pass_through=None,
  get_frame_id=False, reuse_outputs=False)``: a list of output arrays, or None when the runtime
  is not initialised or setting the inputs / running fails (e.g. an input of the wrong size);
- ``get_sdk_version()``: None before ``init_runtime``; ``release()`` returns None.

A "fake .rknn" file is ``b"RKNN"`` + ``FAKE_TAG`` + 8-byte little-endian length + an ONNX model,
zero-padded to at least 1 MiB (so rklab's model-file check accepts it); ``init_runtime`` opens the
embedded ONNX model with ONNX Runtime and ``inference`` runs it, so rklab's RKNNLite path runs a
real encoder. Env ``FAKE_RKNNLITE_FAIL`` = ``load`` | ``init`` | ``inference`` makes that call
fail. Every call is logged in ``RKNNLite.calls`` (class level) for the tests.
"""

from __future__ import annotations

import os
import struct

import numpy as np

FAKE_TAG = b"\x00FAKE-RKNNLITE\x00"
_HEAD = 4 + len(FAKE_TAG) + 8


def write_fake_rknn(onnx_path, out_path, min_size: int = 1 << 20):
    """Wrap an ONNX model into a fake .rknn file the double can load."""
    payload = open(onnx_path, "rb").read()
    head = b"RKNN" + FAKE_TAG + struct.pack("<Q", len(payload))
    data = head + payload
    if len(data) < min_size:
        data += b"\x00" * (min_size - len(data))
    with open(out_path, "wb") as fh:
        fh.write(data)
    return out_path


class RKNNLite:
    NPU_CORE_AUTO = 0
    NPU_CORE_0 = 1
    NPU_CORE_1 = 2
    NPU_CORE_2 = 4
    NPU_CORE_0_1 = 3
    NPU_CORE_0_1_2 = 7
    NPU_CORE_ALL = 0xFFFF

    calls: list = []
    synthetic = True  # the double always runs rklab's synthetic encoder

    def __init__(self, verbose=False, verbose_file=None):
        self.rknn_data = None
        self.rknn_runtime = None
        self.core_mask = None

    @staticmethod
    def _fail(what):
        return os.environ.get("FAKE_RKNNLITE_FAIL", "") == what

    def load_rknn(self, path, key_path=None):
        RKNNLite.calls.append(("load_rknn", str(path)))
        if path is None or not os.path.exists(path) or self._fail("load"):
            return -1
        try:
            with open(path, "rb") as fh:
                self.rknn_data = fh.read()
        except OSError:
            return -1
        if key_path is not None and not os.path.exists(key_path):
            return -1
        return 0

    def init_runtime(self, target=None, device_id=None, async_mode=False, core_mask=NPU_CORE_AUTO):
        RKNNLite.calls.append(("init_runtime", core_mask))
        if self.rknn_data is None:
            return -1  # "Model is not loaded yet"
        self.rknn_runtime = None  # a second call replaces the first runtime
        data = self.rknn_data
        if self._fail("init") or not data.startswith(b"RKNN" + FAKE_TAG) or len(data) < _HEAD:
            return -1  # building the graph fails on a bad or incompatible model
        (n,) = struct.unpack("<Q", data[_HEAD - 8:_HEAD])
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        try:
            self.rknn_runtime = ort.InferenceSession(data[_HEAD:_HEAD + n], sess_options=opts,
                                                     providers=["CPUExecutionProvider"])
        except Exception:
            return -1
        self.core_mask = core_mask
        return 0

    def get_sdk_version(self):
        if self.rknn_runtime is None:
            return None
        return "fake RKNNLite (tests/fakes) librknnrt version: 0.0.0-fake"

    def inference(self, inputs, data_type=None, data_format=None, inputs_pass_through=None, get_frame_id=False,
                  reuse_outputs=False):
        RKNNLite.calls.append(("inference", tuple(np.asarray(inputs[0]).shape) if inputs else None,
                               data_type, data_format))
        if self.rknn_runtime is None or self._fail("inference") or not inputs:
            return None
        meta = self.rknn_runtime.get_inputs()[0]
        x = np.asarray(inputs[0])
        want = [d for d in meta.shape]
        if x.ndim != len(want) or any(isinstance(d, int) and d != s for d, s in zip(want, x.shape)):
            return None  # setting the inputs fails: the size does not match the model's input
        try:
            outputs = list(self.rknn_runtime.run(None, {meta.name: x}))
        except Exception:
            return None
        return outputs + [0] if get_frame_id else outputs

    def list_support_target_platform(self, rknn_model=None):
        if rknn_model is not None and not os.path.exists(rknn_model):
            return None
        return {"support_target_platform": ["rk3588"], "filled_target_platform": ["rk3588"]}

    def release(self):
        RKNNLite.calls.append(("release", None))
        self.rknn_runtime = None
