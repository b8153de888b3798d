"""Raw ctypes mirror of Rockchip's ``rkllm.h`` for runtime releases 1.2.3 and 1.3.0.

Source: the project's fact sheet ``shared/facts/rkllm-abi.md`` (read off Rockchip's public
header for each release; aarch64 LP64). Every class is named after its C typedef, every
field after its C field, in declaration order; unions and nested blocks are kept. The two
releases are NOT binary compatible, so each release gets its own set of classes, built by
:func:`build_abi` and looked up by version in :mod:`rklab.measure.runtimes.rkllm` (``abi_for``).

What the fact sheet does not spell out, and how it is mirrored here (inferred):

- ``RKLLMLoraParam*`` / ``RKLLMPromptCacheParam*`` are opaque ``void*`` (rklab passes NULL).
- 1.3.0 ``RKLLMCallback.tokenizer_callback`` / ``embed_callback`` are opaque function
  pointers (``void*``; rklab passes NULL): their prototypes are not on the fact sheet.
- 1.3.0 ``RKLLMMultiModalInput.image`` / ``.video`` are nested blocks; the ctypes classes for
  them are called ``RKLLMMultiModalImage`` / ``RKLLMMultiModalVideo`` (the C side may declare
  them as anonymous structs; only the layout matters for the ABI).

LP64 (aarch64) and x86_64 lay these types out identically, so the layout tests that run on
an x86_64 machine hold for the board.
"""

from __future__ import annotations

import ctypes
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    Union,
    c_bool,
    c_char_p,
    c_float,
    c_int,
    c_int8,
    c_int32,
    c_size_t,
    c_uint8,
    c_uint32,
    c_void_p,
)
from types import SimpleNamespace

SUPPORTED_VERSIONS = ("1.2.3", "1.3.0")

# LLMCallState
RKLLM_RUN_NORMAL = 0
RKLLM_RUN_WAITING = 1  # the token ended inside a multi-byte UTF-8 character
RKLLM_RUN_FINISH = 2
RKLLM_RUN_ERROR = 3
CALL_STATE_NAMES = {0: "RUN_NORMAL", 1: "RUN_WAITING", 2: "RUN_FINISH", 3: "RUN_ERROR"}

# RKLLMInputType
RKLLM_INPUT_PROMPT = 0
RKLLM_INPUT_TOKEN = 1
RKLLM_INPUT_EMBED = 2
RKLLM_INPUT_MULTIMODAL = 3

# RKLLMInferMode
RKLLM_INFER_GENERATE = 0
RKLLM_INFER_GET_LAST_HIDDEN_LAYER = 1
RKLLM_INFER_GET_LOGITS = 2

LLMHandle = c_void_p

# Functions rklab needs; the library must export all of them.
REQUIRED_FUNCTIONS = ("rkllm_createDefaultParam", "rkllm_init", "rkllm_run", "rkllm_abort", "rkllm_destroy")


def _struct(name: str, fields: list, base=Structure, anonymous: tuple = ()) -> type:
    attrs = {"_fields_": fields}
    if anonymous:
        attrs["_anonymous_"] = anonymous
    return type(name, (base,), attrs)


def build_abi(version: str) -> SimpleNamespace:
    """A fresh namespace of ctypes types for one runtime release (``"1.2.3"`` or ``"1.3.0"``).

    Attribute names are the C typedef names; ``ns.version`` is the release, plus the
    callback type ``LLMResultCallback`` and ``LLMHandle``.
    """
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"no ABI for RKLLM runtime {version}; supported: {', '.join(SUPPORTED_VERSIONS)}")
    v130 = version == "1.3.0"
    ns = SimpleNamespace(version=version, LLMHandle=LLMHandle)

    ns.RKLLMExtendParam = _struct(
        "RKLLMExtendParam",
        [
            ("base_domain_id", c_int32),
            ("embed_flash", c_int8),
            ("enabled_cpus_num", c_int8),
            ("enabled_cpus_mask", c_uint32),
            ("n_batch", c_uint8),
            ("use_cross_attn", c_int8),
            ("reserved", c_uint8 * 104),
        ],
    )

    sampling = [
        ("top_k", c_int32),
        ("n_keep", c_int32),
        ("top_p", c_float),
        ("temperature", c_float),
        ("repeat_penalty", c_float),
        ("frequency_penalty", c_float),
        ("presence_penalty", c_float),
        ("mirostat", c_int32),
        ("mirostat_tau", c_float),
        ("mirostat_eta", c_float),
        ("skip_special_token", c_bool),
    ]
    head = [("model_path", c_char_p), ("max_context_len", c_int32), ("max_new_tokens", c_int32)]
    if v130:
        tail = [("ignore_eos_token", c_bool), ("is_async", c_bool), ("extend_param", ns.RKLLMExtendParam)]
    else:
        tail = [
            ("is_async", c_bool),
            ("img_start", c_char_p),
            ("img_end", c_char_p),
            ("img_content", c_char_p),
            ("extend_param", ns.RKLLMExtendParam),
        ]
    ns.RKLLMParam = _struct("RKLLMParam", head + sampling + tail)

    ns.RKLLMEmbedInput = _struct("RKLLMEmbedInput", [("embed", POINTER(c_float)), ("n_tokens", c_size_t)])
    ns.RKLLMTokenInput = _struct("RKLLMTokenInput", [("input_ids", POINTER(c_int32)), ("n_tokens", c_size_t)])

    if v130:
        ns.RKLLMMultiModalImage = _struct(
            "RKLLMMultiModalImage",
            [
                ("image_embed", POINTER(c_float)),
                ("n_image_tokens", c_size_t),
                ("n_image", c_size_t),
                ("image_start", c_char_p),
                ("image_end", c_char_p),
                ("image_content", c_char_p),
                ("image_width", c_size_t),
                ("image_height", c_size_t),
            ],
        )
        ns.RKLLMMultiModalVideo = _struct(
            "RKLLMMultiModalVideo",
            [
                ("video_embed", POINTER(c_float)),
                ("n_frame_tokens", c_size_t),
                ("n_frame_per_video", c_size_t),
                ("n_video", c_size_t),
                ("video_start", c_char_p),
                ("video_end", c_char_p),
                ("video_content", c_char_p),
                ("frame_width", c_size_t),
                ("frame_height", c_size_t),
            ],
        )
        ns.RKLLMMultiModalInput = _struct(
            "RKLLMMultiModalInput",
            [("prompt", c_char_p), ("image", ns.RKLLMMultiModalImage), ("video", ns.RKLLMMultiModalVideo)],
        )
    else:
        ns.RKLLMMultiModalInput = _struct(
            "RKLLMMultiModalInput",
            [
                ("prompt", c_char_p),
                ("image_embed", POINTER(c_float)),
                ("n_image_tokens", c_size_t),
                ("n_image", c_size_t),
                ("image_width", c_size_t),
                ("image_height", c_size_t),
            ],
        )

    # RKLLMInput holds an anonymous union; the members are reachable as RKLLMInput.<member>.
    input_union = _struct(
        "RKLLMInputUnion",
        [
            ("prompt_input", c_char_p),
            ("embed_input", ns.RKLLMEmbedInput),
            ("token_input", ns.RKLLMTokenInput),
            ("multimodal_input", ns.RKLLMMultiModalInput),
        ],
        base=Union,
    )
    ns.RKLLMInput = _struct(
        "RKLLMInput",
        [("role", c_char_p), ("enable_thinking", c_bool), ("input_type", c_int), ("_input", input_union)],
        anonymous=("_input",),
    )

    if v130:
        ns.RKLLMSamplingParam = _struct(
            "RKLLMSamplingParam",
            [
                ("top_k", c_int32),
                ("top_p", c_float),
                ("temperature", c_float),
                ("repeat_penalty", c_float),
                ("frequency_penalty", c_float),
                ("presence_penalty", c_float),
                ("mirostat", c_int32),
                ("mirostat_tau", c_float),
                ("mirostat_eta", c_float),
            ],
        )
        ns.RKLLMInferParam = _struct(
            "RKLLMInferParam",
            [
                ("mode", c_int),
                ("lora_params", c_void_p),
                ("prompt_cache_params", c_void_p),
                ("sampling_params", POINTER(ns.RKLLMSamplingParam)),
                ("keep_history", c_int),
                ("max_new_tokens", c_int32),
            ],
        )
    else:
        ns.RKLLMInferParam = _struct(
            "RKLLMInferParam",
            [("mode", c_int), ("lora_params", c_void_p), ("prompt_cache_params", c_void_p), ("keep_history", c_int)],
        )

    ns.RKLLMResultLastHiddenLayer = _struct(
        "RKLLMResultLastHiddenLayer",
        [("hidden_states", POINTER(c_float)), ("embd_size", c_int), ("num_tokens", c_int)],
    )
    ns.RKLLMResultLogits = _struct(
        "RKLLMResultLogits", [("logits", POINTER(c_float)), ("vocab_size", c_int), ("num_tokens", c_int)]
    )
    ns.RKLLMPerfStat = _struct(
        "RKLLMPerfStat",
        [
            ("prefill_time_ms", c_float),
            ("prefill_tokens", c_int),
            ("generate_time_ms", c_float),
            ("generate_tokens", c_int),
            ("memory_usage_mb", c_float),
        ],
    )
    ns.RKLLMResult = _struct(
        "RKLLMResult",
        [
            ("text", c_char_p),
            ("token_id", c_int32),
            ("last_hidden_layer", ns.RKLLMResultLastHiddenLayer),
            ("logits", ns.RKLLMResultLogits),
            ("perf", ns.RKLLMPerfStat),
        ],
    )
    # int (*LLMResultCallback)(RKLLMResult* result, void* userdata, LLMCallState state)
    ns.LLMResultCallback = CFUNCTYPE(c_int, POINTER(ns.RKLLMResult), c_void_p, c_int)
    if v130:
        ns.RKLLMCallback = _struct(
            "RKLLMCallback",
            [
                ("result_callback", ns.LLMResultCallback),
                ("result_userdata", c_void_p),
                ("tokenizer_callback", c_void_p),
                ("tokenizer_userdata", c_void_p),
                ("embed_callback", c_void_p),
                ("embed_userdata", c_void_p),
            ],
        )
    return ns


def prototypes(abi: SimpleNamespace) -> dict[str, tuple[list, object]]:
    """``{function name: (argtypes, restype)}`` for one release (fact sheet, "Functions")."""
    h = LLMHandle
    run_args = [h, POINTER(abi.RKLLMInput), POINTER(abi.RKLLMInferParam), c_void_p]
    init_cb = POINTER(abi.RKLLMCallback) if abi.version == "1.3.0" else abi.LLMResultCallback
    return {
        "rkllm_createDefaultParam": ([], abi.RKLLMParam),
        "rkllm_init": ([POINTER(h), POINTER(abi.RKLLMParam), init_cb], c_int),
        "rkllm_run": (run_args, c_int),
        "rkllm_run_async": (run_args, c_int),
        "rkllm_abort": ([h], c_int),
        "rkllm_is_running": ([h], c_int),
        "rkllm_destroy": ([h], c_int),
        "rkllm_clear_kv_cache": ([h, c_int, POINTER(c_int), POINTER(c_int)], c_int),
        "rkllm_get_kv_cache_size": ([h, POINTER(c_int)], c_int),
        "rkllm_set_chat_template": ([h, c_char_p, c_char_p, c_char_p], c_int),
    }


def apply_prototypes(lib: ctypes.CDLL, abi: SimpleNamespace) -> list[str]:
    """Set argtypes/restype on every function ``lib`` exports; return the names of missing required ones.

    Optional functions (run_async, kv-cache, chat template) are set when present and
    silently skipped when absent. rkllm_load_lora, rkllm_load_prompt_cache,
    rkllm_release_prompt_cache, rkllm_set_function_tools and rkllm_set_cross_attn_params are
    not needed for benchmarking and are left untyped.
    """
    missing = []
    for name, (argtypes, restype) in prototypes(abi).items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            if name in REQUIRED_FUNCTIONS:
                missing.append(name)
            continue
        fn.argtypes = argtypes
        fn.restype = restype
    return missing
