/*
 * Fake librkllmrt.so for rklab's tests (never shipped in the product).
 *
 * Compiled against Rockchip's REAL rkllm.h of the release under test (tests/fixtures/fake_rkllm.py
 * puts ../shared/vendor/rknn-llm/v<release>/ and include/ — a C shim for <cstdint> — on the
 * include path); the release is also given as -DFAKE_RKLLM_ABI=10203 or 10300 because the
 * header carries no version macro. Build by hand:
 *   gcc -shared -fPIC -O1 -Iinclude -I../../../../shared/vendor/rknn-llm/v1.3.0 \
 *       -DFAKE_RKLLM_ABI=10300 -o librkllmrt.so fake_rkllm.c
 * -DFAKE_RKLLM_FUTURE_LAYOUT makes rkllm_createDefaultParam return a struct no header has (a
 * release rklab does not know), -DFAKE_RKLLM_VERSION="x.y.z" the version its banner reports.
 *
 * Like the real runtime:
 *   - rkllm_createDefaultParam returns the defaults of the SDK manual (tables 3-11/3-12:
 *     top_k 40, top_p 0.9, temperature 0.8, repeat_penalty 1.1, frequency/presence 0,
 *     mirostat_tau 5.0, mirostat_eta 0.1, base_domain_id 0, enabled_cpus_num 4, n_batch 1);
 *   - rkllm_init prints the banner from a format string, on stdout:
 *       "I rkllm: rkllm-runtime version: %s, rknpu driver version: %s, platform: %s"
 *     and refuses (returns -1) an RKNPU driver below 0.9.7 after printing an upgrade line;
 *   - a PREFIX CACHE (the CHANGELOGs' automatic prompt-cache reuse, 1.2.0; embedding-input
 *     reuse, 1.2.3; multimodal cache reuse, 1.3.0), in its worst case: whatever leading part
 *     of a run's input equals the previous run's input is not prefilled again, even with
 *     keep_history = 0, until rkllm_clear_kv_cache empties the cache. Prefill then costs
 *     FAKE_RKLLM_PREFILL_US_PER_TOKEN per *uncached* token and perf.prefill_time_ms shrinks.
 *
 * Behaviour (deterministic):
 *   token i (0-based) has text "tok<i> " and token_id 100+i; RUN_FINISH carries the perf block.
 *   input items: PROMPT = space-separated words; TOKEN = ids; EMBED = rows;
 *   MULTIMODAL = words, each "<image>" placeholder replaced by n_image_tokens image rows.
 *   generated count = max_new_tokens (1.3.0: RKLLMInferParam.max_new_tokens when > 0, else
 *   RKLLMParam's; 1.2.3: RKLLMParam's), cut short by EOS, abort, an error or the context end.
 *   A prompt that does not fit (prompt tokens >= max_context_len) gives RUN_ERROR and -1.
 *   rkllm_abort stops the running generation before the next token (no RUN_FINISH follows).
 * Environment knobs, read at each call:
 *   FAKE_RKLLM_LOG=path          append "key=value" lines of everything the binding passed
 *   FAKE_RKLLM_DRIVER=x.y.z      the RKNPU driver version the banner reports (default 0.9.8)
 *   FAKE_RKLLM_PLATFORM=name     the platform the banner reports (default RK3588)
 *   FAKE_RKLLM_BANNER_STDERR=1   print the banner on stderr instead of stdout
 *   FAKE_RKLLM_INIT_FAIL=1       rkllm_init returns -1
 *   FAKE_RKLLM_RUN_FAIL=1        rkllm_run returns -1 without any callback
 *   FAKE_RKLLM_ERROR_AT=K        after K tokens the callback gets RUN_ERROR; rkllm_run returns 0
 *   FAKE_RKLLM_EOS_AFTER=K       EOS after K tokens unless RKLLMParam.ignore_eos_token (1.3.0)
 *   FAKE_RKLLM_TOKEN_DELAY_MS=d  sleep d ms before each token (default 0)
 *   FAKE_RKLLM_PREFILL_DELAY_MS  sleep before the first token (default 0)
 *   FAKE_RKLLM_PREFILL_US_PER_TOKEN=u  plus u microseconds per uncached prompt token (default 0)
 *   FAKE_RKLLM_MEMORY_MB=x       perf.memory_usage_mb (default 321.5)
 *   FAKE_RKLLM_HIDDEN=w          floats per embedding row (checksums, row hashes; default 8)
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

#ifndef FAKE_RKLLM_ABI
#error "build with -DFAKE_RKLLM_ABI=10203 (1.2.3) or 10300 (1.3.0): rkllm.h has no version macro"
#endif

#ifndef FAKE_RKLLM_VERSION
#if FAKE_RKLLM_ABI >= 10300
#define FAKE_RKLLM_VERSION "1.3.0"
#else
#define FAKE_RKLLM_VERSION "1.2.3"
#endif
#endif

/* The banner is a format string, as in the real library: no string in the file names the version. */
static const char banner_fmt[] = "I rkllm: rkllm-runtime version: %s, rknpu driver version: %s, platform: %s\n";
static const char *runtime_version(void) { return FAKE_RKLLM_VERSION; }

typedef struct {
    RKLLMParam param;
    char *model_path;
#if FAKE_RKLLM_ABI >= 10300
    RKLLMCallback cbs;
#else
    char *img_start, *img_end, *img_content;
    LLMResultCallback cb;
#endif
    unsigned long long *cache; /* the items of the previous run's input (the prefix cache) */
    size_t cache_len;
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

static const char *env_str(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return (v && *v) ? v : dflt;
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

static void sleep_us(long us) {
    if (us <= 0) return;
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
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

/* ------------------------------------------------------------------ input items (cache keys) */

static unsigned long long fnv(const void *data, size_t n, unsigned long long h) {
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < n; ++i) { h ^= p[i]; h *= 1099511628211ULL; }
    return h;
}
#define FNV0 1469598103934665603ULL

typedef struct { unsigned long long *v; size_t n, cap; } Items;

static void push(Items *it, unsigned long long x) {
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 64;
        it->v = realloc(it->v, it->cap * sizeof *it->v);
    }
    it->v[it->n++] = x;
}

/* Words of a text; each "<image>" word part becomes n_tok items hashed from that image's rows. */
static void text_items(Items *it, const char *p, const float *emb, size_t n_tok, size_t hidden, size_t n_img) {
    size_t img = 0;
    while (p && *p) {
        while (*p == ' ' || *p == '\n' || *p == '\t') ++p;
        if (!*p) break;
        if (emb && strncmp(p, "<image>", 7) == 0) {
            for (size_t t = 0; t < n_tok && img < n_img; ++t)
                push(it, fnv(emb + (img * n_tok + t) * hidden, hidden * sizeof(float), FNV0 ^ 0x1));
            ++img;
            p += 7;
            continue;
        }
        const char *w = p;
        while (*p && *p != ' ' && *p != '\n' && *p != '\t' && !(emb && strncmp(p, "<image>", 7) == 0)) ++p;
        push(it, fnv(w, (size_t)(p - w), FNV0));
    }
}

/* How many leading items equal the cached ones; then the cache holds this input. */
static size_t reuse_prefix(FakeHandle *h, const Items *it) {
    size_t k = 0;
    while (k < h->cache_len && k < it->n && h->cache[k] == it->v[k]) ++k;
    free(h->cache);
    h->cache = malloc((it->n ? it->n : 1) * sizeof *h->cache);
    memcpy(h->cache, it->v, it->n * sizeof *h->cache);
    h->cache_len = it->n;
    return k;
}

/* ------------------------------------------------------------------ API */

static RKLLMParam default_param(void) {
    /* The documented defaults (SDK manual 3-11/3-12); the rest are the fake's own choice. */
    RKLLMParam p;
    memset(&p, 0, sizeof p);
    p.max_context_len = 512;
    p.max_new_tokens = 16;
    p.top_k = 40;
    p.n_keep = -1;
    p.top_p = 0.9f;
    p.temperature = 0.8f;
    p.repeat_penalty = 1.1f;
    p.frequency_penalty = 0.0f;
    p.presence_penalty = 0.0f;
    p.mirostat_tau = 5.0f;
    p.mirostat_eta = 0.1f;
    p.skip_special_token = true;
    p.extend_param.base_domain_id = 0;
    p.extend_param.embed_flash = 0;
    p.extend_param.enabled_cpus_num = 4;
    p.extend_param.enabled_cpus_mask = CPU4 | CPU5 | CPU6 | CPU7;
    p.extend_param.n_batch = 1;
    return p;
}

#ifdef FAKE_RKLLM_FUTURE_LAYOUT
/* A release rklab has no header for: one new leading field shifts every offset by 8 bytes. */
typedef struct { int64_t new_leading_field; RKLLMParam p; } FutureParam;
/* exported as rkllm_createDefaultParam (the header's declaration of that name has the old type) */
FutureParam future_default_param(void) __asm__("rkllm_createDefaultParam");
FutureParam future_default_param(void) {
    FutureParam f;
    memset(&f, 0, sizeof f);
    f.p = default_param();
    return f;
}
#else
RKLLMParam rkllm_createDefaultParam(void) { return default_param(); }
#endif

static int driver_too_old(const char *v) {
    int a = 0, b = 0, c = 0;
    sscanf(v, "%d.%d.%d", &a, &b, &c);
    return a * 10000 + b * 100 + c < 907;
}

#if FAKE_RKLLM_ABI >= 10300
int rkllm_init(LLMHandle *handle, RKLLMParam *param, RKLLMCallback *cbs)
#else
int rkllm_init(LLMHandle *handle, RKLLMParam *param, LLMResultCallback callback)
#endif
{
    const char *driver = env_str("FAKE_RKLLM_DRIVER", "0.9.8");
    FILE *out = env_long("FAKE_RKLLM_BANNER_STDERR", 0) ? stderr : stdout;
    fprintf(out, banner_fmt, runtime_version(), driver, env_str("FAKE_RKLLM_PLATFORM", "RK3588"));
    fflush(out);
    if (!handle || !param) return -1;
    logf_("init.version=%s", runtime_version());
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

    if (driver_too_old(driver)) {
        fprintf(out, "E rkllm: rknpu driver version %s is too low, please upgrade to 0.9.7 or newer\n", driver);
        fflush(out);
        logf_("init.result=-1");
        return -1;
    }
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
    Items items = {0};
    logf_("run.input_type=%d", (int)input->input_type);
    logf_("run.role=%s", s(input->role));
    logf_("run.enable_thinking=%d", (int)input->enable_thinking);
    switch (input->input_type) {
    case RKLLM_INPUT_PROMPT:
        logf_("run.prompt=%s", s(input->prompt_input));
        text_items(&items, input->prompt_input, NULL, 0, 0, 0);
        break;
    case RKLLM_INPUT_TOKEN:
        logf_("run.n_tokens=%zu", input->token_input.n_tokens);
        if (input->token_input.n_tokens) {
            logf_("run.first_token_id=%d", input->token_input.input_ids[0]);
            logf_("run.last_token_id=%d", input->token_input.input_ids[input->token_input.n_tokens - 1]);
        }
        for (size_t i = 0; i < input->token_input.n_tokens; ++i)
            push(&items, (unsigned long long)(unsigned)input->token_input.input_ids[i]);
        break;
    case RKLLM_INPUT_EMBED:
        logf_("run.n_tokens=%zu", input->embed_input.n_tokens);
        logf_("run.embed_sum=%.3f", sum_floats(input->embed_input.embed, input->embed_input.n_tokens * hidden));
        for (size_t i = 0; i < input->embed_input.n_tokens; ++i)
            push(&items, fnv(input->embed_input.embed + i * hidden, hidden * sizeof(float), FNV0 ^ 0x2));
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
        logf_("run.image_placeholders=%d", count_substr(m->prompt, "<image>"));
        text_items(&items, m->prompt, emb, n_img_tok, (size_t)hidden, n_img);
        break;
    }
    default:
        h->running = 0;
        return -1;
    }
    int prompt_tokens = (int)items.n;
    int cached = (int)reuse_prefix(h, &items);
    free(items.v);
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
    logf_("run.cached_tokens=%d", cached);
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
    sleep_us(env_long("FAKE_RKLLM_PREFILL_DELAY_MS", 0) * 1000L
             + env_long("FAKE_RKLLM_PREFILL_US_PER_TOKEN", 0) * (long)(prompt_tokens - cached));
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
        if (i > 0) sleep_us(delay * 1000L);
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
    /* The two headers document opposite codes: 1.2.3 "0 if a task is running, non-zero otherwise",
     * 1.3.0 "1 if a task is running". The fake follows each header; rklab does not call it. */
    FakeHandle *h = (FakeHandle *)handle;
    int running = h && h->running;
#if FAKE_RKLLM_ABI >= 10300
    return running ? 1 : 0;
#else
    return running ? 0 : 1;
#endif
}

int rkllm_destroy(LLMHandle handle) {
    FakeHandle *h = (FakeHandle *)handle;
    if (!h) return -1;
    ++g_destroy_count;
    --g_live;
    logf_("destroy=1");
    free(h->model_path);
    free(h->cache);
#if FAKE_RKLLM_ABI < 10300
    free(h->img_start);
    free(h->img_end);
    free(h->img_content);
#endif
    free(h);
    return 0;
}

int rkllm_clear_kv_cache(LLMHandle handle, int keep_system_prompt, int *start_pos, int *end_pos) {
    FakeHandle *h = (FakeHandle *)handle;
    logf_("clear_kv_cache=%d", keep_system_prompt);
    logf_("clear_kv_cache.range=%s", (start_pos || end_pos) ? "given" : "all");
    if (!h) return -1;
    if (!start_pos && !end_pos) h->cache_len = 0; /* the whole cache (this fake has no system prompt) */
    return 0;
}

int rkllm_get_kv_cache_size(LLMHandle handle, int *cache_sizes) {
    FakeHandle *h = (FakeHandle *)handle;
    if (!h || !cache_sizes) return -1;
    cache_sizes[0] = (int)h->cache_len;
    return 0;
}

/* Log three strings under "<what>.<k1|k2|k3>"; 0 for a handle, -1 without one. */
static int log_three(LLMHandle handle, const char *what, const char *k1, const char *v1, const char *k2,
                     const char *v2, const char *k3, const char *v3) {
    logf_("%s.%s=%s", what, k1, s(v1));
    logf_("%s.%s=%s", what, k2, s(v2));
    logf_("%s.%s=%s", what, k3, s(v3));
    return handle ? 0 : -1;
}

int rkllm_set_chat_template(LLMHandle handle, const char *system_prompt, const char *prompt_prefix,
                            const char *prompt_postfix) {
    return log_three(handle, "chat_template", "system", system_prompt, "prefix", prompt_prefix, "postfix",
                     prompt_postfix);
}

int rkllm_load_lora(LLMHandle handle, RKLLMLoraAdapter *lora_adapter) {
    logf_("load_lora=%s", lora_adapter ? s(lora_adapter->lora_adapter_path) : "(null)");
    return (handle && lora_adapter) ? 0 : -1;
}

int rkllm_load_prompt_cache(LLMHandle handle, const char *prompt_cache_path) {
    logf_("load_prompt_cache=%s", s(prompt_cache_path));
    return (handle && prompt_cache_path) ? 0 : -1;
}

int rkllm_release_prompt_cache(LLMHandle handle) {
    logf_("release_prompt_cache=1");
    return handle ? 0 : -1;
}

int rkllm_set_function_tools(LLMHandle handle, const char *system_prompt, const char *tools,
                             const char *tool_response_str) {
    return log_three(handle, "function_tools", "system", system_prompt, "tools", tools, "response",
                     tool_response_str);
}

int rkllm_set_cross_attn_params(LLMHandle handle, RKLLMCrossAttnParam *cross_attn_params) {
    logf_("cross_attn.num_tokens=%d", cross_attn_params ? cross_attn_params->num_tokens : -1);
    return (handle && cross_attn_params) ? 0 : -1;
}
