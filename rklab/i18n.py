"""Every zh/en text rklab shows, under namespaced keys, and the one language check.

zh is the default: the boss reads Chinese. Keys are ``<namespace>.<name>``:

=============  ============================================================================
``engine.``    columns and titles of the feasibility engine's tables (all **predicted**)
``reason.``    why the engine gave its verdict (the Estimate carries both languages)
``clock.``     a prediction at the clocks a measured run saw, against the pinned clocks
``calib.``     the calibration tables of notebook 01 (constants, residuals, why a row differs)
``metric.``    a measured metric (one per entry of :data:`rklab.metrics.METRICS`)
``stage.``     a stage of a VLM run (image in -> last token out)
``verdict.``   a verdict of the feasibility table (engine verdicts + measured outcomes)
``status.``    how a sweep entry ended (records' ``status``); ``session.status.`` the longer
               wording of notebooks 02/03
``source.``    where a number comes from (quoted / measured / predicted)
``report.``    notebook 04 and benchmark_log.md: headings, columns, sentences
``cond.``      the report's test-conditions table
``warning.``   the report's warnings (``{placeholders}`` filled by :func:`text`)
``bench.``     figures of notebooks 02/03
``session.``   the status block of notebooks 02/03
``host.``      the host snapshot table of notebooks 02/03
``plancheck.`` ``rklab models check``
``doctor.``    ``rklab doctor``
``punct.``     punctuation between phrases (、/；/。 in zh)
``board.``     the board line of notebook 01
``fleet.``     ``rklab fleet``: how a board's last fleet run went (the report's Boards table)
=============  ============================================================================

:func:`text` looks a key up (and fills its placeholders); :func:`check_lang` is the only place that
decides which languages exist.
"""

from __future__ import annotations

from rklab.errors import RklabError

LANGS = ("zh", "en")

# The engine's verdicts (rklab.predict.feasibility); the report adds the measured outcomes below.
VERDICTS = ("fits", "tight", "exceeds", "infeasible", "unsupported")

TEXT: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------------ engine (predicted)
    "engine.model": ("模型", "model"),
    "engine.kind": ("类型", "kind"),
    "engine.dtype": ("量化", "dtype"),
    "engine.params": ("参数量", "parameters"),
    "engine.weights_mb": ("权重 (MB)", "weights (MB)"),
    "engine.embedding_mb": ("嵌入表 (MB)", "embedding table (MB)"),
    "engine.kv_mb": ("KV 缓存 (MB)", "KV cache (MB)"),
    "engine.runtime_mb": ("运行时缓冲 (MB)", "runtime buffers (MB)"),
    "engine.vision_mb": ("视觉编码器 (MB)", "vision encoder (MB)"),
    "engine.image_embed_mb": ("图像嵌入 (MB)", "image embeddings (MB)"),
    "engine.memory_mb": ("预测峰值 VmHWM (MB)", "predicted peak VmHWM (MB)"),
    "engine.available_drop_mb": ("预测可用内存下降 (MB)", "predicted MemAvailable drop (MB)"),
    "engine.budget_mb": ("可用预算 (MB)", "usable budget (MB)"),
    "engine.physical_mb": ("物理内存 (MB)", "physical RAM (MB)"),
    "engine.predicted_decode_tps": ("预测解码 (tok/s)", "predicted decode (tok/s)"),
    "engine.predicted_ttft_ms": ("预测首字延迟 (ms)", "predicted TTFT (ms)"),
    "engine.bandwidth_pct": ("带宽利用率 (%)", "bandwidth use (%)"),
    "engine.verdict": ("可行性", "verdict"),
    "engine.reason": ("原因", "reason"),
    "engine.context": ("上下文长度 (tokens)", "context length (tokens)"),
    "engine.max_context_fit": ("可容纳的最大上下文", "largest context that fits"),
    "engine.seed_ram_mb": ("种子 RAM (MB, 引用)", "seed RAM (MB, quoted)"),
    "engine.seed_verdict": ("种子结论", "seed verdict"),
    "engine.diff_pct": ("差异 (%)", "difference (%)"),
    "engine.seed_dtype": ("种子量化", "seed dtype"),
    "engine.seed_ram_text": ("种子 RAM 原文", "seed RAM as written"),
    "engine.w8a8_memory_mb": ("w8a8 预测峰值 (MB)", "w8a8 predicted peak (MB)"),
    "engine.w8a8_verdict": ("w8a8 结论", "w8a8 verdict"),
    "engine.seed_decode_tps": ("种子解码 (tok/s, 引用)", "seed decode (tok/s, quoted)"),
    "engine.decode_diff_pct": ("解码差异 (%)", "decode difference (%)"),
    "engine.seed_ttft_ms": ("种子首字延迟 (ms, 引用)", "seed TTFT (ms, quoted)"),
    "engine.seed_vision_encoder_s": ("种子视觉编码 (s, 引用)", "seed vision encoder (s, quoted)"),
    "engine.seed_source": ("种子数据来源", "seed's source"),
    "engine.flag": ("标记", "flag"),
    "engine.predicted": ("预测", "predicted"),
    "engine.quoted": ("引用", "quoted"),
    "engine.measured": ("实测", "measured"),
    "engine.bandwidth_ceiling": ("带宽上限", "bandwidth ceiling"),
    "engine.memory_breakdown_title": ("各模型预测内存构成 (预测)", "Predicted memory breakdown per model (predicted)"),
    "engine.context_title": ("内存随上下文长度变化 (预测，上下文填满)", "Memory vs context length (predicted, context filled)"),
    "engine.speed_title": ("预测解码速度与首字延迟", "Predicted decode speed and TTFT"),
    "engine.prompt_tokens": ("提示长度 (tokens)", "prompt length (tokens)"),
    "engine.ttft_s": ("预测首字延迟 (s)", "predicted TTFT (s)"),
    "engine.prompt_length_title": ("首字延迟与解码速度随提示长度变化 (空心点：上下文填满后超出可用内存)",
                                   "TTFT and decode speed against the prompt length (open markers: the filled context no longer fits)"),
    "engine.params_b": ("参数量 (十亿)", "parameters (billions)"),
    "engine.predicted_decode_tps_full": ("预测解码 (tok/s；VLM 为完整流程，含图像)",
                                         "predicted decode (tok/s; VLMs: full pipeline, with the image)"),
    "engine.predicted_ttft_ms_full": ("预测首字延迟 (ms；VLM 含视觉编码与图像预填充)",
                                      "predicted TTFT (ms; VLMs: vision encoder and image prefill included)"),
    "engine.predicted_decode_tps_llm": ("预测解码 (tok/s；仅语言模型，文本提示)",
                                        "predicted decode (tok/s; language model only, text prompt)"),
    "engine.predicted_ttft_ms_llm": ("预测首字延迟 (ms；仅语言模型，文本提示)",
                                     "predicted TTFT (ms; language model only, text prompt)"),
    # why a seed row and the engine agree or differ (rklab.predict.feasibility.seed_comparison)
    "engine.why.agrees": ("一致：内存相差 {diff:+.0f}%（在 ±{limit:.0f}% 以内），结论相同",
                          "agrees: memory within ±{limit:.0f} % ({diff:+.0f} %), same verdict"),
    "engine.why.lower_bound": ("种子只给出下限 {seed} MB；引擎预测 {predicted:,.0f} MB，高于下限，两者一致",
                               "the seed gives only a lower bound ({seed} MB); the engine's {predicted:,.0f} MB is "
                               "above it, so they agree"),
    "engine.why.memory_differs": ("内存相差 {diff:+.0f}%", "memory differs by {diff:+.0f} %"),
    "engine.why.verdict_differs": ("结论：种子 {seed}，引擎 {engine}", "verdict: seed {seed}, engine {engine}"),
    "engine.why.engine": ("引擎：{reason}", "engine: {reason}"),
    "engine.why.with_w8a8": ("改用 w8a8：{mb:,.0f} MB，{verdict}", "with w8a8: {mb:,.0f} MB, {verdict}"),
    "engine.why.decode_agrees": ("一致：解码相差 {diff:+.0f}%（在 ±{limit:.0f}% 以内）",
                                 "agrees: decode within ±{limit:.0f} % ({diff:+.0f} %)"),
    "engine.why.decode_differs": ("解码相差 {diff:+.0f}%", "decode differs by {diff:+.0f} %"),
    "engine.why.community_clocks": (
        "社区板子：未说明是否固定 CPU/NPU/DDR 频率（rknn-llm issue 409：固定频率后 11.29 → 16.02 tok/s）；"
        "引擎按官方固定频率的数据校准",
        "community board: clocks and DDR frequency not stated as pinned (rknn-llm issue 409: 11.29 -> 16.02 "
        "tok/s after fixing frequencies); the engine is calibrated on Rockchip's pinned-clock numbers"),
    "engine.note.table": ("预测：输入 128 + 输出 64 个 token；VLM 含视觉编码器和一张 448×448 图像。",
                          "Predicted for a 128-token prompt and 64 new tokens; VLMs include the vision encoder and one "
                          "448×448 image."),
    "engine.note.seed": ("种子数字为引用，引擎数字为预测。“标记”= 内存相差超过 15% 或结论不同；“原因”说明每一行为什么一致或不同。",
                         "Seed numbers are quoted, engine numbers predicted. “flag” = memory differs by more than 15 % "
                         "or the verdict differs; “reason” says why each row agrees or differs."),
    "engine.note.context": ("上下文填满时的预测峰值内存；图例中为可容纳的最大上下文。",
                            "Predicted peak memory with the context filled; the legend gives the largest context that "
                            "fits."),
    "engine.note.speed": ("可以跑 / 极限的模型；红线为 DRAM 带宽上限，柱上百分比为带宽利用率。",
                          "Models that fit or are tight; the red marks are the DRAM bandwidth ceiling, the percentages "
                          "the bandwidth used."),
    "engine.note.calibration": ("引擎的常数在 data/reference 的官方数据上拟合；下面是每条引用数据与预测的偏差及说明。"
                                "此处的预测只针对语言模型和文本提示，与上面可行性表中 VLM 的完整流程预测不同。",
                                "The engine's constants are fitted on the official rows of data/reference; below, every "
                                "quoted row against its prediction, with why they differ. These predictions are for the "
                                "language model with a text prompt only, unlike the full-pipeline VLM predictions of the "
                                "feasibility table above."),
    "engine.note.no_gguf_path": ("记录中没有 GGUF 文件路径", "no GGUF path in the record"),
    "engine.note.vlm_cpu_memory": ("VLM：llama.cpp 运行的视觉编码器内存不做预测",
                                   "VLM: the vision encoder's memory is not predicted for llama.cpp runs"),
    "engine.note.no_rss_before_load": ("记录中没有加载前的 RSS（旧记录）", "no RSS before load in the record (older record)"),
    "engine.note.from_gguf": ("由 GGUF 文件 {file} 预测 (rklab.predict.cpu)", "predicted from the GGUF file {file} (rklab.predict.cpu)"),
    "engine.note.no_prediction": ("无预测：{error}", "no prediction: {error}"),
    "engine.h.title": ("01 · 可行性：哪些模型能在板子上跑、为什么", "01 · Feasibility: which models fit on the board, and why"),
    "engine.h.intro": ("下面每个数字要么是 rklab 可行性引擎的**预测**（内存与速度模型，在 data/reference 上校准），"
                       "要么是**引用**（种子报告、已发表的测试数据）。MB = MiB。",
                       "Every number below is **predicted** by the rklab feasibility engine (memory and speed models "
                       "calibrated on data/reference) or **quoted** (the seed report, published measurements). MB = MiB."),
    "engine.h.table": ("可行性总表 (预测)", "Feasibility table (predicted)"),
    "engine.h.seed": ("与种子报告对照", "The seed report's tables, recomputed"),
    "engine.h.seed_speed": ("种子报告的速度表 vs 预测", "The seed report's speed table vs the prediction"),
    "engine.h.memory": ("内存构成 vs 预算 (预测)", "Memory breakdown vs the budget (predicted)"),
    "engine.h.context": ("内存随上下文长度变化 (预测)", "Memory vs context length (predicted)"),
    "engine.h.speed": ("预测解码速度与首字延迟", "Predicted decode speed and TTFT"),
    "engine.h.calibration": ("校准：常数与引用数据的残差", "Calibration: constants and residuals on the quoted rows"),
    "engine.h.prompt_length": ("首字延迟与解码速度随提示长度变化 (预测)", "TTFT and decode against the prompt length (predicted)"),
    "engine.note.prompt_length": ("预填充每个 token 的耗时随提示变长而增加，解码每步都要读取之前所有 token 的 KV 缓存，所以长提示两者都变慢。"
                                  "只针对语言模型和文本提示；空心点：上下文填满后超出可用内存。",
                                  "Prefill per token grows with the prompt and every decode step reads the KV cache of "
                                  "all earlier tokens, so both slow down with long prompts. The language model alone "
                                  "with a text prompt; open markers: the filled context no longer fits."),
    "engine.h.calib_in_sample": ("每个 SoC 与量化类别的平均 |偏差|：样本内（所有数据行参与拟合）",
                                 "Mean |residual| per SoC and dtype class: in sample (every row in the fit)"),
    "engine.h.calib_loo": ("每个 SoC 与量化类别的平均 |偏差|：留一模型（每个模型由不含它的拟合来预测）",
                           "Mean |residual| per SoC and dtype class: leave one model out (each model predicted by a fit "
                           "without it)"),
    "engine.h.bus_width": ("未公布的板子参数由校准决定", "Unpublished board facts decided by the calibration"),
    "engine.note.bus_width": ("RK3562 与 RV1126B 的 DRAM 位宽、RK3562 的 DDR 频率：每个候选值下该 SoC 的解码偏差。",
                              "RK3562 and RV1126B DRAM bus width, RK3562's DDR clock: that SoC's decode residuals for "
                              "each candidate."),
    "engine.h.calib_memory": ("内存 (VmHWM)：引用 vs 预测", "Memory (VmHWM): quoted vs predicted"),
    "engine.h.calib_speed": ("速度：引用 vs 预测", "Speed: quoted vs predicted"),
    # ------------------------------------------------------------------ calibration tables (rklab.predict.calibration)
    "calib.tokens": ("token 数 (输入+输出)", "tokens (prompt+new)"),
    "calib.assumed": ("（假设）", " (assumed)"),
    "calib.quoted_mb": ("引用内存 (MB)", "quoted memory (MB)"),
    "calib.predicted_mb": ("预测内存 (MB)", "predicted memory (MB)"),
    "calib.residual_pct": ("偏差 (%)", "residual (%)"),
    "calib.quoted_decode_tps": ("引用解码 (tok/s)", "quoted decode (tok/s)"),
    "calib.decode_residual_pct": ("解码偏差 (%)", "decode residual (%)"),
    "calib.quoted_ttft_ms": ("引用首字延迟 (ms)", "quoted TTFT (ms)"),
    "calib.ttft_residual_pct": ("首字延迟偏差 (%)", "TTFT residual (%)"),
    "calib.used_in_fit": ("用于拟合", "used in the fit"),
    "calib.explanation": ("说明", "explanation"),
    "calib.soc": ("SoC", "SoC"),
    "calib.dtype_class": ("量化类别", "dtype class"),
    "calib.memory_mb_mean": ("内存平均 |偏差| (%)", "memory mean |residual| (%)"),
    "calib.memory_mb_count": ("内存数据行", "memory rows"),
    "calib.decode_tps_mean": ("解码平均 |偏差| (%)", "decode mean |residual| (%)"),
    "calib.decode_tps_count": ("解码数据行", "decode rows"),
    "calib.ttft_ms_mean": ("首字延迟平均 |偏差| (%)", "TTFT mean |residual| (%)"),
    "calib.ttft_ms_count": ("首字延迟数据行", "TTFT rows"),
    "calib.bus_bits": ("DRAM 位宽 (bit)", "DRAM bus (bits)"),
    "calib.ddr_mhz": ("DDR 频率 (MHz)", "DDR clock (MHz)"),
    "calib.bandwidth_gbs": ("理论带宽 (GB/s)", "theoretical bandwidth (GB/s)"),
    "calib.chosen": ("采用", "chosen"),
    "calib.decode_mean_abs_pct": ("解码平均 |偏差| (%)", "decode mean |residual| (%)"),
    "calib.decode_worst_pct": ("解码最大偏差 (%)", "decode worst residual (%)"),
    "calib.constant": ("常数", "constant"),
    "calib.value": ("值", "value"),
    "calib.meaning": ("含义", "meaning"),
    "calib.c.runtime_fixed_mb_by_soc": ("运行时固定内存，按 SoC (MB)", "runtime fixed memory per SoC (MB)"),
    "calib.c.runtime_fixed_mb_other_socs": ("运行时固定内存，其他 SoC (MB)", "runtime fixed memory, other SoCs (MB)"),
    "calib.c.runtime_mb_per_gparam": ("运行时缓冲，每十亿参数 (MB)", "runtime buffers per billion parameters (MB)"),
    "calib.c.group_bytes": ("分组量化每组的额外字节", "extra bytes per quantization group"),
    "calib.c.vision_buffer_bytes_per_patch_dim": ("视觉编码缓冲 (字节 / patch / 隐藏维度)",
                                                  "vision buffers (bytes per patch per hidden dim)"),
    "calib.c.decode_efficiency": ("解码带宽效率 (有效 / 理论)，按量化类别", "decode bandwidth efficiency (effective / theoretical) per dtype class"),
    "calib.c.effective_bandwidth_gbs": ("有效带宽 (GB/s)，按 SoC 与量化类别", "effective bandwidth (GB/s) per SoC and dtype class"),
    "calib.c.decode_fixed_ms_x_cores_ghz": ("每 token 固定解码开销 (ms × NPU 核数 × GHz)", "fixed decode cost per token (ms × NPU cores × GHz)"),
    "calib.c.decode_grouped_ms_per_gweight_x_cores_ghz": ("分组量化解码开销 (ms / 十亿权重 × 核数 × GHz)",
                                                          "grouped-dtype decode cost (ms per billion weights × cores × GHz)"),
    "calib.c.prefill_ms_per_token": ("每 token 预填充 (ms)", "prefill per token (ms)"),
    "calib.c.prefill_ms_per_token_per_gparam": ("每 token 每十亿参数预填充 (ms)", "prefill per token per billion parameters (ms)"),
    "calib.c.prefill_grouped_ms_per_token_per_gparam": ("分组量化：每 token 每十亿参数预填充 (ms)",
                                                        "grouped dtypes: prefill per token per billion parameters (ms)"),
    "calib.c.prefill_attention_ms_per_unit": ("预填充注意力项 (ms / 单位)", "prefill attention term (ms per unit)"),
    "calib.c.prefill_scale_by_soc": ("预填充速度系数，按 SoC", "prefill scale per SoC"),
    "calib.c.prefill_core_exponent": ("预填充随 NPU 核数的指数", "prefill exponent on the NPU core count"),
    "calib.c.rows": ("拟合用的数据行", "rows used in the fit"),
    "calib.rows": ("内存 {memory} 行，解码 {decode} 行，首字延迟 {ttft} 行", "memory {memory}, decode {decode}, TTFT {ttft}"),
    "calib.why.calibration_row": ("校准数据行", "calibration row"),
    "calib.why.no_shape": ("引擎不知道此模型的结构：无预测", "model shape not known to the engine: no prediction"),
    "calib.why.older_conversion": ("较旧的运行时 1.2.1b1 (测试版) 和较旧的模型转换：不用于拟合",
                                   "older runtime 1.2.1b1 (beta) and an older conversion: not used in the fit"),
    "calib.why.older_conversion_low": ("；预测约低一个嵌入表，好像该运行时也把输入嵌入表放在内存里（socs.md：v1.1 时期的表可能计入了 fp32 嵌入表）",
                                       "; comes out low by about an embedding table, as if that runtime also held the "
                                       "input table in RAM (socs.md: the v1.1-era tables probably count an fp32 "
                                       "embedding table)"),
    "calib.why.rkllm_log": ("运行时日志的 “Peak Memory Usage”（一个进程同时持有编码器和 LLM，运行时 1.2.2），未注明是 VmHWM："
                            "不用于拟合；这么大的差距值得在板子上实测",
                            "runtime log 'Peak Memory Usage' of one process holding encoder + LLM (runtime 1.2.2), "
                            "not documented as VmHWM: not used in the fit; a gap this size is worth measuring on the board"),
    "calib.why.not_comparable": ("不可比：“{kind}” 不是进程 VmHWM（可能含页缓存和其他进程）",
                                 "not comparable: '{kind}' is not the process VmHWM (may count page cache and other "
                                 "processes)"),
    "calib.why.seed_copy": ("种子报告转引的数字，不是新的测量：{notes}", "seed copy, not a new measurement: {notes}"),
    "calib.why.seed_copy_speed": ("种子报告转引的已发表数字", "seed copy of a published figure"),
    "calib.why.beta_runtime": ("较旧的运行时 1.2.1b1 (测试版)：其运行时缓冲比 1.2.1+ 小；偏差就是这个差别，而且在 10% 以内",
                               "older runtime 1.2.1b1 (beta): its runtime buffers were smaller than 1.2.1+; the residual "
                               "is that difference, within 10 % anyway"),
    "calib.why.long_context": ("上下文 {context}，未说明实际使用的 token 数（假设 192）：差距相当于多 ~{tokens:,.0f} 个 token 的常驻 KV",
                               "context {context} with used tokens not stated (192 assumed): the gap equals the resident "
                               "KV of ~{tokens:,.0f} more tokens"),
    "calib.why.long_context_speed": ("长上下文，每 token 读取的 KV 未知", "long context, KV read per token not known"),
    "calib.why.close": ("预测与引用相差在 10% 以内", "prediction within 10 % of the quoted figure"),
    "reason.unsupported": ("{soc} 不支持 {dtype}（支持：{supported}；{source}）",
                           "{dtype} is not available on {soc} (supported: {supported}; {source})"),
    "reason.fits": ("预测峰值 {mem:,.0f} MB，占可用预算 {budget:,.0f} MB 的 {pct:.0f}%",
                    "predicted peak {mem:,.0f} MB = {pct:.0f} % of the {budget:,.0f} MB usable budget"),
    "reason.tight": ("预测峰值 {mem:,.0f} MB，占可用预算 {budget:,.0f} MB 的 {pct:.0f}%，余量很小（超过 {tight:.0f}%）",
                     "predicted peak {mem:,.0f} MB = {pct:.0f} % of the {budget:,.0f} MB budget: little headroom "
                     "(over {tight:.0f} %)"),
    "reason.exceeds": ("预测峰值 {mem:,.0f} MB 超出可用预算 {budget:,.0f} MB（物理内存 {physical:,.0f} MB 减去系统常驻）",
                       "predicted peak {mem:,.0f} MB is over the {budget:,.0f} MB usable budget "
                       "(physical {physical:,.0f} MB minus the system's resident memory)"),
    "reason.infeasible": ("预测峰值 {mem:,.0f} MB 超过物理内存 {physical:,.0f} MB",
                          "predicted peak {mem:,.0f} MB is over the board's physical RAM {physical:,.0f} MB"),
    "reason.live": ("；当前 MemAvailable {available:,.0f} MB / MemTotal {total:,.0f} MB",
                    "; live MemAvailable {available:,.0f} MB of MemTotal {total:,.0f} MB"),
    "reason.context_raised": ("（上下文从 {context} 提高到 {needed} 以容纳 {img} 个图像 token）",
                              " (context raised from {context} to {needed} to hold {img} image tokens)"),
    "reason.npu_domain": ("{part} 需要 {mb:,.0f} MB，超过 NPU 单个 IOMMU 域的 {domain:,} MB；",
                          "the {part} needs {mb:,.0f} MB, more than one {domain:,} MB NPU IOMMU domain "
                          "(32-bit IOVA; 'failed to malloc npu memory'); "),
    # ------------------------------------------------------------------ a prediction at the clocks a run saw
    "clock.averaged": ("{label} 平均 {mhz:,.0f} MHz{governor}，固定频率为 {pin:,.0f}",
                       "{label} averaged {mhz:,.0f} MHz{governor} (pinned {pin:,.0f})"),
    "clock.governor": ("（{governor}）", " under {governor}"),
    "clock.unknown": ("未读到运行时的频率：只能与固定频率下的预测 {pin:.1f} tok/s 比较",
                      "clocks were not readable during the run: only the pinned-clock prediction ({pin:.1f} tok/s) applies"),
    "clock.no_measurement": ("预测：实测频率下 {obs:.1f} tok/s，固定频率下 {pin:.1f} tok/s",
                             "predicted {obs:.1f} tok/s at the observed clocks, {pin:.1f} at the pinned clocks"),
    "clock.matched_pinned": ("频率与官方固定频率相同", "clocks matched the pinned official clocks"),
    "clock.agrees": ("实测与预测一致", "the measurement agrees with the prediction"),
    "clock.gap_not_clocks": ("差距不是频率造成的", "the gap is not the clocks'"),
    "clock.pinned_line": ("{head}：预测 {pin:.1f} tok/s，实测 {measured:.1f}；{verdict}",
                          "{head}: predicted {pin:.1f} tok/s, measured {measured:.1f}; {verdict}"),
    "clock.explain_all": ("频率解释了差距", "the clocks explain the gap"),
    "clock.explain_part": ("频率只解释了一部分差距", "the clocks explain part of the gap"),
    "clock.explain_none": ("差距不是频率造成的", "the clocks do not explain the gap"),
    "clock.observed_line": ("{head}：该频率下预测 {obs:.1f} tok/s，实测 {measured:.1f}；固定频率预测 {pin:.1f}（{tail}）",
                            "{head}: predicted {obs:.1f} tok/s at that clock, measured {measured:.1f}; pinned clocks "
                            "predict {pin:.1f} ({tail})"),
    # ------------------------------------------------------------------ measured metrics (rklab.metrics)
    "metric.case": ("用例", "case"),
    "metric.rep": ("第几次", "rep"),
    "metric.warmup": ("预热", "warm-up"),
    "metric.prompt_tokens": ("提示 token 数", "prompt tokens"),
    "metric.prompt_tokens_source": ("提示 token 数来源", "prompt tokens from"),
    "metric.new_tokens": ("新 token 数", "new tokens"),
    "metric.generated_tokens": ("生成 token 数", "generated tokens"),
    "metric.final_state": ("结束状态", "final state"),
    "metric.ttft_ms": ("首字延迟 TTFT (ms)", "TTFT (ms)"),
    "metric.prefill_ms": ("预填充 (ms)", "prefill (ms)"),
    "metric.prefill_tps": ("预填充 (tok/s)", "prefill (tok/s)"),
    "metric.decode_tps": ("解码 (tok/s)", "decode (tok/s)"),
    "metric.e2e_ms": ("端到端 (ms)", "end to end (ms)"),
    "metric.token_offsets_ms": ("各 token 时刻 (ms)", "token times (ms)"),
    "metric.llm_load_ms": ("LLM 加载 (ms)", "LLM load (ms)"),
    "metric.runtime_prefill_ms": ("运行时预填充 (ms)", "runtime prefill (ms)"),
    "metric.runtime_prefill_tokens": ("运行时预填充 token 数", "runtime prefill tokens"),
    "metric.runtime_prefill_tps": ("运行时预填充 (tok/s)", "runtime prefill (tok/s)"),
    "metric.runtime_decode_ms": ("运行时解码 (ms)", "runtime decode (ms)"),
    "metric.runtime_decode_tokens": ("运行时解码 token 数", "runtime decode tokens"),
    "metric.runtime_decode_tps": ("运行时解码 (tok/s)", "runtime decode (tok/s)"),
    "metric.runtime_memory_mb": ("运行时报告内存 (MB)", "runtime-reported memory (MB)"),
    "metric.vmhwm_mb": ("峰值 VmHWM (MB)", "peak VmHWM (MB)"),
    "metric.vmrss_mb": ("VmRSS (MB)", "VmRSS (MB)"),
    "metric.rss_shmem_mb": ("RssShmem (MB)", "RssShmem (MB)"),
    "metric.mem_available_drop_mb": ("MemAvailable 下降 (MB)", "MemAvailable drop (MB)"),
    "metric.shmem_rise_mb": ("Shmem 上升 (MB)", "Shmem rise (MB)"),
    "metric.load_vmhwm_mb": ("加载后峰值 VmHWM (MB)", "peak VmHWM after load (MB)"),
    "metric.vmhwm_reset": ("VmHWM 已重置", "VmHWM reset"),
    "metric.memory_baseline": ("内存基线", "memory baseline"),
    "metric.rss_before_load_mb": ("加载前进程 RSS (MB)", "process RSS before load (MB)"),
    "metric.runs_before_abort": ("中止前完成的次数", "runs before the abort"),
    "metric.npu_load_mean": ("NPU 平均负载 (%)", "NPU load, mean (%)"),
    "metric.npu_load_max": ("NPU 最高负载 (%)", "NPU load, max (%)"),
    "metric.temp_start_c": ("起始温度 (°C)", "start temp (°C)"),
    "metric.temp_end_c": ("结束温度 (°C)", "end temp (°C)"),
    "metric.throttled": ("过热降频", "thermal throttling"),
    "metric.clocks_below_max": ("运行时有时钟低于最高频率", "a clock below max while running"),
    "metric.throttle_detail": ("降频详情", "throttling detail"),
    "metric.monitor_samples": ("监控采样数", "monitor samples"),
    "metric.ddr_mhz_mean": ("解码时 DDR 平均频率 (MHz)", "mean DDR clock while decoding (MHz)"),
    "metric.npu_mhz_mean": ("解码时 NPU 平均频率 (MHz)", "mean NPU clock while decoding (MHz)"),
    "metric.cpu_mhz_mean": ("解码时 CPU 大核平均频率 (MHz)", "mean big-core CPU clock while decoding (MHz)"),
    "metric.image": ("图像", "image"),
    "metric.image_path": ("图像路径", "image path"),
    "metric.image_tokens": ("图像 token 数", "image tokens"),
    "metric.text_tokens": ("文本 token 数", "text tokens"),
    "metric.preprocess_ms": ("预处理 (ms)", "preprocess (ms)"),
    "metric.encoder_ms": ("编码器 (ms)", "encoder (ms)"),
    "metric.encoder_first_ms": ("编码器首次运行 (ms)", "encoder first run (ms)"),
    "metric.encoder_load_ms": ("编码器加载 (ms)", "encoder load (ms)"),
    "metric.encoder_output_shapes": ("编码器输出形状", "encoder output shapes"),
    "metric.image_prefill_ms": ("图像部分预填充 (ms)", "image part of prefill (ms)"),
    "metric.image_prefill_source": ("图像预填充来源", "image prefill from"),
    "metric.ttft_e2e_ms": ("端到端首字 (图入→字出, ms)", "end-to-end TTFT (image in → token out, ms)"),
    "metric.text": ("回答", "answer"),
    "metric.synthetic": ("合成编码器", "synthetic encoder"),
    "metric.kv_cache_cleared": ("运行前已清空 KV 缓存", "KV cache emptied first"),
    "metric.cache_prefix": ("每次运行的前缀", "per-run prefix"),
    "metric.cache_suspected": ("疑似缓存命中", "cache suspected"),
    "metric.cache_check": ("缓存检查", "cache check"),
    "metric.reload_ms": ("重新加载 (ms)", "reload (ms)"),
    # ------------------------------------------------------------------ VLM stages (image in -> last token)
    "stage.preprocess_ms": ("图像预处理", "preprocess"),
    "stage.encoder_ms": ("视觉编码", "vision encoder"),
    "stage.image_prefill_ms": ("图像 prefill", "image prefill"),
    "stage.llm_prefill_ms": ("LLM 预填充（图像+文本）→ 首 token", "LLM prefill (image + text) → first token"),
    "stage.other_ms": ("其他 (嵌入传递等)", "other (embedding hand-over etc.)"),
    "stage.decode_ms": ("解码", "decode"),
    "stage.e2e_ms": ("端到端", "end to end"),
    # ------------------------------------------------------------------ verdicts
    "verdict.fits": ("可以跑", "fits"),
    "verdict.tight": ("极限", "tight"),
    "verdict.exceeds": ("超出可用内存", "exceeds budget"),
    "verdict.infeasible": ("不可行", "infeasible"),
    "verdict.unsupported": ("不支持", "unsupported"),
    "verdict.oom": ("实测 OOM", "OOM (measured)"),
    "verdict.excluded": ("不测试/已排除", "excluded (not tested)"),
    "verdict.failed": ("测试失败", "test failed"),
    "verdict.reason.oom": ("测试中被 OOM killer 终止", "killed by the OOM killer during the test"),
    "verdict.reason.aborted_memory": ("内存守护在可用内存低于下限时中止了测试",
                                      "the memory guard stopped the test at the MemAvailable floor"),
    "verdict.reason.measured": ("实测峰值 {mb:,.0f} MB，占可用预算 {budget:,.0f} MB 的 {pct:.0f}%（{case}）：{verdict}",
                                "measured peak {mb:,.0f} MB = {pct:.0f} % of the {budget:,.0f} MB usable budget "
                                "({case}): {verdict}"),
    "verdict.reason.no_memory": ("记录中没有实测内存，结论沿用预测：{reason}",
                                 "no memory figure in the records; the verdict stays predicted: {reason}"),
    "verdict.reason.excluded": ("测试计划排除：{reason}", "excluded by the plan: {reason}"),
    "verdict.reason.no_reason": ("未说明原因", "no reason given"),
    "verdict.reason.no_prediction": ("引擎对此模型没有预测", "the engine has no prediction for this model"),
    "verdict.reason.cpu_only": ("只在 CPU (llama.cpp) 上实测过，NPU 结论为预测",
                                "measured on the CPU (llama.cpp) only; the NPU verdict is predicted"),
    # ------------------------------------------------------------------ statuses (rklab.runfolder.Status)
    "status.ok": ("成功", "ok"),
    "status.failed": ("失败", "failed"),
    "status.timeout": ("超时", "timed out"),
    "status.oom": ("内存耗尽被终止", "killed: out of memory"),
    "status.aborted_memory": ("内存守护中止", "stopped by the memory guard"),
    "status.skipped_predicted_oom": ("预测内存不足，已跳过", "skipped: predicted out of memory"),
    "session.status.ok": ("测试完成", "measured"),
    "session.status.skipped_predicted_oom": ("已跳过：预测内存不足 (未加载模型)",
                                             "skipped: predicted out of memory (nothing loaded)"),
    "session.status.aborted_memory": ("已中止：可用内存低于下限", "aborted: MemAvailable fell below the floor"),
    "session.status.failed": ("失败", "failed"),
    # ------------------------------------------------------------------ where a number comes from
    "source.official": ("官方 (引用)", "official (quoted)"),
    "source.seed": ("种子报告 (引用)", "seed report (quoted)"),
    "source.community": ("社区 (引用)", "community (quoted)"),
    "source.measured": ("实测", "measured"),
    "source.predicted": ("预测", "predicted"),
    # ------------------------------------------------------------------ notebook 04 / benchmark_log.md
    "report.title": ("RK3588 大模型测试报告", "RK3588 LLM/VLM benchmark report"),
    "report.html_title": ("RK3588 模型测试报告 (rklab)", "RK3588 model benchmark report (rklab)"),
    "report.summary": ("实测摘要", "Summary"),
    "report.speed": ("解码速度、首字延迟与内存：官方 / 种子报告 / 社区 / 实测",
                     "Decode speed, TTFT and memory: official / seed / community / measured"),
    "report.pred_vs_meas": ("实测 vs 预测 (NPU：实测频率与固定频率下的预测；CPU：由 GGUF 文件预测内存与带宽上限)",
                            "Measured vs predicted (NPU: at the observed and at the pinned clocks; CPU: memory from the GGUF file, decode ceiling)"),
    "report.memory_budget": ("内存 vs 可用预算与物理内存", "Memory vs usable budget and physical RAM"),
    "report.bandwidth": ("解码速度 vs 每 token 读取字节 (DRAM 带宽上限)",
                         "Decode rate vs bytes per token (DRAM bandwidth ceiling)"),
    "report.npu_cpu": ("NPU vs CPU (计划中的每个模型：预测值，已测的附实测值)",
                       "NPU vs CPU (every plan model: predicted, and measured where a run did)"),
    "report.vlm_stages": ("多模态各阶段耗时", "VLM stage breakdown"),
    "report.verdicts": ("最终可行性表 (有实测值时替换估计值)", "Final verdict table (measured values replace estimates)"),
    "report.conditions": ("测试条件", "Test conditions"),
    "report.warnings": ("警告", "Warnings"),
    "report.measured_table": ("实测明细 (每个用例)", "Measured details (per case)"),
    "report.entries": ("各测试项状态", "Status of each entry"),
    "report.sources": ("来源", "Sources"),
    "report.no_warnings": ("没有警告。", "No warnings."),
    "report.no_data": ("没有可显示的数据。", "No data to show."),
    "report.empty.nothing_measured": ("本次测试没有成功的实测运行（见“各测试项状态”）；成功运行的测试项会填充本节。",
                                      "No measured run in this sweep (see “Status of each entry”); an entry that runs "
                                      "to the end fills this section."),
    "report.empty.speed": ("这些模型没有引用数据，也没有实测值；测量一个 data/reference 中有数据的模型即可对照。",
                           "No quoted or measured numbers for these models; measuring a model that data/reference "
                           "lists fills this section."),
    "report.empty.no_prediction": ("没有可对照的预测：{notes}。本版 rklab 写的记录（带 GGUF 路径与加载前的 RSS）或 rkllm "
                                   "测试项会填充本节。",
                                   "Nothing to compare: {notes}. Records written by this rklab version (with the GGUF "
                                   "path and the RSS before load) or an rkllm entry fill this section."),
    "report.empty.npu_cpu": ("这些文件夹没有测试计划（不是 rklab sweep 的输出），没有可预测的模型；rklab sweep 的计划会填充本节。",
                             "These folders hold no plan (they are not rklab sweep output), so there is no model to "
                             "predict; a sweep of a plan fills this section."),
    "report.empty.vlm_stages": ("没有实测的多模态测试项；计划中加一个 kind: vlm 的测试项即可填充本节。",
                                "No VLM entry was measured; an entry of kind: vlm fills this section."),
    "report.empty.bandwidth": ("记录中没有模型文件大小，无法算出每 token 读取的字节；rklab sweep 写的记录带有它。",
                               "The records carry no model file size, so the bytes read per token are unknown; records "
                               "written by rklab sweep carry it."),
    "report.empty.same_model_boards": ("没有一个模型在两块以上板卡上测得结果；各板卡运行同一计划即可填充本节。",
                                       "No model was measured on two boards or more; the same plan on each board "
                                       "fills this section."),
    "report.empty.entries": ("没有测试项记录：这些文件夹不是 rklab sweep 的输出。",
                             "No entry records: these folders are not rklab sweep output."),
    "report.none": ("_(无)_", "_(none)_"),
    "report.model": ("模型", "model"),
    "report.entry": ("测试项", "entry"),
    "report.board": ("板卡", "board"),
    "report.profile": ("板卡配置", "board profile"),
    "report.boards": ("各板卡", "Boards"),
    "report.entries_ok": ("成功测试项", "entries ok"),
    "report.fleet_status": ("本轮 fleet 运行", "last fleet run"),
    "report.same_model_boards": ("同一模型，不同板卡", "Same model, different boards"),
    "report.intro.boards": ("本报告合并了 {n} 块板卡的结果：{boards}。每个实测数字都注明板卡，预测按各板卡的配置计算。",
                            "This report merges {n} boards: {boards}. Every measured number names its board; "
                            "predictions use each board's profile. "),
    "report.backend": ("后端", "backend"),
    "report.dtype": ("量化", "dtype"),
    "report.case": ("用例 (输入/输出 tokens)", "case (prompt/new tokens)"),
    "report.n": ("次数", "runs"),
    "report.source": ("来源类别", "source kind"),
    "report.reference": ("出处", "reference"),
    "report.runtime": ("运行时版本", "runtime"),
    "report.conditions_col": ("条件", "conditions"),
    "report.memory_mb": ("内存 (MB)", "memory (MB)"),
    "report.memory_kind": ("内存口径", "memory kind"),
    # the memory_kind values of data/reference/*.csv, shown in the report's language
    "report.memkind.VmHWM": ("VmHWM（进程峰值）", "VmHWM"),
    "report.memkind.as quoted": ("照原文引用", "as quoted"),
    "report.memkind.total used memory (method not stated)": ("系统总占用（方法未说明）", "total used memory (method not stated)"),
    "report.memkind.process peak (RKLLM log)": ("进程峰值（RKLLM 日志）", "process peak (RKLLM log)"),
    "report.status": ("状态", "status"),
    "report.error": ("错误", "error"),
    "report.predicted": ("预测", "predicted"),
    "report.measured": ("实测", "measured"),
    "report.excluded": ("已排除", "excluded"),
    "report.residual": ("偏差 (%)", "residual (%)"),
    "report.budget": ("可用预算", "usable budget"),
    "report.physical": ("物理内存", "physical RAM"),
    "report.ceiling": ("带宽上限", "bandwidth ceiling"),
    "report.efficiency": ("带宽效率 (%)", "bandwidth efficiency (%)"),
    "report.bytes_per_token": ("每 token 读取 (GB)", "bytes per token (GB)"),
    "report.verdict": ("可行性", "verdict"),
    "report.verdict_source": ("依据", "based on"),
    "report.verdict_reason": ("原因", "reason"),
    "report.seed_ram": ("种子估计 RAM (MB)", "seed RAM estimate (MB)"),
    "report.seed_verdict": ("种子结论", "seed verdict"),
    "report.pred_memory": ("预测峰值 (MB)", "predicted peak (MB)"),
    "report.meas_memory": ("实测 VmHWM (MB)", "measured VmHWM (MB)"),
    "report.meas_decode": ("实测解码 (tok/s)", "measured decode (tok/s)"),
    "report.pred_decode": ("预测解码 (tok/s)", "predicted decode (tok/s)"),
    "report.pred_decode_observed": ("实测频率下的预测解码 (tok/s；VLM 为完整流程，含图像)",
                                    "predicted decode at the observed clocks (tok/s; VLMs: full pipeline, with the image)"),
    "report.residual_decode": ("解码偏差 (实测/预测-1, %)", "decode residual (measured/predicted - 1, %)"),
    "report.residual_memory": ("内存偏差 (实测/预测-1, %)", "memory residual (measured/predicted - 1, %)"),
    "report.meas_ttft": ("实测首字延迟 (ms)", "measured TTFT (ms)"),
    "report.pred_ttft": ("预测首字延迟 (ms)", "predicted TTFT (ms)"),
    "report.note": ("说明", "note"),
    "report.pred_decode_pinned": ("固定频率预测解码 (tok/s)", "predicted decode at pinned clocks (tok/s)"),
    "report.pct_of_ceiling": ("占 CPU 带宽上限 (%)", "% of the CPU decode ceiling"),
    "report.explanation": ("解释", "explanation"),
    "report.in_plan": ("计划中", "in the plan"),
    "report.npu_dtype": ("NPU 量化", "NPU dtype"),
    "report.npu_pred_decode": ("NPU 预测解码 (tok/s)", "NPU predicted decode (tok/s)"),
    "report.npu_pred_ttft": ("NPU 预测首字延迟 (ms)", "NPU predicted TTFT (ms)"),
    "report.npu_pred_memory": ("NPU 预测峰值 (MB)", "NPU predicted peak (MB)"),
    "report.npu_meas_decode": ("NPU 实测解码 (tok/s)", "NPU measured decode (tok/s)"),
    "report.cpu_type": ("CPU GGUF 类型", "CPU GGUF type"),
    "report.cpu_pred_ceiling": ("CPU 预测解码上限 (tok/s)", "CPU predicted decode ceiling (tok/s)"),
    "report.cpu_pred_memory": ("CPU 预测内存 (MB, llama.cpp 部分)", "CPU predicted memory (MB, llama.cpp part)"),
    "report.cpu_meas_decode": ("CPU 实测解码 (tok/s)", "CPU measured decode (tok/s)"),
    "report.cpu_bandwidth": ("CPU 内存带宽", "CPU memory bandwidth"),
    "report.npu_cpu.predicted": ("预测", "predicted"),
    "report.npu_cpu.ceiling": ("带宽上限 (预测)", "ceiling (predicted)"),
    "report.cpu_line_ceiling": ("{entry} ({case})：实测解码 {decode} tok/s，为内存带宽上限 {ceiling} tok/s 的 {pct} %（{note}）",
                                "{entry} ({case}): measured decode {decode} tok/s = {pct} % of the memory-bandwidth "
                                "ceiling of {ceiling} tok/s ({note})"),
    "report.cpu_line": ("{entry} ({case})：实测 VmHWM {memory} MB，由 GGUF 文件预测 {predicted} MB（偏差 {residual} %）；"
                        "实测解码 {decode} tok/s，为内存带宽上限 {ceiling} tok/s 的 {pct} %",
                        "{entry} ({case}): measured VmHWM {memory} MB, predicted from the GGUF file {predicted} MB "
                        "(residual {residual} %); measured decode {decode} tok/s = {pct} % of the memory-bandwidth "
                        "ceiling of {ceiling} tok/s"),
    "report.cpu_line_memory": ("{entry} ({case})：实测 VmHWM {memory} MB，由 GGUF 文件预测 {predicted} MB（偏差 {residual} %）；"
                               "实测解码 {decode} tok/s（无带宽上限：{note}）",
                               "{entry} ({case}): measured VmHWM {memory} MB, predicted from the GGUF file {predicted} MB "
                               "(residual {residual} %); measured decode {decode} tok/s (no bandwidth ceiling: {note})"),
    "report.cpu_line_unpredicted": ("{entry} ({case})：实测解码 {decode} tok/s；没有 CPU 预测（{note}）",
                                    "{entry} ({case}): measured decode {decode} tok/s; no CPU prediction ({note})"),
    "report.synthetic": ("合成 (随机权重编码器)", "synthetic (random-weight encoder)"),
    "report.synthetic_mark": ("（合成）", " (synthetic)"),
    "report.time_ms": ("时间 (ms)", "time (ms)"),
    "report.mem_drop": ("可用内存下降", "MemAvailable drop"),
    "report.yes": ("是", "yes"),
    "report.no": ("否", "no"),
    "report.unknown": ("未知", "unknown"),
    "report.intro": (
        "目标板：{board}（物理内存 {physical:,.0f} MB，可用预算 {budget:,.0f} MB，DRAM 带宽上限 {bandwidth:.1f} GB/s）。",
        "Target board: {board} (physical RAM {physical:,.0f} MB, usable budget {budget:,.0f} MB, "
        "DRAM ceiling {bandwidth:.1f} GB/s). "),
    "report.intro.kinds": (
        "数字分三类：**实测**（本次测试，注明主机）、**引用**（官方 / 种子报告 / 社区，注明出处与条件）、"
        "**预测**（rklab 可行性引擎）。标 * 的多模态数据来自合成（随机权重）视觉编码器。",
        "Numbers are **measured** (this sweep, with the host), "
        "**quoted** (official / seed / community, with reference and conditions) or **predicted** "
        "(rklab feasibility engine). VLM rows marked * come from a synthetic (random-weight) encoder."),
    "report.summary.entries": ("共 {n} 个测试项，{ok} 个成功。", "{n} entries, {ok} measured successfully."),
    "report.summary.line": (
        "{model} [{backend}]{synthetic}: 解码 {decode:.2f} tok/s，首字延迟 {ttft:,.0f} ms，峰值内存 {memory} MB（{case}，主机 {host}）",
        "{model} [{backend}]{synthetic}: decode {decode:.2f} tok/s, TTFT {ttft:,.0f} ms, peak memory {memory} MB "
        "({case}, host {host})"),
    "report.log.generated": ("生成时间 {now}，rklab，数据目录: ", "Generated {now} by rklab from: "),
    "report.log.kinds": (
        "数字的三种来源：**实测** (本次测试记录，注明主机)、**引用** (官方 / 种子报告 / 社区，注明出处与条件)、"
        "**预测** (rklab 可行性引擎)。标 * 的为合成视觉编码器数据。",
        "Every number is **measured** (records of this sweep, with the host), **quoted** (official / seed / "
        "community, with reference and conditions) or **predicted** (rklab feasibility engine). "
        "Rows marked * come from the synthetic vision encoder."),
    "report.unknown_host": ("未知主机", "an unknown host"),
    # ------------------------------------------------------------------ the comparison table's conditions and bar labels
    "report.cmp.runtime": ("运行时 {runtime}", "runtime {runtime}"),
    "report.cmp.board": ("板子：{board}", "board: {board}"),
    "report.cmp.not_stated": ("未说明", "not stated"),
    "report.cmp.tokens": ("tokens {prompt}/{new}", "tokens {prompt}/{new}"),
    "report.cmp.context": ("上下文 {context}", "context {context}"),
    "report.cmp.host": ("主机 {host}", "host {host}"),
    "report.cmp.pinned": ("频率已固定：{pinned}", "clocks pinned: {pinned}"),
    "report.cmp.synthetic": ("合成视觉编码器", "synthetic vision encoder"),
    "report.cmp.entry": ("rklab 测试项 {entry}", "rklab sweep entry {entry}"),
    "report.cmp.entry_board": ("rklab 测试项 {entry}（板卡 {board}）", "rklab sweep entry {entry} on board {board}"),
    "report.cmp.measured": ("实测 {backend}", "measured {backend}"),
    "report.cmp.seed": ("种子报告", "seed"),
    "report.cmp.official": ("官方 v{runtime}", "official v{runtime}"),
    # ------------------------------------------------------------------ the answer first (rklab.report.answer)
    "report.answer.heading": ("结论：哪些模型能跑、多快、占多少内存", "The answer: which models run, how fast, how much memory"),
    "report.answer.which": ("在 {board}（可用预算 {budget:,.0f} MB）上，{n} 个模型中有 {n_ok} 个可以跑：{models}{tight}。",
                            "On the {board} (usable budget {budget:,.0f} MB), {n_ok} of {n} models fit: {models}{tight}."),
    "report.answer.tight": ("（其中 {models} 余量很小，超过预算的 {pct:.0f}%）",
                            " ({models} with little headroom, over {pct:.0f} % of the budget)"),
    "report.answer.too_big": ("放不下：{models}", "Too big for this board: {models}"),
    "report.answer.excluded": ("计划排除、未测试：{models}", "excluded by the plan, not tested: {models}"),
    "report.answer.speed_npu": ("NPU 实测解码：{items}", "Measured decode on the NPU: {items}"),
    "report.answer.npu_item": ("{model} {tps:.1f} tok/s（首字延迟 {ttft:,.0f} ms）", "{model} {tps:.1f} tok/s (TTFT {ttft:,.0f} ms)"),
    "report.answer.speed_predicted": ("尚未在 NPU 上实测；可以跑的模型预测解码 {hi:.1f} tok/s（{fast}）到 {lo:.1f} tok/s（{slow}）",
                                      "Nothing measured on the NPU yet; the models that fit are predicted to decode at "
                                      "{hi:.1f} tok/s ({fast}) down to {lo:.1f} tok/s ({slow})"),
    "report.answer.speed_predicted_rest": ("其余可以跑的模型预测 {hi:.1f} tok/s（{fast}）到 {lo:.1f} tok/s（{slow}）",
                                           "the other models that fit are predicted at {hi:.1f} tok/s ({fast}) down to "
                                           "{lo:.1f} tok/s ({slow})"),
    "report.answer.speed_cpu": ("在 {host} 的 CPU (llama.cpp) 上实测：{items}（不是板端 NPU 数字）",
                                "measured on the CPU (llama.cpp) of {host}: {items} (not board NPU numbers)"),
    "report.answer.memory_measured": ("实测峰值内存：{items}", "Measured peak memory: {items}"),
    "report.answer.memory_largest": ("可以跑的模型中最大的是 {model}，{kind}峰值 {mb:,.0f} MB，占可用预算 {budget:,.0f} MB 的 {pct:.0f}%",
                                     "the largest model that fits is {model} at {mb:,.0f} MB {kind} peak, {pct:.0f} % of "
                                     "the {budget:,.0f} MB budget"),
    "report.answer.decode_measured": ("实测 {tps:.1f} tok/s", "measured {tps:.1f} tok/s"),
    "report.answer.decode_measured_cpu": ("CPU 实测 {tps:.1f} tok/s", "CPU measured {tps:.1f} tok/s"),
    "report.answer.decode_predicted": ("预测 {tps:.1f} tok/s", "predicted {tps:.1f} tok/s"),
    "report.answer.chart_title": ("每个模型的峰值内存 vs 可用预算（颜色 = 结论；实心 = 实测，斜线 = 预测）",
                                  "Peak memory of every model vs the usable budget (colour = verdict; solid = measured, "
                                  "hatched = predicted)"),
    "report.answer.memory_axis": ("峰值内存 (MB)", "peak memory (MB)"),
    # ------------------------------------------------------------------ the test-conditions table
    "cond.board": ("板卡", "board"),
    "cond.profile": ("板卡配置", "board profile"),
    "cond.entry": ("测试项", "entry"),
    "cond.host": ("主机", "host"),
    "cond.soc": ("SoC / CPU", "SoC / CPU"),
    "cond.board_model": ("板卡型号", "board model"),
    "cond.kernel": ("内核", "kernel"),
    "cond.runtime": ("运行时版本", "runtime"),
    "cond.npu_driver": ("NPU 驱动", "NPU driver"),
    "cond.clocks_pinned": ("频率已固定", "clocks pinned"),
    "cond.clocks_reasons": ("未固定的原因", "why not pinned"),
    "cond.cpu_freq_mhz": ("CPU 频率 (MHz)", "CPU clocks (MHz)"),
    "cond.npu_freq_mhz": ("NPU 频率 (MHz)", "NPU clock (MHz)"),
    "cond.ddr_freq_mhz": ("DDR 频率 (MHz)", "DDR clock (MHz)"),
    "cond.temp_start_c": ("起始温度 (°C)", "start temp (°C)"),
    "cond.temp_max_c": ("最高温度 (°C)", "max temp (°C)"),
    "cond.throttled": ("过热降频", "thermal throttling"),
    "cond.clocks_below_max": ("运行时有时钟低于最高频率", "a clock below max while running"),
    "cond.when": ("时间", "when"),
    "cond.reasons.unreadable": ("{clocks} 频率文件不可读：{why}", "{clocks} clock files not readable: {why}"),
    "cond.reasons.governor": ("{clock} 调频策略为 {governor}（固定频率需要 userspace 或 performance）",
                              "{clock} governor {governor} (pinned needs userspace/performance)"),
    "cond.reasons.below": ("{clock} 运行在 {mhz} MHz，低于 {target} MHz", "{clock} at {mhz} MHz < {target} MHz"),
    "cond.reasons.not_rockchip": ("不是 Rockchip 板子", "not a Rockchip board"),
    "cond.reasons.on_board": ("此主机上无读取权限", "no permission on this host"),
    # ------------------------------------------------------------------ the report's warnings
    "warning.throttling": ("测试中发生过热降频，速度偏低", "thermal throttling during the runs: speeds are low"),
    "warning.clocks_unpinned": (
        "频率未固定{ddr}: {reasons}；官方数据在固定最高频率下测得 (fix_freq_rk3588.sh)",
        "clocks not pinned{ddr}: {reasons}; official numbers were taken with all clocks pinned (fix_freq_rk3588.sh)"),
    "warning.clocks_unpinned.ddr": ("（含 DDR）", " (DDR included)"),
    "warning.clocks_unreadable": ("无法读取 CPU/NPU/DDR 频率，无法确认是否固定",
                                  "CPU/NPU/DDR clocks not readable: cannot tell whether they were pinned"),
    "warning.clocks_below_max": ("频率已固定，但测试中有时钟低于最高频率",
                                 "clocks were pinned, yet a clock ran below its maximum during the runs"),
    "warning.host": ("在 {soc} 上测得，不是 RK3588：数值不代表板端性能",
                     "measured on {soc}, not an RK3588: not board numbers"),
    "warning.variance": ("{case} {metric} 波动大 (相对标准差 {rsd:.0f}% > {limit:.0f}%)",
                         "{case} {metric} varies a lot (RSD {rsd:.0f} % > {limit:.0f} %)"),
    "warning.deviation": (
        "{model} {metric} 实测 {measured:.1f} 与官方 {official:.1f} 相差 {dev:+.0f}% (> {limit:.0f}%, {reference})",
        "{model} {metric} measured {measured:.1f} vs official {official:.1f}: {dev:+.0f} % (> {limit:.0f} %, "
        "{reference})"),
    "warning.cache": ("{case}: {n} 次运行疑似命中缓存（prefill 比之前各次的中位数快 30% 以上）",
                      "{case}: {n} run(s) flagged cache suspected (prefill more than 30 % faster than the "
                      "median of the earlier repetitions)"),
    "warning.kind.throttling": ("降频", "throttling"),
    "warning.kind.clocks": ("频率", "clocks"),
    "warning.kind.host": ("主机", "host"),
    "warning.kind.variance": ("波动", "variance"),
    "warning.kind.deviation": ("偏差", "deviation"),
    "warning.kind.failed": ("失败", "failed"),
    "warning.kind.limit_test": ("极限测试", "limit test"),
    "warning.kind.synthetic": ("合成", "synthetic"),
    "warning.kind.cache": ("缓存", "cache"),
    "warning.kind.board": ("板卡", "board"),
    "warning.board": ("这块板卡上一次 fleet 运行未完成：{status}（{task}）：{message}",
                      "this board's last fleet run did not get through: {status} at '{task}': {message}"),
    "warning.status": ("状态 {status}: {message}", "status {status}: {message}"),
    "warning.skipped_line": ("记录文件中的这一行未计入报告：{reason}", "this line of the records is not in the report: {reason}"),
    "warning.synthetic": ("多模态数值来自随机权重的合成视觉编码器：时间是真实测量，但回答没有意义",
                          "VLM numbers come from a synthetic random-weight encoder: real timings, meaningless answers"),
    # ------------------------------------------------------------------ rklab fleet (the Boards table)
    "fleet.status.ok": ("完成", "ok"),
    "fleet.status.failed": ("失败", "failed"),
    "fleet.status.unreachable": ("无法连接", "unreachable"),
    "fleet.status.interrupted": ("被中断", "interrupted"),
    "fleet.status.pending": ("未完成", "pending"),
    "fleet.status_at": ("{status}（步骤“{task}”）：{message}", "{status} at '{task}': {message}"),
    # ------------------------------------------------------------------ notebooks 02/03: figures
    "bench.measured": ("实测", "measured"),
    "bench.synthetic": ("合成编码器", "synthetic encoder"),
    "bench.summary_title": ("测试结果汇总（中位数）", "Benchmark summary (medians)"),
    "bench.token_title": ("逐 token 延迟（每次运行一条线）", "Per-token latency (one line per run)"),
    "bench.token_x": ("生成的第几个 token", "generated token #"),
    "bench.token_y": ("与上一 token 的间隔 (ms)", "time since previous token (ms)"),
    "bench.memory_title": ("内存随时间变化（加载 / 预填充 / 解码 阶段）", "Memory over time (load / prefill / decode phases)"),
    "bench.time_s": ("时间 (s)", "time (s)"),
    "bench.mb": ("MB", "MB"),
    "bench.vmrss": ("进程 VmRSS", "process VmRSS"),
    "bench.vmhwm": ("进程峰值 VmHWM", "process peak VmHWM"),
    "bench.rss_shmem": ("进程 RssShmem (NPU 缓冲)", "process RssShmem (NPU buffers)"),
    "bench.avail_drop": ("系统 MemAvailable 下降", "system MemAvailable drop"),
    "bench.npu_title": ("NPU 负载与温度", "NPU load and temperatures"),
    "bench.npu_load": ("NPU 负载 (%)", "NPU load (%)"),
    "bench.temp": ("温度 (°C)", "temperature (°C)"),
    "bench.stages_title": ("VLM 各阶段耗时（中位数）", "VLM stage breakdown (medians)"),
    "bench.ms": ("毫秒 (ms)", "milliseconds"),
    "bench.ratio_title": ("实测 / 参考 比值（1 = 与参考一致）", "Measured / reference ratio (1 = same as the reference)"),
    "bench.ratio": ("比值", "ratio"),
    "bench.load": ("加载", "load"),
    "bench.idle": ("空闲", "idle"),
    "bench.prefill": ("预填充", "prefill"),
    "bench.decode": ("解码", "decode"),
    "bench.runs": ("运行次数", "runs"),
    "bench.not_available": ("此主机上不可用", "not available on this host"),
    "bench.npu_not_available": ("NPU 负载 / 温度：此主机上不可用", "NPU load / temperatures: not available on this host"),
    # ------------------------------------------------------------------ notebooks 02/03: the status block
    "session.status": ("状态", "Status"),
    "session.model": ("模型", "model"),
    "session.preflight_none": ("内存预检：无预测", "memory pre-flight: no prediction"),
    "session.preflight": ("内存预检 (预测)", "memory pre-flight (predicted)"),
    "session.vs_available": ("vs 可用", "vs available"),
    "session.measured": ("(实测)", "(measured)"),
    "session.records": ("记录", "records"),
    "session.measured_runs": ("次实测运行", "measured runs"),
    "session.cache_flagged": ("{n} 次运行疑似命中缓存：prefill 比之前各次的中位数快 30% 以上",
                              "{n} run(s) flagged cache suspected: prefill more than 30 % faster than the median of "
                              "the earlier repetitions"),
    "session.forced": ("已强制运行", "forced"),
    "session.host": ("{machine} 主机 {hostname}", "{machine} host {hostname}"),
    "session.measured_on": ("实测于 {where}", "measured on {where}"),
    "session.encoder_runtime": ("编码器 {backend} ({version})", "encoder {backend} ({version})"),
    "session.synthetic_mark": ("合成编码器", "SYNTHETIC encoder"),
    "session.no_runs": ("没有实测运行（{status}）", "no measured runs ({status})"),
    "session.no_reference": ("没有 {model} 的参考数据（或没有实测值）", "no reference rows for {model} (or nothing measured)"),
    "session.records_note": ("记录文件 `{path}`：{n} 条记录", "records in `{path}`: {n}"),
    "session.encoder_outputs": ("编码器输出形状：{shapes}；图像 token 数：{tokens}；合成编码器：{synthetic}",
                                "encoder outputs: {shapes}; image tokens: {tokens}; synthetic: {synthetic}"),
    "session.encoder": ("编码器：{facts}", "encoder: {facts}"),
    "session.fact": ("项目", "fact"),
    "session.cond.prompt_tokens": ("输入 {value}", "prompt {value}"),
    "session.cond.new_tokens": ("输出 {value}", "new {value}"),
    "session.cond.max_context": ("上下文 {value}", "context {value}"),
    "session.cond.image_tokens": ("图像 token {value}", "image tokens {value}"),
    "session.cond.memory_kind": ("内存 = {value}", "memory = {value}"),
    "session.synthetic_note": ("视觉编码器为合成模型（随机权重）：耗时是真实测量，回答没有意义",
                               "the vision encoder is SYNTHETIC (random weights): timings are real measurements, "
                               "the answer is meaningless"),
    # ------------------------------------------------------------------ the host snapshot (rklab.measure.hostinfo)
    "host.board_model": ("板卡型号", "board model"),
    "host.soc": ("SoC", "SoC"),
    "host.compatible": ("设备树 compatible", "device-tree compatible"),
    "host.machine": ("CPU 架构", "machine"),
    "host.kernel": ("内核", "kernel"),
    "host.npu_driver_version": ("NPU 驱动版本", "NPU driver version"),
    "host.runtime_version": ("运行时版本", "runtime version"),
    "host.cpu_model": ("CPU 型号", "CPU model"),
    "host.cpu_cores": ("CPU 核数", "CPU cores"),
    "host.cpu_cores_physical": ("物理核数", "physical cores"),
    "host.mem_total_mb": ("MemTotal (MB)", "MemTotal (MB)"),
    "host.hostname": ("主机名", "host name"),
    "host.python": ("Python", "Python"),
    "host.rklab_version": ("rklab 版本", "rklab version"),
    "host.llama_cpp_python_version": ("llama-cpp-python 版本", "llama-cpp-python version"),
    "host.cpu_governors": ("CPU 调频策略", "CPU governors"),
    "host.cpu_freq_mhz": ("CPU 频率 (MHz)", "CPU clocks (MHz)"),
    "host.cpu_max_mhz": ("CPU 最高频率 (MHz)", "CPU max clocks (MHz)"),
    "host.npu_governor": ("NPU 调频策略", "NPU governor"),
    "host.npu_freq_mhz": ("NPU 频率 (MHz)", "NPU clock (MHz)"),
    "host.npu_max_mhz": ("NPU 最高频率 (MHz)", "NPU max clock (MHz)"),
    "host.ddr_governor": ("DDR 调频策略", "DDR governor"),
    "host.ddr_freq_mhz": ("DDR 频率 (MHz)", "DDR clock (MHz)"),
    "host.ddr_max_mhz": ("DDR 最高频率 (MHz)", "DDR max clock (MHz)"),
    "host.clocks_pinned": ("频率已固定 (fix_freq_rk3588.sh)", "clocks pinned (fix_freq_rk3588.sh)"),
    "host.clocks_pinned_reasons": ("未固定的原因", "why not pinned"),
    "bench.reference_value": ("参考值", "reference"),
    "bench.measured_value": ("实测值", "measured"),
    "bench.measured_case": ("对照的实测用例", "measured case"),
    "bench.metric": ("指标", "metric"),
    "bench.board": ("板子", "board"),
    "bench.key": ("项目", "key"),
    "bench.cache_suspected_runs": ("疑似缓存命中的次数", "runs flagged cache suspected"),
    "bench.decode_rsd": ("解码相对标准差", "decode RSD"),
    # ------------------------------------------------------------------ rklab models check
    "plancheck.ok": ("正常", "ok"),
    "plancheck.warn": ("注意", "WARN"),
    "plancheck.fail": ("不通过", "FAIL"),  # any failed check: a missing file, a wrong model, an old driver, a full disk
    "plancheck.title": ("检查测试计划", "check of plan"),
    "plancheck.fix": ("解决办法", "to fix"),
    "plancheck.good": ("一切就绪：运行 `rklab sweep {plan}`", "everything is in place: run `rklab sweep {plan}`"),
    "plancheck.bad": ("{n} 个问题：请先解决再运行 `rklab sweep {plan}`", "{n} problem(s): fix them before `rklab sweep {plan}`"),
    "plancheck.excluded": ("已排除（不测试）: ", "excluded (not tested): "),
    "plancheck.cat.file": ("模型文件", "model files"),
    "plancheck.cat.runtime": ("运行时", "runtimes"),
    "plancheck.cat.driver": ("NPU 驱动", "NPU driver"),
    "plancheck.cat.memory": ("内存", "memory"),
    "plancheck.cat.disk": ("磁盘", "disk"),
    # ------------------------------------------------------------------ punctuation between phrases
    "punct.list": ("、", ", "),
    "punct.clause": ("；", "; "),
    "punct.period": ("。", "."),
    # ------------------------------------------------------------------ rklab doctor
    "doctor.ok": ("正常", "ok"),
    "doctor.warn": ("注意", "WARN"),
    "doctor.fail": ("问题", "FAIL"),
    "doctor.na": ("不适用", "n/a"),
    "doctor.fix": ("解决办法", "fix"),
    "doctor.title": ("rklab 检查", "rklab doctor"),
    "doctor.all_clocks": ("一次固定所有频率（与瑞芯微官方测试相同）", "all clocks at once, as for Rockchip's benchmark table"),
    "doctor.good": ("测量条件与瑞芯微官方一致", "nothing stops measurements from matching Rockchip's conditions"),
    "doctor.good_pc": ("不是开发板：此处只适用 CPU (llama.cpp) 路径", "not a board: only the CPU (llama.cpp) path applies here"),
    "doctor.bad": ("{n} 个问题会使测量结果与瑞芯微不同：请先解决",
                   "{n} problem(s) make measurements differ from Rockchip's: fix them first"),
    # ------------------------------------------------------------------ the board
    "board.describe": (
        "{label}：MemTotal {physical:,.0f} MB，可用预算 {budget:,.0f} MB，NPU {cores} 核，DRAM {bus} 位 @ {ddr:,.0f} MHz，"
        "带宽上限 {bandwidth:.1f} GB/s，固定频率 NPU {npu:,.0f} / CPU {cpu:,.0f} MHz{inferred}，支持量化 {dtypes}",
        "{label}: MemTotal {physical:,.0f} MB, usable budget {budget:,.0f} MB, {cores} NPU cores, DRAM {bus}-bit at "
        "{ddr:,.0f} MHz = ceiling {bandwidth:.1f} GB/s, pinned NPU {npu:,.0f} / CPU {cpu:,.0f} MHz{inferred}, "
        "dtypes {dtypes}"),
    "board.inferred": ("（推断：{items}）", " (inferred: {items})"),
}


def check_lang(lang: str, name: str = "lang") -> str:
    """``lang`` if rklab speaks it, else a one-line :class:`RklabError` naming ``name`` (the option or
    parameter the user set: ``--lang``, ``parameter lang``)."""
    if lang not in LANGS:
        raise RklabError(f"{name}={lang!r} is not supported; use {' or '.join(LANGS)}")
    return lang


def text(key: str, lang: str = "zh", **values) -> str:
    """The text of ``key`` in ``lang``, its ``{placeholders}`` filled from ``values``.

    An unknown key raises ``KeyError`` (a typo must not reach the boss's report).
    """
    check_lang(lang)
    try:
        zh, en = TEXT[key]
    except KeyError:
        raise KeyError(f"no text {key!r} in rklab.i18n.TEXT") from None
    s = zh if lang == "zh" else en
    return s.format(**values) if values else s


def has_text(key: str) -> bool:
    return key in TEXT


# --------------------------------------------------------------------------- the engine's tables
# Column names of the engine's tables, for rklab.predict.feasibility.localize and the CLI tables.
LABELS = {k.split(".", 1)[1]: v for k, v in TEXT.items() if k.startswith("engine.")}


def label(key: str, lang: str = "zh") -> str:
    """The label of an engine column or title in ``lang`` (the key itself if it has none)."""
    check_lang(lang)
    return text(f"engine.{key}", lang) if f"engine.{key}" in TEXT else key


def memory_kind_label(kind, lang: str = "zh"):
    """A reference row's ``memory_kind`` (how its memory figure was taken) in ``lang``; an unknown one as it is."""
    check_lang(lang)
    return text(f"report.memkind.{kind}", lang) if isinstance(kind, str) and f"report.memkind.{kind}" in TEXT else kind


def verdict_label(verdict: str, lang: str = "zh") -> str:
    """A verdict (engine or measured outcome) in ``lang``; an unknown one as it is."""
    check_lang(lang)
    return text(f"verdict.{verdict}", lang) if f"verdict.{verdict}" in TEXT else verdict
