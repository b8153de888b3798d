/*
 * Test double of Rockchip's rkllm.h, written from the project's fact sheet
 * shared/facts/rkllm-abi.md (not copied from Rockchip's header).
 *
 * One header for two incompatible releases, chosen at compile time:
 *   -DFAKE_RKLLM_ABI=10203   runtime 1.2.3 (default)
 *   -DFAKE_RKLLM_ABI=10300   runtime 1.3.0
 * Sizes and offsets are asserted at the end of this file, so a layout that drifts from
 * the fact sheet fails to compile.
 */
#ifndef FAKE_RKLLM_H
#define FAKE_RKLLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef FAKE_RKLLM_ABI
#define FAKE_RKLLM_ABI 10203
#endif
#if FAKE_RKLLM_ABI != 10203 && FAKE_RKLLM_ABI != 10300
#error "FAKE_RKLLM_ABI must be 10203 (1.2.3) or 10300 (1.3.0)"
#endif

typedef void *LLMHandle;

typedef enum { RKLLM_RUN_NORMAL = 0, RKLLM_RUN_WAITING = 1, RKLLM_RUN_FINISH = 2, RKLLM_RUN_ERROR = 3 } LLMCallState;
typedef enum { RKLLM_INPUT_PROMPT = 0, RKLLM_INPUT_TOKEN = 1, RKLLM_INPUT_EMBED = 2, RKLLM_INPUT_MULTIMODAL = 3 } RKLLMInputType;
typedef enum { RKLLM_INFER_GENERATE = 0, RKLLM_INFER_GET_LAST_HIDDEN_LAYER = 1, RKLLM_INFER_GET_LOGITS = 2 } RKLLMInferMode;

typedef struct {
    int32_t base_domain_id;
    int8_t embed_flash;
    int8_t enabled_cpus_num;
    uint32_t enabled_cpus_mask;
    uint8_t n_batch;
    int8_t use_cross_attn;
    uint8_t reserved[104];
} RKLLMExtendParam;

typedef struct {
    const char *model_path;
    int32_t max_context_len;
    int32_t max_new_tokens;
    int32_t top_k;
    int32_t n_keep;
    float top_p;
    float temperature;
    float repeat_penalty;
    float frequency_penalty;
    float presence_penalty;
    int32_t mirostat;
    float mirostat_tau;
    float mirostat_eta;
    bool skip_special_token;
#if FAKE_RKLLM_ABI >= 10300
    bool ignore_eos_token;
    bool is_async;
#else
    bool is_async;
    const char *img_start;
    const char *img_end;
    const char *img_content;
#endif
    RKLLMExtendParam extend_param;
} RKLLMParam;

typedef struct { void *opaque; } RKLLMLoraParam;        /* not needed by the fake */
typedef struct { void *opaque; } RKLLMPromptCacheParam; /* not needed by the fake */

typedef struct {
    float *embed;
    size_t n_tokens;
} RKLLMEmbedInput;

typedef struct {
    int32_t *input_ids;
    size_t n_tokens;
} RKLLMTokenInput;

#if FAKE_RKLLM_ABI >= 10300
typedef struct {
    char *prompt;
    struct {
        float *image_embed;
        size_t n_image_tokens;
        size_t n_image;
        const char *image_start;
        const char *image_end;
        const char *image_content;
        size_t image_width;
        size_t image_height;
    } image;
    struct {
        float *video_embed;
        size_t n_frame_tokens;
        size_t n_frame_per_video;
        size_t n_video;
        const char *video_start;
        const char *video_end;
        const char *video_content;
        size_t frame_width;
        size_t frame_height;
    } video;
} RKLLMMultiModalInput;
#else
typedef struct {
    char *prompt;
    float *image_embed;
    size_t n_image_tokens;
    size_t n_image;
    size_t image_width;
    size_t image_height;
} RKLLMMultiModalInput;
#endif

typedef struct {
    const char *role;
    bool enable_thinking;
    RKLLMInputType input_type;
    union {
        const char *prompt_input;
        RKLLMEmbedInput embed_input;
        RKLLMTokenInput token_input;
        RKLLMMultiModalInput multimodal_input;
    };
} RKLLMInput;

#if FAKE_RKLLM_ABI >= 10300
typedef struct {
    int32_t top_k;
    float top_p;
    float temperature;
    float repeat_penalty;
    float frequency_penalty;
    float presence_penalty;
    int32_t mirostat;
    float mirostat_tau;
    float mirostat_eta;
} RKLLMSamplingParam;
#endif

typedef struct {
    RKLLMInferMode mode;
    RKLLMLoraParam *lora_params;
    RKLLMPromptCacheParam *prompt_cache_params;
#if FAKE_RKLLM_ABI >= 10300
    RKLLMSamplingParam *sampling_params;
    int keep_history;
    int32_t max_new_tokens;
#else
    int keep_history;
#endif
} RKLLMInferParam;

typedef struct {
    const float *hidden_states;
    int embd_size;
    int num_tokens;
} RKLLMResultLastHiddenLayer;

typedef struct {
    const float *logits;
    int vocab_size;
    int num_tokens;
} RKLLMResultLogits;

typedef struct {
    float prefill_time_ms;
    int prefill_tokens;
    float generate_time_ms;
    int generate_tokens;
    float memory_usage_mb;
} RKLLMPerfStat;

typedef struct {
    const char *text;
    int32_t token_id;
    RKLLMResultLastHiddenLayer last_hidden_layer;
    RKLLMResultLogits logits;
    RKLLMPerfStat perf;
} RKLLMResult;

typedef int (*LLMResultCallback)(RKLLMResult *result, void *userdata, LLMCallState state);

#if FAKE_RKLLM_ABI >= 10300
typedef struct {
    LLMResultCallback result_callback;
    void *result_userdata;
    void *tokenizer_callback; /* prototype not on the fact sheet; the fake ignores it */
    void *tokenizer_userdata;
    void *embed_callback;     /* prototype not on the fact sheet; the fake ignores it */
    void *embed_userdata;
} RKLLMCallback;
#endif

RKLLMParam rkllm_createDefaultParam(void);
#if FAKE_RKLLM_ABI >= 10300
int rkllm_init(LLMHandle *handle, RKLLMParam *param, RKLLMCallback *cbs);
#else
int rkllm_init(LLMHandle *handle, RKLLMParam *param, LLMResultCallback callback);
#endif
int rkllm_run(LLMHandle handle, RKLLMInput *input, RKLLMInferParam *infer, void *userdata);
int rkllm_run_async(LLMHandle handle, RKLLMInput *input, RKLLMInferParam *infer, void *userdata);
int rkllm_abort(LLMHandle handle);
int rkllm_is_running(LLMHandle handle);
int rkllm_destroy(LLMHandle handle);
int rkllm_clear_kv_cache(LLMHandle handle, int keep_system_prompt, int *start_pos, int *end_pos);
int rkllm_get_kv_cache_size(LLMHandle handle, int *cache_sizes);
int rkllm_set_chat_template(LLMHandle handle, const char *system_prompt, const char *prompt_prefix,
                            const char *prompt_postfix);

/* Test-only symbols of the double. */
int fake_destroy_count(void);
int fake_abort_count(void);
int fake_live_handles(void);
void fake_reset_counters(void);

/* Layout = fact sheet (offsets in bytes, LP64). */
#define FAKE_CHECK(cond) _Static_assert(cond, #cond)
FAKE_CHECK(sizeof(RKLLMExtendParam) == 120);
FAKE_CHECK(offsetof(RKLLMExtendParam, enabled_cpus_mask) == 8);
FAKE_CHECK(offsetof(RKLLMExtendParam, reserved) == 14);
FAKE_CHECK(sizeof(RKLLMEmbedInput) == 16);
FAKE_CHECK(sizeof(RKLLMTokenInput) == 16);
FAKE_CHECK(sizeof(RKLLMPerfStat) == 20);
FAKE_CHECK(sizeof(RKLLMResult) == 72);
FAKE_CHECK(offsetof(RKLLMResult, perf) == 48);
FAKE_CHECK(offsetof(RKLLMInput, input_type) == 12);
FAKE_CHECK(offsetof(RKLLMInput, prompt_input) == 16);
FAKE_CHECK(offsetof(RKLLMParam, skip_special_token) == 56);
#if FAKE_RKLLM_ABI >= 10300
FAKE_CHECK(sizeof(RKLLMParam) == 184);
FAKE_CHECK(offsetof(RKLLMParam, ignore_eos_token) == 57);
FAKE_CHECK(offsetof(RKLLMParam, extend_param) == 60);
FAKE_CHECK(sizeof(RKLLMMultiModalInput) == 144);
FAKE_CHECK(offsetof(RKLLMMultiModalInput, image.image_height) == 64);
FAKE_CHECK(offsetof(RKLLMMultiModalInput, video) == 72);
FAKE_CHECK(sizeof(RKLLMInput) == 160);
FAKE_CHECK(sizeof(RKLLMSamplingParam) == 36);
FAKE_CHECK(sizeof(RKLLMCallback) == 48);
FAKE_CHECK(sizeof(RKLLMInferParam) == 40);
FAKE_CHECK(offsetof(RKLLMInferParam, max_new_tokens) == 36);
#else
FAKE_CHECK(sizeof(RKLLMParam) == 208);
FAKE_CHECK(offsetof(RKLLMParam, img_start) == 64);
FAKE_CHECK(offsetof(RKLLMParam, extend_param) == 88);
FAKE_CHECK(sizeof(RKLLMMultiModalInput) == 48);
FAKE_CHECK(sizeof(RKLLMInput) == 64);
FAKE_CHECK(sizeof(RKLLMInferParam) == 32);
FAKE_CHECK(offsetof(RKLLMInferParam, keep_history) == 24);
#endif

#endif /* FAKE_RKLLM_H */
