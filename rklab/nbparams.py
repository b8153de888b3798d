"""Typed notebook parameters: every parameter of notebooks 01-04 is parsed here before it is used.

Why: papermill turns ``-p force False`` into the bool False but keeps ``-p force false`` (lowercase)
a *string*, and ``bool("false")`` is True: the memory pre-flight would be bypassed and a model
predicted not to fit would be loaded. ``-r`` (raw) passes every value as a string, and ``-p images
a.png`` gives one path where a list is expected. So each notebook names its parameters and their
types in :data:`NOTEBOOK_PARAMETERS`, and its first code cell replaces them by their typed values::

    from rklab.nbparams import parse_parameters
    globals().update(parse_parameters("02_llm_bench", globals()))

A value that cannot be read as its type is one :class:`RklabError` line naming the parameter and
the expected form (``parameter force='maybe' is not true or false; give force=True or
force=False``). ``tests/test_nbparams.py`` checks that every notebook's parameters cell and this
table name the same parameters.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Mapping

import yaml

from rklab.errors import RklabError

# The memory guard's default floor (MB of MemAvailable): the notebooks' mem_floor_mb and `rklab bench
# --mem-floor-mb`. Here, not in rklab.measure.guard, so the CLI's parsers can show it without importing
# the measurement stack.
DEFAULT_FLOOR_MB = 300.0

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
INT32_MAX = 2**31 - 1  # llama.cpp and RKLLM take the context as a C int


@dataclass(frozen=True)
class Param:
    """The type of one notebook parameter.

    kind: ``bool`` | ``int`` | ``float`` | ``str`` | ``pairs`` (list of [int, int]) | ``paths`` (list of
    paths; one path is a list of one) | ``mask`` (a string or a whole number). ``optional``: None is
    allowed (the notebook then picks a default). ``choices``: allowed strings. ``lo``/``hi``: bounds.
    """

    kind: str
    optional: bool = False
    choices: tuple[str, ...] = ()
    lo: float | None = None
    hi: float | None = None
    example: str = ""

    def form(self, name: str) -> str:
        """How to write a good value, for the error message."""
        if self.kind == "bool":
            return f"give {name}=True or {name}=False"
        if self.choices:
            return f"use one of {', '.join(self.choices)}"
        if self.kind in ("int", "float"):
            what = "a whole number" if self.kind == "int" else "a number"
            return f"give {what} from {_num(self.lo)} to {_num(self.hi)}" if self.hi is not None \
                else f"give {what} >= {_num(self.lo)}"
        if self.kind == "pairs":
            return f"give a list of [prompt_tokens, new_tokens] pairs, e.g. {name}=[[128, 64]]"
        if self.kind == "paths":
            return f"give a list of paths, e.g. {name}={self.example or '[]'}"
        return f"give e.g. {name}={self.example}" if self.example else "give a string"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:g}" if isinstance(v, float) and not float(v).is_integer() else f"{int(v)}"


def _bad(name: str, value: Any, problem: str, spec: Param) -> RklabError:
    return RklabError(f"parameter {name}={value!r} {problem}; {spec.form(name)}")


def _as_bool(name: str, value: Any, spec: Param) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise _bad(name, value, "is not true or false", spec)


def _as_number(name: str, value: Any, spec: Param) -> int | float:
    whole = spec.kind == "int"
    v: int | float
    if isinstance(value, bool):
        raise _bad(name, value, "is a bool, not a number", spec)
    if isinstance(value, str):
        value = _number_text(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(name, value, f"is not {'a whole number' if whole else 'a number'}", spec)
    if isinstance(value, float) and not math.isfinite(value):
        raise _bad(name, value, "is not a finite number", spec)
    if whole:
        if isinstance(value, float) and not value.is_integer():
            raise _bad(name, value, "is not a whole number", spec)
        v = int(value)
    else:
        v = float(value)
    if (spec.lo is not None and v < spec.lo) or (spec.hi is not None and v > spec.hi):
        raise _bad(name, v, "is out of range", spec)
    return v


def _number_text(text: str) -> Any:
    """``"4096"`` -> 4096, ``"0.5"``/``"1e3"`` -> float; anything else stays the string (refused by the caller)."""
    t = text.strip().replace("_", "")
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            continue
    return text


def _as_pairs(name: str, value: Any, spec: Param) -> list[list[int]]:
    if isinstance(value, str):  # papermill -p cases "[[128, 64]]" stays a string
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            raise _bad(name, value, "is not a list", spec) from None
    if not isinstance(value, (list, tuple)) or not value:
        raise _bad(name, value, "is not a non-empty list of pairs", spec)
    out = []
    for pair in value:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise _bad(name, value, f"has {pair!r}, which is not a [prompt_tokens, new_tokens] pair", spec)
        item = Param("int", lo=1, hi=INT32_MAX)
        out.append([_as_number(f"{name} prompt_tokens", pair[0], item), _as_number(f"{name} new_tokens", pair[1], item)])
    return out


def _as_paths(name: str, value: Any, spec: Param) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value).strip()
        if text.startswith("["):  # papermill -p images "['a.png', 'b.png']"
            return _as_paths(name, _load_list(name, text, spec), spec)
        return [text] if text else []
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, (str, os.PathLike)) and os.fspath(v).strip() for v in value):
            raise _bad(name, value, "holds something that is not a path", spec)
        return [os.fspath(v) for v in value]
    raise _bad(name, value, "is not a path or a list of paths", spec)


def _load_list(name: str, text: str, spec: Param) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise _bad(name, text, "is not a list", spec) from None


def parse_value(name: str, value: Any, spec: Param) -> Any:
    """One parameter value as its type (see :class:`Param`), or a one-line :class:`RklabError`."""
    if value is None or (spec.optional and isinstance(value, str) and value.strip() in ("", "None", "none", "null")):
        if spec.optional or spec.kind == "paths":
            return [] if spec.kind == "paths" else None
        raise _bad(name, value, "is missing", spec)
    if spec.kind == "bool":
        return _as_bool(name, value, spec)
    if spec.kind in ("int", "float"):
        return _as_number(name, value, spec)
    if spec.kind == "pairs":
        return _as_pairs(name, value, spec)
    if spec.kind == "paths":
        return _as_paths(name, value, spec)
    if spec.kind == "mask":  # RKNNLite core mask: a name such as NPU_CORE_0_1_2 or a whole number
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip():
            return int(value) if value.strip().isdigit() else value.strip()
        raise _bad(name, value, "is not a core mask", spec)
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value).strip():
        raise _bad(name, value, "is not a non-empty string", spec)
    text = os.fspath(value).strip()
    if spec.choices and text not in spec.choices:
        raise _bad(name, value, "is unknown", spec)
    return text


CONTEXT = Param("int", lo=16, hi=INT32_MAX, example="4096")
LANG = Param("str", choices=("zh", "en"))
BACKEND = Param("str", choices=("llamacpp", "rkllm"))
_OPT_STR = Param("str", optional=True)
_BENCH_COMMON = {
    "entry": _OPT_STR,
    "model": _OPT_STR,
    "max_context": CONTEXT,
    "reps": Param("int", lo=1, hi=1000),
    "warmup": Param("int", lo=0, hi=100),
    "out_dir": _OPT_STR,
    "lang": LANG,
    "mem_floor_mb": Param("float", lo=0, hi=1e7),
    "force": Param("bool"),
    "force_model": Param("bool"),
}

NOTEBOOK_PARAMETERS: dict[str, dict[str, Param]] = {
    "01_feasibility": {
        "board": Param("str", example="'rk3588-8gb'"),
        "context": Param("int", lo=1, hi=INT32_MAX, example="4096"),
        "dtype": Param("str", example="'w8a8'"),
        "lang": LANG,
    },
    "02_llm_bench": {
        **_BENCH_COMMON,
        "dtype": _OPT_STR,
        "backend": BACKEND,
        "model_path": Param("str", example="'demo'"),
        "cases": Param("pairs"),
        "adaptive": Param("bool"),
    },
    "03_vlm_bench": {
        **_BENCH_COMMON,
        "encoder_path": Param("str", example="'demo'"),
        "llm_path": Param("str", example="'demo'"),
        "llm_backend": BACKEND,
        "vision_backend": Param("str", choices=("onnx", "rknn")),
        "images": Param("paths", example="['data/images/shapes.png']"),
        "image_size": Param("int", lo=8, hi=4096),
        "core_mask": Param("mask", optional=True),
        "new_tokens": Param("int", lo=1, hi=1 << 16),
    },
    "04_report": {
        "run_dirs": Param("paths", example="['runs/20260101-120000']"),
        "board": Param("str", example="'rk3588-8gb'"),
        "lang": LANG,
        "results_md": Param("str", optional=True),
    },
}


def parse_parameters(notebook: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of ``notebook`` (a key of :data:`NOTEBOOK_PARAMETERS`) found in ``values``,
    each parsed to its type. Names the notebook does not declare are left out, so
    ``parse_parameters("02_llm_bench", globals())`` is safe in a notebook."""
    try:
        specs = NOTEBOOK_PARAMETERS[notebook]
    except KeyError:
        raise RklabError(f"no parameter table for notebook {notebook!r}; use one of {', '.join(NOTEBOOK_PARAMETERS)}") from None
    return {name: parse_value(name, values[name], spec) for name, spec in specs.items() if name in values}
