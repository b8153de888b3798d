"""Every bad input of issue 6 through the real CLI: one line naming the input, non-zero exit,
no traceback, and a results folder that was there before is byte-identical afterwards.

The table in docs/bad-inputs.md lists the same cases (input -> message -> exit -> test id).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from rklab.runfolder import FLEET_BOARDS_DIR, FLEET_LOCK_FILE, MANIFEST_FILE, PLAN_COPY, sweep_lock

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RKLAB = [str(PROJECT_ROOT / ".venv" / "bin" / "rklab")] if (PROJECT_ROOT / ".venv" / "bin" / "rklab").exists() \
    else [sys.executable, "-m", "rklab"]

EXISTING_RECORD = (
    '{"schema": "rklab.record/1", "record_id": "0123456789abcdef0123456789abcdef", "created_at": '
    '"2026-01-01T00:00:00+00:00", "rklab_version": "0.1.0", "kind": "llm", "status": "ok", '
    '"entry": "earlier-run", "metrics": {"case": "pp128/tg64", "rep": 0, "decode_tps": 12.5}}\n'
)

# an earlier report of rklab's (rklab.report.html marks each with its plotly.js block)
EXISTING_REPORT = '<html><body><script id="rklab-plotlyjs"></script>earlier report</body></html>\n'


# ----------------------------------------------------------------------------- input makers
@dataclass
class Ctx:
    tmp: Path
    results: Path  # a results folder from an earlier run (must stay byte-identical)
    env: dict[str, str] = field(default_factory=dict)
    fake_lib: Path | None = None
    fake_model: Path | None = None
    cleanup: list[Callable[[], None]] = field(default_factory=list)  # after the command ran


def _png(w: int, h: int, body: bytes | None = None) -> bytes:
    """A PNG with the given header size; ``body`` = raw IDAT payload (tiny: the pixels are never stored)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = body if body is not None else zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


SHORT_CONFIG = (b'{"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, '
                b'"vocab_size": 1000, "max_position_embeddings": 2048, "model_type": "llama"}')


def make_file(ctx: Ctx, name: str, content: bytes | None, size: int | None = None) -> Path:
    p = ctx.tmp / "inputs" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if content is None:  # missing
        return p
    with open(p, "wb") as fh:
        fh.write(content)
        if size:
            fh.truncate(size)
    return p


def good_png(ctx: Ctx) -> bytes:
    from PIL import Image
    import io

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def plan_file(ctx: Ctx, text: str, name: str = "plan.yaml") -> Path:
    p = ctx.tmp / "plans" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


DEMO_LLM_ENTRY = """\
  - name: demo-llm
    kind: llm
    model: SmolLM2-135M-Instruct
    backend: llamacpp
    model_path: demo
    cases: [[16, 4]]
    reps: 1
"""


def plan_with(ctx: Ctx, entry_extra: str = "", top_extra: str = "", entry: str = DEMO_LLM_ENTRY) -> Path:
    return plan_file(ctx, f"plan: bad\nboard: rk3588-8gb\n{top_extra}entries:\n{entry}{entry_extra}")


def bench_llm(ctx: Ctx, *extra: str, model: str = "demo", backend: str = "llamacpp") -> list[str]:
    base = ["bench", "llm", "--backend", backend, "--model", model, "--reps", "1", "--warmup", "0",
            "--prompt-tokens", "16", "--new-tokens", "4", "--context", "256", "--hz", "0", "--no-progress",
            "--no-adaptive", "--out", str(ctx.results)]
    # later options win in argparse: the case's own values override the defaults above
    return base + list(extra)


def bench_vlm(ctx: Ctx, *extra: str) -> list[str]:
    return ["bench", "vlm", "--demo", "--reps", "1", "--new-tokens", "2", *extra]


def sweep(ctx: Ctx, plan: Path, *extra: str) -> list[str]:
    return ["sweep", str(plan), "--out", str(ctx.results), "--no-progress", "--no-report", "--lang", "en", *extra]


def models_check(ctx: Ctx, plan: Path) -> list[str]:
    return ["models", "check", str(plan), "--lang", "en"]


def rknn_plan(ctx: Ctx, encoder: Path) -> Path:
    entry = f"""\
  - name: vlm-npu
    kind: vlm
    model: Qwen3-VL-2B
    llm_backend: llamacpp
    llm_path: demo
    vision_backend: rknn
    encoder_path: {encoder}
"""
    return plan_with(ctx, entry=entry)


def wrong_arch_lib(ctx: Ctx) -> Path:
    """A copy of the fake library whose ELF header says aarch64 (e_machine 183)."""
    p = ctx.tmp / "inputs" / "arm64" / "librkllmrt.so"
    p.parent.mkdir(parents=True, exist_ok=True)
    data = bytearray(ctx.fake_lib.read_bytes())
    data[18:20] = (183).to_bytes(2, "little")
    p.write_bytes(bytes(data))
    return p


# ----------------------------------------------------------------------------- the cases
@dataclass
class Case:
    id: str
    # -> (argv after `rklab`, text the message must name: a string or a tuple of alternatives)
    build: Callable[[Ctx], tuple[list[str], str | tuple[str, ...]]]
    env: Callable[[Ctx], dict[str, str]] | None = None
    needs_fake_rkllm: bool = False
    one_line: bool = True  # `rklab models check` prints a report: one line per problem
    timeout: float = 120
    # the results that must stay byte-identical (default: ctx.results); made by ``build``
    watched: Callable[[Ctx], Path] | None = None


def _model_cases() -> list[Case]:
    cases = []
    kinds = {
        "missing": lambda ext: None,
        "empty": lambda ext: b"",
        "truncated": lambda ext: {"gguf": b"GGUF\x03\x00\x00\x00" + b"\x00" * 2000,
                                  "rkllm": b"\x00RKLLM" + b"\x01" * 4000,
                                  "rknn": b"RKNN" + b"\x00" * 2000}[ext],
        "wrong-magic": lambda ext: {"gguf": b"PK\x03\x04" + os.urandom(64), "rkllm": b"GGUF\x03\x00\x00\x00",
                                    "rknn": b"GGUF\x03\x00\x00\x00"}[ext],
    }
    sizes = {"wrong-magic": 20 << 20}
    for ext in ("gguf", "rkllm", "rknn"):
        for kind, content in kinds.items():
            def build(ctx, ext=ext, kind=kind, content=content):
                f = make_file(ctx, f"{kind}.{ext}", content(ext), sizes.get(kind))
                if ext == "gguf":
                    return bench_llm(ctx, model=str(f)), str(f)
                if ext == "rkllm":
                    return bench_llm(ctx, model=str(f), backend="rkllm"), str(f)
                return models_check(ctx, rknn_plan(ctx, f)), str(f)

            cases.append(Case(f"model-{ext}-{kind}", build,
                              env=(lambda ctx: {"RKLLM_LIB": str(ctx.fake_lib)}) if ext == "rkllm" else None,
                              needs_fake_rkllm=ext == "rkllm", one_line=ext != "rknn"))
    return cases


def demo_copy(ctx: Ctx, name: str, patch: tuple[bytes, bytes] | None = None) -> Path:
    """The demo GGUF under another name (a symlink), or a copy with one header string replaced."""
    from rklab.measure.demo_model import fetch_demo

    p = ctx.tmp / "inputs" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if patch is None:
        p.symlink_to(fetch_demo())
        return p
    data = fetch_demo().read_bytes()
    old, new = patch
    p.write_bytes(data.replace(old, new, 1))
    return p


# general.architecture = "llama" (the string follows its key, type 8 and a u64 length of 5)
ARCH_LLAMA = b"general.architecture" + (8).to_bytes(4, "little") + (5).to_bytes(8, "little") + b"llama"


def _identity_cases() -> list[Case]:
    return [
        # a valid GGUF of an architecture this llama.cpp does not know: say what llama.cpp said
        Case("model-gguf-unknown-architecture",
             lambda ctx: (bench_llm(ctx, model=str(demo_copy(ctx, "other.gguf", (ARCH_LLAMA, ARCH_LLAMA[:-5] + b"llamb")))),
                          "unknown model architecture: 'llamb'")),
        # the file name says Qwen3-32B, the GGUF header says SmolLM2-135M
        Case("model-gguf-not-the-named-model",
             lambda ctx: (bench_llm(ctx, model=str(demo_copy(ctx, "Qwen3-32B-Q4_K_M.gguf"))),
                          "is not Qwen3-32B: its GGUF header says architecture llama")),
        # `rklab sweep` records that entry as failed with the same reason (tests/test_model_identity.py)
        Case("plan-check-model-file-is-another-model",
             lambda ctx: (models_check(ctx, plan_with(ctx, entry=DEMO_LLM_ENTRY.replace("SmolLM2-135M-Instruct", "Qwen3-32B"))),
                          "is not Qwen3-32B"), one_line=False),
    ]


def _image_cases() -> list[Case]:
    def img(name, content):
        def build(ctx):
            data = content(ctx) if callable(content) else content
            f = make_file(ctx, name, data)
            return bench_vlm(ctx, "--image", str(f)), str(f)
        return build

    return [
        Case("image-missing", img("missing.png", None)),
        Case("image-zero-byte", img("zero.png", b"")),
        Case("image-not-an-image", img("notes.png", b"these are my notes, not a picture\n" * 10)),
        Case("image-truncated", img("cut.png", lambda ctx: good_png(ctx)[:60])),
        Case("image-very-large", img("huge.png", _png(40000, 40000))),  # 1.6 gigapixels, 100 bytes on disk
    ]


def _plan_cases() -> list[Case]:
    return [
        Case("plan-missing", lambda ctx: (sweep(ctx, ctx.tmp / "plans" / "nope.yaml"), "nope.yaml")),
        Case("plan-syntax-error", lambda ctx: (sweep(ctx, p := plan_file(ctx, "plan: x\nentries:\n  - name: [a\n    kind: llm\n")), str(p))),
        Case("plan-unknown-top-key", lambda ctx: (sweep(ctx, p := plan_with(ctx, top_extra="colour: red\n")), "colour")),
        Case("plan-unknown-entry-key", lambda ctx: (sweep(ctx, p := plan_with(ctx, entry_extra="    temprature: 0.7\n")), "temprature")),
        Case("plan-unknown-model", lambda ctx: (sweep(ctx, plan_with(ctx, entry=DEMO_LLM_ENTRY.replace("SmolLM2-135M-Instruct", "Qwen9-999B-Wonder"))), "Qwen9-999B-Wonder"), timeout=90),
        Case("plan-check-unknown-model", lambda ctx: (models_check(ctx, plan_with(ctx, entry=DEMO_LLM_ENTRY.replace("SmolLM2-135M-Instruct", "Qwen9-999B-Wonder"))), "Qwen9-999B-Wonder"), one_line=False),
        Case("plan-check-missing-model-file", lambda ctx: (models_check(ctx, plan_with(ctx, entry=DEMO_LLM_ENTRY.replace("model_path: demo", f"model_path: {ctx.tmp}/nowhere/model.gguf"))), "model.gguf"), one_line=False),
        Case("plan-zero-reps", lambda ctx: (sweep(ctx, plan_with(ctx, entry=DEMO_LLM_ENTRY.replace("reps: 1", "reps: 0"))), "reps")),
        Case("plan-negative-context", lambda ctx: (sweep(ctx, plan_with(ctx, entry_extra="    max_context: -4096\n")), "max_context")),
        Case("plan-zero-tokens", lambda ctx: (sweep(ctx, plan_with(ctx, entry=DEMO_LLM_ENTRY.replace("[[16, 4]]", "[[16, 0]]"))), "cases")),
        Case("plan-not-utf8", lambda ctx: (sweep(ctx, p := make_file(ctx, "latin1.yaml", "plan: x\ndescription: café\n".encode("latin-1"))),
                                           f"{p}:2: not UTF-8 text")),
        # caught by `rklab models check` up front (the sweep used to measure everything, then fail in the report)
        Case("plan-check-unknown-board", lambda ctx: (models_check(ctx, plan_file(ctx, f"plan: bad\nboard: rk3599-16gb\nentries:\n{DEMO_LLM_ENTRY}")),
                                                      "unknown board 'rk3599-16gb'")),
        Case("plan-check-absurd-context", lambda ctx: (models_check(ctx, plan_with(ctx, entry_extra="    max_context: 3000000000\n")),
                                                       "context 3000000000 is over SmolLM2-135M-Instruct's limit of 8,192 positions")),
        Case("plan-prompt-longer-than-context", lambda ctx: (sweep(ctx, plan_with(ctx, entry_extra="    max_context: 256\n", entry=DEMO_LLM_ENTRY.replace("[[16, 4]]", "[[1024, 64]]"))), "1024")),
    ]


def _number_cases() -> list[Case]:
    return [
        Case("bench-zero-context", lambda ctx: (bench_llm(ctx, "--context", "0"), ("--context", "context"))),
        Case("bench-negative-context", lambda ctx: (bench_llm(ctx, "--context", "-512"), ("--context", "context"))),
        Case("bench-zero-new-tokens", lambda ctx: (bench_llm(ctx, "--new-tokens", "0"), ("--new-tokens", "new tokens", "tg0"))),
        Case("bench-negative-prompt-tokens", lambda ctx: (bench_llm(ctx, "--prompt-tokens", "-16"), ("--prompt-tokens", "pp-16"))),
        Case("bench-zero-reps", lambda ctx: (bench_llm(ctx, "--reps", "0"), ("--reps", "reps"))),
        Case("bench-negative-reps", lambda ctx: (bench_llm(ctx, "--reps", "-3"), ("--reps", "reps"))),
        Case("bench-context-wraps-int32", lambda ctx: (bench_llm(ctx, "--context", str(10**12)),
                                                       "context 1000000000000 is over SmolLM2-135M-Instruct's limit of 8,192 positions")),
        # `rklab estimate --model SmolLM2-135M-Instruct --context 100000` refuses it with the same line
        Case("bench-context-over-model-limit", lambda ctx: (bench_llm(ctx, "--context", "100000"),
                                                            "context 100000 is over SmolLM2-135M-Instruct's limit of 8,192 positions")),
        Case("bench-prompt-longer-than-context", lambda ctx: (bench_llm(ctx, "--prompt-tokens", "600", "--context", "512"), "--context")),
        Case("bench-negative-mem-floor", lambda ctx: (bench_llm(ctx, "--mem-floor-mb", "-1"), "--mem-floor-mb")),
        Case("vlm-zero-reps", lambda ctx: (bench_vlm(ctx, "--reps", "0"), ("--reps", "reps=0"))),
        Case("vlm-zero-new-tokens", lambda ctx: (bench_vlm(ctx, "--new-tokens", "0"), ("--new-tokens", "new_tokens=0"))),
        Case("estimate-negative-context", lambda ctx: (["estimate", "--model", "Qwen3-0.6B", "--context", "-1"], ("--context", "context"))),
        Case("estimate-zero-new-tokens", lambda ctx: (["estimate", "--model", "Qwen3-0.6B", "--new-tokens", "0"], ("--new-tokens", "new tokens", "new_tokens"))),
        Case("estimate-prompt-longer-than-context", lambda ctx: (["estimate", "--model", "Qwen3-0.6B", "--prompt-tokens", "5000", "--context", "4096"], "4096")),
        Case("estimate-unknown-model", lambda ctx: (["estimate", "--model", "Qwen9-999B-Wonder"], "Qwen9-999B-Wonder")),
        Case("estimate-context-over-model-limit", lambda ctx: (
            ["estimate", "--hf-config", str(f := make_file(ctx, "short-model/config.json", SHORT_CONFIG)), "--context", "4096"],
            (str(f), "2,048 positions"))),
        Case("estimate-context-not-multiple-of-32", lambda ctx: (["estimate", "--model", "Qwen3-0.6B", "--context", "5000"], ("5000", "multiple of 32"))),
        Case("estimate-context-over-16384", lambda ctx: (["estimate", "--model", "Qwen3-0.6B", "--context", "32768"], ("32768", "16384"))),
        Case("estimate-negative-clock", lambda ctx: (["estimate", "--model", "Qwen3-0.6B", "--ddr-mhz", "-5"], ("--ddr-mhz", "-5"))),
        Case("feasibility-board-not-rkllm", lambda ctx: (["feasibility", "--board", "rk3566-4gb"], ("rk3566-4gb", "RK3566"))),
    ]


def _outdir_cases() -> list[Case]:
    def a_file(ctx):
        return make_file(ctx, "i-am-a-file", b"not a folder\n")

    def full_disk(ctx):  # every write to its records.jsonl fails with ENOSPC, as on a full disk
        d = ctx.tmp / "full"
        d.mkdir()
        (d / "records.jsonl").symlink_to("/dev/full")
        return d

    return [
        Case("out-disk-full-bench", lambda ctx: (bench_llm(ctx, "--out", str(full_disk(ctx))),
                                                 "the disk is full: cannot write")),
        Case("out-is-a-file-bench", lambda ctx: (bench_llm(ctx, "--out", str(f := a_file(ctx))), str(f))),
        Case("out-under-a-file-bench", lambda ctx: (bench_llm(ctx, "--out", str(f := a_file(ctx) / "run")), str(f))),
        Case("out-read-only-bench", lambda ctx: (bench_llm(ctx, "--out", "/proc/rklab-results"), "/proc/rklab-results")),
        Case("out-under-a-file-sweep", lambda ctx: (sweep(ctx, Path(PROJECT_ROOT / "data" / "plans" / "demo.yaml"), "--out", str(f := a_file(ctx) / "run")), str(f))),
        Case("out-read-only-sweep", lambda ctx: (sweep(ctx, Path(PROJECT_ROOT / "data" / "plans" / "demo.yaml"), "--out", "/proc/rklab-sweep"), "/proc/rklab-sweep")),
    ]


def a_sweep_folder(ctx: Ctx, plan_text: str) -> Path:
    """ctx.results made into a sweep folder of the plan ``plan_text`` (manifest + plan copy)."""
    (ctx.results / "plan.yaml").write_text(plan_text, encoding="utf-8")
    (ctx.results / "sweep.json").write_text('{"plan": "plan.yaml", "entries": ["demo-llm"]}', encoding="utf-8")
    return ctx.results


def report(ctx: Ctx, *extra: str, run_dir: Path | None = None) -> list[str]:
    return ["report", str(run_dir or ctx.results), "--lang", "en", *extra]


def _run_folder_cases() -> list[Case]:
    """Issue 13: results must never be mixed or overwritten by the sweep or the report."""
    demo = PROJECT_ROOT / "data" / "plans" / "demo.yaml"

    def other_plan(ctx):
        a_sweep_folder(ctx, demo.read_text(encoding="utf-8"))
        return plan_with(ctx)

    def newer_schema(ctx):
        with open(ctx.results / "records.jsonl", "a", encoding="utf-8") as fh:
            fh.write(EXISTING_RECORD.replace("rklab.record/1", "rklab.record/2"))
        return report(ctx)

    def empty_folder(ctx):
        (ctx.tmp / "empty").mkdir()
        return ctx.tmp / "empty"

    def not_ours(ctx):
        return report(ctx, "--html", str(make_file(ctx, "notes.html", b"<html>my own notes</html>\n")))

    return [
        Case("sweep-out-holds-bench-records", lambda ctx: (sweep(ctx, demo), "already holds records")),
        Case("bench-out-is-a-sweep", lambda ctx: (bench_llm(ctx, "--out", str(a_sweep_folder(ctx, demo.read_text(encoding="utf-8")))),
                                                  "is a sweep folder")),
        Case("sweep-resume-other-plan", lambda ctx: (["sweep", str(other_plan(ctx)), "--resume", str(ctx.results),
                                                      "--no-progress", "--no-report"], "was started with another plan")),
        Case("sweep-timeout-zero", lambda ctx: (sweep(ctx, demo, "--timeout", "0"), "--timeout 0 is not allowed")),
        Case("sweep-timeout-negative", lambda ctx: (sweep(ctx, demo, "--timeout", "-5"), "--timeout -5 is not allowed")),
        Case("sweep-timeout-nan", lambda ctx: (sweep(ctx, demo, "--timeout", "nan"), "--timeout nan is not allowed")),
        Case("report-html-is-the-records", lambda ctx: (report(ctx, "--html", str(ctx.results / "records.jsonl")),
                                                        "is not a report written by rklab")),
        Case("report-html-is-a-folder", lambda ctx: (report(ctx, "--html", str(ctx.results)), "is a folder")),
        Case("report-html-is-someone-elses-file", lambda ctx: (not_ours(ctx), "notes.html exists and is not a report")),
        Case("report-results-md-is-the-records", lambda ctx: (report(ctx, "--results-md", str(ctx.results / "records.jsonl")),
                                                              "--results-md")),
        Case("report-empty-folder", lambda ctx: (report(ctx, run_dir=empty_folder(ctx)), "holds no records")),
        Case("report-newer-schema", lambda ctx: (newer_schema(ctx), "has records of schema rklab.record/2")),
    ]


def _library_cases() -> list[Case]:
    def with_lib(lib: Callable[[Ctx], Path | str]) -> Callable[[Ctx], dict[str, str]]:
        return lambda ctx: {"RKLLM_LIB": str(lib(ctx))}

    def build(names):
        return lambda ctx: (bench_llm(ctx, model=str(ctx.fake_model), backend="rkllm"), names)

    return [
        Case("library-missing", build("nowhere/librkllmrt.so"),
             env=with_lib(lambda ctx: ctx.tmp / "nowhere" / "librkllmrt.so"), needs_fake_rkllm=True),
        Case("library-wrong-architecture", build("arm64/librkllmrt.so"), env=with_lib(wrong_arch_lib), needs_fake_rkllm=True),
        Case("library-unknown-layout", build("future/librkllmrt.so"),
             env=lambda ctx: {"RKLLM_LIB": str(ctx.tmp / "future" / "librkllmrt.so")}, needs_fake_rkllm=True),
        Case("library-version-from-env-unsupported", build("RKLLM_VERSION=1.1.4"),
             env=lambda ctx: {"RKLLM_LIB": str(ctx.fake_lib), "RKLLM_VERSION": "1.1.4"}, needs_fake_rkllm=True),
        Case("library-context-over-c-int", lambda ctx: (bench_llm(ctx, "--context", "3000000000", model=str(ctx.fake_model),
                                                                  backend="rkllm"),
                                                        "--context 3000000000 is more than the runtimes accept"),
             env=with_lib(lambda ctx: ctx.fake_lib), needs_fake_rkllm=True),
        Case("library-not-elf", build("txt/librkllmrt.so"),
             env=with_lib(lambda ctx: make_file(ctx, "txt/librkllmrt.so", b"#!/bin/sh\n")), needs_fake_rkllm=True),
    ]


def _cache_cases() -> list[Case]:
    def loop(ctx):
        a, b = ctx.tmp / "inputs" / "loop-a", ctx.tmp / "inputs" / "loop-b"
        a.parent.mkdir(parents=True, exist_ok=True)
        a.symlink_to(b)
        b.symlink_to(a)
        return a

    def cache(make):
        return lambda ctx: {"RKLAB_CACHE": str(make(ctx))}

    build = lambda ctx: (bench_llm(ctx), "RKLAB_CACHE=")  # noqa: E731 - the demo model comes from the cache
    return [
        Case("cache-is-a-file", build, env=cache(lambda ctx: make_file(ctx, "cache-file", b"x"))),
        Case("cache-symlink-loop", build, env=cache(loop)),
        Case("cache-unwritable", build, env=cache(lambda ctx: "/proc/rklab-cache")),
    ]


DEMO_PLAN = PROJECT_ROOT / "data" / "plans" / "demo.yaml"


def inventory_file(ctx: Ctx, text: str) -> Path:
    p = ctx.tmp / "fleet-inputs" / "inventory.yaml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def fleet_run(ctx: Ctx, inventory: Path, plan: Path = DEMO_PLAN, out: Path | None = None, *extra: str) -> list[str]:
    return ["fleet", "run", str(inventory), str(plan), "--out", str(out or ctx.results), "--lang", "en",
            "--no-report", "--poll", "1", *extra]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def unreachable_board(ctx: Ctx) -> tuple[list[str], str]:
    """A board nobody answers for, whose results from an earlier fleet run are in the fleet folder."""
    out = ctx.tmp / "fleet-out"
    shutil.copytree(ctx.results, out / FLEET_BOARDS_DIR / "board-down")
    inv = inventory_file(ctx, f"all:\n  hosts:\n    board-down:\n      ansible_host: 127.0.0.1\n"
                              f"      ansible_port: {_closed_port()}\n      rklab_board: rk3588-8gb\n")
    return fleet_run(ctx, inv, DEMO_PLAN, out), "board-down"


def fleet_folder_in_use(ctx: Ctx) -> tuple[list[str], str]:
    """A fleet folder another `rklab fleet run` holds (here: this test process, until the test ends)."""
    out = ctx.tmp / "fleet-busy"
    out.mkdir()
    held = contextlib.ExitStack()
    held.enter_context(sweep_lock(out, name=FLEET_LOCK_FILE))
    ctx.cleanup.append(held.close)
    return fleet_run(ctx, inventory_file(ctx, GOOD_HOST), DEMO_PLAN, out), f"in use by another rklab fleet run (pid {os.getpid()})"


def sweep_of_board(ctx: Ctx, board_id: str) -> Path:
    """ctx.results made into a sweep folder of the demo plan that measures ``board_id``."""
    (ctx.results / PLAN_COPY).write_text(DEMO_PLAN.read_text(encoding="utf-8"), encoding="utf-8")
    (ctx.results / MANIFEST_FILE).write_text(f'{{"plan": "{DEMO_PLAN}", "entries": ["demo-llm"], '
                                             f'"board_id": "{board_id}"}}', encoding="utf-8")
    return ctx.results


GOOD_HOST = "all:\n  hosts:\n    board-a:\n      ansible_host: 127.0.0.1\n      rklab_board: rk3588-8gb\n"


def _fleet_cases() -> list[Case]:
    def inv(text):
        return lambda ctx: inventory_file(ctx, text)

    return [
        Case("fleet-inventory-missing", lambda ctx: (fleet_run(ctx, ctx.tmp / "nowhere" / "inventory.yaml"), "nowhere/inventory.yaml")),
        Case("fleet-inventory-syntax-error", lambda ctx: (fleet_run(ctx, p := inv("all:\n  hosts:\n    board-a: [x\n")(ctx)), f"{p}:4")),
        Case("fleet-inventory-no-hosts", lambda ctx: (fleet_run(ctx, inv("all:\n  hostz:\n    board-a:\n")(ctx)), ("no hosts", "hostz"))),
        Case("fleet-host-without-profile", lambda ctx: (fleet_run(ctx, inv(GOOD_HOST.replace("      rklab_board: rk3588-8gb\n", ""))(ctx)), "board-a")),
        Case("fleet-unknown-profile", lambda ctx: (fleet_run(ctx, inv(GOOD_HOST.replace("rk3588-8gb", "rk3588-4gb"))(ctx)), "rk3588-4gb")),
        Case("fleet-plan-missing", lambda ctx: (fleet_run(ctx, inv(GOOD_HOST)(ctx), ctx.tmp / "plans" / "nope.yaml"), "nope.yaml")),
        Case("fleet-host-plan-missing", lambda ctx: (fleet_run(ctx, inv(GOOD_HOST + "      rklab_plan: gone.yaml\n")(ctx)), "gone.yaml")),
        Case("fleet-limit-matches-nothing", lambda ctx: (fleet_run(ctx, inv(GOOD_HOST)(ctx), DEMO_PLAN, None, "--limit", "board-z"), "board-z")),
        Case("fleet-timeout-nan", lambda ctx: (fleet_run(ctx, inv(GOOD_HOST)(ctx), DEMO_PLAN, None, "--timeout", "nan"),
                                               "--timeout nan is not allowed")),
        Case("fleet-poll-zero", lambda ctx: (fleet_run(ctx, inv(GOOD_HOST)(ctx), DEMO_PLAN, None, "--poll", "0"),
                                             "--poll 0 is not allowed")),
        Case("fleet-unreachable-host", unreachable_board, timeout=120,
             watched=lambda ctx: ctx.tmp / "fleet-out" / FLEET_BOARDS_DIR / "board-down"),
        Case("fleet-out-in-use", fleet_folder_in_use),
        Case("fleet-report-not-a-fleet-folder", lambda ctx: (["fleet", "report", str(ctx.results)], str(ctx.results))),
        Case("sweep-board-unknown-profile", lambda ctx: (sweep(ctx, DEMO_PLAN, "--board", "rk3588-4gb"), "rk3588-4gb")),
        Case("sweep-resume-other-board-id", lambda ctx: (["sweep", str(DEMO_PLAN), "--resume", str(sweep_of_board(ctx, "board-a")),
                                                          "--board-id", "board-b", "--no-progress", "--no-report"],
                                                         "this sweep measures board 'board-a', not 'board-b'")),
    ]


CASES = (_model_cases() + _identity_cases() + _image_cases() + _plan_cases() + _number_cases() + _outdir_cases()
         + _library_cases() + _cache_cases() + _run_folder_cases() + _fleet_cases())

# Cases the owning module does not handle yet (reported to the lead). Strict: when the owner
# fixes one, its XPASS fails the run as a reminder to delete the line here.
KNOWN_GAPS: dict[str, str] = {}  # case id -> why it still fails (marked xfail strict)


def _param(case: Case):
    marks = [pytest.mark.xfail(reason=KNOWN_GAPS[case.id], strict=True)] if case.id in KNOWN_GAPS else []
    return pytest.param(case, id=case.id, marks=marks)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def fake_runtime(tmp_path_factory):
    """The gcc-built fake librkllmrt.so (1.3.0), one with a layout no header has, and a plausible .rkllm."""
    from tests.fixtures.fake_rkllm import build_fake_rkllm, make_fake_rkllm_model

    from tests.vendor import require_vendor

    require_vendor("v1.3.0", "rkllm.h")  # the fake is built from Rockchip's real header (../shared)
    d = tmp_path_factory.mktemp("fake_rkllm")
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the fake RKLLM runtime")
    lib = build_fake_rkllm("1.3.0", d / "rk130")
    old = build_fake_rkllm("1.3.0", d / "future", version="1.4.0", future_layout=True)
    model = make_fake_rkllm_model(d / "model.rkllm")
    return lib, old, model


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input(case: Case, tmp_path, request):
    ctx = Ctx(tmp=tmp_path, results=tmp_path / "results")
    ctx.results.mkdir()
    (ctx.results / "records.jsonl").write_text(EXISTING_RECORD, encoding="utf-8")
    (ctx.results / "report.html").write_text(EXISTING_REPORT, encoding="utf-8")
    if case.needs_fake_rkllm:
        lib, old, model = request.getfixturevalue("fake_runtime")
        ctx.fake_lib, ctx.fake_model = lib, model
        (tmp_path / "future").mkdir()
        shutil.copy(old, tmp_path / "future" / "librkllmrt.so")
    argv, names = case.build(ctx)
    watched = case.watched(ctx) if case.watched else ctx.results
    before = _digest(watched)
    env = dict(os.environ)
    env.pop("RKLLM_LIB", None)
    env.pop("RKLLM_VERSION", None)
    env["RKLAB_RUNS"] = str(tmp_path / "runs")
    env["RKLAB_RESULTS_MD"] = str(tmp_path / "benchmark_log.md")
    if case.env:
        env.update(case.env(ctx))
    try:
        r = subprocess.run(RKLAB + argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=case.timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`rklab {' '.join(argv)}` did not refuse the input within {case.timeout:.0f} s (it ran)")
    finally:
        for done in ctx.cleanup:
            done()
    err = r.stderr.strip()
    assert r.returncode != 0, f"exit 0 for bad input; stdout: {r.stdout[-500:]}"
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr[-2000:]
    if case.one_line:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{err[-1500:]}"
        assert lines[0].startswith("rklab: error: ") or lines[0].startswith("rklab "), lines[0]
        assert r.returncode == 2 or (r.returncode == 3 and "memory" in lines[0].lower()), r.returncode
        message = lines[0]
    else:
        message = r.stdout + r.stderr
    alternatives = names if isinstance(names, tuple) else (names,)
    assert any(n in message for n in alternatives), f"the message does not name {names!r}: {message[-800:]}"
    assert _digest(watched) == before, "the earlier results were changed"


def test_empty_rklab_cache_is_the_default_not_the_current_folder(tmp_path):
    """An empty RKLAB_CACHE used to put the 98 MB demo model into the current folder."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "RKLAB_CACHE": "", "HOME": str(tmp_path / "home")}
    r = subprocess.run(RKLAB + ["models", "check", str(PROJECT_ROOT / "data" / "plans" / "demo.yaml"), "--lang", "en"],
                       capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    assert "Traceback" not in r.stderr
    assert str(tmp_path / "home" / ".cache" / "rklab" / "models") in r.stdout
    assert list(cwd.iterdir()) == []
