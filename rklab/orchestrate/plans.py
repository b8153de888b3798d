"""Sweep plans: which models a sweep measures, with which files and settings.

A plan is a YAML file (see ``data/plans/rk3588-8gb.yaml``)::

    plan: rk3588-8gb                 # a name for the plan
    board: rk3588-8gb                # board profile for predictions (rklab.predict.boards)
    models_dir: ~/rklab-models       # base of relative model paths (env RKLAB_MODELS_DIR overrides)
    defaults: {max_context: 4096, reps: 5, ...}   # applied to every entry
    entries:
      - name: qwen3-0.6b-npu         # folder name of the entry's results
        kind: llm                    # llm -> notebook 02, vlm -> notebook 03
        model: Qwen3-0.6B            # catalog / reference name
        backend: rkllm               # rkllm (NPU) | llamacpp (CPU)
        model_path: Qwen3-0.6B.rkllm # "demo" = the SmolLM2 demo GGUF
        source: "where to download it"
    excluded:
      - {model: Qwen3-8B, reason: "..."}

Every validation error names the file, the line and the key (from the YAML node marks),
so a typo in a 40-entry plan is found at once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rklab.errors import RklabError
from rklab.measure.runtimes.factory import BACKENDS
from rklab.measure.vision.encoder import VISION_BACKENDS
from rklab.nbparams import NOTEBOOK_PARAMETERS, parse_value
from rklab.paths import data_dir
from rklab.predict.boards import load_board
from rklab.predict.catalog import get_model
from rklab.predict.feasibility import check_context, check_positions

PLACEHOLDER_PREFIX = "FILL_ME"
DEMO = "demo"

KINDS = ("llm", "vlm")
LLM_BACKENDS = tuple(BACKENDS)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# key -> (type check, description); types are checked after defaults are merged.
_INT = "a whole number"
_POS_INT = "a whole number > 0"
_NONNEG_INT = "a whole number >= 0"
_POS_NUM = "a number > 0"
_NONNEG_NUM = "a number >= 0"
_STR = "a string"
_BOOL = "true or false"

COMMON_KEYS = {
    "name": _STR,
    "kind": _STR,
    "model": _STR,
    "dtype": _STR,
    "max_context": _POS_INT,
    "reps": _POS_INT,
    "warmup": _NONNEG_INT,
    "timeout_s": _POS_NUM,
    "mem_floor_mb": _NONNEG_NUM,
    "force": _BOOL,
    "force_model": _BOOL,  # measure a file that does not match the catalog entry (rklab.measure.modelfiles)
    "source": _STR,
    "encoder_source": _STR,
    "notes": _STR,
    "limit_test": _BOOL,
}
LLM_KEYS = {"backend": _STR, "model_path": _STR, "cases": "a list of [prompt_tokens, new_tokens] pairs",
            "adaptive": _BOOL}
VLM_KEYS = {
    "llm_backend": _STR,
    "llm_path": _STR,
    "vision_backend": _STR,
    "encoder_path": _STR,
    "images": "a list of image paths",
    "image_size": _POS_INT,
    "core_mask": "a string or a whole number",
    "new_tokens": _POS_INT,
}
TOP_KEYS = ("plan", "board", "description", "models_dir", "defaults", "entries", "excluded")

# Plan keys handed to the notebooks unchanged (only when the plan sets them, so the
# notebook's own defaults apply otherwise). Names follow docs/architecture.md.
LLM_PARAMS = ("model", "backend", "model_path", "dtype", "max_context", "cases", "reps", "warmup",
              "adaptive", "mem_floor_mb", "force", "force_model")
VLM_PARAMS = ("model", "encoder_path", "llm_path", "llm_backend", "vision_backend", "images", "image_size",
              "core_mask", "max_context", "new_tokens", "reps", "warmup", "mem_floor_mb", "force", "force_model")


@dataclass
class PlanEntry:
    """One model configuration to measure (a notebook 02 or 03 run)."""

    name: str
    kind: str  # llm | vlm
    model: str
    settings: dict[str, Any]  # all keys of the entry with the plan's defaults merged in
    line: int  # line of the entry in the plan file (for messages)

    @property
    def notebook(self) -> str:
        return "02_llm_bench.ipynb" if self.kind == "llm" else "03_vlm_bench.ipynb"

    @property
    def backend(self) -> str:
        return self.settings.get("backend" if self.kind == "llm" else "llm_backend", "rkllm")

    @property
    def timeout_s(self) -> float | None:
        return self.settings.get("timeout_s")

    def files(self) -> list[tuple[str, str, str]]:
        """The model files this entry needs: (key, path or "demo", expected format)."""
        s = self.settings
        out = []
        if self.kind == "llm":
            out.append(("model_path", s.get("model_path", ""), "rkllm" if self.backend == "rkllm" else "gguf"))
        else:
            out.append(("llm_path", s.get("llm_path", ""), "rkllm" if self.backend == "rkllm" else "gguf"))
            vb = s.get("vision_backend", "rknn")
            out.append(("encoder_path", s.get("encoder_path", ""), vb))
        return out

    def notebook_parameters(self, out_dir: str | os.PathLike, lang: str) -> dict[str, Any]:
        """Papermill parameters for notebook 02/03 (names fixed in docs/architecture.md)."""
        keys = LLM_PARAMS if self.kind == "llm" else VLM_PARAMS
        params: dict[str, Any] = {"entry": self.name}
        for k in keys:
            if k in self.settings:
                params[k] = self.settings[k]
        params["out_dir"] = str(out_dir)
        params["lang"] = lang
        return params


@dataclass
class Plan:
    path: Path
    name: str
    board: str
    entries: list[PlanEntry]
    excluded: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    models_dir: Path | None = None

    def entry(self, name: str) -> PlanEntry:
        for e in self.entries:
            if e.name == name:
                return e
        raise RklabError(f"plan {self.path} has no entry {name!r}; entries: {', '.join(self.names())}")

    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def select(self, only: str | list[str] | None) -> list[PlanEntry]:
        """Entries named in ``only`` (comma-separated string or list), in plan order."""
        if not only:
            return list(self.entries)
        wanted = [n.strip() for n in (only.split(",") if isinstance(only, str) else only) if n.strip()]
        unknown = [n for n in wanted if n not in self.names()]
        if unknown:
            raise RklabError(
                f"--only names unknown entries {', '.join(unknown)} of plan {self.path}; "
                f"choose from: {', '.join(self.names())}"
            )
        return [e for e in self.entries if e.name in wanted]


class _Marks:
    """Line numbers of every key/item of a YAML document, by path tuple."""

    def __init__(self, path: Path, root: yaml.Node | None):
        self.path = path
        self.lines: dict[tuple, int] = {}
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, prefix: tuple) -> None:
        self.lines[prefix] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
                if key in seen and key != "<<":
                    raise RklabError(
                        f"{self.path}:{key_node.start_mark.line + 1}: key {_dotted(prefix + (key,))} appears twice "
                        f"(first on line {seen[key]}); keep one"
                    )
                seen[key] = key_node.start_mark.line + 1
                self._walk(value_node, prefix + (key,))
                self.lines[prefix + (key,)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, prefix + (i,))

    def line(self, keypath: tuple) -> int:
        p = tuple(keypath)
        while p and p not in self.lines:
            p = p[:-1]
        return self.lines.get(p, 1)

    def error(self, keypath: tuple, problem: str) -> RklabError:
        return RklabError(f"{self.path}:{self.line(keypath)}: {_dotted(keypath)}: {problem}")


def _dotted(keypath: tuple) -> str:
    out = ""
    for k in keypath:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out or "(top level)"


def _type_ok(value: Any, kind: str) -> bool:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == _STR:
        return isinstance(value, str) and value.strip() != ""
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _INT:
        return is_int
    if kind == _POS_INT:
        return is_int and value > 0
    if kind == _NONNEG_INT:
        return is_int and value >= 0
    if kind in (_POS_NUM, _NONNEG_NUM):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return number and (value > 0 if kind == _POS_NUM else value >= 0)
    if kind == "a string or a whole number":
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    if kind == "a list of image paths":
        return isinstance(value, list) and all(isinstance(v, str) and v for v in value)
    if kind.startswith("a list of [prompt_tokens"):
        return (
            isinstance(value, list)
            and len(value) > 0
            and all(
                isinstance(c, list)
                and len(c) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in c)
                for c in value
            )
        )
    return True


def is_placeholder(value: Any) -> bool:
    """True for a file name the user still has to fill in (``FILL_ME...``)."""
    return isinstance(value, str) and PLACEHOLDER_PREFIX in value


def resolve_path(value: str, base: Path | None) -> str:
    """``demo`` and placeholders stay as they are; ``~`` is expanded; relative paths join ``base``."""
    if value == DEMO or is_placeholder(value):
        return value
    p = Path(os.path.expanduser(value))
    if not p.is_absolute() and base is not None:
        p = base / p
    return str(p)


NOTEBOOK_DEFAULT_CONTEXT = 4096  # max_context of notebooks 02/03 when a plan does not set it
VLM_TEXT_TOKENS = 32  # a little room for the text around the image in notebook 03's prompt


def _check_model_and_context(model: Any, kind: str, settings: dict, where: tuple, marks: _Marks) -> None:
    """The model must be in the catalog and every case must fit in max_context (as RKLLM requires:
    max_context_len > prompt + image + new tokens), so a bad plan fails before any entry runs."""
    try:
        spec = get_model(model)
    except RklabError as exc:
        raise marks.error(where + ("model",), str(exc)) from None
    ctx = settings.get("max_context", NOTEBOOK_DEFAULT_CONTEXT)
    key = where + ("max_context",) if "max_context" in settings else where
    rkllm = settings.get("backend" if kind == "llm" else "llm_backend", "rkllm") == "rkllm"
    try:  # RKLLM's own rules for an NPU entry, the model's maximum positions for llama.cpp
        (check_context if rkllm else check_positions)(spec, ctx, option="max_context")
    except RklabError as exc:
        raise marks.error(key, str(exc)) from None
    if kind == "llm":
        for j, (pp, tg) in enumerate(settings.get("cases") or []):
            if pp + tg >= ctx:
                key = where + ("cases", j) if "cases" in settings and j < len(settings["cases"]) else where
                raise marks.error(key, f"prompt {pp} + new {tg} tokens do not fit in max_context {ctx}; "
                                       "raise max_context or shorten the case")
    elif spec.vision is not None:
        need = spec.vision.image_tokens + settings.get("new_tokens", 0) + VLM_TEXT_TOKENS
        if need >= ctx:
            raise marks.error(where + ("max_context",), f"{ctx} cannot hold {spec.vision.image_tokens} image + "
                                                        f"{settings.get('new_tokens', 0)} new tokens + the text; raise it")


def load_plan(path: str | os.PathLike) -> Plan:
    """Read and validate a plan; :class:`RklabError` names file, line and key on any problem."""
    p = Path(path)
    if not p.exists():
        raise RklabError(f"plan {p} does not exist; see data/plans/ for examples (rk3588-8gb.yaml, demo.yaml)")
    if p.is_dir():
        raise RklabError(f"plan {p} is a directory; give the plan's .yaml file")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise RklabError(f"{p}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the plan as UTF-8") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RklabError(f"{p}:{line}: not valid YAML ({problem}); fix the syntax") from exc
    marks = _Marks(p, root)
    if not isinstance(data, dict):
        raise marks.error((), "a plan must be a mapping with at least an 'entries' list")
    for key in data:
        if key not in TOP_KEYS:
            raise marks.error((key,), f"unknown key; top-level keys are: {', '.join(TOP_KEYS)}")
    board = data.get("board", "rk3588-8gb")
    if not _type_ok(board, _STR):
        raise marks.error(("board",), "must be a board name such as rk3588-8gb")
    try:
        load_board(board)  # an unknown board would only fail in the report, after the whole sweep
    except RklabError as exc:
        raise marks.error(("board",), str(exc)) from None
    models_dir = None
    env_models = os.environ.get("RKLAB_MODELS_DIR")
    if env_models:
        models_dir = Path(os.path.expanduser(env_models))
    elif data.get("models_dir") is not None:
        if not _type_ok(data["models_dir"], _STR):
            raise marks.error(("models_dir",), "must be a folder path")
        models_dir = Path(os.path.expanduser(data["models_dir"]))
        if not models_dir.is_absolute():
            models_dir = p.parent / models_dir
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise marks.error(("defaults",), "must be a mapping of entry settings")
    allowed = {**COMMON_KEYS, **LLM_KEYS, **VLM_KEYS}
    for key in defaults:
        if key not in allowed or key in ("name", "model"):
            raise marks.error(("defaults", key), "unknown or per-entry-only key in defaults")
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise marks.error(("entries",), "must be a non-empty list of entries (name, kind, model, ...)")
    entries: list[PlanEntry] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_entries):
        entries.append(_load_entry(raw, i, defaults, marks, models_dir, seen))
    excluded = []
    raw_ex = data.get("excluded") or []
    if not isinstance(raw_ex, list):
        raise marks.error(("excluded",), "must be a list of {model, reason}")
    for i, ex in enumerate(raw_ex):
        if not isinstance(ex, dict) or not _type_ok(ex.get("model"), _STR) or not _type_ok(ex.get("reason"), _STR):
            raise marks.error(("excluded", i), "each excluded item needs 'model' and 'reason' strings")
        excluded.append(dict(ex))
    return Plan(
        path=p,
        name=str(data.get("plan") or p.stem),
        board=board,
        entries=entries,
        excluded=excluded,
        description=str(data.get("description") or ""),
        models_dir=models_dir,
    )


def _check_notebook_ranges(kind: str, settings: dict, raw: dict, where: tuple, marks: "_Marks") -> None:
    """The values handed to notebook 02/03 must pass its own parameter check (rklab.nbparams), so that a
    plan `rklab models check` accepts is not refused by every notebook once the sweep runs."""
    notebook, passed = ("02_llm_bench", LLM_PARAMS) if kind == "llm" else ("03_vlm_bench", VLM_PARAMS)
    specs = NOTEBOOK_PARAMETERS[notebook]
    for key in passed:
        if key in settings and key in specs:
            try:
                parse_value(key, settings[key], specs[key])
            except RklabError as exc:
                raise marks.error(where + (key,) if key in raw else ("defaults", key), str(exc)) from None


def _load_entry(raw: Any, i: int, defaults: dict, marks: _Marks, models_dir: Path | None,
                seen: dict[str, int]) -> PlanEntry:
    where = ("entries", i)
    if not isinstance(raw, dict):
        raise marks.error(where, "each entry must be a mapping with name, kind and model")
    for req in ("name", "kind", "model"):
        if req not in raw:
            raise marks.error(where, f"missing key '{req}'; every entry needs name, kind and model")
    name = raw["name"]
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise marks.error(where + ("name",), "must be a folder-safe name (letters, digits, . _ -)")
    if name in seen:
        raise marks.error(where + ("name",), f"duplicate entry name {name!r} (also entry {seen[name]}); names must be unique")
    seen[name] = i
    kind = raw["kind"]
    if kind not in KINDS:
        raise marks.error(where + ("kind",), f"is {kind!r}; use one of {', '.join(KINDS)}")
    allowed = {**COMMON_KEYS, **(LLM_KEYS if kind == "llm" else VLM_KEYS)}
    for key in raw:
        if key not in allowed:
            other = "vlm" if kind == "llm" else "llm"
            hint = f" (a key of {other} entries)" if key in (VLM_KEYS if kind == "llm" else LLM_KEYS) else ""
            raise marks.error(where + (key,), f"unknown key for a {kind} entry{hint}; allowed: {', '.join(sorted(allowed))}")
    settings = {k: v for k, v in defaults.items() if k in allowed}
    settings.update(raw)
    for key, value in settings.items():
        if not _type_ok(value, allowed[key]):
            keypath = where + (key,) if key in raw else ("defaults", key)
            raise marks.error(keypath, f"is {value!r}; must be {allowed[key]}")
    _check_model_and_context(raw["model"], kind, settings, where, marks)
    if kind == "llm":
        settings.setdefault("backend", "rkllm")
        if settings["backend"] not in LLM_BACKENDS:
            raise marks.error(where + ("backend",), f"is {settings['backend']!r}; use one of {', '.join(LLM_BACKENDS)}")
        if "model_path" not in settings:
            raise marks.error(where, "missing key 'model_path' (the .rkllm or .gguf file, or \"demo\")")
        settings["model_path"] = resolve_path(settings["model_path"], models_dir)
    else:
        settings.setdefault("llm_backend", "rkllm")
        settings.setdefault("vision_backend", "rknn")
        if settings["llm_backend"] not in LLM_BACKENDS:
            raise marks.error(where + ("llm_backend",), f"is {settings['llm_backend']!r}; use one of {', '.join(LLM_BACKENDS)}")
        if settings["vision_backend"] not in VISION_BACKENDS:
            raise marks.error(where + ("vision_backend",),
                              f"is {settings['vision_backend']!r}; use one of {', '.join(VISION_BACKENDS)}")
        for req in ("llm_path", "encoder_path"):
            if req not in settings:
                raise marks.error(where, f"missing key '{req}' (a file path, or \"demo\")")
            settings[req] = resolve_path(settings[req], models_dir)
        if "images" in settings:
            settings["images"] = [resolve_path(im, data_dir()) for im in settings["images"]]
    _check_notebook_ranges(kind, settings, raw, where, marks)
    return PlanEntry(name=name, kind=kind, model=raw["model"], settings=settings, line=marks.line(where))
