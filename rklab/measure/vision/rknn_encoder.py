"""Vision encoder on the RK3588 NPU through RKNNLite (rknn-toolkit-lite2, aarch64 only).

Documented API (board-rk3588.md): ``RKNNLite()``, ``load_rknn(path)``,
``init_runtime(core_mask=RKNNLite.NPU_CORE_0_1_2)``, ``inference(inputs=[array])``,
``release()``. ``load_rknn``/``init_runtime`` return 0 on success and -1 on failure;
``inference`` returns a list of outputs or None. Every failure becomes one-line
:class:`RklabError` that says which call failed on which file.

The vision encoder must own NPU IOMMU domain 0; an RKLLM model in the same process then
uses ``base_domain_id=1`` (the VLM pipeline does that for you).
"""

from __future__ import annotations

import os
import platform

import numpy as np

from rklab.errors import RklabError, RuntimeLibraryError
from rklab.measure.modelfiles import check_model_file
from rklab.measure.vision.encoder import VisionEncoder

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
            raise RklabError(f"RKNNLite.load_rknn({self.path}) returned {ret}; the file is not an .rknn "
                             "for this toolkit version, export it again with rknn-toolkit2")
        ret = rknn.init_runtime(core_mask=self.core_mask)
        if ret != 0:
            try:
                rknn.release()
            finally:
                raise RklabError(
                    f"RKNNLite.init_runtime(core_mask={self.core_mask_name}) returned {ret} for {self.path}; "
                    "check the NPU driver (/sys/kernel/debug/rknpu/version), librknnrt.so and that the "
                    "model was exported for rk3588"
                )
        self._rknn = rknn
        for getter in ("get_sdk_version",):
            try:
                v = getattr(rknn, getter)()
                if v:
                    self.runtime_version = " ".join(str(v).split())[:160]
            except Exception:
                pass
        # a real RKNNLite has no such attribute; the test double (tests/fakes/rknnlite) runs rklab's
        # synthetic encoder and says so, so its numbers are labelled synthetic like the ONNX demo's
        self.synthetic = bool(getattr(rknn, "synthetic", False))

    @property
    def input_size(self) -> tuple[int, int] | None:
        return self._size

    def _run_one(self, image: np.ndarray) -> list[np.ndarray]:
        outs = self._rknn.inference(inputs=[image])
        if outs is None or (isinstance(outs, int) and outs != 0):
            raise RklabError(
                f"RKNNLite.inference on {self.path} returned {outs!r} for an input of shape {image.shape}; "
                "check image_size matches the encoder input and that the NPU is not out of memory"
            )
        return [np.asarray(o) for o in outs]

    def release(self) -> None:
        if self._rknn is not None:
            try:
                self._rknn.release()
            finally:
                self._rknn = None
