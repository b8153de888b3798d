"""Model-file checks before anything is loaded: exists, not empty, plausible size, right format.

Magic numbers:
- GGUF: the file starts with ``b"GGUF"`` (llama.cpp's GGUF spec).
- RKNN: ``.rknn`` files exported by rknn-toolkit2 start with ``b"RKNN"`` (inferred from
  files in Rockchip's model zoo; check on the board before relying on it).
- ONNX: a protobuf ``ModelProto``; the first field written is ``ir_version`` (tag byte 0x08).
- RKLLM: Rockchip does not document a magic for ``.rkllm``; rklab only refuses files that are
  clearly something else (GGUF, RKNN, ONNX, zip, text) or too small to hold a model.

The content hash is fast on multi-GB files: sha256 over the size plus the first and last
1 MiB. It identifies a file for the records, it is not a security checksum.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from rklab.errors import ModelFileError, RklabError
from rklab.nbparams import INT32_MAX
from rklab.predict.catalog import get_model
from rklab.predict.feasibility import check_context as check_rkllm_context, check_positions
from rklab.predict.gguf_file import GGUF_FILE_TYPE_NAMES, GGUF_MAGIC, file_type_name, read_gguf_header
from rklab.predict.memory import DTYPES, weight_bytes
from rklab.predict.params import count

RKNN_MAGIC = b"RKNN"
ZIP_MAGIC = b"PK\x03\x04"
HASH_BLOCK = 1 << 20

# Smallest plausible file per format (a tiny demo GGUF is ~100 MB; a synthetic ONNX a few MB).
MIN_SIZE = {"gguf": 1 << 20, "rkllm": 16 << 20, "rknn": 1 << 20, "onnx": 1 << 10}

WHERE_TO_GET = {
    "gguf": "download the .gguf (see the plan entry's source) or convert it with llama.cpp; for the demo model run `rklab models fetch-demo`",
    "rkllm": "download the .rkllm from Rockchip's model zoo or convert it with rkllm-toolkit",
    "rknn": "download the vision encoder .rknn from the model's page or export it with rknn-toolkit2",
    "onnx": "run `rklab bench vlm --demo` once to generate the synthetic demo encoder",
}


def sniff_format(path: str | os.PathLike) -> str:
    """Best guess of a file's format from its first bytes: gguf, rknn, onnx, zip, text, or unknown."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head.startswith(GGUF_MAGIC):
        return "gguf"
    if head.startswith(RKNN_MAGIC):
        return "rknn"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head[:1] == b"\x08" and len(head) > 2:
        return "onnx"
    try:
        head.decode("ascii")
        if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
            return "text"
    except UnicodeDecodeError:
        pass
    return "unknown"


def check_model_file(path: str | os.PathLike, expected: str, *, what: str = "model file") -> Path:
    """Validate a model file for ``expected`` format (gguf | rkllm | rknn | onnx).

    Raises :class:`ModelFileError` with one line naming the file and what to do.
    """
    p = Path(path).expanduser()
    hint = WHERE_TO_GET.get(expected, "")
    if not p.exists():
        raise ModelFileError(f"{what} {p} does not exist; {hint}")
    if p.is_dir():
        raise ModelFileError(f"{what} {p} is a directory, expected a .{expected} file")
    size = p.stat().st_size
    if size == 0:
        raise ModelFileError(f"{what} {p} is empty (0 bytes); download it again ({hint})")
    try:
        found = sniff_format(p)
    except OSError as exc:
        raise ModelFileError(f"{what} {p} cannot be read ({exc.strerror}); check its permissions") from exc
    if expected == "rkllm":
        if found in ("gguf", "rknn", "onnx", "zip", "text"):
            raise ModelFileError(
                f"{what} {p} looks like a {found} file, not an .rkllm model; "
                f"give the RKLLM backend a .rkllm file ({hint})"
            )
    elif found != expected:
        raise ModelFileError(
            f"{what} {p} is not a {expected.upper()} file (its first bytes look like {found}); {hint}"
        )
    if size < MIN_SIZE.get(expected, 0):
        raise ModelFileError(
            f"{what} {p} is only {size} bytes, too small for a .{expected} model (truncated download?); {hint}"
        )
    return p


def content_hash(path: str | os.PathLike) -> str:
    """Fast identity of a (possibly multi-GB) file: sha256 of size + first and last 1 MiB."""
    p = Path(path)
    size = p.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(p, "rb") as fh:
        h.update(fh.read(HASH_BLOCK))
        if size > HASH_BLOCK:
            fh.seek(max(size - HASH_BLOCK, HASH_BLOCK))
            h.update(fh.read(HASH_BLOCK))
    return f"sha256-ht:{h.hexdigest()[:32]}"


def describe(path: str | os.PathLike) -> dict:
    """Identity of a model file for a record: path, size and content hash."""
    p = Path(path).expanduser().resolve()
    return {"path": str(p), "size_bytes": p.stat().st_size, "hash": content_hash(p)}


# --------------------------------------------------------------------------- GGUF metadata
def gguf_summary(path: str | os.PathLike) -> dict:
    """What identifies a GGUF model: architecture, name, size label, block count, width, trained
    context, file type and parameter count."""
    h = read_gguf_header(path)
    m = h.metadata
    file_type = m.get("general.file_type")
    return {
        "architecture": h.architecture or "",
        "name": m.get("general.name"),
        "size_label": m.get("general.size_label"),
        "block_count": h.arch_value("block_count"),
        "embedding_length": h.arch_value("embedding_length"),
        "context_length": h.arch_value("context_length"),
        "file_type": file_type_name(file_type) or file_type,
        "n_params": h.n_params,
    }


# --------------------------------------------------------------------------- is it the model the plan names?
PARAMS_TOLERANCE = 0.10  # GGUF tensors vs the catalog's parameter count (a few small extra tensors are normal)
SIZE_RANGE = (0.5, 2.0)  # .rkllm / .rknn file size vs the predicted weights (inferred: no documented layout)
FORCE_HINT = {"notebook": "set force_model=True to measure it anyway",
              "cli": "add --force-model to measure it anyway",
              "plan": "set force_model: true in the plan entry to measure it anyway"}


def _fmt_params(n: float) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.0f}M"


def check_identity(path: str | os.PathLike, fmt: str, model: str, dtype: str | None = None, *,
                   part: str = "llm") -> dict:
    """Is the file at ``path`` (format ``fmt``) the catalog model ``model``?

    Returns ``{"status": "match" | "mismatch" | "unchecked", "reason": str, "found": {...},
    "expected": {...}}``. GGUF: block count, width and parameter count from the header against the
    catalog (and the quantisation when ``dtype`` names a GGUF type). ``.rkllm`` / ``.rknn``: no
    documented header fields, so the file size against the engine's predicted weights (``part`` =
    ``"vision"`` for an encoder), within :data:`SIZE_RANGE`. ``unchecked`` when the model is not in
    the catalog (the reason says so).
    """
    p = Path(path)
    try:
        spec = get_model(model)
    except RklabError:
        return {"status": "unchecked", "reason": f"{model!r} is not in the catalog (data/models.yaml)", "found": {},
                "expected": {}}
    c = count(spec)
    if fmt == "gguf":
        found = gguf_summary(p)
        expected = {"block_count": spec.layers, "embedding_length": spec.hidden, "n_params": c.llm}
        problems = []
        if found["block_count"] is not None and found["block_count"] != spec.layers:
            problems.append(f"{found['block_count']} blocks, the catalog's {spec.name} has {spec.layers} layers")
        if found["embedding_length"] is not None and found["embedding_length"] != spec.hidden:
            problems.append(f"width {found['embedding_length']}, {spec.name} has {spec.hidden}")
        if abs(found["n_params"] - c.llm) > PARAMS_TOLERANCE * c.llm:
            problems.append(f"{_fmt_params(found['n_params'])} parameters, {spec.name} has {_fmt_params(c.llm)}")
        if dtype and dtype.lower() in GGUF_FILE_TYPE_NAMES and isinstance(found["file_type"], str) \
                and found["file_type"] != dtype.lower():
            problems.append(f"quantisation {found['file_type']}, expected {dtype}")
        what = f"architecture {found['architecture'] or '?'}" + (f", '{found['name']}'" if found["name"] else "")
        if problems:
            return {"status": "mismatch", "found": found, "expected": expected,
                    "reason": f"its GGUF header says {what}: " + "; ".join(problems)}
        return {"status": "match", "found": found, "expected": expected, "reason": f"GGUF header: {what}"}
    size = p.stat().st_size
    if fmt == "rkllm":
        if dtype not in DTYPES:
            return {"status": "unchecked", "reason": f"no size prediction for dtype {dtype!r}", "found": {"size_bytes": size},
                    "expected": {}}
        predicted, what = weight_bytes(spec, dtype) + 2 * c.embedding, f"{spec.name} {dtype} weights"
    elif fmt == "rknn" and part == "vision" and spec.vision is not None:
        predicted, what = 2 * spec.vision.params, f"{spec.name}'s vision encoder in fp16"
    else:
        return {"status": "unchecked", "reason": f"no size prediction for a .{fmt} of {spec.name}",
                "found": {"size_bytes": size}, "expected": {}}
    lo, hi = SIZE_RANGE[0] * predicted, SIZE_RANGE[1] * predicted
    found, expected = {"size_bytes": size}, {"size_bytes_min": int(lo), "size_bytes_max": int(hi)}
    if not lo <= size <= hi:
        return {"status": "mismatch", "found": found, "expected": expected,
                "reason": f"it is {size / 1e6:,.0f} MB, but {what} are predicted at {predicted / 1e6:,.0f} MB "
                          f"(accepted {lo / 1e6:,.0f}-{hi / 1e6:,.0f} MB)"}
    return {"status": "match", "found": found, "expected": expected,
            "reason": f"{size / 1e6:,.0f} MB, predicted {predicted / 1e6:,.0f} MB for {what}"}


class ModelMismatch(ModelFileError):
    """The model file is not the model the plan or the notebook names."""


def require_identity(path: str | os.PathLike, fmt: str, model: str, dtype: str | None = None, *,
                     force: bool = False, how: str = "notebook", part: str = "llm", what: str = "model file") -> dict:
    """:func:`check_identity`, raising :class:`ModelMismatch` on a mismatch unless ``force``; the
    returned dict (with ``forced``) goes into the records' ``model.identity``."""
    ident = check_identity(path, fmt, model, dtype, part=part)
    if ident["status"] == "mismatch":
        if not force:
            raise ModelMismatch(f"{what} {path} is not {model}: {ident['reason']}; give the right file, "
                                f"or {FORCE_HINT[how]}")
        ident["forced"] = True
    return ident


def check_context(max_context: int, model: str | None, path: str | os.PathLike, fmt: str, *,
                  option: str = "--context") -> None:
    """Refuse, before loading, a context the model cannot take: for a catalog model its maximum positions
    (``.rkllm``: all of RKLLM's rules, exactly as ``rklab estimate`` applies them), else a GGUF's trained
    ``context_length``; and never more than a C int (the runtimes take it as int32: 10**12 would wrap)."""
    try:
        spec = get_model(model) if model else None
    except RklabError:
        spec = None
    if spec is not None and fmt == "rkllm":
        check_rkllm_context(spec, max_context, option)  # RKLLM's rules, as `rklab estimate` applies them
    elif spec is not None:
        check_positions(spec, max_context, option)  # llama.cpp takes any context up to the model's positions
    elif fmt == "gguf":
        trained = gguf_summary(path)["context_length"]
        if isinstance(trained, int) and max_context > trained:
            raise RklabError(f"{option} {max_context} is over the model's trained context of {trained} tokens "
                             f"(context_length in {Path(path).name}); lower {option}")
    if max_context > INT32_MAX:
        raise RklabError(f"{option} {max_context} is more than the runtimes accept ({INT32_MAX}); "
                         f"lower {option}")
