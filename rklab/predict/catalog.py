"""The model catalog (``data/models.yaml``) and model specs read from Hugging Face ``config.json`` files.

A :class:`ModelSpec` holds the architecture facts the engine needs: the language model's shape
(dense or MoE, tied or untied head, Qwen3's per-layer q_norm/k_norm) and, for VLMs, the vision tower
(its parameter count as a quoted fact, image tokens and number of encoder outputs).
"""

from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from rklab.errors import RklabError
from rklab.paths import data_dir


@dataclass(frozen=True)
class VisionSpec:
    """Vision tower + projector of a VLM. ``params`` is a quoted fact (or estimated for a config.json)."""

    params: int
    layers: int
    hidden: int
    image_size: int = 448
    patch: int = 14
    merge: int = 2
    image_tokens: int = 256
    outputs: int = 1               # encoder outputs concatenated per image token (Qwen3-VL: 4)
    tower: str = ""
    img_start: str = ""
    img_end: str = ""
    img_content: str = ""
    params_source: str = "quoted"  # "quoted" (catalog) or "estimated" (generic ViT formula from config.json)

    @property
    def patches(self) -> int:
        """Patches per image before merging (what the encoder's attention sees)."""
        return (self.image_size // self.patch) ** 2


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str                      # "llm" | "vlm"
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tie_embeddings: bool
    intermediate: int | None = None
    moe_intermediate: int | None = None
    experts: int | None = None
    experts_per_token: int | None = None
    qk_norm: bool = True
    max_position: int | None = None
    family: str = ""
    llm_params: int | None = None  # quoted total (catalog) used by the tests to check params.py
    vision: VisionSpec | None = None
    rk3588_published: tuple[str, ...] = ()
    status: str = ""
    source: str = ""
    config_file: str = "data/models.yaml"   # where the shape (and max_position) comes from

    @property
    def is_moe(self) -> bool:
        return bool(self.experts)

    @property
    def is_vlm(self) -> bool:
        return self.vision is not None

    @classmethod
    def from_dict(cls, d: dict[str, Any], origin: str = "data/models.yaml") -> "ModelSpec":
        vision = None
        if d.get("vision"):
            v = dict(d["vision"])
            vision = VisionSpec(**{k: v[k] for k in v if k in VisionSpec.__dataclass_fields__})
        pub = d.get("rk3588_published") or {}
        known = {k: d[k] for k in d if k in cls.__dataclass_fields__ and k not in ("vision", "rk3588_published")}
        missing = [k for k in ("name", "kind", "layers", "hidden", "heads", "kv_heads", "head_dim", "vocab",
                               "tie_embeddings") if k not in known]
        if missing:
            raise RklabError(f"model entry {d.get('name', '?')!r} in {origin} lacks key {missing[0]!r}; add it")
        known.setdefault("config_file", origin)
        return cls(vision=vision, rk3588_published=tuple(pub.get("dtypes", ())), **known)

    @classmethod
    def from_hf_config(cls, path: str | Path, name: str | None = None) -> "ModelSpec":
        """A spec from a Hugging Face style ``config.json`` (plain LLM, MoE, or VLM with
        ``text_config``/``llm_config`` + ``vision_config``). Vision parameters are estimated
        with a generic ViT formula (see :func:`_vision_from_config`)."""
        path = Path(path)
        if not path.is_file():
            raise RklabError(f"config file {path} does not exist; pass the path of a Hugging Face config.json")
        try:
            cfg = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RklabError(f"config file {path} is not valid JSON ({exc.__class__.__name__}); pass a config.json")
        if not isinstance(cfg, dict):
            raise RklabError(f"config file {path} does not hold a JSON object; pass a config.json")
        text = cfg.get("text_config") or cfg.get("llm_config") or cfg
        vcfg = cfg.get("vision_config")

        def need(d, key, where=""):
            if key not in d or d[key] is None:
                raise RklabError(f"config file {path} lacks key {where}{key!r}; add it or use --model")
            value = d[key]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise RklabError(f"config file {path}: {where}{key!r} must be a positive integer, got {value!r}")
            return value

        where = "text_config." if "text_config" in cfg else "llm_config." if "llm_config" in cfg else ""
        heads = need(text, "num_attention_heads", where)
        hidden = need(text, "hidden_size", where)
        experts = text.get("num_experts") or text.get("num_local_experts")
        spec = dict(
            name=name or cfg.get("_name_or_path") or path.parent.name or path.stem,
            kind="vlm" if vcfg else "llm",
            layers=need(text, "num_hidden_layers", where),
            hidden=hidden,
            heads=heads,
            kv_heads=text.get("num_key_value_heads") or heads,
            head_dim=text.get("head_dim") or hidden // heads,
            vocab=need(text, "vocab_size", where),
            tie_embeddings=bool(text.get("tie_word_embeddings", cfg.get("tie_word_embeddings", False))),
            qk_norm=str(text.get("model_type", cfg.get("model_type", ""))).startswith("qwen3"),
            max_position=text.get("max_position_embeddings"),
            family=str(text.get("model_type", "")),
            source=f"config.json {path}",
            config_file=str(path),
        )
        if experts:
            spec.update(experts=experts, moe_intermediate=need(text, "moe_intermediate_size", where),
                        experts_per_token=need(text, "num_experts_per_tok", where))
        else:
            spec["intermediate"] = need(text, "intermediate_size", where)
        if vcfg:
            spec["vision"] = _vision_from_config(vcfg, cfg, hidden, path)
        return cls(**spec)


def _vision_from_config(v: dict, cfg: dict, llm_hidden: int, path: Path) -> VisionSpec:
    """Vision tower size from a ``vision_config``: a generic pre-norm ViT with biases
    (qkv + out projection, 2-matrix MLP, two norms per layer), a patch embedding and a
    2-layer MLP projector from the merged patch width to the LLM width. An estimate, labelled so."""
    layers = v.get("depth") or v.get("num_hidden_layers")
    hidden = v.get("hidden_size") or v.get("embed_dim")
    if not layers:
        raise RklabError(f"config file {path} lacks key 'vision_config.depth' (or num_hidden_layers); add it")
    if not hidden:
        raise RklabError(f"config file {path} lacks key 'vision_config.hidden_size'; add it")
    inter = v.get("intermediate_size") or 4 * hidden
    patch = v.get("patch_size") or 14
    image_size = v.get("image_size") or cfg.get("force_image_size") or 448
    if isinstance(image_size, list):
        image_size = image_size[0]
    merge = v.get("spatial_merge_size") or (round(1 / cfg["downsample_ratio"]) if cfg.get("downsample_ratio") else 2)
    temporal = v.get("temporal_patch_size") or 1
    per_layer = 4 * hidden * hidden + 4 * hidden + 2 * hidden * inter + inter + hidden + 4 * hidden
    merged = hidden * merge * merge
    out = v.get("out_hidden_size") or llm_hidden
    params = layers * per_layer + 3 * patch * patch * temporal * hidden + hidden + merged * merged + merged + merged * out + out
    deepstack = v.get("deepstack_visual_indexes") or []
    outputs = 1 + len(deepstack)
    params += len(deepstack) * (merged * merged + merged + merged * out + out)
    tokens = (image_size // patch // merge) ** 2
    return VisionSpec(params=int(params), layers=int(layers), hidden=int(hidden), image_size=int(image_size),
                      patch=int(patch), merge=int(merge), image_tokens=int(tokens), outputs=outputs,
                      tower=str(v.get("model_type", "ViT")), params_source="estimated")


@functools.lru_cache(maxsize=8)
def _load(path: str) -> dict[str, ModelSpec]:
    p = Path(path)
    if not p.is_file():
        raise RklabError(f"model catalog {p} is missing; restore data/models.yaml or set RKLAB_DATA")
    doc = yaml.safe_load(p.read_text()) or {}
    out: dict[str, ModelSpec] = {}
    for entry in doc.get("models", []):
        spec = ModelSpec.from_dict(entry, origin=str(p))
        out[spec.name] = spec
    return out


def load_catalog() -> dict[str, ModelSpec]:
    """All catalog models by name (cached; the YAML is read once per process)."""
    return dict(_load(str(data_dir() / "models.yaml")))


def closest_names(name: str, names, n: int = 3) -> list[str]:
    lower = {k.lower(): k for k in names}
    hits = difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.3)
    if not hits:
        hits = [k for k in lower if name.lower() in k][:n]
    return [lower[h] for h in hits]


def get_model(name: str) -> ModelSpec:
    """A catalog model by name (case-insensitive); RklabError naming the closest names otherwise."""
    catalog = _load(str(data_dir() / "models.yaml"))
    if name in catalog:
        return catalog[name]
    for key, spec in catalog.items():
        if key.lower() == str(name).lower():
            return spec
    close = closest_names(str(name), catalog)
    hint = f"closest: {', '.join(close)}" if close else f"known: {', '.join(catalog)}"
    raise RklabError(f"unknown model {name!r}; {hint} (see data/models.yaml)")


def with_llm_only(spec: ModelSpec) -> ModelSpec:
    """The same model without its vision tower (the language model alone)."""
    return replace(spec, vision=None, kind="llm")
