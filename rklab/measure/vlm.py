"""The VLM pipeline: image -> preprocess -> vision encoder -> LLM multimodal generation -> text.

Every stage is timed with ``time.perf_counter_ns()`` on the same clock:

=====================  ====================================================================
``preprocess_ms``      decode the image file + Rockchip demo preprocessing (pad, resize)
``encoder_load_ms``    loading the vision encoder into its runtime (ONNX Runtime / RKNNLite)
``encoder_first_ms``   the first encoder run after loading (includes lazy runtime set-up)
``encoder_ms``         a steady-state encoder run (every measured repetition)
``ttft_ms``            LLM call -> first generated token: prefill of image + text tokens
``prefill_ms``         wall clock, = ``ttft_ms`` (as for LLM runs); the runtime's own prefill
                       time is ``runtime_prefill_ms``
``prefill_tps``        (image + text prompt tokens) / prefill_ms
``image_prefill_ms``   prefill(image + text) - prefill(the same text alone, measured once),
                       like from like: both runtime counters when both exist, else both wall
                       (``image_prefill_source``); None with ``image_prefill_note`` if negative
``ttft_e2e_ms``        image file in -> first token out (preprocess + encoder + LLM prefill)
``decode_tps``         (N-1) / (t_last - t_first) over the generated tokens
``vmhwm_mb``           this run's peak RSS (VmHWM reset before each run; encoder and LLM share
                       the process, so it is combined); ``load_vmhwm_mb`` is the peak after loading
``mem_available_drop_mb``  MemAvailable before anything was loaded minus its lowest value
=====================  ====================================================================

The other per-run keys (runtime counters, Shmem rise, NPU load, temperatures,
``clocks_below_max`` / ``throttled``) come from :func:`rklab.measure.protocol.run_metrics`, the same
code as LLM runs.

The seed report's "~0.8 s vision encoder" for InternVL3.5 is a *load* time (Qengineering's
warm model load), so rklab keeps ``encoder_load_ms`` and ``encoder_ms`` apart.

Encoder output check: the catalog says how many image tokens and outputs an encoder has
(Qwen3-VL: 196 tokens x hidden x 4 outputs, concatenated per token; InternVL3.5: 256 x hidden).
:func:`image_embeddings` concatenates the outputs per token and refuses any mismatch.

LLM side: RKLLM gets ``RKLLM_INPUT_MULTIMODAL`` with the model's image tags, and
``base_domain_id=1`` because the RKNN encoder uses NPU IOMMU domain 0 in this process (the
parameter keeps them apart; the LLM is loaded first, then the encoder, as in Rockchip's demo).
The image size, image tokens and embedding width come from the encoder model itself
(:func:`check_geometry`, as the demo's ``image_enc.cc`` reads them) and must agree with the catalog.
llama.cpp gets the embeddings in an embeddings batch, which needs their width to equal the LLM
hidden size (true for the demo pair; a Qwen3-VL DeepStack encoder is not usable with llama.cpp
this way).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from rklab.errors import RklabError
from rklab.measure.cachecheck import clear_cache, flag_run
from rklab.measure.demo_model import DEMO_MODEL_NAME as DEMO_MODEL
from rklab.measure.demo_model import fetch_demo
from rklab.measure.monitor import read_memory, reset_peak_rss
from rklab.measure.prompts import prompt_file, run_prefix
from rklab.measure.protocol import run_metrics
from rklab.measure.runtimes import factory
from rklab.measure.runtimes.base import IMAGE_PLACEHOLDER, MultimodalInput
from rklab.measure.vision.factory import open_encoder
from rklab.measure.vision.preprocess import preprocess
from rklab.measure.vision.synthetic import DEFAULT_TOKENS, DEFAULT_WIDTH, ensure_synthetic_encoder
from rklab.measure.vision.testimages import demo_image_path
from rklab.predict.catalog import get_model

DEFAULT_PROMPT = prompt_file("vlm_question.txt")  # data/prompts/: "<image>" + the question


# --------------------------------------------------------------------------- model facts
@dataclass
class VlmSpec:
    """What the encoder must produce and the LLM expects, from the catalog (or the demo pair)."""

    name: str
    image_tokens: int
    hidden: int
    outputs: int = 1
    image_size: int = 448
    img_start: str = ""
    img_end: str = ""
    img_content: str = ""
    source: str = "catalog"

    @property
    def width(self) -> int:
        """Floats per image token handed to the LLM (outputs concatenated per token)."""
        return self.hidden * self.outputs


def _get(obj, *names, default=None):
    for n in names:
        if obj is None:
            return default
        obj = obj.get(n) if isinstance(obj, dict) else getattr(obj, n, None)
    return default if obj is None else obj


def _catalog_entry(name: str) -> Any:
    return get_model(name)


def vlm_spec(model: str | None, *, n_tokens: int | None = None, encoder_synthetic: bool = False) -> VlmSpec:
    """The image-token facts of ``model`` from the catalog.

    The demo pair (``model`` None/"demo"/SmolLM2 with the synthetic encoder) has no catalog
    vision block: its encoder makes ``n_tokens`` (default 196) tokens of the LLM width 576.
    """
    if model in (None, "", "demo") or (encoder_synthetic and str(model).startswith("SmolLM2")):
        hidden = DEFAULT_WIDTH
        name = DEMO_MODEL
        if model not in (None, "", "demo"):
            hidden = int(_get(_catalog_entry(model), "hidden", default=DEFAULT_WIDTH))
            name = str(model)
        return VlmSpec(name=name, image_tokens=int(n_tokens or DEFAULT_TOKENS), hidden=hidden,
                       outputs=1, image_size=448, source="synthetic demo encoder (rklab)")
    entry = _catalog_entry(model)
    vision = _get(entry, "vision")
    tokens = _get(vision, "image_tokens") or _get(entry, "image_tokens")
    if not tokens:
        raise RklabError(f"model {model} has no vision encoder in the catalog (data/models.yaml); "
                         "run it with notebook 02, or pick a VLM such as Qwen3-VL-2B")
    return VlmSpec(
        name=str(_get(entry, "name", default=model)),
        image_tokens=int(tokens),
        hidden=int(_get(entry, "hidden")),
        outputs=int(_get(vision, "outputs", default=None) or _get(entry, "vision_outputs", default=1) or 1),
        image_size=int(_get(vision, "image_size", default=None) or _get(entry, "image_size", default=448) or 448),
        img_start=str(_get(vision, "img_start", default=None) or _get(entry, "img_start", default="") or ""),
        img_end=str(_get(vision, "img_end", default=None) or _get(entry, "img_end", default="") or ""),
        img_content=str(_get(vision, "img_content", default=None) or _get(entry, "img_content", default="") or ""),
        source="catalog (data/models.yaml)",
    )


def image_embeddings(outputs: list[np.ndarray], spec: VlmSpec, n_images: int = 1) -> np.ndarray:
    """Check the encoder outputs against the catalog and concatenate them per image token.

    Returns float32 ``(n_images * image_tokens, hidden * outputs)``, C-contiguous.
    Accepts either ``outputs`` arrays of ``(tokens, hidden)`` each, or one array already of
    width ``hidden * outputs``.
    """
    want_rows = spec.image_tokens * n_images
    shapes = [tuple(np.shape(o)) for o in outputs]
    arrays = [np.asarray(o, dtype=np.float32).reshape(-1, np.shape(o)[-1]) for o in outputs]
    if len(arrays) == spec.outputs and all(a.shape == (want_rows, spec.hidden) for a in arrays):
        embed = arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=1)
    elif len(arrays) == 1 and arrays[0].shape == (want_rows, spec.width):
        embed = arrays[0]
    else:
        raise RklabError(
            f"vision encoder output {shapes} does not match {spec.name} in the catalog "
            f"({spec.image_tokens} tokens x {spec.hidden} hidden x {spec.outputs} outputs per image, "
            f"{n_images} image(s)); use the encoder exported for this model"
        )
    if not np.all(np.isfinite(embed)):
        raise RklabError(f"vision encoder output for {spec.name} holds NaN/inf values; check the encoder file")
    return np.ascontiguousarray(embed, dtype=np.float32)


# --------------------------------------------------------------------------- the pipeline
@dataclass
class VlmConfig:
    prompt: str = DEFAULT_PROMPT
    new_tokens: int = 32
    reps: int = 3
    warmup: int = 1
    ignore_eos: bool = True
    measure_text_baseline: bool = True


@dataclass
class VlmResult:
    runs: list[dict]
    samples: list[dict] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)  # {image, text}
    spec: dict = field(default_factory=dict)
    encoder: dict = field(default_factory=dict)
    synthetic: bool = False
    text_baseline: dict = field(default_factory=dict)
    aborted: bool = False

    @property
    def summary(self):
        return summarize_vlm_runs(self.runs)


class VlmPipeline:
    """A loaded vision encoder + LLM backend in one process, ready to answer about images."""

    def __init__(self, encoder, backend, spec: VlmSpec, *, image_size: int | tuple[int, int] | None = None,
                 monitor=None, proc_root: str = "/proc", baseline: dict | None = None):
        self.encoder = encoder
        self.backend = backend
        self.spec = spec
        size = image_size or spec.image_size
        self.image_hw = (int(size), int(size)) if isinstance(size, (int, np.integer)) else tuple(int(x) for x in size)
        self.monitor = monitor
        self.proc_root = proc_root
        self.synthetic = bool(getattr(encoder, "synthetic", False))
        # the first encoder run after loading: the geometry probe of open_vlm, else the first image
        self.encoder_first_ms: float | None = getattr(encoder, "first_run_ms", None)
        now = read_memory(proc_root=proc_root)
        # the peak after loading encoder + LLM (run VmHWMs are reset per run, so keep this one)
        self.load_vmhwm_mb: float | None = now.get("vmhwm_mb")
        # MemAvailable / Shmem before the encoder and the LLM were loaded (open_vlm reads them
        # first); without one, from now (then the drops exclude the models)
        self.baseline: dict = dict(baseline) if baseline else {"mem_available_mb": now.get("mem_available_mb"),
                                                               "shmem_mb": now.get("shmem_mb")}
        self.baseline_is_before_load = bool(baseline)
        self.llm_load_ms: float | None = getattr(backend, "load_ms", None)
        hidden = getattr(backend, "hidden_size", None)
        if getattr(backend, "name", "") == "llamacpp" and hidden and int(hidden) != spec.width:
            raise RklabError(
                f"encoder width {spec.width} ({spec.hidden} x {spec.outputs} outputs) does not equal the "
                f"llama.cpp model's hidden size {hidden}; llama.cpp takes image embeddings only when they "
                "match (use llm_backend='rkllm' for this VLM)"
            )

    def encode(self, image) -> tuple[np.ndarray, dict]:
        """Preprocess and encode one image; the embeddings and the stage timings (ms)."""
        t_in = time.perf_counter_ns()
        batch = preprocess(image, self.image_hw)
        t_pre = time.perf_counter_ns()
        outputs = self.encoder.run(batch)
        t_enc = time.perf_counter_ns()
        embed = image_embeddings(outputs, self.spec, n_images=1)
        enc_ms = (t_enc - t_pre) / 1e6
        if self.encoder_first_ms is None:
            self.encoder_first_ms = enc_ms
        return embed, {"t_in_ns": t_in, "preprocess_ms": (t_pre - t_in) / 1e6, "encoder_ms": enc_ms,
                       "output_shapes": [list(np.shape(o)) for o in outputs]}

    def multimodal_input(self, embed: np.ndarray, prompt: str, prefix: str = "") -> MultimodalInput:
        """The LLM input: ``prefix`` (the per-run cache buster) before the image, then the prompt."""
        if IMAGE_PLACEHOLDER not in prompt:
            prompt = IMAGE_PLACEHOLDER + prompt
        return MultimodalInput(prompt=prefix + prompt, image_embed=embed, n_image=1,
                               image_width=self.image_hw[1], image_height=self.image_hw[0],
                               img_start=self.spec.img_start, img_end=self.spec.img_end,
                               img_content=self.spec.img_content)

    def run_once(self, image, prompt: str = DEFAULT_PROMPT, new_tokens: int = 32, ignore_eos: bool = True,
                 label: str | None = None, prefix: str = "") -> dict:
        """One image -> answer from an empty KV cache, timed stage by stage; the run's metrics (+ ``text``).

        ``prefix`` starts the prompt, before the image (:func:`rklab.measure.prompts.run_prefix`).
        """
        mon = self.monitor
        cleared = clear_cache(self.backend)
        reset_ok = reset_peak_rss(proc_root=self.proc_root)
        mem0 = read_memory(proc_root=self.proc_root)
        s0 = mon.sample() if mon is not None and hasattr(mon, "sample") else None
        if mon is not None:
            mon.mark("prefill", run=label)
        try:
            embed, st = self.encode(image)
            mm = self.multimodal_input(embed, prompt, prefix)
            res = self.backend.generate(multimodal=mm, max_new_tokens=int(new_tokens), ignore_eos=ignore_eos)
        finally:
            if mon is not None:
                mon.mark("idle")
        if res.final_state == "error":
            raise RklabError(f"the LLM {getattr(self.backend, 'model_path', '')} failed on the multimodal input; "
                             "check max_context and the image tags of the model")
        mem1 = read_memory(proc_root=self.proc_root)
        s1 = mon.sample() if mon is not None and hasattr(mon, "sample") else None
        prompt_tokens = res.perf.prefill_tokens or res.prompt_tokens
        metrics = run_metrics(res, prompt_tokens=prompt_tokens, monitor=mon, start_ns=st["t_in_ns"],
                              mem_start=mem0, mem_end=mem1,
                              baseline=self.baseline if self.baseline_is_before_load else None,
                              sample_start=s0, sample_end=s1, vmhwm_reset=reset_ok)
        if not self.baseline_is_before_load:  # no before-load reading given: relative to the pipeline's start
            metrics.update(_drops(self.baseline, mem1, metrics))
        run = {
            "image": str(image) if isinstance(image, (str, os.PathLike)) else "array",
            "image_tokens": self.spec.image_tokens,
            "text_tokens": (prompt_tokens - self.spec.image_tokens) if prompt_tokens else None,
            "new_tokens": int(new_tokens),
            "preprocess_ms": st["preprocess_ms"],
            "encoder_ms": st["encoder_ms"],
            "encoder_first_ms": self.encoder_first_ms,
            "encoder_load_ms": getattr(self.encoder, "load_ms", None),
            "llm_load_ms": self.llm_load_ms,
            "load_vmhwm_mb": self.load_vmhwm_mb,
            "encoder_output_shapes": st["output_shapes"],
            **metrics,
            "ttft_e2e_ms": (res.token_ns[0] - st["t_in_ns"]) / 1e6 if res.token_ns else None,
            "e2e_ms": (res.end_ns - st["t_in_ns"]) / 1e6,
            "kv_cache_cleared": cleared,
            "cache_prefix": prefix,
            "text": res.text,
        }
        return run

    def text_only_prefill(self, prompt: str, new_tokens: int, prefix: str = "") -> dict:
        """Prefill of the prompt's text alone (placeholder removed, ``prefix`` kept), for ``image_prefill_ms``.

        Asks the same ``new_tokens`` as the multimodal runs: on RKLLM 1.2.3 (load-time limit) a
        shorter ask would be cut by ``rkllm_abort``, which drops the runtime's perf block and
        leaves only the wall clock. Returns ``{"wall_ms", "runtime_ms"}`` (None when unknown).
        """
        text = prefix + prompt.replace(IMAGE_PLACEHOLDER, "")
        limit = getattr(self.backend, "max_new_tokens", None)
        n = int(new_tokens)
        if isinstance(limit, int) and getattr(self.backend, "fixed_max_new_tokens", False):
            n = limit  # exactly the loaded limit: the runtime ends the run itself
        clear_cache(self.backend)
        try:
            res = self.backend.generate(prompt=text, max_new_tokens=n, ignore_eos=True)
        except RklabError:
            return {"wall_ms": None, "runtime_ms": None}
        return {"wall_ms": res.ttft_ms, "runtime_ms": res.perf.prefill_ms}

    def text_only_prefill_ms(self, prompt: str, new_tokens: int = 32) -> float | None:
        """Wall-clock prefill (TTFT) of the prompt's text alone (kept for callers of the old name)."""
        return self.text_only_prefill(prompt, new_tokens)["wall_ms"]

    def close(self):
        for part in (self.backend, self.encoder):
            try:
                (getattr(part, "close", None) or getattr(part, "release"))()
            except Exception:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def open_vlm(*, model: str | None, encoder_path, llm_path, vision_backend: str = "onnx",
             llm_backend: str = "llamacpp", core_mask="NPU_CORE_0_1_2", max_context: int = 4096,
             image_size: int | None = None, monitor=None, n_tokens: int | None = None,
             backend_kwargs: dict | None = None) -> VlmPipeline:
    """Load the LLM, then the vision encoder (the order of Rockchip's multimodal demo), then check the
    encoder's own geometry against the catalog (:func:`check_geometry`).

    On RKLLM ``base_domain_id=1``: the RKNN encoder uses NPU IOMMU domain 0 and the parameter (not the
    load order) keeps the two apart, as the demo sets it on RK3588. ``image_size`` (default: the
    catalog's) is the input side expected of the encoder. ``encoder_path`` / ``llm_path`` of ``"demo"``
    mean the synthetic ONNX encoder / the SmolLM2 GGUF.
    """
    enc_path = resolve_encoder_path(encoder_path, n_tokens=n_tokens)
    llm_file = resolve_llm_path(llm_path)
    encoder = open_encoder(vision_backend, enc_path, core_mask=core_mask, load=False)  # checks the file only
    kwargs = dict(backend_kwargs or {})
    kwargs.setdefault("max_context", int(max_context))
    if llm_backend == "rkllm":
        tags = vlm_spec(model, n_tokens=n_tokens)  # the catalog's image tags, before anything is loaded
        kwargs.setdefault("base_domain_id", 1)  # the encoder in this process uses domain 0
        kwargs.setdefault("img_start", tags.img_start)
        kwargs.setdefault("img_end", tags.img_end)
        kwargs.setdefault("img_content", tags.img_content)
    before = read_memory()
    baseline = {"mem_available_mb": before.get("mem_available_mb"), "shmem_mb": before.get("shmem_mb")}
    if monitor is not None:
        monitor.mark("load")
    t0 = time.perf_counter_ns()
    backend = factory.open_backend(llm_backend, llm_file, **kwargs)
    llm_load_ms = (time.perf_counter_ns() - t0) / 1e6
    try:
        encoder.load()
        spec = vlm_spec(model, n_tokens=n_tokens, encoder_synthetic=encoder.synthetic)
        geometry = check_geometry(encoder, spec, image_size)
        if monitor is not None:
            monitor.mark("idle")
        pipe = VlmPipeline(encoder, backend, spec, image_size=geometry.input_hw, monitor=monitor, baseline=baseline)
    except BaseException:
        encoder.release()
        backend.close()
        raise
    pipe.geometry = geometry
    pipe.llm_load_ms = getattr(backend, "load_ms", None) or llm_load_ms
    return pipe


def check_geometry(encoder, spec: VlmSpec, image_size: int | None = None):
    """The encoder's own geometry (input size, image tokens, embedding width, outputs) against the catalog.

    One :class:`RklabError` naming the file and both values at the first mismatch.
    """
    want = int(image_size or spec.image_size)
    geo = encoder.geometry((want, want))
    where = f"vision encoder {encoder.path}"
    fix = f"use the encoder exported for {spec.name} (or correct its entry in data/models.yaml)"
    if geo.input_hw != (want, want):
        raise RklabError(f"{where} takes {geo.input_hw[0]}x{geo.input_hw[1]} images ({geo.input_source}) but "
                         f"{want}x{want} is expected for {spec.name} ({spec.source}); {fix}")
    if geo.image_tokens != spec.image_tokens:
        raise RklabError(f"{where} makes {geo.image_tokens} image tokens but {spec.name} has {spec.image_tokens} "
                         f"({spec.source}); {fix}")
    per_output = geo.outputs == spec.outputs and geo.embed_width == spec.hidden
    concatenated = geo.outputs == 1 and geo.embed_width == spec.width
    if not (per_output or concatenated):
        raise RklabError(f"{where} gives {geo.outputs} output(s) of width {geo.embed_width} but {spec.name} takes "
                         f"{spec.outputs} x {spec.hidden} ({spec.source}); {fix}")
    return geo


def _drops(baseline: dict, mem_end: dict, metrics: dict) -> dict:
    """MemAvailable drop / Shmem rise against a pipeline-start reading (no before-load baseline)."""
    out = {"memory_baseline": "pipeline_start"}
    if baseline.get("mem_available_mb") is not None and mem_end.get("mem_available_mb") is not None:
        out["mem_available_drop_mb"] = baseline["mem_available_mb"] - mem_end["mem_available_mb"]
    if baseline.get("shmem_mb") is not None and mem_end.get("shmem_mb") is not None:
        out["shmem_rise_mb"] = mem_end["shmem_mb"] - baseline["shmem_mb"]
    return out


def image_prefill(run: dict, text_baseline: dict) -> dict:
    """``image_prefill_ms`` of one run from the text-only baseline, subtracting like from like.

    Both runtime counters when both exist (``image_prefill_source: runtime``), else both wall
    clocks (``wall``). A negative difference (noise larger than the image's share) is reported
    as None with ``image_prefill_note``, never as a negative time.
    """
    pairs = ((run.get("runtime_prefill_ms"), text_baseline.get("text_runtime_prefill_ms"), "runtime"),
             (run.get("prefill_ms"), text_baseline.get("text_prefill_ms"), "wall"))
    for with_image, alone, source in pairs:
        if with_image is not None and alone is not None:
            diff = with_image - alone
            if diff < 0:
                return {"image_prefill_ms": None, "image_prefill_source": source,
                        "image_prefill_note": f"{source} prefill with the image ({with_image:.2f} ms) was below "
                                              f"the text alone ({alone:.2f} ms): not reported"}
            return {"image_prefill_ms": diff, "image_prefill_source": source}
    return {"image_prefill_ms": None, "image_prefill_source": None}


def resolve_encoder_path(encoder_path, *, n_tokens: int | None = None) -> Path:
    if str(encoder_path) == "demo":
        return ensure_synthetic_encoder(n_tokens or DEFAULT_TOKENS)
    return Path(encoder_path).expanduser()


def resolve_llm_path(llm_path) -> Path:
    if str(llm_path) == "demo":
        return fetch_demo()  # cached after the first call, as the backend factory does
    return Path(llm_path).expanduser()


def run_vlm_benchmark(pipe: VlmPipeline, images: list, config: VlmConfig | None = None, *,
                      on_run: Callable[[dict], Any] | None = None, progress: bool = True,
                      check: Callable[[], None] | None = None,
                      should_stop: Callable[[], bool] | None = None) -> VlmResult:
    """Warm up, then ``reps`` measured runs per image; ``on_run(run)`` after each (write the record).

    ``check`` is called after every run (the memory guard's ``check`` raises MemoryAborted);
    ``should_stop()`` (e.g. ``MemoryGuard.should_stop``) is asked before every run: when True
    no further run starts and the result is ``aborted``.
    """
    config = config or VlmConfig()
    if not images:
        images = [demo_image_path()]
    if config.reps < 1 or config.new_tokens < 1 or config.warmup < 0:
        raise RklabError(f"reps={config.reps}, new_tokens={config.new_tokens}, warmup={config.warmup}: "
                         "use reps >= 1, new_tokens >= 1, warmup >= 0")
    stop = should_stop or (lambda: False)
    runs: list[dict] = []
    answers: list[dict] = []
    aborted = False
    total = config.warmup + config.reps * len(images) + (1 if config.measure_text_baseline else 0)
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc="VLM runs", leave=False)
        except ImportError:  # pragma: no cover
            bar = None
    baseline: dict = {}
    n_run = 0  # runs started so far: numbers the per-run prompt prefix (see rklab.measure.cachecheck)
    try:
        for _ in range(max(config.warmup, 0)):
            if stop():
                aborted = True
                break
            pipe.run_once(images[0], config.prompt, config.new_tokens, config.ignore_eos, label="warmup",
                          prefix=run_prefix(n_run))
            n_run += 1
            if check:
                check()
            if bar:
                bar.update()
        if config.measure_text_baseline and not aborted and not stop():
            text = pipe.text_only_prefill(config.prompt, config.new_tokens, prefix=run_prefix(n_run))
            n_run += 1
            n_text = None
            tok = getattr(pipe.backend, "tokenize", None)
            if tok:
                try:
                    ids = tok(config.prompt.replace(IMAGE_PLACEHOLDER, ""))
                    n_text = len(ids) if ids is not None else None
                except Exception:
                    n_text = None
            baseline = {"text_prefill_ms": text["wall_ms"], "text_runtime_prefill_ms": text["runtime_ms"],
                        "text_tokens": n_text}
            if bar:
                bar.update()
        for img in images:
            if aborted:
                break
            for rep in range(config.reps):
                if stop():
                    aborted = True
                    break
                name = Path(img).name if isinstance(img, (str, os.PathLike)) else "array"
                run = pipe.run_once(img, config.prompt, config.new_tokens, config.ignore_eos, label=f"{name}#{rep}",
                                    prefix=run_prefix(n_run))
                n_run += 1
                run["rep"] = rep
                run["case"] = f"img{run['image_tokens']}/tg{config.new_tokens}"
                run["image"] = Path(img).name if isinstance(img, (str, os.PathLike)) else run["image"]
                run["image_path"] = str(img) if isinstance(img, (str, os.PathLike)) else None
                if baseline:
                    run.update(image_prefill(run, baseline))
                else:
                    run["image_prefill_ms"] = None
                run["synthetic"] = pipe.synthetic
                flag_run(run, [r for r in runs if r.get("image_path") == run["image_path"] and r["image"] == run["image"]])
                if rep == 0:
                    answers.append({"image": run["image"], "text": run["text"]})
                runs.append(run)
                if on_run:
                    on_run(run)
                if check:
                    check()
                if bar:
                    bar.update()
                if run.get("final_state") == "aborted":
                    aborted = True
                    break
    finally:
        if bar:
            bar.close()
    samples = list(getattr(pipe.monitor, "samples", []) or []) if pipe.monitor is not None else []
    return VlmResult(runs=runs, samples=samples, answers=answers, spec=asdict(pipe.spec),
                     encoder=pipe.encoder.describe(), synthetic=pipe.synthetic, text_baseline=baseline,
                     aborted=aborted)


SUMMARY_METRICS = ("preprocess_ms", "encoder_ms", "encoder_first_ms", "encoder_load_ms", "prefill_ms",
                   "image_prefill_ms", "prefill_tps", "ttft_ms", "ttft_e2e_ms", "decode_tps", "vmhwm_mb",
                   "mem_available_drop_mb")


def summarize_vlm_runs(runs: list[dict]):
    """Per image: median and spread of each stage (a pandas DataFrame, one row per image)."""
    import pandas as pd

    rows = []
    by_image: dict[str, list[dict]] = {}
    for r in runs:
        by_image.setdefault(str(r.get("image")), []).append(r)
    for image, rs in by_image.items():
        row: dict[str, Any] = {"image": image, "runs": len(rs), "image_tokens": rs[0].get("image_tokens"),
                               "prompt_tokens": rs[0].get("prompt_tokens")}
        for m in SUMMARY_METRICS:
            vals = [float(r[m]) for r in rs if isinstance(r.get(m), (int, float))]
            row[m] = statistics.median(vals) if vals else None
            if m in ("encoder_ms", "ttft_e2e_ms", "decode_tps") and len(vals) > 1:
                row[f"{m}_sd"] = statistics.stdev(vals)
        rows.append(row)
    return pd.DataFrame(rows)
