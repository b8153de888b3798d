"""Vision encoder on the CPU with ONNX Runtime (the demo encoder, or a real encoder's ONNX export).

On the board the real encoders run as .rknn through RKNNLite (:mod:`rklab.measure.vision.rknn_encoder`);
this wrapper has the same interface so the VLM pipeline and notebook 03 do not care which.
"""

from __future__ import annotations

import os

import numpy as np

from rklab.errors import RklabError
from rklab.measure.modelfiles import check_model_file
from rklab.measure.vision.encoder import VisionEncoder
from rklab.measure.vision.synthetic import SYNTHETIC_KEY


class OnnxEncoder(VisionEncoder):
    backend = "onnx"

    def __init__(self, path: str | os.PathLike, *, threads: int | None = None):
        self.path = str(check_model_file(path, "onnx", what="vision encoder"))
        self.threads = threads
        self._session = None
        self._input_name = ""
        self._input_shape: list = []
        self.load_ms = None
        self.synthetic = False
        import onnxruntime

        self.runtime_version = f"onnxruntime {onnxruntime.__version__}"

    def _load(self) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if self.threads:
            opts.intra_op_num_threads = int(self.threads)
        opts.log_severity_level = 3
        # No busy-waiting worker threads after a run: the LLM starts right after the encoder on the
        # same cores, and ONNX Runtime's spinning threads would steal its CPU time.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(self.path, sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise RklabError(f"vision encoder {self.path} cannot be loaded by ONNX Runtime ({first}); "
                             "check the file or export it again") from exc
        inp = self._session.get_inputs()[0]
        self._input_name = inp.name
        self._input_shape = list(inp.shape)
        if inp.type != "tensor(uint8)":
            raise RklabError(f"vision encoder {self.path} takes {inp.type}, not uint8 NHWC; "
                             "export it with the normalisation inside the graph (as the .rknn files are)")
        meta = self._session.get_modelmeta().custom_metadata_map or {}
        self.synthetic = meta.get(SYNTHETIC_KEY) == "true"

    @property
    def input_size(self) -> tuple[int, int] | None:
        if len(self._input_shape) == 4 and all(isinstance(d, int) for d in self._input_shape[1:3]):
            return int(self._input_shape[1]), int(self._input_shape[2])
        return None

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self._session.get_outputs()] if self._session else []

    def _run_one(self, image: np.ndarray) -> list[np.ndarray]:
        try:
            return list(self._session.run(None, {self._input_name: image}))
        except Exception as exc:
            first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise RklabError(f"vision encoder {self.path} failed on an input of shape {image.shape} ({first})") from exc

    def release(self) -> None:
        self._session = None
