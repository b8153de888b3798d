"""Rockchip RKLLM runtime (``librkllmrt.so``, NPU) behind rklab's :class:`~rklab.measure.runtimes.base.Backend`.

Three modules, one concern each:

- :mod:`rkllm_h_1_2_3` / :mod:`rkllm_h_1_3_0`: the ctypes mirrors of Rockchip's ``rkllm.h`` of
  each release (every struct, union, callback type, enum and all 15 functions);
- :mod:`rkllm_loader`: find the library, check its ELF header, detect the release by the layout
  ``rkllm_createDefaultParam`` writes, capture the banner ``rkllm_init`` prints;
- :mod:`rkllm_adapters`: one small adapter per release for the calls whose shape differs.

The :class:`RKLLM` class here has no version branches: it asks its adapter. It runs
``rkllm_run`` (synchronous; the result callback fires on the calling thread) in a worker thread
while the main thread waits, so Ctrl-C and :meth:`RKLLM.abort` can call ``rkllm_abort``. Token
timestamps are ``time.perf_counter_ns()`` taken as the first statement of the callback.

Before ``rkllm_init`` the RKNPU driver version is read from debugfs when readable: below 0.9.7
the runtime refuses to initialise, so rklab refuses first with the fix. ``rkllm_init``'s own
banner (runtime version, driver version, platform) is captured and recorded
(:attr:`RKLLM.runtime_record`); it is compared with the detected layout and ``RKLLM_VERSION``.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
import time
import warnings
import weakref
from typing import Sequence

import numpy as np

from rklab.errors import RklabError, RuntimeLibraryError
from rklab.measure.hostinfo import DRIVER_FIX, driver_status, npu_driver_version
from rklab.measure.modelfiles import check_model_file
from rklab.measure.runtimes.base import IMAGE_PLACEHOLDER, GenerationResult, MultimodalInput, RuntimePerf
from rklab.measure.runtimes.rkllm_adapters import adapter_for
from rklab.measure.runtimes.rkllm_loader import (  # noqa: F401 - re-exported for callers of the old module
    INSTALL_HINT, SUPPORTED_VERSIONS, capture_output, check_elf, find_library, load_library, parse_banner,
)

# A text prompt cannot be tokenized here (no tokenizer API in 1.2.3), so before a run rklab only
# refuses prompts that cannot fit even at this many UTF-8 bytes per token (byte-level BPE
# tokens are much shorter on average; this catches only clearly oversized prompts).
MAX_BYTES_PER_TOKEN = 16
CALL_STATE_NAMES = {0: "RUN_NORMAL", 1: "RUN_WAITING", 2: "RUN_FINISH", 3: "RUN_ERROR"}  # LLMCallState
# Lines of the runtime's init log worth quoting when rkllm_init fails.
_ERROR_LINE = re.compile(r"^\s*E\s+rkllm|upgrade|error|fail", re.IGNORECASE)


class RKLLMRunError(RklabError, RuntimeError):
    """rkllm_init or rkllm_run failed (the message names the model, the call and the state)."""


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
        raise RklabError(f"{name}={value!r} is not allowed; give a whole number from 1 to {2**31 - 1} "
                         "(the runtime takes it as a C int)")
    return v


class RKLLM:
    """An ``.rkllm`` model loaded in Rockchip's runtime (one ``rkllm_init`` handle).

    Sampling values left as None keep the runtime's own defaults (``rkllm_createDefaultParam``);
    ``top_k=1`` and ``skip_special_token=True`` are what Rockchip's demos set.
    ``ignore_eos`` is a load-time setting (``RKLLMParam.ignore_eos_token``) that exists only
    from 1.3.0; without it generation can stop at EOS and the actual count is recorded.
    Where the release fixes ``max_new_tokens`` at load (1.2.3), a ``generate`` asking for fewer
    tokens is cut by ``rkllm_abort`` after that many tokens (the runtime's own generate counters
    may then include the few tokens produced before the abort took effect, or be missing); asking
    for more is refused. :meth:`set_max_new_tokens` reloads with an exact limit instead.
    ``base_domain_id`` is the NPU IOMMU domain the model is loaded into: 1 when an RKNN vision
    encoder shares the process (it uses domain 0), as Rockchip's multimodal demo sets it on RK3588.
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
        skip_special_token: bool = True,
        img_start: str = "",
        img_end: str = "",
        img_content: str = "",
        ignore_eos: bool = True,
        library: str | os.PathLike | None = None,
        sys_root: str | os.PathLike = "/sys",
    ):
        self._handle: int | None = None
        self._close_lock = threading.Lock()
        self._gen_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._abort_requested = threading.Event()
        self._run: _Run | None = None
        self._keep_init: list = []
        self.load_ms: float | None = None
        self.reported: dict = {}
        self.warnings: list[str] = []
        self.max_context = _positive_int("max_context", max_context)
        self.max_new_tokens = _positive_int("max_new_tokens", max_new_tokens)
        if int(base_domain_id) < 0:
            raise RklabError(f"base_domain_id={base_domain_id!r} must be 0 or more (1 when a vision encoder shares the NPU)")
        self.model_path = str(check_model_file(model_path, "rkllm"))
        self.host_driver_version = self._check_driver(sys_root)

        rt = load_library(library)
        self._rt = rt
        self._lib = rt.lib
        self._h = h = rt.binding
        self._adapter = adapter = adapter_for(rt.release)
        self.abi_release = rt.release
        self.runtime_version = rt.release  # replaced by the version the runtime reports at init
        self.ignore_eos = bool(ignore_eos) and adapter.has_ignore_eos
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
        param.skip_special_token = bool(skip_special_token)
        param.is_async = False
        self._load_tags = tuple(t.encode() for t in self._img_tags)  # alive as long as param points at them
        adapter.set_load_params(param, ignore_eos=self.ignore_eos, image_tags=self._load_tags)
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

        self._callback = h.LLMResultCallback(_result_callback)
        self._init_handle()

    # ---------------------------------------------------------------- loading

    def _check_driver(self, sys_root) -> str | None:
        """Refuse a readable RKNPU driver below 0.9.7 before anything is loaded; the version or None."""
        version = npu_driver_version(sys_root)
        status, detail = driver_status(version)
        if status == "fail":
            raise RuntimeLibraryError(f"{detail}; {DRIVER_FIX}")
        if status == "warn":
            self.warnings.append(detail)
        return version

    def _init_handle(self) -> None:
        handle = ctypes.c_void_p()
        t0 = time.perf_counter_ns()
        with capture_output() as captured:
            rc, keep = self._adapter.init(self._lib, handle, self._param, self._callback)
        self.load_ms = (time.perf_counter_ns() - t0) / 1e6  # wall time of rkllm_init (measured)
        log = captured[0] if captured else ""
        self.reported = parse_banner(log) or self.reported
        if self.reported.get("runtime_version"):
            self.runtime_version = self.reported["runtime_version"]
        self._check_reported()
        if rc != 0 or not handle.value:
            raise RKLLMRunError(self._init_failure(rc, log))
        self._keep_init = keep
        self._handle = handle.value

    def _check_reported(self) -> None:
        """Warn (and keep in ``warnings``) when the runtime's banner disagrees with the layout or RKLLM_VERSION."""
        said = self.reported.get("runtime_version")
        if not said:
            return
        notes = []
        if said.lstrip("vV") != self.abi_release:
            notes.append(f"{self._rt.path} reports runtime {said} but rklab binds the {self.abi_release} header "
                         f"({self._rt.release_source}; {self._rt.fingerprint.how}); rklab was checked against the "
                         f"{' and '.join(SUPPORTED_VERSIONS)} headers only: install one of them for comparable numbers")
        env = os.environ.get("RKLLM_VERSION", "").strip().lstrip("vV")
        if env and env != said.lstrip("vV"):
            notes.append(f"RKLLM_VERSION={env} but the runtime reports {said}; unset RKLLM_VERSION or correct it")
        for note in notes:
            if note not in self.warnings:
                self.warnings.append(note)
                warnings.warn(f"rklab: {note}", RuntimeWarning, stacklevel=4)

    def _init_failure(self, rc: int, log: str) -> str:
        where = f"rkllm_init returned {rc} for model {self.model_path} (runtime {self.runtime_version}"
        driver = self.reported.get("driver_version")
        if driver_status(driver)[0] == "fail":
            return f"{where}): the runtime reports RKNPU driver {driver}, older than 0.9.7; {DRIVER_FIX}"
        said = next((ln.strip() for ln in log.splitlines() if _ERROR_LINE.search(ln)), "")
        said = f"; the runtime said: {said[:200]}" if said else ""
        return (f"{where}, max_context {self.max_context}){said}: the model may not fit in free memory, be for another "
                "platform or runtime release, or be corrupt; check `free -m` and run with RKLLM_LOG_LEVEL=1")

    def set_max_new_tokens(self, max_new_tokens: int) -> bool:
        """Make ``max_new_tokens`` the load-time limit (reloads where the release fixes it at load).

        Runtime 1.2.3 fixes max_new_tokens at load; a shorter ``generate`` is otherwise cut by
        ``rkllm_abort``, which can leave the runtime's own generate counters off by the few
        tokens produced before the abort landed (or missing). A benchmark that wants exact
        runtime counters on 1.2.3 calls this once per case. With a per-run limit (1.3.0) it only
        changes the stored default. Returns True when the model was reloaded (then ``load_ms`` is
        the reload's ``rkllm_init`` wall time).
        """
        n = _positive_int("max_new_tokens", max_new_tokens)
        if n == self.max_new_tokens:
            return False
        if self._adapter.per_run_max_new_tokens:
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

    def clear_cache(self) -> bool:
        """Empty the runtime's KV cache (``rkllm_clear_kv_cache(handle, 0, NULL, NULL)``); True when it returned 0.

        The runtime reuses a matching prompt prefix on its own (CHANGELOG 1.2.0: automatic prompt
        cache reuse; 1.2.3: embedding input; 1.3.0: multimodal), so the protocol calls this before
        every measured run.
        """
        with self._gen_lock:
            if self._handle is None:
                raise RklabError(f"RKLLM model {self.model_path} is closed; open it again")
            return self._adapter.clear_kv_cache(self._lib, self._handle) == 0

    @property
    def runtime_record(self) -> dict:
        """What every record carries about the loaded runtime (layout, how it was found, the banner)."""
        fp = self._rt.fingerprint
        return {
            "abi": self.abi_release,
            "abi_source": self._rt.release_source,
            "abi_fingerprint": fp.to_dict(),
            "reported_runtime_version": self.reported.get("runtime_version"),
            "reported_driver_version": self.reported.get("driver_version"),
            "reported_platform": self.reported.get("platform"),
            "host_driver_version": self.host_driver_version,
            "warnings": list(self.warnings),
        }

    @property
    def fixed_max_new_tokens(self) -> bool:
        """True where the release fixes max_new_tokens at load (1.2.3): a shorter run is cut by rkllm_abort."""
        return not self._adapter.per_run_max_new_tokens

    @property
    def library_path(self) -> str:
        return str(self._rt.path)

    @property
    def info(self) -> dict:
        """What was loaded, for records: library, release (and how it was found), effective parameters."""
        p, ext = self._param, self._param.extend_param
        return {
            "runtime": "rkllm",
            "runtime_version": self.runtime_version,
            "version_source": self._rt.release_source,
            "library": str(self._rt.path),
            "model_path": self.model_path,
            "max_context_len": p.max_context_len,
            "max_new_tokens": p.max_new_tokens,
            "top_k": p.top_k,
            "top_p": round(p.top_p, 6),
            "temperature": round(p.temperature, 6),
            "repeat_penalty": round(p.repeat_penalty, 6),
            "skip_special_token": bool(p.skip_special_token),
            "base_domain_id": ext.base_domain_id,
            "embed_flash": ext.embed_flash,
            "enabled_cpus_mask": ext.enabled_cpus_mask,
            "enabled_cpus_num": ext.enabled_cpus_num,
            "ignore_eos_token": self.ignore_eos if self._adapter.has_ignore_eos else None,
            **self.runtime_record,
        }

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
        per_run = self._adapter.per_run_max_new_tokens
        if not per_run and max_new > self.max_new_tokens:
            raise RklabError(
                f"max_new_tokens={max_new} exceeds the {self.max_new_tokens} that {self.model_path} was loaded with; "
                f"runtime {self.abi_release} fixes it at load, so open the model with a larger max_new_tokens"
            )
        inp, keep, kind, n_known = self._build_input(prompt, token_ids, embeddings, multimodal, max_new)
        infer, keep_infer = self._adapter.infer_param(max_new, self._param)
        keep += keep_infer
        limit = max_new if (not per_run and max_new < self.max_new_tokens) else None

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
        h = self._h
        inp = h.RKLLMInput()
        inp.role = b"user"
        inp.enable_thinking = False
        keep: list = [inp]
        n_known: int | None = None
        if kind == "prompt":
            data = str(prompt).encode()
            lower_bound = -(-len(data) // MAX_BYTES_PER_TOKEN)
            self._check_fits(lower_bound, max_new, f"prompt of {len(data)} bytes (at least {lower_bound} tokens)")
            inp.input_type = h.RKLLM_INPUT_PROMPT
            inp.prompt_input = data
        elif kind == "token_ids":
            ids = np.ascontiguousarray(np.asarray(token_ids, dtype=np.int64))
            if ids.ndim != 1 or ids.size == 0:
                raise RklabError("token_ids must be a non-empty flat list of token ids")
            n_known = int(ids.size)
            self._check_fits(n_known, max_new, f"token input of {n_known} tokens")
            ids32 = np.ascontiguousarray(ids, dtype=np.int32)
            keep.append(ids32)
            inp.input_type = h.RKLLM_INPUT_TOKEN
            inp.token_input.input_ids = ids32.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
            inp.token_input.n_tokens = n_known
        elif kind == "embeddings":
            emb = np.ascontiguousarray(embeddings, dtype=np.float32)
            if emb.ndim != 2 or emb.shape[0] == 0:
                raise RklabError(f"embeddings must be a 2-D float32 array (n_tokens, hidden), got shape {emb.shape}")
            n_known = int(emb.shape[0])
            self._check_fits(n_known, max_new, f"embedding input of {n_known} tokens")
            keep.append(emb)
            inp.input_type = h.RKLLM_INPUT_EMBED
            inp.embed_input.embed = emb.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            inp.embed_input.n_tokens = n_known
        else:
            keep += self._fill_multimodal(inp, multimodal, max_new)
        return inp, keep, kind, n_known

    def _image_tags(self, mm: MultimodalInput) -> tuple[bytes, bytes, bytes]:
        """The image tags of one input: its own, else the model's; start/end may be empty (DeepSeekOCR).

        Where the release takes the tags at load (1.2.3), an input must not ask for other tags.
        """
        given = (mm.img_start, mm.img_end, mm.img_content)
        if self._adapter.image_tags_at_load and any(t and t != d for t, d in zip(given, self._img_tags)):
            raise RklabError(
                f"image tags {given} differ from the ones {self.model_path} was loaded with {self._img_tags}; "
                f"runtime {self.abi_release} fixes them at load, so open the model with these tags"
            )
        tags = tuple(t or d for t, d in zip(given, self._img_tags))
        if not tags[2]:
            when = "open the model with" if self._adapter.image_tags_at_load else "set on the input or the backend"
            raise RklabError(
                f"multimodal input needs an image content tag (img_content; {when} it), e.g. Qwen3-VL "
                "'<|vision_start|>', '<|vision_end|>', '<|image_pad|>'; img_start/img_end may be empty, as for DeepSeekOCR"
            )
        return tuple(t.encode() for t in tags)

    def _fill_multimodal(self, inp, mm: MultimodalInput, max_new: int) -> list:
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
        tags = self._image_tags(mm)
        text = mm.prompt.encode()
        inp.input_type = self._h.RKLLM_INPUT_MULTIMODAL
        m = inp.multimodal_input
        m.prompt = text
        block = self._adapter.image_block(m)
        block.image_embed = emb.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        block.n_image_tokens = n_img_tok
        block.n_image = n_img
        block.image_width = int(mm.image_width)
        block.image_height = int(mm.image_height)
        self._adapter.fill_image_tags(block, tags)
        return [emb, text, tags]

    def _on_result(self, t_ns: int, result, state: int) -> int:
        run = self._run
        if run is None:
            return 0
        try:
            name = CALL_STATE_NAMES.get(state, str(state))
            run.states[name] = run.states.get(name, 0) + 1
            r = result.contents if result else None
            if state in (self._h.RKLLM_RUN_NORMAL, self._h.RKLLM_RUN_WAITING):
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
            elif state == self._h.RKLLM_RUN_FINISH:
                run.finished = True
            elif state == self._h.RKLLM_RUN_ERROR:
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
                f"runtime {self.abi_release} has no ignore_eos_token: generation may stop at EOS; generated_tokens is "
                "the actual count" if not self._adapter.has_ignore_eos
                else "this model was loaded with ignore_eos=False; generation may stop at EOS"
            )
        if run.limit is not None:
            extra["stopped_by_abort_at_limit"] = run.limit_hit
            extra["tokens_after_limit"] = run.after_limit
            if perf.decode_tokens is not None and perf.decode_tokens != n:
                extra["runtime_perf_note"] = (
                    f"runtime counted {perf.decode_tokens} generated tokens, rklab kept {n} (limit by abort; "
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
