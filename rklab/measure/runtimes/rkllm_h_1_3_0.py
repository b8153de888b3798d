"""ctypes mirror of Rockchip's ``rkllm.h``, RKLLM runtime release 1.3.0 (one-to-one, header order).

Header: github.com/airockchip/rknn-llm, tag ``release-v1.3.0``, path
``rkllm-runtime/Linux/librkllm_api/include/rkllm.h`` (vendored for the tests as
``../shared/vendor/rknn-llm/v1.3.0/rkllm.h``). Each C declaration is quoted above its ctypes
mirror (Rockchip's comments left out); ``tests/test_rkllm_header.py`` compiles a C program
against that header and compares ``sizeof``/``offsetof`` of every struct and union here.

What 1.3.0 changed against 1.2.3 (so the two are NOT binary compatible): the tokenizer and
embedding callbacks and the ``RKLLMCallback`` block that ``rkllm_init`` now takes instead of a
bare result callback; ``RKLLMParam`` lost the image tags and gained ``ignore_eos_token``;
``RKLLMMultiModalInput`` carries the image tags in a nested ``image`` block plus a ``video``
block; ``RKLLMInferParam`` gained ``sampling_params`` and ``max_new_tokens``; the new
``RKLLMSamplingParam``. Declarations the two headers share word for word are imported from
:mod:`rklab.measure.runtimes.rkllm_h_1_2_3` (quoted here as "unchanged"), so each class exists
once; the layout test checks them against this release's header too.
"""

from __future__ import annotations

from ctypes import CFUNCTYPE, POINTER, Structure, Union, c_bool, c_char_p, c_float, c_int, c_int32, c_size_t
from ctypes import c_uint64, c_void_p

# Unchanged since 1.2.3: CPU0..CPU7, LLMHandle, LLMCallState, RKLLMInputType, RKLLMInferMode (same values),
# RKLLMExtendParam, RKLLMLoraAdapter, RKLLMEmbedInput, RKLLMTokenInput, RKLLMLoraParam, RKLLMPromptCacheParam,
# RKLLMCrossAttnParam, RKLLMResultLastHiddenLayer, RKLLMResultLogits, RKLLMPerfStat, RKLLMResult,
# LLMResultCallback, and 11 of the 15 function declarations.
from rklab.measure.runtimes import rkllm_h_1_2_3
from rklab.measure.runtimes.rkllm_h_1_2_3 import (  # noqa: F401 - re-exported: this module is the 1.3.0 header
    CPU0, CPU1, CPU2, CPU3, CPU4, CPU5, CPU6, CPU7, RKLLM_INFER_GENERATE, RKLLM_INFER_GET_LAST_HIDDEN_LAYER,
    RKLLM_INFER_GET_LOGITS, RKLLM_INPUT_EMBED, RKLLM_INPUT_MULTIMODAL, RKLLM_INPUT_PROMPT, RKLLM_INPUT_TOKEN,
    RKLLM_RUN_ERROR, RKLLM_RUN_FINISH, RKLLM_RUN_NORMAL, RKLLM_RUN_WAITING, LLMCallState, LLMHandle,
    LLMResultCallback, RKLLMCrossAttnParam, RKLLMEmbedInput, RKLLMExtendParam, RKLLMInferMode, RKLLMInputType,
    RKLLMLoraAdapter, RKLLMLoraParam, RKLLMPerfStat, RKLLMPromptCacheParam, RKLLMResult,
    RKLLMResultLastHiddenLayer, RKLLMResultLogits, RKLLMTokenInput,
)

RELEASE = "1.3.0"
HEADER = "airockchip/rknn-llm release-v1.3.0: rkllm-runtime/Linux/librkllm_api/include/rkllm.h"

# typedef int (*LLMGetEmbedCallback)(void* userdata, int32_t* tokens, uint64_t num_tokens, void* embed,
#                                    uint64_t len);
LLMGetEmbedCallback = CFUNCTYPE(c_int, c_void_p, POINTER(c_int32), c_uint64, c_void_p, c_uint64)

# typedef int (*LLMTokenizerCallback)(void* userdata, const char* text, int32_t text_len, int32_t* tokens,
#                                     int32_t n_tokens_max);
LLMTokenizerCallback = CFUNCTYPE(c_int, c_void_p, c_char_p, c_int32, POINTER(c_int32), c_int32)


# typedef struct {
#     const char* model_path; int32_t max_context_len; int32_t max_new_tokens; int32_t top_k; int32_t n_keep;
#     float top_p; float temperature; float repeat_penalty; float frequency_penalty; float presence_penalty;
#     int32_t mirostat; float mirostat_tau; float mirostat_eta; bool skip_special_token; bool ignore_eos_token;
#     bool is_async; RKLLMExtendParam extend_param;
# } RKLLMParam;
class RKLLMParam(Structure):
    _fields_ = [
        ("model_path", c_char_p),
        ("max_context_len", c_int32),
        ("max_new_tokens", c_int32),
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
        ("ignore_eos_token", c_bool),
        ("is_async", c_bool),
        ("extend_param", RKLLMExtendParam),
    ]


# struct { float* image_embed; size_t n_image_tokens; size_t n_image; const char* image_start;
#          const char* image_end; const char* image_content; size_t image_width; size_t image_height; } image;
#   (anonymous struct type of RKLLMMultiModalInput.image)
class RKLLMMultiModalInput_image(Structure):
    _fields_ = [
        ("image_embed", POINTER(c_float)),
        ("n_image_tokens", c_size_t),
        ("n_image", c_size_t),
        ("image_start", c_char_p),
        ("image_end", c_char_p),
        ("image_content", c_char_p),
        ("image_width", c_size_t),
        ("image_height", c_size_t),
    ]


# struct { float* video_embed; size_t n_frame_tokens; size_t n_frame_per_video; size_t n_video;
#          const char* video_start; const char* video_end; const char* video_content; size_t frame_width;
#          size_t frame_height; } video;
#   (anonymous struct type of RKLLMMultiModalInput.video)
class RKLLMMultiModalInput_video(Structure):
    _fields_ = [
        ("video_embed", POINTER(c_float)),
        ("n_frame_tokens", c_size_t),
        ("n_frame_per_video", c_size_t),
        ("n_video", c_size_t),
        ("video_start", c_char_p),
        ("video_end", c_char_p),
        ("video_content", c_char_p),
        ("frame_width", c_size_t),
        ("frame_height", c_size_t),
    ]


# typedef struct { char* prompt; struct {...} image; struct {...} video; } RKLLMMultiModalInput;
class RKLLMMultiModalInput(Structure):
    _fields_ = [
        ("prompt", c_char_p),
        ("image", RKLLMMultiModalInput_image),
        ("video", RKLLMMultiModalInput_video),
    ]


# union { const char* prompt_input; RKLLMEmbedInput embed_input; RKLLMTokenInput token_input;
#         RKLLMMultiModalInput multimodal_input; };   (anonymous, inside RKLLMInput)
class RKLLMInput_union(Union):
    _fields_ = [
        ("prompt_input", c_char_p),
        ("embed_input", RKLLMEmbedInput),
        ("token_input", RKLLMTokenInput),
        ("multimodal_input", RKLLMMultiModalInput),
    ]


# typedef struct {
#     const char* role; bool enable_thinking; RKLLMInputType input_type;
#     union { ... };   (RKLLMInput_union above; its members are reachable as RKLLMInput.<member>)
# } RKLLMInput;
class RKLLMInput(Structure):
    _anonymous_ = ("_union",)
    _fields_ = [
        ("role", c_char_p),
        ("enable_thinking", c_bool),
        ("input_type", RKLLMInputType),
        ("_union", RKLLMInput_union),
    ]


# typedef struct {
#   int32_t top_k; float top_p; float temperature; float repeat_penalty; float frequency_penalty;
#   float presence_penalty; int32_t mirostat; float mirostat_tau; float mirostat_eta;
# } RKLLMSamplingParam;
class RKLLMSamplingParam(Structure):
    _fields_ = [
        ("top_k", c_int32),
        ("top_p", c_float),
        ("temperature", c_float),
        ("repeat_penalty", c_float),
        ("frequency_penalty", c_float),
        ("presence_penalty", c_float),
        ("mirostat", c_int32),
        ("mirostat_tau", c_float),
        ("mirostat_eta", c_float),
    ]


# typedef struct {
#     RKLLMInferMode mode; RKLLMLoraParam* lora_params; RKLLMPromptCacheParam* prompt_cache_params;
#     RKLLMSamplingParam* sampling_params; int keep_history; int32_t max_new_tokens;
# } RKLLMInferParam;
class RKLLMInferParam(Structure):
    _fields_ = [
        ("mode", RKLLMInferMode),
        ("lora_params", POINTER(RKLLMLoraParam)),
        ("prompt_cache_params", POINTER(RKLLMPromptCacheParam)),
        ("sampling_params", POINTER(RKLLMSamplingParam)),
        ("keep_history", c_int),
        ("max_new_tokens", c_int32),
    ]


# typedef struct {
#     LLMResultCallback result_callback; void* result_userdata;
#     LLMTokenizerCallback tokenizer_callback; void* tokenizer_userdata;
#     LLMGetEmbedCallback embed_callback; void* embed_userdata;
# } RKLLMCallback;
class RKLLMCallback(Structure):
    _fields_ = [
        ("result_callback", LLMResultCallback),
        ("result_userdata", c_void_p),
        ("tokenizer_callback", LLMTokenizerCallback),
        ("tokenizer_userdata", c_void_p),
        ("embed_callback", LLMGetEmbedCallback),
        ("embed_userdata", c_void_p),
    ]


# Every struct and union of the header, in header order (the layout test walks this list).
STRUCTS = (RKLLMExtendParam, RKLLMParam, RKLLMLoraAdapter, RKLLMEmbedInput, RKLLMTokenInput,
           RKLLMMultiModalInput_image, RKLLMMultiModalInput_video, RKLLMMultiModalInput, RKLLMInput_union,
           RKLLMInput, RKLLMLoraParam, RKLLMPromptCacheParam, RKLLMCrossAttnParam, RKLLMSamplingParam,
           RKLLMInferParam, RKLLMResultLastHiddenLayer, RKLLMResultLogits, RKLLMPerfStat, RKLLMResult, RKLLMCallback)

# All 15 functions, in header order: name -> (argtypes, restype). Eleven are declared word for word as in
# 1.2.3 and taken from there; these four take this release's RKLLMParam / RKLLMCallback / RKLLMInput /
# RKLLMInferParam:
FUNCTIONS = {
    **rkllm_h_1_2_3.FUNCTIONS,
    # RKLLMParam rkllm_createDefaultParam();
    "rkllm_createDefaultParam": ([], RKLLMParam),
    # int rkllm_init(LLMHandle* handle, RKLLMParam* param, RKLLMCallback* callback);
    "rkllm_init": ([POINTER(LLMHandle), POINTER(RKLLMParam), POINTER(RKLLMCallback)], c_int),
    # int rkllm_run(LLMHandle handle, RKLLMInput* rkllm_input, RKLLMInferParam* rkllm_infer_params, void* userdata);
    "rkllm_run": ([LLMHandle, POINTER(RKLLMInput), POINTER(RKLLMInferParam), c_void_p], c_int),
    # int rkllm_run_async(LLMHandle handle, RKLLMInput* rkllm_input, RKLLMInferParam* rkllm_infer_params,
    #                     void* userdata);
    "rkllm_run_async": ([LLMHandle, POINTER(RKLLMInput), POINTER(RKLLMInferParam), c_void_p], c_int),
}
