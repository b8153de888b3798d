"""A small ViT-shaped demo vision encoder, generated with the ``onnx`` package (random weights).

Machines without a board (and without a real VLM) still need something to run the whole
VLM pipeline end to end. rklab builds this encoder once and caches it in the model cache:

- input ``pixel_values``: uint8 NHWC ``(1, 448, 448, 3)`` — exactly what the Rockchip demo
  preprocessing produces (mean/std 0.5/0.5 normalisation is inside the graph, as in a .rknn);
- patchify: a strided convolution to a ``g x g`` grid (``n_tokens = g * g``; default 196 = 14 x 14,
  the Qwen3-VL token count per 448 px image);
- learned position embedding, ``layers`` pre-norm transformer blocks (single-head attention
  and a sigmoid-GELU MLP);
- a projector to ``width`` (default 576, the hidden size of the SmolLM2-135M demo LLM), output
  ``image_embeds`` of shape ``(n_tokens, width)``, float32. With ``outputs > 1`` the graph has
  that many outputs of the same shape (like Qwen3-VL's main + DeepStack maps).

The weights are random (seeded), so the embeddings mean nothing: the LLM's answer about the
image is noise, and every number measured with this encoder is labelled **synthetic**.
The model carries ``metadata_props`` ``rklab.synthetic = "true"`` so the encoder wrappers can
tell.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from rklab.errors import RklabError
from rklab.paths import cache_dir

DEFAULT_TOKENS = 196
DEFAULT_WIDTH = 576  # SmolLM2-135M hidden size
DEFAULT_SIZE = 448
SYNTHETIC_KEY = "rklab.synthetic"
OPSET = 17


def grid_for_tokens(n_tokens: int, image_size: int = DEFAULT_SIZE) -> tuple[int, int]:
    """(grid side g, patch size) for ``n_tokens = g*g`` patches covering the image exactly."""
    g = int(round(math.sqrt(n_tokens))) if n_tokens > 0 else 0
    if g * g != n_tokens or g == 0 or image_size % g:
        valid = [k * k for k in range(1, image_size + 1) if image_size % k == 0 and k * k <= 4096]
        raise RklabError(
            f"n_tokens {n_tokens} must be a square g*g with g dividing the image size {image_size}; "
            f"use one of {valid}"
        )
    return g, image_size // g


def synthetic_encoder_path(n_tokens: int = DEFAULT_TOKENS, width: int = DEFAULT_WIDTH, *,
                           image_size: int = DEFAULT_SIZE, outputs: int = 1, layers: int = 2,
                           dim: int = 192, seed: int = 0) -> Path:
    """Where the encoder with these settings is cached (``<cache>/synthetic-vit-...onnx``)."""
    name = f"synthetic-vit-{image_size}px-{n_tokens}x{width}-o{outputs}-l{layers}-d{dim}-s{seed}.onnx"
    return cache_dir() / name


def build_synthetic_encoder(n_tokens: int = DEFAULT_TOKENS, width: int = DEFAULT_WIDTH, *,
                            image_size: int = DEFAULT_SIZE, outputs: int = 1, layers: int = 2,
                            dim: int = 192, seed: int = 0):
    """The encoder as an ``onnx.ModelProto`` (checked with ``onnx.checker``)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    g, patch = grid_for_tokens(n_tokens, image_size)
    if width < 1 or outputs < 1 or layers < 0 or dim < 8:
        raise RklabError(f"synthetic encoder settings width={width} outputs={outputs} layers={layers} dim={dim} are invalid")
    rng = np.random.default_rng(seed)
    inits = []
    nodes = []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def rand(name, shape, fan_in):
        return const(name, (rng.standard_normal(shape) / math.sqrt(fan_in)).astype(np.float32))

    def node(op, ins, outs, **attrs):
        nodes.append(helper.make_node(op, ins, outs, **attrs))
        return outs[0]

    # uint8 NHWC -> float NCHW in [-1, 1] (Qwen3-VL style 0.5/0.5 normalisation, baked in)
    x = node("Cast", ["pixel_values"], ["x_f"], to=TensorProto.FLOAT)
    x = node("Mul", [x, const("scale", np.array(1 / 127.5, np.float32))], ["x_s"])
    x = node("Sub", [x, const("one", np.array(1.0, np.float32))], ["x_n"])
    x = node("Transpose", [x], ["x_nchw"], perm=[0, 3, 1, 2])
    # patchify: conv with kernel = stride = patch -> (1, dim, g, g)
    x = node("Conv", [x, rand("patch_w", (dim, 3, patch, patch), 3 * patch * patch),
                      const("patch_b", np.zeros(dim, np.float32))], ["patches"],
             kernel_shape=[patch, patch], strides=[patch, patch])
    x = node("Reshape", [x, const("shape_tokens", np.array([dim, n_tokens], np.int64))], ["tok_t"])
    x = node("Transpose", [x], ["tok"], perm=[1, 0])  # (T, dim)
    x = node("Add", [x, rand("pos_embed", (n_tokens, dim), 50.0)], ["tok_pos"])

    def layer_norm(inp, prefix):
        return node("LayerNormalization", [inp, const(f"{prefix}_g", np.ones(dim, np.float32)),
                                           const(f"{prefix}_b", np.zeros(dim, np.float32))],
                    [f"{prefix}_out"], axis=-1, epsilon=1e-6)

    for i in range(layers):
        p = f"l{i}"
        h = layer_norm(x, f"{p}_ln1")
        q = node("MatMul", [h, rand(f"{p}_wq", (dim, dim), dim)], [f"{p}_q"])
        k = node("MatMul", [h, rand(f"{p}_wk", (dim, dim), dim)], [f"{p}_k"])
        v = node("MatMul", [h, rand(f"{p}_wv", (dim, dim), dim)], [f"{p}_v"])
        kt = node("Transpose", [k], [f"{p}_kt"], perm=[1, 0])
        s = node("MatMul", [q, kt], [f"{p}_s"])
        s = node("Mul", [s, const(f"{p}_sc", np.array(1 / math.sqrt(dim), np.float32))], [f"{p}_ss"])
        a = node("Softmax", [s], [f"{p}_a"], axis=-1)
        o = node("MatMul", [a, v], [f"{p}_o"])
        o = node("MatMul", [o, rand(f"{p}_wo", (dim, dim), dim)], [f"{p}_proj"])
        x = node("Add", [x, o], [f"{p}_res1"])
        h = layer_norm(x, f"{p}_ln2")
        h = node("MatMul", [h, rand(f"{p}_w1", (dim, 4 * dim), dim)], [f"{p}_fc1"])
        sg = node("Sigmoid", [node("Mul", [h, const(f"{p}_gk", np.array(1.702, np.float32))], [f"{p}_hk"])], [f"{p}_sg"])
        h = node("Mul", [h, sg], [f"{p}_gelu"])  # GELU ~ x * sigmoid(1.702 x)
        h = node("MatMul", [h, rand(f"{p}_w2", (4 * dim, dim), 4 * dim)], [f"{p}_fc2"])
        x = node("Add", [x, h], [f"{p}_res2"])

    x = layer_norm(x, "final_ln")
    out_names = []
    for j in range(outputs):
        name = "image_embeds" if j == 0 else f"deepstack_{j}"
        # projector scaled so the embeddings have the spread of a small LLM's token embeddings
        w = (rng.standard_normal((dim, width)) * (0.05 / math.sqrt(dim))).astype(np.float32)
        node("MatMul", [x, const(f"proj{j}_w", w)], [name])
        out_names.append(name)

    graph = helper.make_graph(
        nodes,
        "rklab_synthetic_vit",
        [helper.make_tensor_value_info("pixel_values", TensorProto.UINT8, [1, image_size, image_size, 3])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [n_tokens, width]) for n in out_names],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="rklab", producer_version="synthetic")
    model.ir_version = 8  # readable by onnxruntime >= 1.14
    for key, value in {
        SYNTHETIC_KEY: "true",
        "rklab.n_tokens": str(n_tokens),
        "rklab.width": str(width),
        "rklab.outputs": str(outputs),
        "rklab.seed": str(seed),
        "rklab.note": "random weights: outputs are synthetic and carry no image content",
    }.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return model


def ensure_synthetic_encoder(n_tokens: int = DEFAULT_TOKENS, width: int = DEFAULT_WIDTH, *,
                             image_size: int = DEFAULT_SIZE, outputs: int = 1, layers: int = 2,
                             dim: int = 192, seed: int = 0, force: bool = False) -> Path:
    """Path of the cached synthetic encoder, building it first when absent (atomic write)."""
    import onnx

    path = synthetic_encoder_path(n_tokens, width, image_size=image_size, outputs=outputs,
                                  layers=layers, dim=dim, seed=seed)
    if path.exists() and path.stat().st_size > 0 and not force:
        return path
    model = build_synthetic_encoder(n_tokens, width, image_size=image_size, outputs=outputs,
                                    layers=layers, dim=dim, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        onnx.save(model, str(tmp))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def is_synthetic(path: str | os.PathLike) -> bool:
    """True when an ONNX file carries rklab's synthetic marker (cheap: metadata only, no weights)."""
    try:
        import onnx

        model = onnx.load(str(path), load_external_data=False)
    except Exception:
        return False
    return any(p.key == SYNTHETIC_KEY and p.value == "true" for p in model.metadata_props)
