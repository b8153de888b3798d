/*
 * Fake librkllmrt.so for rklab's tests (never shipped in the product).
 *
 * Same C functions and struct layouts as Rockchip's runtime (see rkllm.h in this folder,
 * written from shared/facts/rkllm-abi.md); the release is picked at compile time with
 * -DFAKE_RKLLM_ABI=10203 or 10300. Build:
 *   gcc -shared -fPIC -O1 -DFAKE_RKLLM_ABI=10300 -o librkllmrt.so fake_rkllm.c
 *
 * Behaviour (deterministic):
 *   token i (0-based) has text "tok<i> " and token_id 100+i; RUN_FINISH carries the perf block.
 *   prompt length: PROMPT = number of space-separated words; TOKEN / EMBED = n_tokens;
 *   MULTIMODAL = words (the "<image>" placeholder excluded) + n_image * n_image_tokens.
 *   generated count = max_new_tokens (1.3.0: RKLLMInferParam.max_new_tokens when > 0, else
 *   RKLLMParam's; 1.2.3: RKLLMParam's), cut short by EOS, abort, an error or the context end.
 *   A prompt that does not fit (prompt tokens >= max_context_len) gives RUN_ERROR and -1.
 *   rkllm_abort stops the running generation before the next token (no RUN_FINISH follows).
 * Environment knobs, read at each call:
 *   FAKE_RKLLM_LOG=path          append "key=value" lines of everything the binding passed
 *   FAKE_RKLLM_INIT_FAIL=1       rkllm_init returns -1
 *   FAKE_RKLLM_RUN_FAIL=1        rkllm_run returns -1 without any callback
 *   FAKE_RKLLM_ERROR_AT=K        after K tokens the callback gets RUN_ERROR; rkllm_run returns 0
 *   FAKE_RKLLM_EOS_AFTER=K       EOS after K tokens unless RKLLMParam.ignore_eos_token (1.3.0)
 *   FAKE_RKLLM_TOKEN_DELAY_MS=d  sleep d ms before each token (default 0)
 *   FAKE_RKLLM_PREFILL_DELAY_MS  sleep before the first token (default 0)
 *   FAKE_RKLLM_MEMORY_MB=x       perf.memory_usage_mb (default 321.5)
 *   FAKE_RKLLM_HIDDEN=w          floats per embedding row, for the embedding checksum (default 8)
 *   FAKE_RKLLM_UTF8_AT=K         token K sends the first two bytes of U+4E2D with RUN_WAITING,
 *                                token K+1 sends the last byte (partial UTF-8 across callbacks)
 */
#include "rkllm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef FAKE_RKLLM_VERSION
#if FAKE_RKLLM_ABI >= 10300
#define FAKE_RKLLM_VERSION "1.3.0"
#else
#define FAKE_RKLLM_VERSION "1.2.3"
#endif
#endif

/* The version the binding detects. The real runtime logs "rkllm-runtime version: X, ..." at
 * init; FAKE_RKLLM_SPLIT_BANNER stores it as a printf format plus a separate version literal. */
#ifdef FAKE_RKLLM_SPLIT_BANNER
__attribute__((used)) static const char fake_banner_fmt[] =
    "rkllm-runtime version: %s, rknpu driver version: %s, platform: %s";
__attribute__((used)) static const char fake_version_str[] = FAKE_RKLLM_VERSION;
#define BANNER_PRINT() fprintf(stderr, fake_banner_fmt, fake_version_str, "0.9.8", "FAKE")
#else
__attribute__((used)) static const char fake_banner[] = "rkllm-runtime version: " FAKE_RKLLM_VERSION;
#define BANNER_PRINT() fprintf(stderr, "%s", fake_banner)
#endif

typedef struct {
    RKLLMParam param;
    char *model_path;
#if FAKE_RKLLM_ABI >= 10300
    RKLLMCallback cbs;
#else
    char *img_start, *img_end, *img_content;
    LLMResultCallback cb;
#endif
    volatile int abort_flag;
    volatile int running;
} FakeHandle;

static int g_destroy_count = 0;
static int g_abort_count = 0;
static int g_live = 0;

int fake_destroy_count(void) { return g_destroy_count; }
int fake_abort_count(void) { return g_abort_count; }
int fake_live_handles(void) { return g_live; }
void fake_reset_counters(void) { g_destroy_count = 0; g_abort_count = 0; }

static long env_long(const char *name, long dflt) {
    const char *v = getenv(name);
    return (v && *v) ? strtol(v, NULL, 10) : dflt;
}

static double env_double(const char *name, double dflt) {
    const char *v = getenv(name);
    return (v && *v) ? strtod(v, NULL) : dflt;
}

static void logf_(const char *fmt, ...) {
    const char *path = getenv("FAKE_RKLLM_LOG");
    if (!path || !*path) return;
    FILE *f = fopen(path, "a");
    if (!f) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

static const char *s(const char *p) { return p ? p : "(null)"; }

#if FAKE_RKLLM_ABI < 10300
static char *dup_or_null(const char *p) { return p ? strdup(p) : NULL; }
#endif

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int count_words(const char *p) {
    int n = 0, in = 0;
    for (; p && *p; ++p) {
        if (*p == ' ' || *p == '\n' || *p == '\t') in = 0;
        else if (!in) { in = 1; ++n; }
    }
    return n;
}

static int count_substr(const char *p, const char *needle) {
    int n = 0;
    size_t len = strlen(needle);
    while (p && (p = strstr(p, needle)) != NULL) { ++n; p += len; }
    return n;
}

static double sum_floats(const float *x, size_t n) {
    double acc = 0;
    for (size_t i = 0; x && i < n; ++i) acc += x[i];
    return acc;
}

RKLLMParam rkllm_createDefaultParam(void) {
    /* The fake's own defaults (not Rockchip's): recognisable values the tests can tell apart. */
    RKLLMParam p;
    memset(&p, 0, sizeof p);
    p.max_context_len = 512;
    p.max_new_tokens = 16;
    p.top_k = 40;
    p.n_keep = -1;
    p.top_p = 0.9f;
    p.temperature = 0.8f;
    p.repeat_penalty = 1.1f;
    p.mirostat_tau = 5.0f;
    p.mirostat_eta = 0.1f;
    p.skip_special_token = true;
    p.extend_param.base_domain_id = 0;
    p.extend_param.embed_flash = 0;
    p.extend_param.enabled_cpus_num = 4;
    p.extend_param.enabled_cpus_mask = 0xF0;
    p.extend_param.n_batch = 1;
    return p;
}

#if FAKE_RKLLM_ABI >= 10300
int rkllm_init(LLMHandle *handle, RKLLMParam *param, RKLLMCallback *cbs)
#else
int rkllm_init(LLMHandle *handle, RKLLMParam *param, LLMResultCallback callback)
#endif
{
    if (getenv("RKLLM_LOG_LEVEL")) { BANNER_PRINT(); fputc('\n', stderr); }
    if (!handle || !param) return -1;
    logf_("init.version=%s", FAKE_RKLLM_VERSION);
    logf_("init.model_path=%s", s(param->model_path));
    logf_("init.max_context_len=%d", param->max_context_len);
    logf_("init.max_new_tokens=%d", param->max_new_tokens);
    logf_("init.top_k=%d", param->top_k);
    logf_("init.n_keep=%d", param->n_keep);
    logf_("init.top_p=%.4f", param->top_p);
    logf_("init.temperature=%.4f", param->temperature);
    logf_("init.repeat_penalty=%.4f", param->repeat_penalty);
    logf_("init.frequency_penalty=%.4f", param->frequency_penalty);
    logf_("init.presence_penalty=%.4f", param->presence_penalty);
    logf_("init.mirostat=%d", param->mirostat);
    logf_("init.skip_special_token=%d", (int)param->skip_special_token);
    logf_("init.is_async=%d", (int)param->is_async);
#if FAKE_RKLLM_ABI >= 10300
    logf_("init.ignore_eos_token=%d", (int)param->ignore_eos_token);
#else
    logf_("init.img_start=%s", s(param->img_start));
    logf_("init.img_end=%s", s(param->img_end));
    logf_("init.img_content=%s", s(param->img_content));
#endif
    logf_("init.base_domain_id=%d", param->extend_param.base_domain_id);
    logf_("init.embed_flash=%d", param->extend_param.embed_flash);
    logf_("init.enabled_cpus_num=%d", param->extend_param.enabled_cpus_num);
    logf_("init.enabled_cpus_mask=%u", param->extend_param.enabled_cpus_mask);
    logf_("init.n_batch=%d", param->extend_param.n_batch);

    if (env_long("FAKE_RKLLM_INIT_FAIL", 0)) { logf_("init.result=-1"); return -1; }
    if (!param->model_path || access(param->model_path, R_OK) != 0) { logf_("init.result=-1"); return -1; }
#if FAKE_RKLLM_ABI >= 10300
    if (!cbs || !cbs->result_callback) return -1;
#else
    if (!callback) return -1;
#endif
    FakeHandle *h = calloc(1, sizeof *h);
    h->param = *param;
    h->model_path = strdup(param->model_path);
    h->param.model_path = h->model_path;
#if FAKE_RKLLM_ABI >= 10300
    h->cbs = *cbs;
#else
    h->cb = callback;
    h->img_start = dup_or_null(param->img_start);
    h->img_end = dup_or_null(param->img_end);
    h->img_content = dup_or_null(param->img_content);
#endif
    *handle = h;
    ++g_live;
    logf_("init.result=0");
    return 0;
}

static int emit(FakeHandle *h, RKLLMResult *r, void *userdata, LLMCallState st) {
#if FAKE_RKLLM_ABI >= 10300
    void *ud = userdata ? userdata : h->cbs.result_userdata;
    return h->cbs.result_callback(r, ud, st);
#else
    return h->cb(r, userdata, st);
#endif
}

int rkllm_run(LLMHandle handle, RKLLMInput *input, RKLLMInferParam *infer, void *userdata) {
    FakeHandle *h = (FakeHandle *)handle;
    if (!h || !input) return -1;
    h->abort_flag = 0;
    h->running = 1;
    long hidden = env_long("FAKE_RKLLM_HIDDEN", 8);
    int prompt_tokens = 0;
    logf_("run.input_type=%d", (int)input->input_type);
    logf_("run.role=%s", s(input->role));
    logf_("run.enable_thinking=%d", (int)input->enable_thinking);
    switch (input->input_type) {
    case RKLLM_INPUT_PROMPT:
        logf_("run.prompt=%s", s(input->prompt_input));
        prompt_tokens = count_words(input->prompt_input);
        break;
    case RKLLM_INPUT_TOKEN:
        logf_("run.n_tokens=%zu", input->token_input.n_tokens);
        if (input->token_input.n_tokens) {
            logf_("run.first_token_id=%d", input->token_input.input_ids[0]);
            logf_("run.last_token_id=%d", input->token_input.input_ids[input->token_input.n_tokens - 1]);
        }
        prompt_tokens = (int)input->token_input.n_tokens;
        break;
    case RKLLM_INPUT_EMBED:
        logf_("run.n_tokens=%zu", input->embed_input.n_tokens);
        logf_("run.embed_sum=%.3f", sum_floats(input->embed_input.embed, input->embed_input.n_tokens * hidden));
        prompt_tokens = (int)input->embed_input.n_tokens;
        break;
    case RKLLM_INPUT_MULTIMODAL: {
        RKLLMMultiModalInput *m = &input->multimodal_input;
        logf_("run.prompt=%s", s(m->prompt));
#if FAKE_RKLLM_ABI >= 10300
        size_t n_img_tok = m->image.n_image_tokens, n_img = m->image.n_image;
        const float *emb = m->image.image_embed;
        logf_("run.image_start=%s", s(m->image.image_start));
        logf_("run.image_end=%s", s(m->image.image_end));
        logf_("run.image_content=%s", s(m->image.image_content));
        logf_("run.image_width=%zu", m->image.image_width);
        logf_("run.image_height=%zu", m->image.image_height);
        logf_("run.n_video=%zu", m->video.n_video);
#else
        size_t n_img_tok = m->n_image_tokens, n_img = m->n_image;
        const float *emb = m->image_embed;
        logf_("run.image_start=%s", s(h->img_start));
        logf_("run.image_end=%s", s(h->img_end));
        logf_("run.image_content=%s", s(h->img_content));
        logf_("run.image_width=%zu", m->image_width);
        logf_("run.image_height=%zu", m->image_height);
#endif
        logf_("run.n_image_tokens=%zu", n_img_tok);
        logf_("run.n_image=%zu", n_img);
        logf_("run.embed_sum=%.3f", sum_floats(emb, n_img_tok * n_img * hidden));
        int placeholders = count_substr(m->prompt, "<image>");
        logf_("run.image_placeholders=%d", placeholders);
        prompt_tokens = count_words(m->prompt) - placeholders + (int)(n_img * n_img_tok);
        break;
    }
    default:
        h->running = 0;
        return -1;
    }
    int max_new = h->param.max_new_tokens;
    if (infer) {
        logf_("run.mode=%d", (int)infer->mode);
        logf_("run.keep_history=%d", infer->keep_history);
#if FAKE_RKLLM_ABI >= 10300
        logf_("run.infer_max_new_tokens=%d", infer->max_new_tokens);
        if (infer->max_new_tokens > 0) max_new = infer->max_new_tokens;
        if (infer->sampling_params) {
            RKLLMSamplingParam *sp = infer->sampling_params;
            logf_("run.sampling.top_k=%d", sp->top_k);
            logf_("run.sampling.top_p=%.4f", sp->top_p);
            logf_("run.sampling.temperature=%.4f", sp->temperature);
            logf_("run.sampling.repeat_penalty=%.4f", sp->repeat_penalty);
        } else {
            logf_("run.sampling=(null)");
        }
#endif
    }
    logf_("run.prompt_tokens=%d", prompt_tokens);
    logf_("run.max_new_tokens=%d", max_new);

    RKLLMResult r;
    memset(&r, 0, sizeof r);
    if (env_long("FAKE_RKLLM_RUN_FAIL", 0)) { h->running = 0; logf_("run.end=fail"); return -1; }
    if (prompt_tokens >= h->param.max_context_len) {
        logf_("run.end=context");
        emit(h, &r, userdata, RKLLM_RUN_ERROR);
        h->running = 0;
        return -1;
    }
#if FAKE_RKLLM_ABI >= 10300
    int ignore_eos = h->param.ignore_eos_token;
#else
    int ignore_eos = 0;
#endif
    long eos_after = env_long("FAKE_RKLLM_EOS_AFTER", -1);
    long error_at = env_long("FAKE_RKLLM_ERROR_AT", -1);
    long utf8_at = env_long("FAKE_RKLLM_UTF8_AT", -1);
    long delay = env_long("FAKE_RKLLM_TOKEN_DELAY_MS", 0);
    double t0 = now_ms(), t_first = t0;
    sleep_ms(env_long("FAKE_RKLLM_PREFILL_DELAY_MS", 0));
    int n = 0;
    const char *end = "finish";
    char text[64];
    for (int i = 0; i < max_new; ++i) {
        if (h->abort_flag) { end = "aborted"; break; }
        if (!ignore_eos && eos_after >= 0 && i >= eos_after) { end = "eos"; break; }
        if (prompt_tokens + i >= h->param.max_context_len) { end = "context_full"; break; }
        if (error_at >= 0 && i >= error_at) {
            end = "error";
            logf_("run.generated=%d", n);
            logf_("run.end=%s", end);
            emit(h, &r, userdata, RKLLM_RUN_ERROR);
            h->running = 0;
            return 0;
        }
        if (i > 0) sleep_ms(delay);
        if (h->abort_flag) { end = "aborted"; break; }
        LLMCallState st = RKLLM_RUN_NORMAL;
        if (i == utf8_at) { strcpy(text, "\xe4\xb8"); st = RKLLM_RUN_WAITING; }
        else if (utf8_at >= 0 && i == utf8_at + 1) strcpy(text, "\xad ");
        else snprintf(text, sizeof text, "tok%d ", i);
        if (i == 0) t_first = now_ms();
        r.text = text;
        r.token_id = 100 + i;
        ++n;
        emit(h, &r, userdata, st);
    }
    double t_end = now_ms();
    logf_("run.generated=%d", n);
    logf_("run.end=%s", end);
    if (strcmp(end, "aborted") != 0) {
        memset(&r, 0, sizeof r);
        r.perf.prefill_time_ms = (float)(t_first - t0);
        r.perf.prefill_tokens = prompt_tokens;
        r.perf.generate_time_ms = (float)(t_end - t_first);
        r.perf.generate_tokens = n;
        r.perf.memory_usage_mb = (float)env_double("FAKE_RKLLM_MEMORY_MB", 321.5);
        emit(h, &r, userdata, RKLLM_RUN_FINISH);
    }
    h->running = 0;
    return 0;
}

int rkllm_run_async(LLMHandle handle, RKLLMInput *input, RKLLMInferParam *infer, void *userdata) {
    return rkllm_run(handle, input, infer, userdata); /* the fake is synchronous */
}

int rkllm_abort(LLMHandle handle) {
    FakeHandle *h = (FakeHandle *)handle;
    if (!h) return -1;
    h->abort_flag = 1;
    ++g_abort_count;
    logf_("abort=1");
    return 0;
}

int rkllm_is_running(LLMHandle handle) {
    FakeHandle *h = (FakeHandle *)handle;
    return h ? h->running : 0;
}

int rkllm_destroy(LLMHandle handle) {
    FakeHandle *h = (FakeHandle *)handle;
    if (!h) return -1;
    ++g_destroy_count;
    --g_live;
    logf_("destroy=1");
    free(h->model_path);
#if FAKE_RKLLM_ABI < 10300
    free(h->img_start);
    free(h->img_end);
    free(h->img_content);
#endif
    free(h);
    return 0;
}

int rkllm_clear_kv_cache(LLMHandle handle, int keep_system_prompt, int *start_pos, int *end_pos) {
    (void)start_pos; (void)end_pos;
    logf_("clear_kv_cache=%d", keep_system_prompt);
    return handle ? 0 : -1;
}

int rkllm_get_kv_cache_size(LLMHandle handle, int *cache_sizes) {
    if (!handle || !cache_sizes) return -1;
    cache_sizes[0] = 0;
    return 0;
}

int rkllm_set_chat_template(LLMHandle handle, const char *system_prompt, const char *prompt_prefix,
                            const char *prompt_postfix) {
    logf_("chat_template.system=%s", s(system_prompt));
    logf_("chat_template.prefix=%s", s(prompt_prefix));
    logf_("chat_template.postfix=%s", s(prompt_postfix));
    return handle ? 0 : -1;
}
