"""The interface both vision encoder wrappers share (``open_encoder`` in :mod:`.factory` picks one).

An encoder is loaded once (timed: ``load_ms``), then ``run(batch)`` takes uint8 NHWC images
``(N, H, W, 3)`` and returns the model's outputs as a list of float32 arrays. Encoders whose
input batch is 1 (every .rknn export, the synthetic ONNX encoder) run image by image; the
per-image outputs are stacked along the first axis, so one image of a 196-token encoder gives
``(196, width)`` and N images ``(N*196, width)`` — the layout RKLLM's ``image_embed`` expects.

:meth:`VisionEncoder.geometry` reads the image geometry off the model itself, as Rockchip's
``image_enc.cc`` does: the input size from the model's input attributes (ONNX Runtime has them;
RKNNLite's Python API has no query, so there the expected size is confirmed by the probe run), and
the image tokens and embedding width from the first output's dimensions (the first one above 1 is
the token count, the next the width).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from rklab.errors import RklabError

VISION_BACKENDS = ("rknn", "onnx")  # the one list of vision backends


@dataclass
class EncoderGeometry:
    """What the encoder model says about its images (see the module docstring)."""

    input_hw: tuple[int, int]
    input_source: str  # "model input attributes" | "probe run"
    image_tokens: int
    embed_width: int
    outputs: int
    output_shapes: list


def tokens_and_width(shape) -> tuple[int, int]:
    """``image_enc.cc``'s reading of the first output's dims: the first above 1 = tokens, the next = width."""
    dims = [int(d) for d in tuple(shape)[:4]]
    for i, d in enumerate(dims):
        if d > 1:
            if i + 1 < len(dims):
                return d, dims[i + 1]
            break
    raise RklabError(f"vision encoder output of shape {tuple(shape)} has no (tokens, width) dimensions; "
                     "use an encoder exported with rklab's or Rockchip's export scripts")


class VisionEncoder(ABC):
    """load (timed) -> run(batch) -> outputs, output_shapes -> release."""

    backend: str = ""
    path: str = ""
    synthetic: bool = False  # True for rklab's random-weight demo encoder
    load_ms: float | None = None
    runtime_version: str = ""

    def load(self) -> float:
        """Load the model into the runtime; returns and stores the wall time in ms."""
        t0 = time.perf_counter_ns()
        self._load()
        self.load_ms = (time.perf_counter_ns() - t0) / 1e6
        return self.load_ms

    @abstractmethod
    def _load(self) -> None: ...

    @abstractmethod
    def _run_one(self, image: np.ndarray) -> list[np.ndarray]:
        """Outputs for one image of shape (1, H, W, 3)."""

    @abstractmethod
    def release(self) -> None:
        """Free the runtime; safe to call twice."""

    @property
    def loaded(self) -> bool:
        return self.load_ms is not None

    @property
    def input_size(self) -> tuple[int, int] | None:
        """(H, W) the encoder expects, when the runtime can tell; None otherwise."""
        return None

    first_run_ms: float | None = None  # the geometry probe: the first run after loading

    def geometry(self, expected_hw: tuple[int, int] | None = None) -> EncoderGeometry:
        """Probe the loaded model once (a grey image; timed as ``first_run_ms``) and read its geometry.

        The probe has the model's own input size, or ``expected_hw`` where the runtime cannot tell.
        """
        hw = self.input_size
        probe = tuple(hw or expected_hw or (448, 448))
        t0 = time.perf_counter_ns()
        try:
            outs = self._run_one(np.full((1, probe[0], probe[1], 3), 128, np.uint8))
        except RklabError as exc:
            if hw:
                raise
            raise RklabError(f"{exc}; the probe image had the catalog's size {probe[0]}x{probe[1]}") from exc
        self.first_run_ms = (time.perf_counter_ns() - t0) / 1e6
        tokens, width = tokens_and_width(np.shape(outs[0]))
        return EncoderGeometry(input_hw=(int(probe[0]), int(probe[1])),
                               input_source="model input attributes" if hw else "probe run",
                               image_tokens=tokens, embed_width=width, outputs=len(outs),
                               output_shapes=[list(np.shape(o)) for o in outs])

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """Encode uint8 NHWC images; a list with one float32 array per model output."""
        if not self.loaded:
            raise RklabError(f"vision encoder {self.path} is not loaded; call load() first")
        batch = np.asarray(batch)
        if batch.ndim == 3:
            batch = batch[None]
        if batch.ndim != 4 or batch.shape[-1] != 3 or batch.dtype != np.uint8:
            raise RklabError(
                f"vision encoder input has shape {batch.shape} dtype {batch.dtype}; "
                "expected uint8 NHWC (N, H, W, 3) from rklab.measure.vision.preprocess"
            )
        size = self.input_size
        if size and tuple(batch.shape[1:3]) != tuple(size):
            raise RklabError(
                f"vision encoder {self.path} expects {size[0]}x{size[1]} images, got "
                f"{batch.shape[1]}x{batch.shape[2]}; set image_size={size[0]}"
            )
        per_image = [self._run_one(np.ascontiguousarray(batch[i : i + 1])) for i in range(batch.shape[0])]
        n_out = len(per_image[0])
        return [
            np.concatenate([np.asarray(outs[j], dtype=np.float32).reshape(-1, outs[j].shape[-1])
                            for outs in per_image], axis=0)
            for j in range(n_out)
        ]

    def output_shapes(self, batch: np.ndarray | None = None) -> list[tuple[int, ...]]:
        """Shapes of the outputs for one image (runs a grey image when no batch is given)."""
        if batch is None:
            h, w = self.input_size or (448, 448)
            batch = np.full((1, h, w, 3), 128, np.uint8)
        return [tuple(o.shape) for o in self.run(batch[:1])]

    def describe(self) -> dict:
        return {"backend": self.backend, "path": self.path, "synthetic": self.synthetic,
                "load_ms": self.load_ms, "runtime_version": self.runtime_version}

    def __enter__(self):
        if not self.loaded:
            self.load()
        return self

    def __exit__(self, *exc):
        self.release()
        return False
