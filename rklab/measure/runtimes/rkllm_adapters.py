"""One small adapter per RKLLM header release: the only place that knows how 1.2.3 and 1.3.0 differ.

The high-level :class:`rklab.measure.runtimes.rkllm.RKLLM` calls the same methods for every
release and asks capabilities (``per_run_max_new_tokens``, ``has_ignore_eos``,
``image_tags_at_load``) instead of comparing version strings. The ctypes types come from the
release's header mirror (``adapter.h``: :mod:`rkllm_h_1_2_3` / :mod:`rkllm_h_1_3_0`).

========================  ===================================  =====================================
                          1.2.3                                1.3.0
========================  ===================================  =====================================
``rkllm_init`` callback   ``LLMResultCallback``                ``RKLLMCallback*`` (result, tokenizer,
                                                               embedding callbacks + userdata)
image tags                ``RKLLMParam.img_*``, at load         ``multimodal_input.image.image_*``,
                                                               per input
image block               ``multimodal_input.image_embed, ...`` ``multimodal_input.image.image_embed,
                                                               ...``
max_new_tokens            ``RKLLMParam`` (load time)            also ``RKLLMInferParam`` (per run)
sampling per run          no                                   ``RKLLMInferParam.sampling_params``
``ignore_eos_token``      no                                   ``RKLLMParam.ignore_eos_token``
``rkllm_clear_kv_cache``  ``(handle, keep_system_prompt, start, end)`` in both
========================  ===================================  =====================================
"""

from __future__ import annotations

import ctypes
from types import ModuleType

from rklab.measure.runtimes import rkllm_h_1_2_3, rkllm_h_1_3_0

SAMPLING_FIELDS = ("top_k", "top_p", "temperature", "repeat_penalty", "frequency_penalty", "presence_penalty",
                   "mirostat", "mirostat_tau", "mirostat_eta")


class ReleaseAdapter:
    """The calls whose shape depends on the header release (see the module table)."""

    h: ModuleType
    per_run_max_new_tokens = False
    has_ignore_eos = False
    image_tags_at_load = False

    @property
    def release(self) -> str:
        return self.h.RELEASE

    def set_load_params(self, param, *, ignore_eos: bool, image_tags: tuple[bytes, bytes, bytes]) -> None:
        """Fill the release-specific load-time fields of ``RKLLMParam``."""

    def init(self, lib, handle: ctypes.c_void_p, param, result_callback) -> tuple[int, list]:
        """``rkllm_init``; returns (rc, objects that must outlive the handle)."""
        raise NotImplementedError

    def image_block(self, mm):
        """The struct that holds ``image_embed``/``n_image_tokens``/... in ``RKLLMMultiModalInput``."""
        raise NotImplementedError

    def fill_image_tags(self, block, tags: tuple[bytes, bytes, bytes]) -> None:
        """Per-input image tags (1.3.0); nothing on a release that takes them at load."""

    def infer_param(self, max_new_tokens: int, param) -> tuple[object, list]:
        """``RKLLMInferParam`` for one generation (history off); returns (struct, keep-alive objects)."""
        infer = self.h.RKLLMInferParam()
        infer.mode = self.h.RKLLM_INFER_GENERATE
        infer.keep_history = 0
        return infer, []

    def clear_kv_cache(self, lib, handle) -> int:
        """Empty the whole KV cache: ``rkllm_clear_kv_cache(handle, 0, NULL, NULL)`` (keep_system_prompt off)."""
        return int(lib.rkllm_clear_kv_cache(handle, 0, None, None))


class Adapter123(ReleaseAdapter):
    h = rkllm_h_1_2_3
    image_tags_at_load = True

    def set_load_params(self, param, *, ignore_eos, image_tags):
        param.img_start, param.img_end, param.img_content = image_tags

    def init(self, lib, handle, param, result_callback):
        return int(lib.rkllm_init(ctypes.byref(handle), ctypes.byref(param), result_callback)), []

    def image_block(self, mm):
        return mm


class Adapter130(ReleaseAdapter):
    h = rkllm_h_1_3_0
    per_run_max_new_tokens = True
    has_ignore_eos = True

    def set_load_params(self, param, *, ignore_eos, image_tags):
        param.ignore_eos_token = bool(ignore_eos)

    def init(self, lib, handle, param, result_callback):
        callbacks = self.h.RKLLMCallback()  # tokenizer/embedding callbacks NULL: the model has its own
        callbacks.result_callback = result_callback
        return int(lib.rkllm_init(ctypes.byref(handle), ctypes.byref(param), ctypes.byref(callbacks))), [callbacks]

    def image_block(self, mm):
        return mm.image

    def fill_image_tags(self, block, tags):
        block.image_start, block.image_end, block.image_content = tags

    def infer_param(self, max_new_tokens, param):
        infer, keep = super().infer_param(max_new_tokens, param)
        sampling = self.h.RKLLMSamplingParam(**{k: getattr(param, k) for k in SAMPLING_FIELDS})
        infer.sampling_params = ctypes.pointer(sampling)
        infer.max_new_tokens = int(max_new_tokens)
        return infer, keep + [sampling]


ADAPTERS: dict[str, type[ReleaseAdapter]] = {a.h.RELEASE: a for a in (Adapter123, Adapter130)}


def adapter_for(release: str) -> ReleaseAdapter:
    return ADAPTERS[release]()
