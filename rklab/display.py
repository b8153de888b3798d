"""Tables for people: the one formatter behind every table rklab shows (notebooks 01-04, the HTML report).

What a reader sees instead of program output:

* headers in the reader's language, with the unit (``解码 (tok/s)``, ``峰值 VmHWM (MB)``);
* numbers with the digits of their quantity and thousands separators (``14,768`` not ``14768.0``);
* ``-`` for a missing number (never ``NaN``, ``None``, ``nan``), 是/否 (yes/no) for flags, verdicts
  in words, nested values as short text (never a raw dict or ``np.float64(...)``);
* no index; HTML in its own scroll container, so a wide table never widens the page.

How a column is shown is decided by :func:`column`, in this order: the caller's override, the
display registry :data:`COLUMNS` (engine and report columns), the metrics registry
(:data:`rklab.metrics.METRICS`: units, digits and labels of measured values), a text of
:mod:`rklab.i18n` under ``engine.``/``report.``/``cond.``, and last the column's name: its suffix
gives the unit and digits (``_mb``, ``_ms``, ``_tps``, ``_pct``, ``_c``, ...), its dtype says
whether it is a flag. So a column another module adds later (``clock_scaled_decode_tps``,
``cache_suspected``) is formatted sensibly without touching this file.
"""

from __future__ import annotations

import html as _html
import math
import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from rklab import i18n, metrics

__all__ = ["COLUMNS", "Column", "FONT_STACK", "Markdown", "Table", "column", "format_table", "format_value", "header",
           "heading", "table", "table_html"]

# Fonts of every page rklab writes: Latin first, then CJK fonts of Windows, macOS and Linux, so that
# Chinese never falls back to the missing-glyph box on the boss's machine.
FONT_STACK = ('-apple-system, BlinkMacSystemFont, "Segoe UI", "Microsoft YaHei", "微软雅黑", "PingFang SC", '
              '"Hiragino Sans GB", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", '
              '"WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif')

MISSING = "-"
SHORT_TEXT = 24  # characters: a text column whose cells are all this short does not wrap
KINDS = ("number", "int", "bool", "text", "verdict", "list", "any")


@dataclass(frozen=True)
class Column:
    """How one column is shown: its header (an i18n key, or a text), unit, kind and digits.

    ``digits`` None: chosen from the size of the number (:func:`auto_digits`). ``label`` is an
    i18n key when it names one (``report.meas_memory``), else the header text itself; the unit is
    added to the header when the label does not carry it already.
    """

    name: str
    label: str | None = None
    unit: str = ""
    kind: str = "number"
    digits: int | None = None
    long: bool = False  # long text (reasons, conditions): wraps in a wide cell
    words: str | None = None  # i18n namespace of the values: "official" -> text("source.official")


def _c(name, label=None, unit="", kind="number", digits=None, long=False, words=None) -> Column:
    return Column(name, label, unit, kind, digits, long, words)


# Columns of the engine's and the report's tables (measured metrics come from rklab.metrics).
COLUMNS: dict[str, Column] = {c.name: c for c in [
    # the feasibility engine (predicted) and the seed (quoted)
    _c("model", "engine.model", kind="text"),
    _c("kind", "engine.kind", kind="text"),
    _c("dtype", "engine.dtype", kind="text"),
    _c("params", "engine.params_b", digits=2, unit=""),  # shown in billions (see SCALE)
    _c("weights_mb", "engine.weights_mb", "MB", digits=0),
    _c("embedding_mb", "engine.embedding_mb", "MB", digits=0),
    _c("kv_mb", "engine.kv_mb", "MB", digits=0),
    _c("runtime_mb", "engine.runtime_mb", "MB", digits=0),
    _c("vision_mb", "engine.vision_mb", "MB", digits=0),
    _c("image_embed_mb", "engine.image_embed_mb", "MB", digits=0),
    _c("memory_mb", "engine.memory_mb", "MB", digits=0),
    _c("available_drop_mb", "engine.available_drop_mb", "MB", digits=0),
    _c("budget_mb", "engine.budget_mb", "MB", digits=0),
    _c("physical_mb", "engine.physical_mb", "MB", digits=0),
    _c("predicted_decode_tps", "engine.predicted_decode_tps", "tok/s", digits=1),
    _c("predicted_ttft_ms", "engine.predicted_ttft_ms", "ms", digits=0),
    _c("bandwidth_pct", "engine.bandwidth_pct", "%", digits=0),
    _c("verdict", "engine.verdict", kind="verdict"),
    _c("verdict_label", "engine.verdict", kind="text"),
    _c("w8a8_verdict", "engine.w8a8_verdict", kind="verdict"),
    _c("w8a8_memory_mb", "engine.w8a8_memory_mb", "MB", digits=0),
    _c("reason", "engine.reason", kind="text", long=True),
    _c("context", "engine.context", "tokens", "int"),
    _c("largest_context", "engine.max_context_fit", "tokens", "int"),
    _c("seed_dtype", "engine.seed_dtype", kind="text"),
    _c("seed_ram_text", "engine.seed_ram_text", kind="text"),
    _c("seed_ram_mb", "engine.seed_ram_mb", "MB", digits=0),
    _c("seed_verdict", "engine.seed_verdict", kind="text"),
    _c("diff_pct", "engine.diff_pct", "%", digits=0),
    _c("flag", "engine.flag", kind="bool"),
    _c("seed_decode_tps", "engine.seed_decode_tps", "tok/s", digits=1),
    _c("decode_diff_pct", "engine.decode_diff_pct", "%", digits=0),
    _c("seed_ttft_ms", "engine.seed_ttft_ms", "ms", digits=0),
    _c("seed_vision_encoder_s", "engine.seed_vision_encoder_s", "s", digits=1),
    _c("seed_source", "engine.seed_source", kind="text", long=True),
    # calibration (rklab.predict.calibration): quoted reference rows against the engine
    _c("source", "report.source", kind="text", words="source"),
    _c("reference", "report.reference", kind="text"),
    _c("runtime", "report.runtime", kind="text"),
    _c("memory_kind", "report.memory_kind", kind="text"),
    _c("tokens", "calib.tokens", kind="text"),
    _c("quoted_mb", "calib.quoted_mb", "MB", digits=0),
    _c("predicted_mb", "calib.predicted_mb", "MB", digits=0),
    _c("residual_pct", "calib.residual_pct", "%", digits=0),
    _c("quoted_decode_tps", "calib.quoted_decode_tps", "tok/s", digits=1),
    _c("decode_residual_pct", "calib.decode_residual_pct", "%", digits=0),
    _c("quoted_ttft_ms", "calib.quoted_ttft_ms", "ms", digits=0),
    _c("ttft_residual_pct", "calib.ttft_residual_pct", "%", digits=0),
    _c("used_in_fit", "calib.used_in_fit", kind="bool"),
    _c("explanation", "calib.explanation", kind="text", long=True),
    _c("soc", "calib.soc", kind="text"),
    _c("dtype_class", "calib.dtype_class", kind="text"),
    _c("memory_mb_mean", "calib.memory_mb_mean", "%", digits=1),
    _c("memory_mb_count", "calib.memory_mb_count", kind="int"),
    _c("decode_tps_mean", "calib.decode_tps_mean", "%", digits=1),
    _c("decode_tps_count", "calib.decode_tps_count", kind="int"),
    _c("ttft_ms_mean", "calib.ttft_ms_mean", "%", digits=1),
    _c("ttft_ms_count", "calib.ttft_ms_count", kind="int"),
    _c("bus_bits", "calib.bus_bits", kind="int"),
    _c("ddr_mhz", "calib.ddr_mhz", "MHz", digits=0),
    _c("bandwidth_gbs", "calib.bandwidth_gbs", "GB/s", digits=2),
    _c("chosen", "calib.chosen", kind="bool"),
    _c("decode_mean_abs_pct", "calib.decode_mean_abs_pct", "%", digits=1),
    _c("decode_worst_pct", "calib.decode_worst_pct", "%", digits=1),
    _c("constant", "calib.constant", kind="text"),
    _c("value", "calib.value", kind="text"),  # already rounded to its meaning (Calibration.summary)
    _c("meaning", "calib.meaning", kind="text", long=True),
    # notebook 04
    _c("entry", "report.entry", kind="text"),
    _c("model_name", "report.model", kind="text"),
    _c("backend", "report.backend", kind="text"),
    _c("n", "report.n", kind="int"),
    _c("runs", "bench.runs", kind="int"),
    _c("status", "report.status", kind="text", words="status"),
    _c("message", "report.error", kind="text", long=True),
    _c("conditions", "report.conditions_col", kind="text", long=True),
    _c("note", "report.note", kind="text", long=True),
    _c("measured_mb", "report.meas_memory", "MB", digits=0),
    _c("measured_decode_tps", "report.meas_decode", "tok/s", digits=2),
    _c("measured_vmhwm_mb", "report.meas_memory", "MB", digits=0),
    _c("predicted_memory_mb", "report.pred_memory", "MB", digits=0),
    _c("measured_ttft_ms", "report.meas_ttft", "ms", digits=0),
    _c("verdict_source", "report.verdict_source", kind="text", words="report"),
    _c("verdict_reason", "report.verdict_reason", kind="text", long=True),
    _c("memory_residual_pct", "report.residual", "%", digits=0),
    # notebooks 02/03
    _c("decode_rsd_%", "bench.decode_rsd", "%", digits=1),
    _c("metric", "bench.metric", kind="text"),
    _c("measured", "bench.measured_value", kind="number"),
    _c("ratio", "bench.ratio", kind="number", digits=2),
    _c("measured_case", "bench.measured_case", kind="text"),
    _c("reference_by", "report.reference", kind="text"),
    _c("board", "bench.board", kind="text"),
    _c("notes", "report.note", kind="text", long=True),
    _c("key", "bench.key", kind="text"),
]}

# Columns shown in other units than they are stored in: name -> (divisor).
SCALE = {"params": 1e9}

# A column's unit from the end of its name, for columns no registry knows: (suffix, unit, digits).
SUFFIX_UNITS = (("_mb", "MB", 0), ("_ms", "ms", 0), ("_tps", "tok/s", 1), ("_pct", "%", 0), ("_%", "%", 1),
                ("_gbs", "GB/s", 1), ("_mhz", "MHz", 0), ("_c", "°C", 0), ("_s", "s", 2), ("_bytes", "B", 0),
                ("_tokens", "tokens", None))


def _label_text(label: str | None, lang: str) -> str | None:
    if label and i18n.has_text(label):
        return i18n.text(label, lang)
    return label


def column(name: str, override: Column | str | None = None, values: pd.Series | None = None) -> Column:
    """How column ``name`` is shown (see the module docstring for the order of the look-ups).

    ``override``: a :class:`Column`, or an i18n key / header text replacing only the label.
    ``values``: the column's data, used when nothing else says whether it holds flags or numbers.
    """
    base = _registered(name) or _from_name(name, values)
    if isinstance(override, Column):
        return override
    if isinstance(override, str):
        return replace(base, label=override)
    return base


def _registered(name: str) -> Column | None:
    if name in COLUMNS:
        return COLUMNS[name]
    if name in metrics.METRICS:
        m = metrics.METRICS[name]
        kind = {"int": "int", "bool": "bool", "text": "text", "list": "list"}.get(m.kind, "number" if m.kind == "number"
                                                                               else "any")
        return Column(name, f"metric.{name}", m.unit, kind, m.digits)
    for ns in ("engine", "report", "cond", "bench"):
        if i18n.has_text(f"{ns}.{name}"):
            return Column(name, f"{ns}.{name}", kind="any")
    return None


def _from_name(name: str, values: pd.Series | None) -> Column:
    if values is not None and len(values):
        present = values.dropna()
        if len(present) and all(isinstance(v, (bool, np.bool_)) for v in present):
            return Column(name, _humanize(name), kind="bool")
    for suffix, unit, digits in SUFFIX_UNITS:
        if name.endswith(suffix):
            kind = "int" if unit == "tokens" else "number"
            return Column(name, _humanize(name[: -len(suffix)]), unit, kind, digits)
    if values is not None and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return Column(name, _humanize(name), kind="number")
    return Column(name, _humanize(name), kind="any")


def _humanize(name: str) -> str:
    return re.sub(r"\s+", " ", name.replace("_", " ")).strip()


def header(col: Column | str, lang: str = "zh") -> str:
    """The header of a column in ``lang``: its label, with the unit in brackets unless the label has it."""
    c = column(col) if isinstance(col, str) else col
    text = _label_text(c.label, lang) or _humanize(c.name)
    if c.unit and f"({c.unit}" not in text and f", {c.unit})" not in text and f"{c.unit})" not in text:
        text += f" ({c.unit})"
    return text


# --------------------------------------------------------------------------- values
def is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)):
        return not math.isfinite(float(v))
    if isinstance(v, str):
        return v.strip() in ("", "nan", "NaN", "None", "none", "null", "<NA>")
    return False


def auto_digits(v: float) -> int:
    """Digits for a number with no registered precision: 3 significant digits, at most 2 decimals."""
    a = abs(v)
    if a >= 100 or a == 0:
        return 0
    return 1 if a >= 10 else 2


def number_text(v, digits: int | None = None) -> str:
    """A number with thousands separators and ``digits`` decimals (:func:`auto_digits` when None);
    ``-`` when missing (:func:`rklab.metrics.format_number`)."""
    if is_missing(v) or isinstance(v, (bool, np.bool_)):
        return MISSING
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return metrics.format_number(f, auto_digits(f) if digits is None and math.isfinite(f) else (digits or 0))


def flag_text(v, lang: str = "zh") -> str:
    """True/False as 是/否 (yes/no); None (not readable) as 未知 (unknown)."""
    if is_missing(v):
        return i18n.text("report.unknown", lang)
    if isinstance(v, str):
        v = v.strip().lower() in ("true", "yes", "1")
    return i18n.text("report.yes" if bool(v) else "report.no", lang)


def format_value(v: Any, col: Column | str = "", lang: str = "zh") -> str:
    """One cell as text, following the column's kind (see :class:`Column`)."""
    c = column(col) if isinstance(col, str) else col
    if isinstance(v, (list, tuple, np.ndarray)):
        items = [format_value(x, replace(c, kind="any"), lang) for x in list(v)]
        return ", ".join(items) if items else MISSING
    if isinstance(v, Mapping):
        items = [f"{k} {format_value(x, replace(c, kind='any'), lang)}" for k, x in v.items() if not is_missing(x)]
        return "; ".join(items) if items else MISSING
    if c.kind == "bool" or isinstance(v, (bool, np.bool_)):
        return flag_text(v, lang)
    if is_missing(v):
        return MISSING
    if c.kind == "verdict":
        return i18n.verdict_label(str(v), lang)
    if c.words and isinstance(v, str) and i18n.has_text(f"{c.words}.{v}"):
        return i18n.text(f"{c.words}.{v}", lang)
    if isinstance(v, (int, np.integer)) and c.kind in ("int", "any", "text"):
        return f"{int(v):,}" if c.kind != "text" else str(v)
    if isinstance(v, (float, np.floating, int, np.integer)) and c.kind in ("number", "int", "any"):
        f = float(v) / SCALE.get(c.name, 1)
        if c.kind == "int" and f.is_integer():
            return f"{int(f):,}"
        return number_text(f, c.digits if c.kind == "number" or not f.is_integer() else 0)
    return str(v)


def format_table(df: pd.DataFrame | None, lang: str = "zh", columns: Iterable[str] | None = None,
                 labels: Mapping[str, Column | str] | None = None) -> pd.DataFrame:
    """``df`` as a table for people: text cells, localized headers with units, no index.

    ``columns``: the columns to show, in order (default all; absent names are skipped).
    ``labels``: per-column overrides (a :class:`Column`, an i18n key or a header text), for a table
    whose column means something more specific than the registry's word for it.
    A named or non-integer index (a group key) becomes the first column; row numbers are dropped.
    """
    if df is None or df.empty:
        return pd.DataFrame()
    idx = df.index
    if isinstance(idx, pd.MultiIndex) or idx.name is not None or not pd.api.types.is_integer_dtype(idx):
        df = df.reset_index()  # a named or non-integer index (a group key) is a column for the reader
    else:
        df = df.reset_index(drop=True)  # row numbers, or what is left of them after a filter: not shown
    names = [c for c in (columns or df.columns) if c in df.columns]
    labels = labels or {}
    cols = [column(str(n), labels.get(n), df[n]) for n in names]
    frame = pd.DataFrame({header(c, lang): [format_value(v, c, lang) for v in df[n].tolist()]
                          for n, c in zip(names, cols)})
    frame.attrs["columns"] = cols
    return frame


# --------------------------------------------------------------------------- HTML
TABLE_CSS = """
.rklab-table{overflow-x:auto;max-width:100%;margin:0.4em 0 1.2em 0}
.rklab-table table.rklab{border-collapse:collapse;font-size:13px;margin:0;table-layout:auto;width:auto}
.rklab-table table.rklab th,.rklab-table table.rklab td{border:1px solid #d9d9d9;padding:3px 8px;
  vertical-align:top;text-align:left;white-space:normal;line-height:1.35;max-width:none}
.rklab-table table.rklab thead th{background:#f2f2f2;font-weight:600;vertical-align:bottom;min-width:3em}
.rklab-table table.rklab .num{text-align:right}
.rklab-table table.rklab td.num,.rklab-table table.rklab td.nw{white-space:nowrap}
.rklab-table table.rklab td.long div{min-width:16em;max-width:42em}
.rklab-table table.rklab tbody tr:nth-child(even){background:#fafafa}
""".strip()


def table_html(frame: pd.DataFrame, *, name: str = "", empty: str = "", css: bool = True) -> str:
    """A formatted table (:func:`format_table`) as escaped HTML in its own scroll container.

    ``name`` goes to ``data-table`` (pages and tests find a table by it); ``empty`` is the line
    shown when there are no rows.
    """
    style = f"<style>{TABLE_CSS}</style>" if css else ""
    if frame is None or frame.empty:
        return style + f'<p class="rklab-note" data-table="{_html.escape(name)}">{_html.escape(empty)}</p>'
    cols: list[Column] = frame.attrs.get("columns") or [Column(str(c), kind="text") for c in frame.columns]

    # short text columns (names, versions, flags) stay on one line; long ones wrap in a wide cell
    short = {c.name for c, h in zip(cols, frame.columns)
             if not c.long and frame[h].astype(str).str.len().max() <= SHORT_TEXT}

    def cls(c: Column) -> str:
        if c.kind in ("number", "int"):
            return ' class="num"'
        if c.long:
            return ' class="long"'
        return ' class="nw"' if c.name in short else ""

    def cell(c: Column, v) -> str:
        v = _html.escape(str(v))
        # a div keeps a long text column readable when the table is wider than the page
        return f'<td class="long"><div>{v}</div></td>' if c.long else f"<td{cls(c)}>{v}</td>"

    head = "".join(f"<th{cls(c)}>{_html.escape(str(h))}</th>" for c, h in zip(cols, frame.columns))
    body = "".join("<tr>" + "".join(cell(c, v) for c, v in zip(cols, row)) + "</tr>"
                   for row in frame.itertuples(index=False))
    return (f'{style}<div class="rklab-table" data-table="{_html.escape(name)}"><table class="rklab">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


class Table:
    """A table for people in a notebook: shows as HTML (scroll container, no index) and as text.

    ``Table(df, lang, columns=..., labels=...)`` formats at once; ``.frame`` is the formatted
    DataFrame (text cells, localized headers) for code that wants the values.
    """

    def __init__(self, df: pd.DataFrame | None, lang: str = "zh", columns: Iterable[str] | None = None,
                 labels: Mapping[str, Column | str] | None = None, *, name: str = "", empty: str = ""):
        i18n.check_lang(lang)
        self.frame = format_table(df, lang, columns, labels)
        self.name = name
        self.empty = empty or i18n.text("report.no_data", lang)

    def _repr_html_(self) -> str:
        return table_html(self.frame, name=self.name, empty=self.empty)

    def __repr__(self) -> str:
        if self.frame.empty:
            return self.empty
        return self.frame.to_string(index=False)

    def __len__(self) -> int:
        return len(self.frame)


def table(df: pd.DataFrame | None, lang: str = "zh", columns: Iterable[str] | None = None,
          labels: Mapping[str, Column | str] | None = None, *, name: str = "", empty: str = "") -> Table:
    """:class:`Table`: the last expression of a notebook cell that shows a table."""
    return Table(df, lang, columns, labels, name=name, empty=empty)


# --------------------------------------------------------------------------- headings and notes
class Markdown:
    """Markdown shown by a notebook (``_repr_markdown_``) without importing IPython here."""

    def __init__(self, text: str):
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def _text_or_key(item: str, lang: str) -> str:
    return i18n.text(item, lang) if i18n.has_text(item) else item


def heading(key: str, lang: str = "zh", level: int = 2, note: str | Iterable[str] | None = None) -> Markdown:
    """A heading in ``lang`` (an i18n key) and, below it, notes (i18n keys or texts, one paragraph each):
    a notebook's headings follow its ``lang`` instead of being fixed in markdown cells."""
    i18n.check_lang(lang)
    notes = [note] if isinstance(note, str) else list(note or [])
    parts = [f"{'#' * level} {_text_or_key(key, lang)}"] + [_text_or_key(n, lang) for n in notes]
    return Markdown("\n\n".join(parts))
