"""Test double of ``rknnlite.api.RKNNLite`` with the documented API and return conventions.

A "fake .rknn" file is ``b"RKNN"`` + ``FAKE_TAG`` + 8-byte little-endian length + an ONNX model,
zero-padded to at least 1 MiB (so rklab's model-file check accepts it). ``init_runtime``
opens the embedded ONNX model with ONNX Runtime, and ``inference`` runs it, so the RKNNLite
code path of rklab runs a real encoder behind the documented calls.

Like the real class, ``load_rknn`` and ``init_runtime`` return 0 / -1 and ``inference``
returns a list of outputs or None. Env ``FAKE_RKNNLITE_FAIL`` = ``load`` | ``init`` |
``inference`` makes that call fail. Every call is logged in ``RKNNLite.calls`` (class level)
so tests can check the core mask and the order of calls.
"""

from __future__ import annotations

import os
import struct

import numpy as np

FAKE_TAG = b"\x00FAKE-RKNNLITE\x00"


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
        self._onnx = None
        self._session = None
        self.core_mask = None

    def _fail(self, what):
        return os.environ.get("FAKE_RKNNLITE_FAIL", "") == what

    def load_rknn(self, path):
        RKNNLite.calls.append(("load_rknn", str(path)))
        if self._fail("load"):
            return -1
        try:
            with open(path, "rb") as fh:
                head = fh.read(4 + len(FAKE_TAG) + 8)
                if not head.startswith(b"RKNN" + FAKE_TAG):
                    return -1
                (n,) = struct.unpack("<Q", head[-8:])
                self._onnx = fh.read(n)
        except OSError:
            return -1
        return 0

    def init_runtime(self, target=None, device_id=None, async_mode=False, core_mask=NPU_CORE_AUTO):
        RKNNLite.calls.append(("init_runtime", core_mask))
        if self._onnx is None or self._fail("init"):
            return -1
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(self._onnx, sess_options=opts, providers=["CPUExecutionProvider"])
        self.core_mask = core_mask
        return 0

    def get_sdk_version(self):
        return "fake RKNNLite (tests/fakes) librknnrt version: 0.0.0-fake"

    def inference(self, inputs=None, data_format=None, inputs_pass_through=None, get_frame_id=False):
        RKNNLite.calls.append(("inference", tuple(np.asarray(inputs[0]).shape) if inputs else None))
        if self._session is None or self._fail("inference") or not inputs:
            return None
        name = self._session.get_inputs()[0].name
        try:
            return list(self._session.run(None, {name: np.asarray(inputs[0])}))
        except Exception:
            return None

    def release(self):
        RKNNLite.calls.append(("release", None))
        self._session = None
        self._onnx = None
