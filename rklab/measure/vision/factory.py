"""``open_encoder``: the vision encoder wrapper for a backend (ONNX Runtime on the CPU, RKNNLite on the NPU).

Both wrappers import their runtime (onnxruntime, rknnlite) only when an encoder is loaded, so
importing this module is cheap on any machine.
"""

from __future__ import annotations

from rklab.errors import RklabError
from rklab.measure.vision.encoder import VISION_BACKENDS, VisionEncoder
from rklab.measure.vision.onnx_encoder import OnnxEncoder
from rklab.measure.vision.rknn_encoder import RknnEncoder


def open_encoder(vision_backend: str, path, *, core_mask: str | int = "NPU_CORE_0_1_2",
                 threads: int | None = None, load: bool = True) -> VisionEncoder:
    """An ONNX Runtime or RKNNLite encoder for ``path`` (loaded, unless ``load=False``)."""
    if vision_backend == "onnx":
        enc: VisionEncoder = OnnxEncoder(path, threads=threads)
    elif vision_backend == "rknn":
        enc = RknnEncoder(path, core_mask=core_mask)
    else:
        raise RklabError(f"vision_backend {vision_backend!r} is unknown; use one of {', '.join(VISION_BACKENDS)}")
    if load:
        enc.load()
    return enc
