"""Every zh/en text rklab shows, under namespaced keys, and the one language check.

zh is the default: the boss reads Chinese. Keys are ``<namespace>.<name>``:

=============  ============================================================================
``engine.``    columns and titles of the feasibility engine's tables (all **predicted**)
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
``plancheck.`` ``rklab models check``
``board.``     the board line of notebook 01
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
    # ------------------------------------------------------------------ statuses (rklab.runfolder.Status)
    "status.ok": ("成功", "ok"),
    "status.failed": ("失败", "failed"),
    "status.timeout": ("超时", "timeout"),
    "status.oom": ("内存耗尽被终止", "oom"),
    "status.aborted_memory": ("内存守护中止", "aborted_memory"),
    "status.skipped_predicted_oom": ("预测内存不足，已跳过", "skipped_predicted_oom"),
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
    "report.summary": ("结论", "Summary"),
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
    "report.none": ("_(无)_", "_(none)_"),
    "report.model": ("模型", "model"),
    "report.entry": ("测试项", "entry"),
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
    "report.meas_ttft": ("实测首字延迟 (ms)", "measured TTFT (ms)"),
    "report.pred_ttft": ("预测首字延迟 (ms)", "predicted TTFT (ms)"),
    "report.note": ("说明", "note"),
    "report.pred_decode_pinned": ("固定频率预测解码 (tok/s)", "predicted decode at pinned clocks (tok/s)"),
    "report.pct_of_ceiling": ("占 CPU 带宽上限 (%)", "% of the CPU decode ceiling"),
    "report.explanation": ("解释", "explanation"),
    "report.model": ("模型", "model"),
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
    "report.synthetic": ("合成 (随机权重编码器)", "synthetic (random-weight encoder)"),
    "report.synthetic_mark": ("（合成）", " (synthetic)"),
    "report.time_ms": ("时间 (ms)", "time (ms)"),
    "report.mem_drop": ("可用内存下降", "MemAvailable drop"),
    "report.yes": ("是", "yes"),
    "report.no": ("否", "no"),
    "report.unknown": ("未知", "unknown"),
    "report.intro": (
        "目标板：{board}（物理内存 {physical:.0f} MB，可用预算 {budget:.0f} MB，DRAM 带宽上限 {bandwidth:.1f} GB/s）。"
        "数字分三类：**实测**（本次测试，注明主机）、**引用**（官方 / 种子报告 / 社区，注明出处与条件）、"
        "**预测**（rklab 可行性引擎）。标 * 的多模态数据来自合成（随机权重）视觉编码器。",
        "Target board: {board} (physical RAM {physical:.0f} MB, usable budget {budget:.0f} MB, "
        "DRAM ceiling {bandwidth:.1f} GB/s). Numbers are **measured** (this sweep, with the host), "
        "**quoted** (official / seed / community, with reference and conditions) or **predicted** "
        "(rklab feasibility engine). VLM rows marked * come from a synthetic (random-weight) encoder."),
    "report.summary.entries": ("共 {n} 个测试项，{ok} 个成功。", "{n} entries, {ok} measured successfully."),
    "report.summary.line": (
        "{model} [{backend}]{synthetic}: 解码 {decode:.2f} tok/s，首字延迟 {ttft:.0f} ms，峰值内存 {memory} MB ({case}，主机 {host})",
        "{model} [{backend}]{synthetic}: decode {decode:.2f} tok/s, TTFT {ttft:.0f} ms, peak memory {memory} MB "
        "({case}, host {host})"),
    "report.log.generated": ("生成时间 {now}，rklab，数据目录: ", "Generated {now} by rklab from: "),
    "report.log.kinds": (
        "数字的三种来源：**实测** (本次测试记录，注明主机)、**引用** (官方 / 种子报告 / 社区，注明出处与条件)、"
        "**预测** (rklab 可行性引擎)。标 * 的为合成视觉编码器数据。",
        "Every number is **measured** (records of this sweep, with the host), **quoted** (official / seed / "
        "community, with reference and conditions) or **predicted** (rklab feasibility engine). "
        "Rows marked * come from the synthetic vision encoder."),
    "report.unknown_host": ("未知主机", "an unknown host"),
    # ------------------------------------------------------------------ the test-conditions table
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
    "warning.status": ("状态 {status}: {message}", "status {status}: {message}"),
    "warning.skipped_line": ("记录文件中的这一行未计入报告：{reason}", "this line of the records is not in the report: {reason}"),
    "warning.synthetic": ("多模态数值来自随机权重的合成视觉编码器：时间是真实测量，但回答没有意义",
                          "VLM numbers come from a synthetic random-weight encoder: real timings, meaningless answers"),
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
    "session.synthetic_note": ("视觉编码器为合成模型（随机权重）：耗时是真实测量，回答没有意义",
                               "the vision encoder is SYNTHETIC (random weights): timings are real measurements, "
                               "the answer is meaningless"),
    # ------------------------------------------------------------------ rklab models check
    "plancheck.ok": ("正常", "ok"),
    "plancheck.warn": ("注意", "WARN"),
    "plancheck.fail": ("缺少", "MISSING"),
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
    # ------------------------------------------------------------------ the board
    "board.describe": (
        "{label}：MemTotal {physical:,.0f} MB，可用预算 {budget:,.0f} MB，DRAM 带宽上限 {bandwidth:.1f} GB/s，支持量化 {dtypes}",
        "{label}: MemTotal {physical:,.0f} MB, usable budget {budget:,.0f} MB, DRAM ceiling {bandwidth:.1f} GB/s, "
        "dtypes {dtypes}"),
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


def verdict_label(verdict: str, lang: str = "zh") -> str:
    """A verdict (engine or measured outcome) in ``lang``; an unknown one as it is."""
    check_lang(lang)
    return text(f"verdict.{verdict}", lang) if f"verdict.{verdict}" in TEXT else verdict
