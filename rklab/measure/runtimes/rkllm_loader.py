"""Find, check and load Rockchip's ``librkllmrt.so``, and tell which header release it was built from.

1. **Find**: ``library=`` argument, env ``RKLLM_LIB``, ``/usr/lib``, ``/usr/local/lib``,
   ``/usr/lib/aarch64-linux-gnu``, then the dynamic linker's path.
2. **ELF check before dlopen**: the file must be a shared library for this machine. Rockchip
   publishes the runtime for aarch64 and armhf Linux (and Android arm64-v8a / armeabi-v7a) only,
   so on a PC the answer is "run it on the board", not "use another build".
3. **ABI by layout** (:func:`fingerprint`): the version banner in the real library is a format
   string (``... rkllm-runtime version: %s, rknpu driver version: %s, platform: %s``), so no
   string in the file names the version. Instead rklab calls ``rkllm_createDefaultParam`` into an
   oversized buffer filled with a sentinel (twice, with two sentinels) and reads how many bytes it
   wrote and which of the SDK manual's documented defaults (tables 3-11/3-12: top_k 40, top_p 0.9,
   temperature 0.8, repeat_penalty 1.1, ...) sit at which offsets. 1.2.3's ``RKLLMParam`` is 208
   bytes with ``extend_param`` at 88; 1.3.0's is 184 bytes with ``extend_param`` at 60. The call
   goes through libffi (the library ctypes itself runs on) so that the result pointer is rklab's
   own buffer on every ABI (aarch64 passes it in x8, not as an argument). Env ``RKLLM_VERSION``
   still forces a release; a disagreeing fingerprint is then reported as a warning.
4. **Banner at init** (:func:`capture_output`, :func:`parse_banner`): ``rkllm_init`` prints the
   runtime version, the RKNPU driver version and the platform; rklab captures file descriptors 1
   and 2 around the call, echoes the text back to ``sys.stderr`` and records the three values.

The header mirrors are :mod:`rkllm_h_1_2_3` and :mod:`rkllm_h_1_3_0`; :data:`BINDINGS` maps a
release to its module.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import ctypes.util
import os
import platform
import re
import struct
import sys
import tempfile
import threading
import warnings
from ctypes import POINTER, Structure, c_size_t, c_uint, c_ushort, c_void_p
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Iterable

from rklab.errors import RuntimeLibraryError
from rklab.measure.runtimes import rkllm_h_1_2_3, rkllm_h_1_3_0

BINDINGS: dict[str, ModuleType] = {m.RELEASE: m for m in (rkllm_h_1_2_3, rkllm_h_1_3_0)}
SUPPORTED_VERSIONS = tuple(BINDINGS)
LIB_NAME = "librkllmrt.so"
SEARCH_DIRS = ("/usr/lib", "/usr/local/lib", "/usr/lib/aarch64-linux-gnu")
INSTALL_HINT = (
    "on the RK3588 board copy rkllm-runtime/Linux/librkllm_api/aarch64/librkllmrt.so from Rockchip's "
    "rknn-llm release (github.com/airockchip/rknn-llm) to /usr/lib, or set RKLLM_LIB=/path/to/librkllmrt.so"
)
# Functions rklab calls; a library lacking one of them is not a usable librkllmrt.so.
REQUIRED_FUNCTIONS = ("rkllm_createDefaultParam", "rkllm_init", "rkllm_run", "rkllm_abort", "rkllm_destroy",
                      "rkllm_clear_kv_cache")

# ELF e_machine values (System V ABI) and what this host can load.
ELF_MACHINES = {3: "x86 (32-bit)", 40: "ARM 32-bit (armhf)", 62: "x86_64", 183: "aarch64", 243: "RISC-V"}
HOST_MACHINES = {"x86_64": 62, "amd64": 62, "aarch64": 183, "arm64": 183, "armv7l": 40, "armv8l": 40}
# Rockchip's folder for each architecture it publishes (rkllm-runtime/Linux/librkllm_api/<dir>/).
ROCKCHIP_BUILDS = {183: "aarch64", 40: "armhf"}


# --------------------------------------------------------------------------- find + ELF check


def _find_in_linker_path() -> Path | None:
    """``ctypes.util.find_library`` gives a soname; resolve it to a file for the ELF check."""
    name = ctypes.util.find_library("rkllmrt")
    if not name:
        return None
    if os.path.isabs(name) and os.path.isfile(name):
        return Path(name)
    dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    dirs += ["/lib", "/usr/lib", "/lib64", "/usr/lib64", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"]
    for d in dirs:
        p = Path(d) / name
        if p.is_file():
            return p
    return None


def find_library(library: str | os.PathLike | None = None, *, search_dirs: Iterable[str] | None = None) -> Path:
    """Path of ``librkllmrt.so``: ``library``, env ``RKLLM_LIB``, the standard folders, the linker path."""
    if library:
        p = Path(library).expanduser()
        if not p.is_file():
            raise RuntimeLibraryError(f"RKLLM library {p} does not exist; {INSTALL_HINT}")
        return p
    env = os.environ.get("RKLLM_LIB")
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise RuntimeLibraryError(f"RKLLM_LIB={env} does not exist; {INSTALL_HINT}")
        return p
    dirs = tuple(SEARCH_DIRS if search_dirs is None else search_dirs)
    for d in dirs:
        p = Path(d) / LIB_NAME
        if p.is_file():
            return p
    found = _find_in_linker_path()
    if found is not None:
        return found
    raise RuntimeLibraryError(
        f"{LIB_NAME} not found (looked at RKLLM_LIB, {', '.join(dirs)} and the linker path); {INSTALL_HINT}"
    )


def check_elf(path: str | os.PathLike) -> int:
    """Refuse a file that is not an ELF library for this machine's architecture; returns e_machine."""
    p = Path(path)
    with open(p, "rb") as fh:
        head = fh.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        raise RuntimeLibraryError(f"RKLLM library {p} is not an ELF shared library; {INSTALL_HINT}")
    bits = 64 if head[4] == 2 else 32
    machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    host = platform.machine().lower()
    want = HOST_MACHINES.get(host)
    host_bits = 64 if sys.maxsize > 2**32 else 32
    if want is not None and (machine != want or bits != host_bits):
        lib_arch = ELF_MACHINES.get(machine, f"ELF machine {machine}")
        if want in ROCKCHIP_BUILDS:
            todo = (f"use Rockchip's {ROCKCHIP_BUILDS[want]} build "
                    f"(rkllm-runtime/Linux/librkllm_api/{ROCKCHIP_BUILDS[want]}/librkllmrt.so) or set RKLLM_LIB")
        else:
            todo = ("Rockchip publishes librkllmrt.so only for aarch64 and armhf boards, so RKLLM runs on the "
                    "RK3588 board; on this machine use --backend llamacpp")
        raise RuntimeLibraryError(
            f"RKLLM library {p} is built for {lib_arch} ({bits}-bit) but this machine is {host}; {todo}"
        )
    return machine


# --------------------------------------------------------------------------- ABI fingerprint

# The SDK manual's documented defaults of rkllm_createDefaultParam (tables 3-11 RKLLMParam and
# 3-12 RKLLMExtendParam, identical in the 1.2.3 and 1.3.0 manuals): (field path, value).
DOCUMENTED_DEFAULTS = (
    ("top_k", 40), ("top_p", 0.9), ("temperature", 0.8), ("repeat_penalty", 1.1), ("frequency_penalty", 0.0),
    ("presence_penalty", 0.0), ("mirostat_tau", 5.0), ("mirostat_eta", 0.1), ("extend_param.base_domain_id", 0),
    ("extend_param.enabled_cpus_num", 4), ("extend_param.n_batch", 1),
)
# The sampling defaults sit at the same offsets in both releases: they say "this is an RKLLMParam".
CORE_DEFAULTS = ("top_k", "top_p", "temperature")
PROBE_SIZE = 1024  # bytes offered to rkllm_createDefaultParam: far more than any RKLLMParam
SENTINELS = (0xA5, 0x5A)  # a byte is written unless it still holds the sentinel in both calls

_FFI_TYPE_STRUCT = 13  # ffi.h FFI_TYPE_STRUCT (stable since libffi 3.0)
# FFI_DEFAULT_ABI per machine (libffi ffitarget.h): unix64 = 2 on x86_64, sysv = 1 on aarch64, vfp = 2 on armhf.
_FFI_DEFAULT_ABI = {"x86_64": 2, "amd64": 2, "aarch64": 1, "arm64": 1, "armv7l": 2, "armv8l": 2}


class _FfiType(Structure):
    pass


_FfiType._fields_ = [("size", c_size_t), ("alignment", c_ushort), ("type", c_ushort),
                     ("elements", POINTER(POINTER(_FfiType)))]


def _libffi() -> ctypes.CDLL | None:
    """The libffi ctypes runs on (from this process's memory map), else the system's."""
    candidates = []
    try:
        with open("/proc/self/maps") as fh:
            candidates += sorted({ln.split()[-1] for ln in fh if "libffi" in ln and ln.split()[-1].startswith("/")})
    except OSError:
        pass
    found = ctypes.util.find_library("ffi")
    if found:
        candidates.append(found)
    for name in candidates:
        try:
            lib = ctypes.CDLL(name)
            lib.ffi_prep_cif, lib.ffi_call  # noqa: B018 - both must exist
            return lib
        except (OSError, AttributeError):
            continue
    return None


def call_struct_returning(fn_ptr: int, size: int, fill: int) -> bytes:
    """Call ``T fn(void)`` (T a struct returned in memory) with rklab's own ``size``-byte result buffer.

    The buffer is pre-filled with ``fill``; the callee writes only ``sizeof(T)`` bytes of it, so the
    rest keeps the sentinel. Raises OSError when libffi is not available or refuses the call.
    """
    ffi = _libffi()
    abi = _FFI_DEFAULT_ABI.get(platform.machine().lower())
    if ffi is None or abi is None:
        raise OSError(f"no libffi for {platform.machine()}")
    u64 = ctypes.cast(ctypes.addressof(ctypes.c_char.in_dll(ffi, "ffi_type_uint64")), POINTER(_FfiType))
    n = size // 8
    elements = (POINTER(_FfiType) * (n + 1))(*([u64] * n), None)
    rtype = _FfiType(0, 0, _FFI_TYPE_STRUCT, elements)
    cif = ctypes.create_string_buffer(256)  # ffi_cif is ~32 bytes plus per-arch extras; 256 covers them
    ffi.ffi_prep_cif.argtypes = [c_void_p, ctypes.c_int, c_uint, POINTER(_FfiType), c_void_p]
    ffi.ffi_prep_cif.restype = ctypes.c_int
    ffi.ffi_call.argtypes = [c_void_p, c_void_p, c_void_p, c_void_p]
    ffi.ffi_call.restype = None
    status = ffi.ffi_prep_cif(cif, abi, 0, ctypes.byref(rtype), None)
    if status != 0 or rtype.size < size:
        raise OSError(f"ffi_prep_cif returned {status}")
    buf = ctypes.create_string_buffer(bytes([fill]) * size, size)
    ffi.ffi_call(cif, fn_ptr, buf, None)
    return buf.raw


def _resolve(param_cls, dotted: str):
    """(offset, ctypes type) of a possibly nested field of ``param_cls``."""
    offset, cls = 0, param_cls
    for part in dotted.split("."):
        offset += getattr(cls, part).offset
        cls = dict(cls._fields_)[part]
    return offset, cls


def _value_at(buf: bytes, offset: int, ctype):
    fmt = {ctypes.c_int32: "<i", ctypes.c_float: "<f", ctypes.c_int8: "<b", ctypes.c_uint8: "<B"}[ctype]
    return struct.unpack_from(fmt, buf, offset)[0]


@dataclass
class AbiFingerprint:
    """What ``rkllm_createDefaultParam`` wrote, and which header release that layout is."""

    bytes_written: int | None
    defaults: dict = field(default_factory=dict)  # release -> [{field, offset, expected, found, ok}]
    release: str | None = None
    how: str = ""

    def matched(self, release: str) -> list[str]:
        return [f"{d['field']}@{d['offset']}" for d in self.defaults.get(release, []) if d["ok"]]

    def summary(self) -> str:
        if self.bytes_written is None:
            return self.how
        parts = [f"rkllm_createDefaultParam wrote {self.bytes_written} bytes"]
        for rel, mod in BINDINGS.items():
            hits = self.matched(rel)
            parts.append(f"{rel} layout ({ctypes.sizeof(mod.RKLLMParam)} bytes): {len(hits)}/"
                         f"{len(DOCUMENTED_DEFAULTS)} documented defaults in place")
        return "; ".join(parts) + (f" -> {self.release}" if self.release else " -> no release matches")

    def to_dict(self) -> dict:
        return {"bytes_written": self.bytes_written, "release": self.release, "how": self.how,
                "matched_defaults": {rel: self.matched(rel) for rel in self.defaults}}


def read_fingerprint(buf_a: bytes, buf_b: bytes) -> AbiFingerprint:
    """Decode two probe buffers (sentinels :data:`SENTINELS`) into an :class:`AbiFingerprint`."""
    written = [i for i in range(min(len(buf_a), len(buf_b))) if not (buf_a[i] == SENTINELS[0] and buf_b[i] == SENTINELS[1])]
    if not written:
        return AbiFingerprint(bytes_written=0, how="rkllm_createDefaultParam wrote nothing")
    align = ctypes.alignment(rkllm_h_1_3_0.RKLLMParam)
    n = -(-(written[-1] + 1) // align) * align  # the tail padding may be left unwritten
    fp = AbiFingerprint(bytes_written=n)
    for rel, mod in BINDINGS.items():
        rows = []
        for name, want in DOCUMENTED_DEFAULTS:
            off, ctype = _resolve(mod.RKLLMParam, name)
            found = _value_at(buf_a, off, ctype) if off + ctypes.sizeof(ctype) <= n else None
            ok = found is not None and abs(found - want) < 1e-6
            rows.append({"field": name, "offset": off, "expected": want,
                         "found": round(found, 6) if isinstance(found, float) else found, "ok": ok})
        fp.defaults[rel] = rows
    by_size = [rel for rel, mod in BINDINGS.items() if ctypes.sizeof(mod.RKLLMParam) == n]
    core_ok = {rel: all(r["ok"] for r in fp.defaults[rel] if r["field"] in CORE_DEFAULTS) for rel in BINDINGS}
    if len(by_size) == 1 and core_ok[by_size[0]]:
        rel = by_size[0]
        fp.release, fp.how = rel, f"layout: {n} bytes written, {len(fp.matched(rel))} documented defaults in place"
    else:
        ext = {rel: sum(r["ok"] for r in fp.defaults[rel] if r["field"].startswith("extend_param."))
               for rel in BINDINGS if core_ok[rel]}
        best = max(ext.values(), default=0)
        winners = [rel for rel, v in ext.items() if v == best]
        if best > 0 and len(winners) == 1:
            fp.release = winners[0]
            fp.how = (f"layout (defaults only): {n} bytes written matches no release, the extend_param defaults "
                      f"sit where {winners[0]} puts them")
        else:
            fp.how = f"{n} bytes written and the documented defaults match no supported release"
    return fp


def fingerprint(lib: ctypes.CDLL) -> AbiFingerprint:
    """Probe ``lib``'s ``rkllm_createDefaultParam`` (see the module docstring, step 3)."""
    try:
        ptr = ctypes.cast(lib.rkllm_createDefaultParam, c_void_p).value
        bufs = [call_struct_returning(ptr, PROBE_SIZE, s) for s in SENTINELS]
    except (OSError, AttributeError) as exc:
        return AbiFingerprint(bytes_written=None, how=f"fingerprint unavailable ({exc})")
    return read_fingerprint(*bufs)


# --------------------------------------------------------------------------- banner


_BANNER_RE = re.compile(r"rkllm-runtime version:\s*v?(?P<runtime>[^\s,]+),\s*rknpu driver version:\s*v?"
                        r"(?P<driver>[^\s,]+),\s*platform:\s*(?P<platform>[^\s,]+)", re.IGNORECASE)


def parse_banner(text: str) -> dict:
    """``{"runtime_version", "driver_version", "platform"}`` from the init banner, or ``{}``."""
    m = _BANNER_RE.search(text or "")
    if not m:
        return {}
    return {"runtime_version": m.group("runtime"), "driver_version": m.group("driver"),
            "platform": m.group("platform")}


_CAPTURE_LOCK = threading.Lock()


@contextlib.contextmanager
def capture_output(echo=None):
    """Capture everything written to file descriptors 1 and 2 (C code included) inside the block.

    Yields a list that holds the captured text after the block; the text is also written to
    ``echo`` (default ``sys.stderr``) so the runtime's own log stays visible.
    """
    out: list[str] = []
    libc = ctypes.CDLL(None)
    with _CAPTURE_LOCK, tempfile.TemporaryFile() as tmp:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        saved = {fd: os.dup(fd) for fd in (1, 2)}
        try:
            for fd in saved:
                os.dup2(tmp.fileno(), fd)
            yield out
        finally:
            libc.fflush(None)  # C stdio buffers (a printf without newline) go to the file first
            for fd, keep in saved.items():
                os.dup2(keep, fd)
                os.close(keep)
            tmp.seek(0)
            out.append(tmp.read().decode("utf-8", errors="replace"))
    text = out[0] if out else ""
    if text:
        with contextlib.suppress(Exception):
            (echo or sys.stderr).write(text)


# --------------------------------------------------------------------------- load


@dataclass
class RuntimeLibrary:
    """A loaded ``librkllmrt.so``, its header release and how that release was found."""

    path: Path
    release: str  # the header release whose layout is used ("1.2.3" | "1.3.0")
    release_source: str  # "layout fingerprint" | "env RKLLM_VERSION"
    binding: ModuleType  # rkllm_h_1_2_3 | rkllm_h_1_3_0
    fingerprint: AbiFingerprint
    lib: ctypes.CDLL = field(repr=False)


_PROBED: dict[str, tuple[ctypes.CDLL, AbiFingerprint]] = {}  # path -> (first handle, fingerprint)
_LOADED: dict[tuple[str, str], RuntimeLibrary] = {}  # (path, release) -> bound library
_LOAD_LOCK = threading.Lock()


def _normalize(version: str) -> str:
    return str(version).strip().lstrip("vV")


def bind(lib: ctypes.CDLL, binding: ModuleType) -> list[str]:
    """Set argtypes/restype of every function of ``binding.FUNCTIONS`` that ``lib`` exports; the missing names."""
    missing = []
    for name, (argtypes, restype) in binding.FUNCTIONS.items():
        fn = getattr(lib, name, None)
        if fn is None:
            missing.append(name)
            continue
        fn.argtypes = argtypes
        fn.restype = restype
    return missing


def select_release(fp: AbiFingerprint, path) -> tuple[str, str]:
    """``(release, source)`` from env ``RKLLM_VERSION`` (wins, with a warning if the layout disagrees) or the fingerprint."""
    env = _normalize(os.environ.get("RKLLM_VERSION", ""))
    if env:
        if env not in BINDINGS:
            raise RuntimeLibraryError(
                f"RKLLM_VERSION={env} is not a release rklab has a header for; use one of "
                f"{', '.join(SUPPORTED_VERSIONS)} (or unset it: the library's layout is detected)"
            )
        if fp.release and fp.release != env:
            warnings.warn(f"rklab: RKLLM_VERSION={env} but {path} has the {fp.release} layout ({fp.summary()}); "
                          f"using {env} as asked: a wrong layout corrupts memory", RuntimeWarning, stacklevel=3)
        return env, "env RKLLM_VERSION"
    if fp.release is None:
        raise RuntimeLibraryError(
            f"cannot tell which rkllm.h release {path} was built from ({fp.summary()}); rklab has the "
            f"{' and '.join(SUPPORTED_VERSIONS)} headers: set RKLLM_VERSION to the release you installed"
        )
    if fp.how.startswith("layout (defaults only)"):
        warnings.warn(f"rklab: {path}: {fp.how}; confirm with RKLLM_VERSION={fp.release}", RuntimeWarning,
                      stacklevel=3)
    return fp.release, "layout fingerprint"


def load_library(library: str | os.PathLike | None = None) -> RuntimeLibrary:
    """Find, check (ELF), dlopen, fingerprint and bind the runtime (cached per path and release)."""
    path = find_library(library).resolve()
    check_elf(path)
    with _LOAD_LOCK:
        probed = _PROBED.get(str(path))
        if probed is None:
            try:
                lib = ctypes.CDLL(str(path))
            except OSError as exc:
                msg = str(exc).splitlines()[0] if str(exc) else "dlopen failed"
                raise RuntimeLibraryError(f"cannot load RKLLM library {path}: {msg}; {INSTALL_HINT}") from exc
            missing = [n for n in REQUIRED_FUNCTIONS if getattr(lib, n, None) is None]
            if missing:
                raise RuntimeLibraryError(
                    f"{path} does not export {', '.join(missing)}; it is not a librkllmrt.so ({INSTALL_HINT})"
                )
            probed = _PROBED[str(path)] = (lib, fingerprint(lib))
    fp = probed[1]
    release, source = select_release(fp, path)
    with _LOAD_LOCK:
        rt = _LOADED.get((str(path), release))
        if rt is None:
            lib = ctypes.CDLL(str(path))  # the same loaded file; its own function objects for this binding
            bind(lib, BINDINGS[release])
            rt = _LOADED[(str(path), release)] = RuntimeLibrary(
                path=path, release=release, release_source=source, binding=BINDINGS[release], fingerprint=fp,
                lib=lib)
    return rt if rt.release_source == source else dataclasses.replace(rt, release_source=source)
