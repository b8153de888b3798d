"""ctypes mirror of Rockchip's ``rkllm.h``, RKLLM runtime release 1.2.3 (one-to-one, header order).

Header: github.com/airockchip/rknn-llm, tag ``release-v1.2.3``, path
``rkllm-runtime/Linux/librkllm_api/include/rkllm.h`` (vendored for the tests as
``../shared/vendor/rknn-llm/v1.2.3/rkllm.h``). Each C declaration is quoted above its ctypes
mirror (Rockchip's comments left out). ``tests/test_rkllm_header.py`` compiles a C program
against that header and compares ``sizeof``/``offsetof`` of every struct and union here.

Like ``llama_cpp/llama_cpp.py`` this module only declares: enums are integer constants, structs
and unions are ctypes classes named after the typedefs (anonymous members get a class named
``<Outer>_<member>``), the callback is a ``CFUNCTYPE`` typed as the header types it, and
:data:`FUNCTIONS` lists all 15 functions with their argument and result types (the loader,
:mod:`rklab.measure.runtimes.rkllm_loader`, applies them). Nothing here knows about rklab's benchmark.

Laid out for aarch64 Linux (LP64); x86_64 lays these types out identically, which is how the
layout tests and the test double run on a PC.
"""

from __future__ import annotations

from ctypes import CFUNCTYPE, POINTER, Structure, Union, c_bool, c_char_p, c_float, c_int, c_int8, c_int32, c_size_t
from ctypes import c_uint8, c_uint32, c_void_p

RELEASE = "1.2.3"
HEADER = "airockchip/rknn-llm release-v1.2.3: rkllm-runtime/Linux/librkllm_api/include/rkllm.h"

# #define CPU0 (1 << 0) ... #define CPU7 (1 << 7)
CPU0, CPU1, CPU2, CPU3, CPU4, CPU5, CPU6, CPU7 = (1 << i for i in range(8))

# typedef void* LLMHandle;
LLMHandle = c_void_p

# typedef enum { RKLLM_RUN_NORMAL = 0, RKLLM_RUN_WAITING = 1, RKLLM_RUN_FINISH = 2, RKLLM_RUN_ERROR = 3 } LLMCallState;
LLMCallState = c_int
RKLLM_RUN_NORMAL = 0
RKLLM_RUN_WAITING = 1
RKLLM_RUN_FINISH = 2
RKLLM_RUN_ERROR = 3

# typedef enum { RKLLM_INPUT_PROMPT = 0, RKLLM_INPUT_TOKEN = 1, RKLLM_INPUT_EMBED = 2,
#                RKLLM_INPUT_MULTIMODAL = 3 } RKLLMInputType;
RKLLMInputType = c_int
RKLLM_INPUT_PROMPT = 0
RKLLM_INPUT_TOKEN = 1
RKLLM_INPUT_EMBED = 2
RKLLM_INPUT_MULTIMODAL = 3

# typedef enum { RKLLM_INFER_GENERATE = 0, RKLLM_INFER_GET_LAST_HIDDEN_LAYER = 1,
#                RKLLM_INFER_GET_LOGITS = 2 } RKLLMInferMode;
RKLLMInferMode = c_int
RKLLM_INFER_GENERATE = 0
RKLLM_INFER_GET_LAST_HIDDEN_LAYER = 1
RKLLM_INFER_GET_LOGITS = 2


# typedef struct {
#     int32_t base_domain_id; int8_t embed_flash; int8_t enabled_cpus_num; uint32_t enabled_cpus_mask;
#     uint8_t n_batch; int8_t use_cross_attn; uint8_t reserved[104];
# } RKLLMExtendParam;
class RKLLMExtendParam(Structure):
    _fields_ = [
        ("base_domain_id", c_int32),
        ("embed_flash", c_int8),
        ("enabled_cpus_num", c_int8),
        ("enabled_cpus_mask", c_uint32),
        ("n_batch", c_uint8),
        ("use_cross_attn", c_int8),
        ("reserved", c_uint8 * 104),
    ]


# typedef struct {
#     const char* model_path; int32_t max_context_len; int32_t max_new_tokens; int32_t top_k; int32_t n_keep;
#     float top_p; float temperature; float repeat_penalty; float frequency_penalty; float presence_penalty;
#     int32_t mirostat; float mirostat_tau; float mirostat_eta; bool skip_special_token; bool is_async;
#     const char* img_start; const char* img_end; const char* img_content; RKLLMExtendParam extend_param;
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
        ("is_async", c_bool),
        ("img_start", c_char_p),
        ("img_end", c_char_p),
        ("img_content", c_char_p),
        ("extend_param", RKLLMExtendParam),
    ]


# typedef struct { const char* lora_adapter_path; const char* lora_adapter_name; float scale; } RKLLMLoraAdapter;
class RKLLMLoraAdapter(Structure):
    _fields_ = [("lora_adapter_path", c_char_p), ("lora_adapter_name", c_char_p), ("scale", c_float)]


# typedef struct { float* embed; size_t n_tokens; } RKLLMEmbedInput;
class RKLLMEmbedInput(Structure):
    _fields_ = [("embed", POINTER(c_float)), ("n_tokens", c_size_t)]


# typedef struct { int32_t* input_ids; size_t n_tokens; } RKLLMTokenInput;
class RKLLMTokenInput(Structure):
    _fields_ = [("input_ids", POINTER(c_int32)), ("n_tokens", c_size_t)]


# typedef struct {
#     char* prompt; float* image_embed; size_t n_image_tokens; size_t n_image; size_t image_width;
#     size_t image_height;
# } RKLLMMultiModalInput;
class RKLLMMultiModalInput(Structure):
    _fields_ = [
        ("prompt", c_char_p),
        ("image_embed", POINTER(c_float)),
        ("n_image_tokens", c_size_t),
        ("n_image", c_size_t),
        ("image_width", c_size_t),
        ("image_height", c_size_t),
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


# typedef struct { const char* lora_adapter_name; } RKLLMLoraParam;
class RKLLMLoraParam(Structure):
    _fields_ = [("lora_adapter_name", c_char_p)]


# typedef struct { int save_prompt_cache; const char* prompt_cache_path; } RKLLMPromptCacheParam;
class RKLLMPromptCacheParam(Structure):
    _fields_ = [("save_prompt_cache", c_int), ("prompt_cache_path", c_char_p)]


# typedef struct {
#     float* encoder_k_cache; float* encoder_v_cache; float* encoder_mask; int32_t* encoder_pos; int num_tokens;
# } RKLLMCrossAttnParam;
class RKLLMCrossAttnParam(Structure):
    _fields_ = [
        ("encoder_k_cache", POINTER(c_float)),
        ("encoder_v_cache", POINTER(c_float)),
        ("encoder_mask", POINTER(c_float)),
        ("encoder_pos", POINTER(c_int32)),
        ("num_tokens", c_int),
    ]


# typedef struct {
#     RKLLMInferMode mode; RKLLMLoraParam* lora_params; RKLLMPromptCacheParam* prompt_cache_params;
#     int keep_history;
# } RKLLMInferParam;
class RKLLMInferParam(Structure):
    _fields_ = [
        ("mode", RKLLMInferMode),
        ("lora_params", POINTER(RKLLMLoraParam)),
        ("prompt_cache_params", POINTER(RKLLMPromptCacheParam)),
        ("keep_history", c_int),
    ]


# typedef struct { const float* hidden_states; int embd_size; int num_tokens; } RKLLMResultLastHiddenLayer;
class RKLLMResultLastHiddenLayer(Structure):
    _fields_ = [("hidden_states", POINTER(c_float)), ("embd_size", c_int), ("num_tokens", c_int)]


# typedef struct { const float* logits; int vocab_size; int num_tokens; } RKLLMResultLogits;
class RKLLMResultLogits(Structure):
    _fields_ = [("logits", POINTER(c_float)), ("vocab_size", c_int), ("num_tokens", c_int)]


# typedef struct {
#     float prefill_time_ms; int prefill_tokens; float generate_time_ms; int generate_tokens; float memory_usage_mb;
# } RKLLMPerfStat;
class RKLLMPerfStat(Structure):
    _fields_ = [
        ("prefill_time_ms", c_float),
        ("prefill_tokens", c_int),
        ("generate_time_ms", c_float),
        ("generate_tokens", c_int),
        ("memory_usage_mb", c_float),
    ]


# typedef struct {
#     const char* text; int32_t token_id; RKLLMResultLastHiddenLayer last_hidden_layer; RKLLMResultLogits logits;
#     RKLLMPerfStat perf;
# } RKLLMResult;
class RKLLMResult(Structure):
    _fields_ = [
        ("text", c_char_p),
        ("token_id", c_int32),
        ("last_hidden_layer", RKLLMResultLastHiddenLayer),
        ("logits", RKLLMResultLogits),
        ("perf", RKLLMPerfStat),
    ]


# typedef int(*LLMResultCallback)(RKLLMResult* result, void* userdata, LLMCallState state);
LLMResultCallback = CFUNCTYPE(c_int, POINTER(RKLLMResult), c_void_p, LLMCallState)

# Every struct and union of the header, in header order (the layout test walks this list).
STRUCTS = (RKLLMExtendParam, RKLLMParam, RKLLMLoraAdapter, RKLLMEmbedInput, RKLLMTokenInput, RKLLMMultiModalInput,
           RKLLMInput_union, RKLLMInput, RKLLMLoraParam, RKLLMPromptCacheParam, RKLLMCrossAttnParam, RKLLMInferParam,
           RKLLMResultLastHiddenLayer, RKLLMResultLogits, RKLLMPerfStat, RKLLMResult)

# All 15 functions, in header order: name -> (argtypes, restype).
FUNCTIONS = {
    # RKLLMParam rkllm_createDefaultParam();
    "rkllm_createDefaultParam": ([], RKLLMParam),
    # int rkllm_init(LLMHandle* handle, RKLLMParam* param, LLMResultCallback callback);
    "rkllm_init": ([POINTER(LLMHandle), POINTER(RKLLMParam), LLMResultCallback], c_int),
    # int rkllm_load_lora(LLMHandle handle, RKLLMLoraAdapter* lora_adapter);
    "rkllm_load_lora": ([LLMHandle, POINTER(RKLLMLoraAdapter)], c_int),
    # int rkllm_load_prompt_cache(LLMHandle handle, const char* prompt_cache_path);
    "rkllm_load_prompt_cache": ([LLMHandle, c_char_p], c_int),
    # int rkllm_release_prompt_cache(LLMHandle handle);
    "rkllm_release_prompt_cache": ([LLMHandle], c_int),
    # int rkllm_destroy(LLMHandle handle);
    "rkllm_destroy": ([LLMHandle], c_int),
    # int rkllm_run(LLMHandle handle, RKLLMInput* rkllm_input, RKLLMInferParam* rkllm_infer_params, void* userdata);
    "rkllm_run": ([LLMHandle, POINTER(RKLLMInput), POINTER(RKLLMInferParam), c_void_p], c_int),
    # int rkllm_run_async(LLMHandle handle, RKLLMInput* rkllm_input, RKLLMInferParam* rkllm_infer_params,
    #                     void* userdata);
    "rkllm_run_async": ([LLMHandle, POINTER(RKLLMInput), POINTER(RKLLMInferParam), c_void_p], c_int),
    # int rkllm_abort(LLMHandle handle);
    "rkllm_abort": ([LLMHandle], c_int),
    # int rkllm_is_running(LLMHandle handle);
    "rkllm_is_running": ([LLMHandle], c_int),
    # int rkllm_clear_kv_cache(LLMHandle handle, int keep_system_prompt, int* start_pos, int* end_pos);
    "rkllm_clear_kv_cache": ([LLMHandle, c_int, POINTER(c_int), POINTER(c_int)], c_int),
    # int rkllm_get_kv_cache_size(LLMHandle handle, int* cache_sizes);
    "rkllm_get_kv_cache_size": ([LLMHandle, POINTER(c_int)], c_int),
    # int rkllm_set_chat_template(LLMHandle handle, const char* system_prompt, const char* prompt_prefix,
    #                             const char* prompt_postfix);
    "rkllm_set_chat_template": ([LLMHandle, c_char_p, c_char_p, c_char_p], c_int),
    # int rkllm_set_function_tools(LLMHandle handle, const char* system_prompt, const char* tools,
    #                              const char* tool_response_str);
    "rkllm_set_function_tools": ([LLMHandle, c_char_p, c_char_p, c_char_p], c_int),
    # int rkllm_set_cross_attn_params(LLMHandle handle, RKLLMCrossAttnParam* cross_attn_params);
    "rkllm_set_cross_attn_params": ([LLMHandle, POINTER(RKLLMCrossAttnParam)], c_int),
}

