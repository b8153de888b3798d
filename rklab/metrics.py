"""The registry of what a measured run records: one :class:`Metric` per key of a record's ``metrics``.

In the spirit of pyperf's ``_metadata.py``: each metric has a unit, a value type, a check, the digits
tables show it with and a zh/en label (the text itself lives in :mod:`rklab.i18n` under
``metric.<name>``). The registry does two jobs:

* :func:`validate` checks the ``metrics`` of a record before :class:`rklab.records.RecordWriter`
  writes it: a registered metric of the wrong type (a string where a number belongs, a negative
  duration) raises ``ValueError`` naming it, so bad numbers never reach records.jsonl. Keys that
  are not registered pass with a JSON type check (as pyperf's unknown metadata do), so a
  runtime may add its own counters.
* :func:`fmt` and :func:`label` give the display tables (report, notebooks) one way to show a
  metric: the same digits and the same words everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from rklab import i18n

__all__ = ["METRICS", "Metric", "fmt", "get", "label", "validate"]

_NUMBER = (int, float)


def _nonnegative(v) -> bool:
    return isinstance(v, float) and math.isnan(v) or v >= 0


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str  # "ms", "tok/s", "MB", "tokens", "°C", "%", "" (a count or a flag), ...
    kind: str = "number"  # number | int | bool | text | list | any
    digits: int = 1  # decimals in display tables
    check: Callable[[Any], bool] | None = None  # extra check of a present value (None passes)

    def label(self, lang: str = "zh") -> str:
        return i18n.text(f"metric.{self.name}", lang)

    def fmt(self, value, digits: int | None = None) -> str:
        """``value`` with the metric's digits; ``-`` when missing or not a finite number."""
        return format_number(value, self.digits if digits is None else digits)


def _m(name, unit, kind="number", digits=1, check=None) -> Metric:
    return Metric(name, unit, kind, digits, check)


_MS, _TPS, _MB = "ms", "tok/s", "MB"
_NONNEG = _nonnegative

METRICS: dict[str, Metric] = {m.name: m for m in [
    # the case and the run
    _m("case", "", "text"),
    _m("rep", "", "int", 0, _NONNEG),
    _m("warmup", "", "bool"),
    _m("prompt_tokens", "tokens", "int", 0, _NONNEG),
    _m("prompt_tokens_source", "", "text"),
    _m("new_tokens", "tokens", "int", 0, _NONNEG),
    _m("generated_tokens", "tokens", "int", 0, _NONNEG),
    _m("final_state", "", "text"),
    # speed (wall clock)
    _m("ttft_ms", _MS, digits=0, check=_NONNEG),
    _m("prefill_ms", _MS, digits=0, check=_NONNEG),
    _m("prefill_tps", _TPS, digits=1, check=_NONNEG),
    _m("decode_tps", _TPS, digits=2, check=_NONNEG),
    _m("e2e_ms", _MS, digits=0, check=_NONNEG),
    _m("token_offsets_ms", _MS, "list"),
    _m("llm_load_ms", _MS, digits=0, check=_NONNEG),
    # the runtime's own counters
    _m("runtime_prefill_ms", _MS, digits=0, check=_NONNEG),
    _m("runtime_prefill_tokens", "tokens", "int", 0, _NONNEG),
    _m("runtime_prefill_tps", _TPS, digits=1, check=_NONNEG),
    _m("runtime_decode_ms", _MS, digits=0, check=_NONNEG),
    _m("runtime_decode_tokens", "tokens", "int", 0, _NONNEG),
    _m("runtime_decode_tps", _TPS, digits=2, check=_NONNEG),
    _m("runtime_memory_mb", _MB, digits=0, check=_NONNEG),
    # memory (MB = MiB)
    _m("vmhwm_mb", _MB, digits=0, check=_NONNEG),
    _m("vmrss_mb", _MB, digits=0, check=_NONNEG),
    _m("rss_shmem_mb", _MB, digits=0, check=_NONNEG),
    _m("mem_available_drop_mb", _MB, digits=0),  # negative when memory was freed meanwhile
    _m("shmem_rise_mb", _MB, digits=0),
    _m("load_vmhwm_mb", _MB, digits=0, check=_NONNEG),
    _m("vmhwm_reset", "", "bool"),
    _m("memory_baseline", "", "text"),
    _m("rss_before_load_mb", _MB, digits=0, check=_NONNEG),
    _m("runs_before_abort", "", "int", 0, _NONNEG),
    # board state
    _m("npu_load_mean", "%", digits=0, check=_NONNEG),
    _m("npu_load_max", "%", digits=0, check=_NONNEG),
    _m("temp_start_c", "°C", digits=0),
    _m("temp_end_c", "°C", digits=0),
    _m("throttled", "", "bool"),
    _m("clocks_below_max", "", "bool"),
    _m("throttle_detail", "", "any"),
    _m("monitor_samples", "", "int", 0, _NONNEG),
    _m("ddr_mhz_mean", "MHz", digits=0, check=_NONNEG),
    _m("npu_mhz_mean", "MHz", digits=0, check=_NONNEG),
    _m("cpu_mhz_mean", "MHz", digits=0, check=_NONNEG),
    # VLM stages
    _m("image", "", "text"),
    _m("image_path", "", "text"),
    _m("image_tokens", "tokens", "int", 0, _NONNEG),
    _m("text_tokens", "tokens", "int", 0, _NONNEG),
    _m("preprocess_ms", _MS, digits=1, check=_NONNEG),
    _m("encoder_ms", _MS, digits=1, check=_NONNEG),
    _m("encoder_first_ms", _MS, digits=1, check=_NONNEG),
    _m("encoder_load_ms", _MS, digits=0, check=_NONNEG),
    _m("encoder_output_shapes", "", "list"),
    _m("image_prefill_ms", _MS, digits=0, check=_NONNEG),
    _m("image_prefill_source", "", "text"),
    _m("ttft_e2e_ms", _MS, digits=0, check=_NONNEG),
    _m("text", "", "text"),
    _m("synthetic", "", "bool"),
    # no cache flatters a run (rklab.measure.cachecheck)
    _m("kv_cache_cleared", "", "bool"),
    _m("cache_prefix", "", "text"),
    _m("cache_suspected", "", "bool"),
    _m("cache_check", "", "text"),
    _m("reload_ms", _MS, digits=0, check=_NONNEG),
]}

_TYPES: dict[str, tuple[type, ...]] = {
    "number": _NUMBER, "int": (int,), "bool": (bool,), "text": (str,), "list": (list, tuple),
    "any": (str, int, float, bool, list, tuple, dict),
}


def get(name: str) -> Metric:
    """The registered metric ``name`` (KeyError naming the registry when unknown)."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"metric {name!r} is not in rklab.metrics.METRICS") from None


def label(name: str, lang: str = "zh") -> str:
    return get(name).label(lang)


def fmt(name: str, value, digits: int | None = None) -> str:
    return get(name).fmt(value, digits)


def format_number(value, digits: int) -> str:
    """``value`` rounded to ``digits`` decimals with thousands separators (``14,768``); ``-`` for None,
    NaN, infinities, flags and non-numbers; never ``-0``. The one number format of rklab's tables
    (:mod:`rklab.display` uses it)."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return "-"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return "-"
    if not math.isfinite(f):
        return "-"
    if round(f, digits) == 0:
        f = 0.0
    return f"{f:,.{digits}f}"


def _plain(value) -> Any:
    """numpy values as the Python values records.jsonl will hold."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def validate(metrics: dict | None) -> None:
    """Raise ``ValueError`` when a metric's value does not fit the registry (see the module docstring)."""
    if metrics is None:
        return
    if not isinstance(metrics, dict):
        raise ValueError(f"record metrics must be a dict, got {type(metrics).__name__}")
    for name, value in metrics.items():
        value = _plain(value)
        if value is None:
            continue
        m = METRICS.get(name)
        kind = m.kind if m else "any"
        ok_type = isinstance(value, _TYPES[kind])
        if kind in ("number", "int") and isinstance(value, bool):
            ok_type = False  # True is an int to Python, not a count or a time
        if not ok_type:
            raise ValueError(f"metric {name}={value!r}: expected {kind}"
                             + (f" ({m.unit})" if m and m.unit else "") + f", got {type(value).__name__}")
        if m and m.check is not None and not m.check(value):
            raise ValueError(f"metric {name}={value!r} is out of range for {m.unit or kind}")
