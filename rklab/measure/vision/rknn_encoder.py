"""Vision encoder on the RK3588 NPU through RKNNLite (rknn-toolkit-lite2, aarch64 only).

The calls and what they return, as rknn-toolkit-lite2 2.5.0 implements them (``rknnlite/api/
rknn_lite.py``): ``RKNNLite()``; ``load_rknn(path)`` only reads the file (-1 when it cannot be read,
0 for any bytes); ``init_runtime(core_mask=...)`` builds the graph, so a bad or incompatible .rknn
(or a missing ``librknnrt.so``) fails HERE with -1; ``inference(inputs=[...], data_type=...,
data_format=...)`` returns the outputs or None (wrong input size, runtime error); ``release()``.
Every failure becomes a one-line :class:`RklabError` that names the call that failed, the file
and the likely cause. The input is handed over as the demo's ``image_enc.cc`` does: uint8, NHWC.

RKNNLite has no query for the model's tensor attributes (the C API's ``rknn_query`` is not in its
Python API), so the input size is confirmed by a probe run (:meth:`VisionEncoder.geometry`) and the
image tokens / embedding width are read off the first output, as ``image_enc.cc`` reads
``output_attrs[0].dims``.

The vision encoder uses NPU IOMMU domain 0; an RKLLM model in the same process then needs
``base_domain_id=1`` (the parameter decides, not the load order; the VLM pipeline sets it).
"""

from __future__ import annotations

import os
import platform
import sys

import numpy as np

from rklab.errors import RklabError, RuntimeLibraryError
from rklab.measure.modelfiles import check_model_file
from rklab.measure.vision.encoder import VisionEncoder

# CPython versions rknn-toolkit-lite2 2.5.0 publishes manylinux aarch64 wheels for (and rklab supports).
RKNNLITE_PYTHONS = ((3, 10), (3, 11), (3, 12))
# rknn-toolkit-lite2 constants (RKNNLite.NPU_CORE_*), used when the class lacks them.
CORE_MASKS = {
    "NPU_CORE_AUTO": 0,
    "NPU_CORE_0": 1,
    "NPU_CORE_1": 2,
    "NPU_CORE_2": 4,
    "NPU_CORE_0_1": 3,
    "NPU_CORE_0_1_2": 7,
    "NPU_CORE_ALL": 0xFFFF,
}


def import_rknnlite():
    """The ``RKNNLite`` class, or a one-line error saying why it is not available here."""
    try:
        from rknnlite.api import RKNNLite  # type: ignore
    except ImportError as exc:
        machine = platform.machine()
        if machine != "aarch64":
            raise RuntimeLibraryError(
                f"RKNNLite (rknn-toolkit-lite2) runs only on aarch64 RK3588 boards, this host is {machine}; "
                "use vision_backend='onnx' here"
            ) from exc
        if sys.version_info[:2] not in RKNNLITE_PYTHONS:
            raise RuntimeLibraryError(
                f"RKNNLite is not installed, and rknn-toolkit-lite2 publishes aarch64 wheels only for Python "
                f"{', '.join('%d.%d' % v for v in RKNNLITE_PYTHONS)} (this is {sys.version.split()[0]}); "
                "create the environment with one of them (environment.yml pins 3.11)"
            ) from exc
        raise RuntimeLibraryError(
            "RKNNLite is not installed; run `pip install rknn-toolkit-lite2` on the board "
            "(it also needs /usr/lib/librknnrt.so from Rockchip's rknpu2 runtime)"
        ) from exc
    return RKNNLite


def resolve_core_mask(core_mask, cls=None) -> int:
    """``"NPU_CORE_0_1_2"`` / ``"0_1_2"`` / 7 -> the integer RKNNLite expects."""
    if isinstance(core_mask, (int, np.integer)):
        return int(core_mask)
    name = str(core_mask).strip().upper()
    if not name.startswith("NPU_CORE"):
        name = f"NPU_CORE_{name}"
    value = getattr(cls, name, None) if cls is not None else None
    if value is None:
        value = CORE_MASKS.get(name)
    if value is None:
        raise RklabError(f"core_mask {core_mask!r} is unknown; use one of {', '.join(CORE_MASKS)}")
    return int(value)


class RknnEncoder(VisionEncoder):
    backend = "rknn"

    def __init__(self, path: str | os.PathLike, *, core_mask="NPU_CORE_0_1_2", image_size: int | None = None):
        self.path = str(check_model_file(path, "rknn", what="vision encoder"))
        self._cls = import_rknnlite()
        self.core_mask_name = str(core_mask)
        self.core_mask = resolve_core_mask(core_mask, self._cls)
        self._size = (image_size, image_size) if image_size else None
        self._rknn = None
        self.load_ms = None
        self.synthetic = False
        self.runtime_version = ""

    def _load(self) -> None:
        rknn = self._cls()
        ret = rknn.load_rknn(self.path)
        if ret != 0:
            raise RklabError(f"RKNNLite.load_rknn({self.path}) returned {ret}: the file could not be read; "
                             "check that it exists and is readable")
        ret = rknn.init_runtime(core_mask=self.core_mask)
        if ret != 0:
            try:
                rknn.release()
            finally:
                raise RklabError(
                    f"RKNNLite.init_runtime(core_mask={self.core_mask_name}) returned {ret} for {self.path}: the .rknn "
                    "is corrupt or not exported for rk3588 with a matching rknn-toolkit2 (export it again), or "
                    "/usr/lib/librknnrt.so or the NPU driver (/sys/kernel/debug/rknpu/version) is missing"
                )
        self._rknn = rknn
        try:
            v = rknn.get_sdk_version()
            if v:
                self.runtime_version = " ".join(str(v).split())[:160]
        except Exception:  # a version string is nice to have, never a reason to fail
            pass
        # a real RKNNLite has no such attribute; the test double (tests/fakes/rknnlite) runs rklab's
        # synthetic encoder and says so, so its numbers are labelled synthetic like the ONNX demo's
        self.synthetic = bool(getattr(rknn, "synthetic", False))

    @property
    def input_size(self) -> tuple[int, int] | None:
        return self._size

    def _run_one(self, image: np.ndarray) -> list[np.ndarray]:
        outs = self._rknn.inference(inputs=[image], data_type="uint8", data_format="nhwc")
        if outs is None or (isinstance(outs, int) and outs != 0):
            raise RklabError(
                f"RKNNLite.inference on {self.path} returned {outs!r} for a uint8 NHWC input of shape {image.shape}: "
                "the model's input is another size (set the encoder's image size) or the NPU run failed "
                "(out of NPU memory?)"
            )
        return [np.asarray(o) for o in outs]

    def release(self) -> None:
        if self._rknn is not None:
            try:
                self._rknn.release()
            finally:
                self._rknn = None
