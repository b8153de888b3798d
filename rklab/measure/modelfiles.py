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

from rklab.errors import ModelFileError

GGUF_MAGIC = b"GGUF"
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
