"""Open a backend by name: checks the model file for that backend's format first.

``model_path == "demo"`` means the SmolLM2-135M demo GGUF (fetched into the cache on first
use; the only download rklab does at run time). Neither backend loads its native library
(llama-cpp-python, ``librkllmrt.so``) before a model is opened, so the CPU backend works on
machines without ``librkllmrt.so``.
"""

from __future__ import annotations

from pathlib import Path

from rklab.errors import RklabError
from rklab.measure.demo_model import fetch_demo
from rklab.measure.modelfiles import check_model_file
from rklab.measure.runtimes.llamacpp import LlamaCpp
from rklab.measure.runtimes.rkllm import RKLLM

BACKENDS = {"rkllm": "rkllm", "llamacpp": "gguf"}  # backend -> model file format (the one list of backends)


def resolve_model_path(backend: str, model_path) -> Path:
    """``"demo"`` -> the cached demo GGUF (llama.cpp only); else the path as given (``~`` expanded)."""
    if str(model_path) == "demo":
        if backend != "llamacpp":
            raise RklabError(
                f"the demo model is a GGUF for the llamacpp backend, not for {backend}; "
                f"use --backend llamacpp or give a .rkllm file"
            )
        return fetch_demo()
    return Path(str(model_path)).expanduser()


def open_backend(backend: str, model_path, **kwargs):
    """Construct :class:`~rklab.measure.runtimes.llamacpp.LlamaCpp` or :class:`~rklab.measure.runtimes.rkllm.RKLLM`.

    ``kwargs`` go to the constructor (e.g. ``max_context``, ``n_threads``; RKLLM:
    ``base_domain_id``, ``embed_flash``...).
    """
    if backend not in BACKENDS:
        raise RklabError(f"unknown backend {backend!r}; choose one of: {', '.join(sorted(BACKENDS))}")
    path = resolve_model_path(backend, model_path)
    check_model_file(path, BACKENDS[backend])
    if backend == "llamacpp":
        return LlamaCpp(path, **kwargs)
    return RKLLM(path, **kwargs)
