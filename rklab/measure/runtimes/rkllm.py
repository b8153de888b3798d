"""Rockchip RKLLM runtime (``librkllmrt.so``, NPU) behind rklab's :class:`~rklab.measure.runtimes.base.Backend`.

Three steps, each with a one-line error for the user:

1. **Find the library**: ``library=`` argument, env ``RKLLM_LIB``, then ``/usr/lib``,
   ``/usr/local/lib``, ``/usr/lib/aarch64-linux-gnu``, then the dynamic linker's path
   (``ctypes.util.find_library("rkllmrt")``).
2. **Check it before dlopen**: the ELF header must name this machine's architecture (an
   aarch64 library on an x86_64 PC, or an armhf one on the board, is refused with a clear line
   instead of a cryptic dlopen error).
3. **Pick the ABI**: releases 1.2.3 and 1.3.0 lay out their structs differently, so the
   runtime version decides which ctypes mirror (:mod:`rklab.measure.runtimes.rkllm_abi`) is used.
   Env ``RKLLM_VERSION`` wins; otherwise the version is read from the library file itself.
   The real runtime logs ``rkllm-runtime version: 1.2.3, rknpu driver version: ...`` at init,
   so the file holds that banner. Whether the number sits in the same string or is filled
   into a ``%s`` at run time is not documented (inferred), so the search is, in order:
   (a) ``rkllm-runtime version: X.Y.Z`` in one string, (b) exactly one NUL-delimited
   standalone ``X.Y.Z`` string that is a supported release, (c) ``rkllm`` followed within 48
   characters by ``X.Y.Z``. If none matches, set ``RKLLM_VERSION``.

The :class:`RKLLM` class runs ``rkllm_run`` (synchronous; the result callback fires on the
calling thread) in a worker thread while the main thread waits, so Ctrl-C and
:meth:`RKLLM.abort` can call ``rkllm_abort``. Token timestamps are ``time.perf_counter_ns()``
taken as the first statement of the callback.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import platform
import re
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Iterable, Sequence

import numpy as np

from rklab.errors import RklabError, RuntimeLibraryError
from rklab.measure.modelfiles import check_model_file
from rklab.measure.runtimes import rkllm_abi as _abi
from rklab.measure.runtimes.base import IMAGE_PLACEHOLDER, GenerationResult, MultimodalInput, RuntimePerf

LIB_NAME = "librkllmrt.so"
SEARCH_DIRS = ("/usr/lib", "/usr/local/lib", "/usr/lib/aarch64-linux-gnu")
SUPPORTED_VERSIONS = _abi.SUPPORTED_VERSIONS
INSTALL_HINT = (
    "on the RK3588 board copy rkllm-runtime/Linux/librkllm_api/aarch64/librkllmrt.so from Rockchip's "
    "rknn-llm release (github.com/airockchip/rknn-llm) to /usr/lib, or set RKLLM_LIB=/path/to/librkllmrt.so"
)
# A text prompt cannot be tokenized here (no tokenizer API in 1.2.3), so before a run rklab only
# refuses prompts that cannot fit even at this many UTF-8 bytes per token (byte-level BPE
# tokens are much shorter on average; this catches only clearly oversized prompts).
MAX_BYTES_PER_TOKEN = 16

# ELF e_machine values (System V ABI) and what this host can load.
ELF_MACHINES = {3: "x86 (32-bit)", 40: "ARM 32-bit (armhf)", 62: "x86_64", 183: "aarch64", 243: "RISC-V"}
HOST_MACHINES = {"x86_64": 62, "amd64": 62, "aarch64": 183, "arm64": 183, "armv7l": 40, "armv8l": 40}

_VERSION_NUM = rb"v?(\d+\.\d+\.\d+)"
_BANNER_RE = re.compile(rb"rkllm[-_ ]?runtime[-_ ]?version[:=\s]*" + _VERSION_NUM, re.IGNORECASE)
_STANDALONE_RE = re.compile(rb"(?<=\x00)" + _VERSION_NUM + rb"(?=\x00)")
_NEAR_RE = re.compile(rb"rkllm[^\x00\n]{0,48}?" + _VERSION_NUM, re.IGNORECASE)


class RKLLMRunError(RklabError, RuntimeError):
    """rkllm_init or rkllm_run failed (the message names the model, the call and the state)."""


# --------------------------------------------------------------------------- ABI by version

_ABIS: dict[str, SimpleNamespace] = {}


def _normalize_version(version: str) -> str:
    return str(version).strip().lstrip("vV")


def abi_for(version: str) -> SimpleNamespace:
    """The ctypes types of one runtime release, named after the C typedefs (``RKLLMParam``, ...).

    Unknown versions raise :class:`RuntimeLibraryError` listing the supported ones.
    """
    v = _normalize_version(version)
    if v not in SUPPORTED_VERSIONS:
        raise RuntimeLibraryError(
            f"RKLLM runtime version {version!r} is not supported; supported: {', '.join(SUPPORTED_VERSIONS)} "
            "(install one of them on the board, or set RKLLM_VERSION if detection was wrong)"
        )
    if v not in _ABIS:
        _ABIS[v] = _abi.build_abi(v)
    return _ABIS[v]


# --------------------------------------------------------------------------- library lookup


def _find_in_linker_path() -> Path | None:
    """``ctypes.util.find_library`` gives a soname; resolve it to a file for the ELF/version checks."""
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
        if machine == 183 and want != 183:
            todo = "RKLLM runs only on the aarch64 board; run there, or use --backend llamacpp on this machine"
        else:
            todo = f"use the {host} build (rkllm-runtime/Linux/librkllm_api/aarch64/ on the board) or set RKLLM_LIB"
        raise RuntimeLibraryError(
            f"RKLLM library {p} is built for {lib_arch} ({bits}-bit) but this machine is {host}; {todo}"
        )
    return machine


# Detection sources: the banner is conclusive; the other two are heuristics (see module docstring).
SOURCE_BANNER = "embedded"
SOURCE_STANDALONE = "embedded (heuristic: standalone version string)"
SOURCE_NEAR = "embedded (heuristic: version near 'rkllm')"


def _embedded_version_and_source(path: str | os.PathLike) -> tuple[str | None, str | None]:
    with open(path, "rb") as fh:
        try:
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file
            return None, None
        with data:
            m = _BANNER_RE.search(data)
            if m:
                return m.group(1).decode(), SOURCE_BANNER
            standalone = {v.decode() for v in _STANDALONE_RE.findall(data)}
            supported = sorted(standalone & set(SUPPORTED_VERSIONS))
            if len(supported) == 1:
                return supported[0], SOURCE_STANDALONE
            m = _NEAR_RE.search(data)
            if m:
                return m.group(1).decode(), SOURCE_NEAR
    return None, None


def embedded_version(path: str | os.PathLike) -> str | None:
    """The runtime version found in the library file (see the module docstring), or None."""
    return _embedded_version_and_source(path)[0]


def detect_version(path: str | os.PathLike) -> tuple[str, str]:
    """``(version, source)``: env ``RKLLM_VERSION`` (source "env RKLLM_VERSION") or the library file.

    Source ``"embedded"`` means the ``rkllm-runtime version:`` banner matched; when only a weaker
    heuristic matched, the source says which and a warning asks the user to confirm with
    ``RKLLM_VERSION`` — a wrong struct layout corrupts memory instead of failing cleanly.
    """
    env = os.environ.get("RKLLM_VERSION", "").strip()
    if env:
        return _normalize_version(env), "env RKLLM_VERSION"
    found, source = _embedded_version_and_source(path)
    if found is None:
        raise RuntimeLibraryError(
            f"cannot tell the runtime version of {path} (no 'rkllm-runtime version' string found); "
            f"set RKLLM_VERSION to one of {', '.join(SUPPORTED_VERSIONS)}"
        )
    if source != SOURCE_BANNER:
        import warnings

        warnings.warn(
            f"rklab: guessed RKLLM runtime {found} for {path} from a weak hint ({source}); a wrong guess "
            f"corrupts memory, so confirm it by setting RKLLM_VERSION={found} (or the right release)",
            RuntimeWarning, stacklevel=2,
        )
    return found, source


@dataclass
class RuntimeLibrary:
    """A loaded ``librkllmrt.so`` with prototypes set for its release."""

    path: Path
    version: str
    version_source: str
    abi: SimpleNamespace
    lib: ctypes.CDLL = field(repr=False)


_LOADED: dict[tuple[str, str], RuntimeLibrary] = {}
_LOAD_LOCK = threading.Lock()


def load_library(library: str | os.PathLike | None = None) -> RuntimeLibrary:
    """Find, check (ELF, version) and dlopen the runtime; set argtypes/restype for its release."""
    path = find_library(library).resolve()
    check_elf(path)
    version, source = detect_version(path)
    abi = abi_for(version)
    key = (str(path), abi.version)
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as exc:
            msg = str(exc).splitlines()[0] if str(exc) else "dlopen failed"
            raise RuntimeLibraryError(f"cannot load RKLLM library {path}: {msg}; {INSTALL_HINT}") from exc
        missing = _abi.apply_prototypes(lib, abi)
        if missing:
            raise RuntimeLibraryError(
                f"{path} does not export {', '.join(missing)}; it is not a librkllmrt.so ({INSTALL_HINT})"
            )
        rt = RuntimeLibrary(path=path, version=abi.version, version_source=source, abi=abi, lib=lib)
        _LOADED[key] = rt
        return rt


# --------------------------------------------------------------------------- high-level class


class _Run:
    """State of one rkllm_run, shared between the callback (worker thread) and generate()."""

    def __init__(self, limit: int | None):
        self.limit = limit  # enforce this many tokens by rkllm_abort (1.2.3 only), else None
        self.token_ns: list[int] = []
        self.token_ids: list[int] = []
        self.chunks: list[bytes] = []
        self.states: dict[str, int] = {}
        self.perf: RuntimePerf | None = None
        self.limit_hit = False
        self.after_limit = 0
        self.error_state = False
        self.finished = False
        self.exc: BaseException | None = None
        self.rc: int | None = None
        self.start_ns = 0
        self.end_ns = 0
        self.done = False
        self.wake = threading.Event()


def _cpu_mask_bits(cpu_mask) -> int:
    if isinstance(cpu_mask, int):
        mask = cpu_mask
    else:
        mask = 0
        for cpu in cpu_mask:
            if not 0 <= int(cpu) < 32:
                raise RklabError(f"cpu_mask lists CPU {cpu}; give CPU numbers 0-7 (RK3588: 4-7 are the A76 cores)")
            mask |= 1 << int(cpu)
    if not 0 < mask < 2**32:
        raise RklabError(f"cpu_mask={cpu_mask!r} selects no CPU; give a bit mask like 0xF0 or CPU numbers like [4, 5, 6, 7]")
    return mask


def _positive_int(name: str, value) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        v = 0
    if v <= 0 or v >= 2**31:
        raise RklabError(f"{name}={value!r} must be a positive integer")
    return v


class RKLLM:
    """An ``.rkllm`` model loaded in Rockchip's runtime (one ``rkllm_init`` handle).

    Sampling values left as None keep the runtime's own defaults (``rkllm_createDefaultParam``).
    ``ignore_eos`` is a load-time setting (``RKLLMParam.ignore_eos_token``) that exists only
    in 1.3.0; on 1.2.3 generation can stop at EOS and the actual count is recorded.
    On 1.2.3 ``max_new_tokens`` is also fixed at load: a ``generate`` asking for fewer tokens is
    cut by ``rkllm_abort`` after that many tokens (the runtime's own generate counters may then
    include the few tokens produced before the abort took effect, or be missing); asking for
    more is refused. :meth:`set_max_new_tokens` reloads with an exact limit instead.
    """

    name = "rkllm"

    def __init__(
        self,
        model_path,
        *,
        max_context: int = 4096,
        max_new_tokens: int = 512,
        top_k: int = 1,
        top_p: float | None = None,
        temperature: float | None = None,
        repeat_penalty: float | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        base_domain_id: int = 0,
        cpu_mask: int | Sequence[int] | None = None,
        embed_flash: int = 1,
        img_start: str = "",
        img_end: str = "",
        img_content: str = "",
        ignore_eos: bool = True,
        library: str | os.PathLike | None = None,
    ):
        self._handle: int | None = None
        self._close_lock = threading.Lock()
        self._gen_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._abort_requested = threading.Event()
        self._run: _Run | None = None
        self.load_ms: float | None = None
        self.max_context = _positive_int("max_context", max_context)
        self.max_new_tokens = _positive_int("max_new_tokens", max_new_tokens)
        if int(base_domain_id) < 0:
            raise RklabError(f"base_domain_id={base_domain_id!r} must be 0 or more (1 when a vision encoder shares the NPU)")
        self.model_path = str(check_model_file(model_path, "rkllm"))

        rt = load_library(library)
        self._rt = rt
        self._lib = rt.lib
        self._abi = abi = rt.abi
        self.runtime_version = rt.version
        self._v130 = rt.version == "1.3.0"
        self.ignore_eos = bool(ignore_eos) if self._v130 else False
        self._img_tags = (img_start or "", img_end or "", img_content or "")

        param = self._lib.rkllm_createDefaultParam()
        param.model_path = self.model_path.encode()
        param.max_context_len = self.max_context
        param.max_new_tokens = self.max_new_tokens
        param.top_k = int(top_k)
        for name, value in (
            ("top_p", top_p),
            ("temperature", temperature),
            ("repeat_penalty", repeat_penalty),
            ("frequency_penalty", frequency_penalty),
            ("presence_penalty", presence_penalty),
        ):
            if value is not None:
                setattr(param, name, float(value))
        param.is_async = False
        if self._v130:
            param.ignore_eos_token = self.ignore_eos
        else:
            param.img_start = self._img_tags[0].encode()
            param.img_end = self._img_tags[1].encode()
            param.img_content = self._img_tags[2].encode()
        ext = param.extend_param
        ext.base_domain_id = int(base_domain_id)
        ext.embed_flash = int(embed_flash)
        if cpu_mask is not None:
            mask = _cpu_mask_bits(cpu_mask)
            ext.enabled_cpus_mask = mask
            ext.enabled_cpus_num = bin(mask).count("1")
        self._param = param  # keeps the strings it points to alive for the handle's life

        # The callback must outlive the handle; it holds only a weak reference to self so that
        # an unclosed RKLLM can still be collected (and destroyed) by __del__.
        self_ref = weakref.ref(self)

        def _result_callback(result, userdata, state):
            t_ns = time.perf_counter_ns()
            obj = self_ref()
            return obj._on_result(t_ns, result, state) if obj is not None else 0

        self._callback = abi.LLMResultCallback(_result_callback)
        if self._v130:
            self._callbacks = abi.RKLLMCallback()
            self._callbacks.result_callback = self._callback
        self._init_handle()

    def _init_handle(self) -> None:
        handle = ctypes.c_void_p()
        t0 = time.perf_counter_ns()
        if self._v130:
            rc = self._lib.rkllm_init(ctypes.byref(handle), ctypes.byref(self._param), ctypes.byref(self._callbacks))
        else:
            rc = self._lib.rkllm_init(ctypes.byref(handle), ctypes.byref(self._param), self._callback)
        if rc != 0 or not handle.value:
            raise RKLLMRunError(
                f"rkllm_init returned {rc} for model {self.model_path} (runtime {self.runtime_version}, "
                f"max_context {self.max_context}): the model may not fit in free memory, be for another "
                "platform or runtime release, or be corrupt; check `free -m` and run with RKLLM_LOG_LEVEL=1"
            )
        self._handle = handle.value
        self.load_ms = (time.perf_counter_ns() - t0) / 1e6  # wall time of rkllm_init (measured)

    def set_max_new_tokens(self, max_new_tokens: int) -> bool:
        """Make ``max_new_tokens`` the load-time limit (1.2.3: destroys and re-inits the model).

        Runtime 1.2.3 fixes max_new_tokens at load; a shorter ``generate`` is otherwise cut by
        ``rkllm_abort``, which can leave the runtime's own generate counters off by the few
        tokens produced before the abort landed (or missing). A benchmark that wants exact
        runtime counters on 1.2.3 calls this once per case. On 1.3.0 (per-run limit) it only
        changes the stored default. Returns True when the model was reloaded (then ``load_ms`` is
        the reload's ``rkllm_init`` wall time).
        """
        n = _positive_int("max_new_tokens", max_new_tokens)
        if n == self.max_new_tokens:
            return False
        if self._v130:
            self.max_new_tokens = n
            self._param.max_new_tokens = n
            return False
        with self._close_lock:
            if self._handle is None:
                raise RklabError(f"RKLLM model {self.model_path} is closed; open it again")
            with self._gen_lock:
                handle, self._handle = self._handle, None
                self._lib.rkllm_destroy(handle)
                self.max_new_tokens = n
                self._param.max_new_tokens = n
                self._init_handle()
        return True

    # ---------------------------------------------------------------- Backend protocol

    def tokenize(self, text: str) -> list[int] | None:
        """None: 1.2.3 has no tokenizer API and 1.3.0 only a tokenizer callback; use perf.prefill_tokens."""
        return None

    @property
    def info(self) -> dict:
        """What was loaded, for records: library, version (and how it was found), effective parameters."""
        p, ext = self._param, self._param.extend_param
        out = {
            "runtime": "rkllm",
            "runtime_version": self.runtime_version,
            "version_source": self._rt.version_source,
            "library": str(self._rt.path),
            "model_path": self.model_path,
            "max_context_len": p.max_context_len,
            "max_new_tokens": p.max_new_tokens,
            "top_k": p.top_k,
            "top_p": round(p.top_p, 6),
            "temperature": round(p.temperature, 6),
            "repeat_penalty": round(p.repeat_penalty, 6),
            "base_domain_id": ext.base_domain_id,
            "embed_flash": ext.embed_flash,
            "enabled_cpus_mask": ext.enabled_cpus_mask,
            "enabled_cpus_num": ext.enabled_cpus_num,
            "ignore_eos_token": self.ignore_eos if self._v130 else None,
        }
        return out

    def generate(
        self,
        *,
        prompt: str | None = None,
        token_ids: Sequence[int] | None = None,
        embeddings: np.ndarray | None = None,
        multimodal: MultimodalInput | None = None,
        max_new_tokens: int = 64,
        ignore_eos: bool = True,
    ) -> GenerationResult:
        """One generation from exactly one kind of input (see :class:`~rklab.measure.runtimes.base.Backend`)."""
        if self._handle is None:
            raise RklabError(f"RKLLM model {self.model_path} is closed; open it again")
        max_new = _positive_int("max_new_tokens", max_new_tokens)
        if not self._v130 and max_new > self.max_new_tokens:
            raise RklabError(
                f"max_new_tokens={max_new} exceeds the {self.max_new_tokens} that {self.model_path} was loaded with; "
                "runtime 1.2.3 fixes it at load, so open the model with a larger max_new_tokens"
            )
        inp, keep, kind, n_known = self._build_input(prompt, token_ids, embeddings, multimodal, max_new)
        infer = self._abi.RKLLMInferParam()
        infer.mode = _abi.RKLLM_INFER_GENERATE
        infer.keep_history = 0  # every run starts from an empty KV cache
        if self._v130:
            p = self._param
            sampling = self._abi.RKLLMSamplingParam(
                top_k=p.top_k, top_p=p.top_p, temperature=p.temperature, repeat_penalty=p.repeat_penalty,
                frequency_penalty=p.frequency_penalty, presence_penalty=p.presence_penalty,
                mirostat=p.mirostat, mirostat_tau=p.mirostat_tau, mirostat_eta=p.mirostat_eta,
            )
            keep.append(sampling)
            infer.sampling_params = ctypes.pointer(sampling)
            infer.max_new_tokens = max_new
        limit = max_new if (not self._v130 and max_new < self.max_new_tokens) else None

        with self._gen_lock:
            run = self._execute(inp, infer, limit)
        return self._result(run, kind, n_known, max_new, bool(ignore_eos), prompt)

    def abort(self) -> None:
        """Stop the running generation soon (thread-safe); it returns with final_state "aborted"."""
        self._abort_requested.set()
        with self._state_lock:
            if self._run is not None and not self._run.done and self._handle is not None:
                self._lib.rkllm_abort(self._handle)
                self._run.wake.set()

    def close(self) -> None:
        """Abort a running generation and free the model (``rkllm_destroy``, exactly once)."""
        with self._close_lock:
            handle = self._handle
            if handle is None:
                return
            self.abort()
            with self._gen_lock:  # waits for a generation running in another thread
                self._handle = None
                self._lib.rkllm_destroy(handle)

    def __enter__(self) -> "RKLLM":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._handle is None else "open"
        return f"RKLLM({self.model_path!r}, runtime {self.runtime_version}, max_context={self.max_context}, {state})"

    # ---------------------------------------------------------------- internals

    def _check_fits(self, n_tokens: int, max_new: int, what: str) -> None:
        """Board facts: max_context_len must exceed input tokens + max_new_tokens."""
        if n_tokens + max_new >= self.max_context:
            raise RklabError(
                f"{what} + max_new_tokens {max_new} does not fit in max_context "
                f"{self.max_context} of {self.model_path}; shorten the input or open the model with a larger max_context"
            )

    def _build_input(self, prompt, token_ids, embeddings, multimodal, max_new):
        given = [k for k, v in (("prompt", prompt), ("token_ids", token_ids), ("embeddings", embeddings),
                                ("multimodal", multimodal)) if v is not None]
        if len(given) != 1:
            raise RklabError(
                f"give exactly one of prompt=, token_ids=, embeddings=, multimodal= to RKLLM.generate (got {given or 'none'})"
            )
        kind = given[0]
        abi = self._abi
        inp = abi.RKLLMInput()
        inp.role = b"user"
        inp.enable_thinking = False
        keep: list = [inp]
        n_known: int | None = None
        if kind == "prompt":
            data = str(prompt).encode()
            lower_bound = -(-len(data) // MAX_BYTES_PER_TOKEN)
            self._check_fits(lower_bound, max_new, f"prompt of {len(data)} bytes (at least {lower_bound} tokens)")
            inp.input_type = _abi.RKLLM_INPUT_PROMPT
            inp.prompt_input = data
        elif kind == "token_ids":
            ids = np.ascontiguousarray(np.asarray(token_ids, dtype=np.int64))
            if ids.ndim != 1 or ids.size == 0:
                raise RklabError("token_ids must be a non-empty flat list of token ids")
            n_known = int(ids.size)
            self._check_fits(n_known, max_new, f"token input of {n_known} tokens")
            ids32 = np.ascontiguousarray(ids, dtype=np.int32)
            keep.append(ids32)
            inp.input_type = _abi.RKLLM_INPUT_TOKEN
            inp.token_input.input_ids = ids32.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
            inp.token_input.n_tokens = n_known
        elif kind == "embeddings":
            emb = np.ascontiguousarray(embeddings, dtype=np.float32)
            if emb.ndim != 2 or emb.shape[0] == 0:
                raise RklabError(f"embeddings must be a 2-D float32 array (n_tokens, hidden), got shape {emb.shape}")
            n_known = int(emb.shape[0])
            self._check_fits(n_known, max_new, f"embedding input of {n_known} tokens")
            keep.append(emb)
            inp.input_type = _abi.RKLLM_INPUT_EMBED
            inp.embed_input.embed = emb.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            inp.embed_input.n_tokens = n_known
        else:
            mm: MultimodalInput = multimodal
            if IMAGE_PLACEHOLDER not in mm.prompt:
                raise RklabError(
                    f"multimodal prompt has no {IMAGE_PLACEHOLDER} placeholder; put it where the image goes, "
                    f"e.g. '{IMAGE_PLACEHOLDER}What is in the picture?'"
                )
            emb = np.ascontiguousarray(mm.image_embed, dtype=np.float32)
            if emb.ndim != 2 or emb.shape[0] == 0:
                raise RklabError(f"image_embed must be a 2-D float32 array (n_image_tokens, width), got shape {emb.shape}")
            n_img = max(int(mm.n_image), 1)
            n_img_tok = int(emb.shape[0]) // n_img
            self._check_fits(n_img_tok * n_img, max_new, f"image input of {n_img_tok * n_img} tokens")
            text = mm.prompt.encode()
            keep += [emb, text]
            inp.input_type = _abi.RKLLM_INPUT_MULTIMODAL
            m = inp.multimodal_input
            m.prompt = text
            tags = (mm.img_start, mm.img_end, mm.img_content)
            if self._v130:
                tags = tuple(t or d for t, d in zip(tags, self._img_tags))
                if not all(tags):
                    raise RklabError(
                        "multimodal input needs image tags (img_start, img_end, img_content), e.g. Qwen3-VL "
                        "'<|vision_start|>', '<|vision_end|>', '<|image_pad|>'; set them on the input or the RKLLM backend"
                    )
                enc = [t.encode() for t in tags]
                keep += enc
                img = m.image
                img.image_embed = emb.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
                img.n_image_tokens = n_img_tok
                img.n_image = n_img
                img.image_start, img.image_end, img.image_content = enc
                img.image_width = int(mm.image_width)
                img.image_height = int(mm.image_height)
            else:
                if not all(self._img_tags):
                    raise RklabError(
                        f"runtime 1.2.3 takes the image tags at load: open {self.model_path} with "
                        "img_start=, img_end=, img_content= (e.g. Qwen3-VL '<|vision_start|>', '<|vision_end|>', '<|image_pad|>')"
                    )
                if any(t and t != d for t, d in zip(tags, self._img_tags)):
                    raise RklabError(
                        f"image tags {tags} differ from the ones {self.model_path} was loaded with {self._img_tags}; "
                        "runtime 1.2.3 fixes them at load, so open the model with these tags"
                    )
                m.image_embed = emb.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
                m.n_image_tokens = n_img_tok
                m.n_image = n_img
                m.image_width = int(mm.image_width)
                m.image_height = int(mm.image_height)
        return inp, keep, kind, n_known

    def _on_result(self, t_ns: int, result, state: int) -> int:
        run = self._run
        if run is None:
            return 0
        try:
            name = _abi.CALL_STATE_NAMES.get(state, str(state))
            run.states[name] = run.states.get(name, 0) + 1
            r = result.contents if result else None
            if state in (_abi.RKLLM_RUN_NORMAL, _abi.RKLLM_RUN_WAITING):
                if run.limit_hit:
                    run.after_limit += 1
                    return 0
                run.token_ns.append(t_ns)
                if r is not None:
                    run.token_ids.append(int(r.token_id))
                    if r.text:
                        run.chunks.append(r.text)
                if run.limit is not None and len(run.token_ns) >= run.limit:
                    run.limit_hit = True
                    run.wake.set()
            elif state == _abi.RKLLM_RUN_FINISH:
                run.finished = True
            elif state == _abi.RKLLM_RUN_ERROR:
                run.error_state = True
            if r is not None:
                perf = r.perf
                if perf.prefill_tokens or perf.generate_tokens or perf.prefill_time_ms or perf.memory_usage_mb:
                    run.perf = RuntimePerf(
                        prefill_ms=float(perf.prefill_time_ms),
                        prefill_tokens=int(perf.prefill_tokens),
                        decode_ms=float(perf.generate_time_ms),
                        decode_tokens=int(perf.generate_tokens),
                        memory_mb=float(perf.memory_usage_mb),
                    )
        except BaseException as exc:  # never let an exception unwind through C
            run.exc = exc
            run.wake.set()
        return 0

    def _worker(self, run: _Run, inp, infer) -> None:
        try:
            run.start_ns = time.perf_counter_ns()
            run.rc = self._lib.rkllm_run(self._handle, ctypes.byref(inp), ctypes.byref(infer), None)
            run.end_ns = time.perf_counter_ns()
        except BaseException as exc:
            run.exc = exc
            run.end_ns = time.perf_counter_ns()
        finally:
            run.done = True
            run.wake.set()

    def _send_abort(self) -> None:
        with self._state_lock:
            if self._handle is not None:
                self._lib.rkllm_abort(self._handle)

    def _execute(self, inp, infer, limit: int | None) -> _Run:
        """Run rkllm_run in a worker thread; the calling thread stays responsive to Ctrl-C."""
        run = _Run(limit)
        self._abort_requested.clear()
        with self._state_lock:
            self._run = run
        worker = threading.Thread(target=self._worker, args=(run, inp, infer), name="rkllm_run", daemon=True)
        last_abort = 0.0
        try:
            worker.start()
            while not run.done:
                run.wake.wait(0.05)
                run.wake.clear()
                if run.done:
                    break
                wants_stop = run.limit_hit or run.exc is not None or self._abort_requested.is_set()
                now = time.monotonic()
                if wants_stop and now - last_abort >= 0.1:  # resend: an abort may land before the run starts
                    self._send_abort()
                    last_abort = now
        except KeyboardInterrupt:
            self._abort_requested.set()
            self._send_abort()
            worker.join()
            raise
        finally:
            worker.join()
            with self._state_lock:
                self._run = None
        return run

    def _result(self, run: _Run, kind: str, n_known, max_new: int, ignore_eos: bool, prompt) -> GenerationResult:
        n = len(run.token_ns)
        aborted = self._abort_requested.is_set()
        if run.exc is not None:
            raise RuntimeError(f"RKLLM result callback failed for {self.model_path}: {run.exc!r}") from run.exc
        if (run.rc != 0 or run.error_state) and not aborted and not run.limit_hit:
            state = "RUN_ERROR" if run.error_state else "no error state"
            hint = "check the runtime log with RKLLM_LOG_LEVEL=1"
            if kind == "prompt" and prompt is not None:
                hint = (f"if the {len(str(prompt).encode())}-byte prompt is longer than max_context "
                        f"{self.max_context}, shorten it; otherwise {hint}")
            raise RKLLMRunError(
                f"rkllm_run returned {run.rc} with {state} after {n} tokens for model {self.model_path} "
                f"(runtime {self.runtime_version}, {kind} input); {hint}"
            )
        if aborted:
            final = "aborted"
        elif run.limit_hit or n >= max_new:
            final = "length"
        else:
            final = "finish"
        perf = run.perf or RuntimePerf()
        prompt_tokens = n_known if n_known is not None else perf.prefill_tokens
        extra = {
            "runtime": "rkllm",
            "runtime_version": self.runtime_version,
            "input_type": kind,
            "return_code": run.rc,
            "callback_states": dict(run.states),
            "ignore_eos_requested": ignore_eos,
            "ignore_eos_applied": self.ignore_eos,
            "max_new_tokens_asked": max_new,
        }
        if ignore_eos and not self.ignore_eos:
            extra["note"] = (
                "runtime 1.2.3 has no ignore_eos_token: generation may stop at EOS; generated_tokens is the actual count"
                if not self._v130 else "this model was loaded with ignore_eos=False; generation may stop at EOS"
            )
        if run.limit is not None:
            extra["stopped_by_abort_at_limit"] = run.limit_hit
            extra["tokens_after_limit"] = run.after_limit
            if perf.decode_tokens is not None and perf.decode_tokens != n:
                extra["runtime_perf_note"] = (
                    f"runtime counted {perf.decode_tokens} generated tokens, rklab kept {n} (1.2.3 limit by abort; "
                    "use set_max_new_tokens for exact runtime counters)"
                )
        return GenerationResult(
            text=b"".join(run.chunks).decode("utf-8", errors="replace"),
            token_ids=run.token_ids,
            start_ns=run.start_ns,
            token_ns=run.token_ns,
            end_ns=run.end_ns,
            prompt_tokens=prompt_tokens,
            perf=perf,
            final_state=final,
            extra=extra,
        )
