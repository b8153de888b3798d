"""The header of a GGUF file: its metadata and tensor table, read without touching the weights.

rklab's one GGUF reader: the model-identity check before loading (:mod:`rklab.measure.modelfiles`)
and the llama.cpp memory prediction (:mod:`rklab.predict.cpu`) both use it. The format's definitions
(value types, tensor types and their block sizes, llama.cpp's file types) come from the ``gguf``
package that llama.cpp publishes; only the walk over the header bytes is rklab's.

Why not ``gguf.GGUFReader``: it builds a numpy view of every array element when it opens a file, so
the demo model's 49,152-token vocabulary takes about 6 s to open on 2 cores (Qwen3's 151,936 tokens
about three times that), which is too slow for a check that runs before every benchmark. This walk
keeps only the length of the arrays it does not need and takes about 0.15 s on the same file.
``tests/test_gguf_file.py`` checks it against ``GGUFReader`` on the demo model.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import gguf

from rklab.errors import ModelFileError

GGUF_MAGIC = b"GGUF"
READABLE_VERSIONS = (2, 3)
REDOWNLOAD = "download it again or convert it again with llama.cpp"
MAX_KEPT_ARRAY = 1024  # numeric arrays up to this length (per-layer head counts) keep their values

_V = gguf.GGUFValueType
_SCALAR_FORMATS = {_V.UINT8: "<B", _V.INT8: "<b", _V.UINT16: "<H", _V.INT16: "<h", _V.UINT32: "<I",
                   _V.INT32: "<i", _V.FLOAT32: "<f", _V.BOOL: "<?", _V.UINT64: "<Q", _V.INT64: "<q",
                   _V.FLOAT64: "<d"}


def _file_type_names() -> frozenset[str]:
    return frozenset(file_type_name(int(ft)) for ft in gguf.LlamaFileType if ft != gguf.LlamaFileType.GUESSED)


def file_type_name(number: int | None) -> str | None:
    """llama.cpp's ``general.file_type`` as rklab spells a GGUF dtype (``3`` -> ``"q4_1"``)."""
    try:
        name = gguf.LlamaFileType(int(number)).name
    except (TypeError, ValueError):
        return None
    return name.removeprefix("MOSTLY_").removeprefix("ALL_").lower()


GGUF_FILE_TYPE_NAMES = _file_type_names()  # {"f32", "f16", "q4_0", "q4_1", "q8_0", ..., "q4_k_m", ...}


@dataclass(frozen=True)
class GgufTensor:
    name: str
    shape: tuple[int, ...]
    type: gguf.GGMLQuantizationType

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def n_bytes(self) -> int:
        block, size = gguf.GGML_QUANT_SIZES[self.type]
        return self.n_elements * size // block


@dataclass(frozen=True)
class GgufHeader:
    """``metadata``: key -> value; a numeric array of up to :data:`MAX_KEPT_ARRAY` values is a list,
    a longer or a string array (the tokenizer's) is ``{"array_of": n}`` (its length only)."""

    path: Path
    version: int
    metadata: dict = field(repr=False)
    tensors: tuple[GgufTensor, ...] = field(repr=False)

    @property
    def n_params(self) -> int:
        return sum(t.n_elements for t in self.tensors)

    @property
    def architecture(self) -> str | None:
        arch = self.metadata.get("general.architecture")
        return str(arch) if arch else None

    def arch_value(self, key: str, default=None):
        """``<architecture>.<key>`` (e.g. ``block_count``)."""
        return self.metadata.get(f"{self.architecture}.{key}", default)


class _Cursor:
    """Walks the header in a memory map; running past the end is a ModelFileError."""

    def __init__(self, path: Path, buf):
        self.path, self.buf, self.pos = path, buf, 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise ModelFileError(f"model file {self.path} ends inside its GGUF header (byte {self.pos}); {REDOWNLOAD}")
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += size
        return value

    def string(self) -> str:
        n = self.take("<Q")
        if self.pos + n > len(self.buf):
            self.take(f"<{n}s")  # raises the ModelFileError above
        raw = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def value(self, vtype: int):
        try:
            vtype = _V(vtype)
        except ValueError:
            raise ModelFileError(f"model file {self.path} has an unknown GGUF value type {vtype}; "
                                 "it is damaged or newer than the gguf package rklab reads it with") from None
        if vtype in _SCALAR_FORMATS:
            return self.take(_SCALAR_FORMATS[vtype])
        if vtype == _V.STRING:
            return self.string()
        etype, n = self.take("<I"), self.take("<Q")
        if etype in _SCALAR_FORMATS.keys() and n <= MAX_KEPT_ARRAY:  # per-layer values: kept
            return [self.value(etype) for _ in range(n)]
        if etype in _SCALAR_FORMATS.keys():  # token scores and types: skipped, length kept
            self.pos += n * struct.calcsize(_SCALAR_FORMATS[_V(etype)])
        else:  # strings (tokens, merges): walked, length kept
            for _ in range(n):
                self.value(etype)
        return {"array_of": n}

    def tensor(self) -> GgufTensor:
        name = self.string()
        shape = tuple(self.take("<Q") for _ in range(self.take("<I")))
        raw_type = self.take("<I")
        self.take("<Q")  # data offset
        try:
            qtype = gguf.GGMLQuantizationType(raw_type)
        except ValueError:
            raise ModelFileError(f"model file {self.path}: tensor {name} has an unknown type {raw_type}; "
                                 "it is newer than the gguf package rklab reads it with") from None
        return GgufTensor(name, shape, qtype)


def read_gguf_header(path: str | os.PathLike) -> GgufHeader:
    """The metadata and tensor table of a GGUF file (fast on a multi-GB file: no weight is read)."""
    p = Path(path)
    try:
        with open(p, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            cur = _Cursor(p, buf)
            if cur.take("4s") != GGUF_MAGIC:
                raise ModelFileError(f"model file {p} is not a GGUF file (no GGUF magic); {REDOWNLOAD}")
            version = cur.take("<I")
            if version not in READABLE_VERSIONS:
                raise ModelFileError(f"model file {p} is GGUF version {version}, which llama.cpp no longer reads "
                                     "(v2/v3 are); convert it again with a current llama.cpp")
            n_tensors, n_kv = cur.take("<Q"), cur.take("<Q")
            metadata = {}
            for _ in range(n_kv):
                key = cur.string()
                metadata[key] = cur.value(cur.take("<I"))
            tensors = tuple(cur.tensor() for _ in range(n_tensors))
    except ValueError as exc:  # mmap of an empty file
        raise ModelFileError(f"model file {p} is empty or unreadable ({exc}); {REDOWNLOAD}") from None
    return GgufHeader(p, version, metadata, tensors)
