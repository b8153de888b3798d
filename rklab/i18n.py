"""Bilingual labels (zh default for the boss, en) for tables, verdicts and plots."""

from __future__ import annotations

from rklab.errors import RklabError

LANGS = ("zh", "en")

VERDICTS = ("fits", "tight", "exceeds", "infeasible", "unsupported")

VERDICT_LABELS = {
    "zh": {"fits": "可以跑", "tight": "极限", "exceeds": "超出可用内存", "infeasible": "不可行", "unsupported": "不支持"},
    "en": {"fits": "fits", "tight": "tight", "exceeds": "exceeds budget", "infeasible": "infeasible",
           "unsupported": "unsupported"},
}

LABELS = {
    "model": ("模型", "model"),
    "kind": ("类型", "kind"),
    "dtype": ("量化", "dtype"),
    "params": ("参数量", "parameters"),
    "weights_mb": ("权重 (MB)", "weights (MB)"),
    "embedding_mb": ("嵌入表 (MB)", "embedding table (MB)"),
    "kv_mb": ("KV 缓存 (MB)", "KV cache (MB)"),
    "runtime_mb": ("运行时缓冲 (MB)", "runtime buffers (MB)"),
    "vision_mb": ("视觉编码器 (MB)", "vision encoder (MB)"),
    "image_embed_mb": ("图像嵌入 (MB)", "image embeddings (MB)"),
    "memory_mb": ("预测峰值 VmHWM (MB)", "predicted peak VmHWM (MB)"),
    "available_drop_mb": ("预测可用内存下降 (MB)", "predicted MemAvailable drop (MB)"),
    "budget_mb": ("可用预算 (MB)", "usable budget (MB)"),
    "physical_mb": ("物理内存 (MB)", "physical RAM (MB)"),
    "decode_tps": ("预测解码 (tok/s)", "predicted decode (tok/s)"),
    "ttft_ms": ("预测首字延迟 (ms)", "predicted TTFT (ms)"),
    "bandwidth_pct": ("带宽利用率 (%)", "bandwidth use (%)"),
    "verdict": ("可行性", "verdict"),
    "reason": ("原因", "reason"),
    "context": ("上下文长度 (tokens)", "context length (tokens)"),
    "max_context_fit": ("可容纳的最大上下文", "largest context that fits"),
    "seed_ram_mb": ("种子 RAM (MB, 引用)", "seed RAM (MB, quoted)"),
    "seed_verdict": ("种子结论", "seed verdict"),
    "diff_pct": ("差异 (%)", "difference (%)"),
    "seed_dtype": ("种子量化", "seed dtype"),
    "seed_ram_text": ("种子 RAM 原文", "seed RAM as written"),
    "w8a8_memory_mb": ("w8a8 预测峰值 (MB)", "w8a8 predicted peak (MB)"),
    "w8a8_verdict": ("w8a8 结论", "w8a8 verdict"),
    "seed_decode_tps": ("种子解码 (tok/s, 引用)", "seed decode (tok/s, quoted)"),
    "decode_diff_pct": ("解码差异 (%)", "decode difference (%)"),
    "seed_ttft_ms": ("种子首字延迟 (ms, 引用)", "seed TTFT (ms, quoted)"),
    "seed_vision_encoder_s": ("种子视觉编码 (s, 引用)", "seed vision encoder (s, quoted)"),
    "seed_source": ("种子数据来源", "seed's source"),
    "flag": ("标记", "flag"),
    "predicted": ("预测", "predicted"),
    "quoted": ("引用", "quoted"),
    "measured": ("实测", "measured"),
    "bandwidth_ceiling": ("带宽上限", "bandwidth ceiling"),
    "memory_breakdown_title": ("各模型预测内存构成 (预测)", "Predicted memory breakdown per model (predicted)"),
    "context_title": ("内存随上下文长度变化 (预测，上下文填满)", "Memory vs context length (predicted, context filled)"),
    "speed_title": ("预测解码速度与首字延迟", "Predicted decode speed and TTFT"),
}


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise RklabError(f"language {lang!r} is not supported; use one of: {', '.join(LANGS)}")
    return lang


def label(key: str, lang: str = "zh") -> str:
    """The label of a column or title in ``lang`` (the key itself if unknown)."""
    check_lang(lang)
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def verdict_label(verdict: str, lang: str = "zh") -> str:
    check_lang(lang)
    return VERDICT_LABELS[lang].get(verdict, verdict)
