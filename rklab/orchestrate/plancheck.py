"""``rklab models check PLAN``: is everything in place before a long sweep starts?

Checks, for a plan: every model file (exists, plausible size, right magic — via
:func:`rklab.measure.modelfiles.check_model_file`; unfilled ``FILL_ME`` names), the RKLLM runtime
library and the rkllm.h release its layout matches (when an entry uses the NPU; the library is
opened and ``rkllm_createDefaultParam`` called, no model is loaded), the RKNN Lite runtime (when an entry
uses an .rknn encoder), llama.cpp (CPU entries), the NPU driver version (below 0.9.7 the RKLLM
runtime refuses to start; 0.9.8 recommended), free memory against
the engine's predictions, and free disk for the results. Each problem says where to get the
missing piece. No model is loaded, so the check is quick and safe on an 8 GB board.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

from rklab.errors import ModelFileError, RklabError
from rklab.i18n import text
from rklab.measure.demo_model import demo_model_path
from rklab.measure.guard import mem_available_mb
from rklab.measure.hostinfo import DRIVER_FIX, driver_status, npu_driver_version
from rklab.measure.modelfiles import check_model_file, require_identity
from rklab.measure.runtimes import rkllm_loader
from rklab.orchestrate.plans import DEMO, Plan, is_placeholder, load_plan
from rklab.paths import runs_dir
from rklab.records import free_disk_mb
from rklab.predict.feasibility import estimate

OK, WARN, FAIL = "ok", "warn", "fail"
MIN_DISK_MB = 500.0  # records + executed notebooks + the HTML report of a full sweep stay well below this


@dataclass
class CheckItem:
    category: str  # file | runtime | driver | memory | disk
    name: str
    status: str  # ok | warn | fail
    detail: str
    hint: str = ""  # where to get it / what to do


@dataclass
class CheckReport:
    plan: Plan
    items: list[CheckItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is missing (warnings do not block a sweep)."""
        return not any(i.status == FAIL for i in self.items)

    @property
    def failures(self) -> list[CheckItem]:
        return [i for i in self.items if i.status == FAIL]

    @property
    def warnings(self) -> list[CheckItem]:
        return [i for i in self.items if i.status == WARN]

    def add(self, *args, **kw) -> CheckItem:
        item = CheckItem(*args, **kw)
        self.items.append(item)
        return item


# --------------------------------------------------------------------------- individual checks
def _check_files(report: CheckReport) -> None:
    for entry in report.plan.entries:
        for key, value, fmt in entry.files():
            name = f"{entry.name}: {key}"
            source = entry.settings.get("encoder_source" if key == "encoder_path" else "source", "")
            if is_placeholder(value):
                report.add("file", name, FAIL, f"file name not filled in ({value})",
                           f"download it ({source}) and put its file name in {report.plan.path}" if source
                           else f"put the file name in {report.plan.path}")
                continue
            if value == DEMO:
                _check_demo(report, name, fmt, entry)
                continue
            try:
                p = check_model_file(value, fmt, what=key)
                ident = _identity(entry, key, p, fmt)
                report.add("file", name, OK, f"{p} ({p.stat().st_size / 1e6:,.0f} MB, {fmt}{ident})")
            except ModelFileError as exc:
                report.add("file", name, FAIL, str(exc), f"get it from: {source}" if source else "")


def _identity(entry, key: str, path: Path, fmt: str) -> str:
    """Raise ModelMismatch when the file is not the entry's model (unless the entry sets force_model);
    else a short note for the report line."""
    ident = require_identity(path, fmt, entry.model, entry.settings.get("dtype"), what=key, how="plan",
                             force=bool(entry.settings.get("force_model")),
                             part="vision" if key == "encoder_path" else "llm")
    if ident.get("forced"):
        return f"; NOT {entry.model} ({ident['reason']}), measured anyway: force_model"
    return f"; {ident['status']} {entry.model}" if ident["status"] == "match" else f"; identity {ident['status']}"


def _check_demo(report: CheckReport, name: str, fmt: str, entry) -> None:
    if fmt == "gguf":
        try:
            p = demo_model_path()
        except RklabError as exc:
            report.add("file", name, FAIL, str(exc), "run `rklab models fetch-demo`")
            return
        try:
            report.add("file", name, OK, f"demo model {p}{_identity(entry, 'the demo model', p, fmt)}")
        except ModelFileError as exc:
            report.add("file", name, FAIL, str(exc), "name the demo model SmolLM2-135M-Instruct in the plan entry")
    else:
        report.add("file", name, OK, "synthetic demo encoder (ONNX, random weights; built on first use)")


def _check_rkllm(report: CheckReport, library: str | None) -> None:
    name = "RKLLM runtime (librkllmrt.so)"
    try:
        rt = rkllm_loader.load_library(library)  # dlopen + rkllm_createDefaultParam only: no model is loaded
    except RklabError as exc:
        report.add("runtime", name, FAIL, str(exc))  # the message says what to do
        return
    report.add("runtime", name, OK, f"{rt.path}, rkllm.h {rt.release} ({rt.release_source}: {rt.fingerprint.how})")


def _check_rknn(report: CheckReport) -> None:
    if importlib.util.find_spec("rknnlite") is None:
        report.add("runtime", "RKNN Lite (rknn-toolkit-lite2)", FAIL,
                   "Python package rknnlite is not installed (needed for .rknn vision encoders)",
                   "on the board: pip install rknn-toolkit-lite2 (aarch64 wheels on PyPI for Python 3.10-3.12) "
                   "and put Rockchip's librknnrt.so in /usr/lib")
    else:
        report.add("runtime", "RKNN Lite (rknn-toolkit-lite2)", OK, "rknnlite importable")


def _check_llamacpp(report: CheckReport) -> None:
    try:
        from importlib.metadata import version

        v = version("llama_cpp_python")
        report.add("runtime", "llama.cpp (llama-cpp-python)", OK, f"version {v}")
    except Exception:  # noqa: BLE001 - any metadata problem means: not installed properly
        report.add("runtime", "llama.cpp (llama-cpp-python)", FAIL, "llama-cpp-python is not installed",
                   "run `make setup`")


def read_driver_version(sys_root: str | os.PathLike = "/sys") -> str | None:
    """The rknpu driver version from debugfs, None if unreadable (see :func:`rklab.measure.hostinfo.npu_driver_version`)."""
    return npu_driver_version(sys_root)


def _check_driver(report: CheckReport, sys_root: str | os.PathLike) -> None:
    ver = read_driver_version(sys_root)
    name = "NPU driver (rknpu)"
    if ver is None:
        report.add("driver", name, WARN, f"{Path(sys_root) / 'kernel/debug/rknpu/version'} is not readable",
                   "run the check with sudo (debugfs needs root), or check `dmesg | grep -i rknpu`")
        return
    status, detail = driver_status(ver)
    report.add("driver", name, {"fail": FAIL, "warn": WARN}.get(status, OK), detail,
               DRIVER_FIX if status != "ok" else "")


def _check_memory(report: CheckReport, proc_root: str | os.PathLike) -> None:
    try:
        avail = mem_available_mb(proc_root)
    except OSError:
        report.add("memory", "free memory", WARN, "/proc/meminfo not readable")
        return
    too_big = []
    for entry in report.plan.entries:
        if entry.backend != "rkllm":
            continue
        pred = _predicted_mb(entry, report.plan.board)
        floor = float(entry.settings.get("mem_floor_mb", 300))
        if pred is not None and pred + floor > avail:
            too_big.append(f"{entry.name} (~{pred:,.0f} MB predicted)")
    if too_big:
        report.add("memory", "free memory", WARN,
                   f"MemAvailable {avail:,.0f} MB; predicted not to fit now: {', '.join(too_big)} "
                   "(these entries will be skipped as skipped_predicted_oom unless force: true)",
                   "close other programs (desktop, browser) before the sweep")
    else:
        report.add("memory", "free memory", OK, f"MemAvailable {avail:,.0f} MB")


def _predicted_mb(entry, board: str) -> float | None:
    try:
        est = estimate(entry.model, dtype=entry.settings.get("dtype", "w8a8"), board=board,
                       max_context=int(entry.settings.get("max_context", 4096)), with_vision=entry.kind == "vlm")
        return float(est.memory_mb)
    except (RklabError, ImportError, TypeError, ValueError):
        return None


def _check_disk(report: CheckReport, disk_path: str | os.PathLike | None, min_mb: float) -> None:
    p, free = free_disk_mb(disk_path or runs_dir())
    if free < min_mb:
        report.add("disk", f"free disk at {p}", FAIL, f"{free:,.0f} MB free, a sweep needs about {min_mb:,.0f} MB",
                   "free some space or give `rklab sweep --out` a folder on a larger disk")
    else:
        report.add("disk", f"free disk at {p}", OK, f"{free:,.0f} MB free")


# --------------------------------------------------------------------------- the check
def check_plan(
    path: str | os.PathLike,
    *,
    proc_root: str | os.PathLike = "/proc",
    sys_root: str | os.PathLike = "/sys",
    library: str | None = None,
    disk_path: str | os.PathLike | None = None,
    min_disk_mb: float = MIN_DISK_MB,
) -> CheckReport:
    """Check everything a sweep over ``path`` needs; see :class:`CheckReport` (``.ok``)."""
    plan = load_plan(path)
    report = CheckReport(plan=plan)
    _check_files(report)
    backends = {e.backend for e in plan.entries}
    vision = {e.settings.get("vision_backend") for e in plan.entries if e.kind == "vlm"}
    if "rkllm" in backends:
        _check_rkllm(report, library)
    if "rknn" in vision:
        _check_rknn(report)
    if "llamacpp" in backends:
        _check_llamacpp(report)
    if "rkllm" in backends or "rknn" in vision:
        _check_driver(report, sys_root)
    _check_memory(report, proc_root)
    _check_disk(report, disk_path, min_disk_mb)
    return report


def format_check_report(report: CheckReport, lang: str = "en") -> str:
    """Human-readable check result, grouped by category; problems carry where to get the piece."""
    w = lambda key, **kw: text(f"plancheck.{key}", lang, **kw)  # noqa: E731
    status_word = {OK: w("ok"), WARN: w("warn"), FAIL: w("fail")}
    lines = [f"{w('title')} {report.plan.path} ({report.plan.name}, {len(report.plan.entries)} entries)"]
    for cat in ("file", "runtime", "driver", "memory", "disk"):
        items = [i for i in report.items if i.category == cat]
        if not items:
            continue
        lines.append(f"{w('cat.' + cat)}:")
        for i in items:
            lines.append(f"  [{status_word[i.status]}] {i.name}: {i.detail}")
            if i.hint and i.status != OK:
                lines.append(f"      {w('fix')}: {i.hint}")
    if report.plan.excluded:
        lines.append(w("excluded") + ", ".join(e["model"] for e in report.plan.excluded))
    n = len(report.failures)
    lines.append(w("good", plan=report.plan.path) if n == 0 else w("bad", n=n, plan=report.plan.path))
    return "\n".join(lines)
