"""`rklab models check PLAN`: files, runtimes, driver, memory and disk, each problem with its fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rklab.orchestrate.plancheck import FAIL, OK, WARN, check_plan, format_check_report, read_driver_version


def _plan(tmp_path: Path, entries: str) -> Path:
    p = tmp_path / "plan.yaml"
    p.write_text("plan: t\nentries:\n" + textwrap.indent(textwrap.dedent(entries), "  "))
    return p


def _fake_roots(tmp_path: Path, *, available_kb: int = 6_000_000, driver: str | None = "RKNPU driver: v0.9.8"):
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "meminfo").write_text(f"MemTotal: 8110608 kB\nMemFree: 100000 kB\nMemAvailable: {available_kb} kB\n")
    sys_root = tmp_path / "sys"
    if driver is not None:
        d = sys_root / "kernel" / "debug" / "rknpu"
        d.mkdir(parents=True)
        (d / "version").write_text(driver + "\n")
    else:
        sys_root.mkdir()
    return proc, sys_root


def _by_name(report, needle: str):
    items = [i for i in report.items if needle in i.name]
    assert items, [i.name for i in report.items]
    return items[0]


def test_files_placeholders_wrong_magic_and_truncation(tmp_path):
    good = tmp_path / "m.rkllm"
    with open(good, "wb") as fh:  # sparse 20 MB file with a non-text head: plausible .rkllm
        fh.write(b"\x00\x01RKLLM-ish\xff" * 8)
        fh.truncate(20 << 20)
    gguf_as_rkllm = tmp_path / "wrong.rkllm"
    gguf_as_rkllm.write_bytes(b"GGUF" + b"\x00" * (20 << 20))
    tiny = tmp_path / "tiny.gguf"
    tiny.write_bytes(b"GGUF" + b"\x00" * 100)
    plan = _plan(tmp_path, f"""\
        - {{name: good, kind: llm, model: Qwen3-0.6B, backend: rkllm, model_path: {good}}}
        - {{name: wrong, kind: llm, model: Qwen3-0.6B, backend: rkllm, model_path: {gguf_as_rkllm}}}
        - {{name: tiny, kind: llm, model: Qwen3-0.6B, backend: llamacpp, model_path: {tiny}, source: "get it from X"}}
        - {{name: todo, kind: llm, model: Qwen3-1.7B, backend: rkllm, model_path: FILL_ME-q.rkllm, source: "zoo Y"}}
        - {{name: gone, kind: llm, model: Qwen3-4B, backend: rkllm, model_path: {tmp_path / "absent.rkllm"}}}
    """)
    proc, sys_root = _fake_roots(tmp_path)
    rep = check_plan(plan, proc_root=proc, sys_root=sys_root, disk_path=tmp_path, min_disk_mb=1)
    assert _by_name(rep, "good").status == OK
    assert _by_name(rep, "wrong").status == FAIL and "looks like a gguf" in _by_name(rep, "wrong").detail
    tiny_item = _by_name(rep, "tiny")
    assert tiny_item.status == FAIL and "too small" in tiny_item.detail and "get it from X" in tiny_item.hint
    todo = _by_name(rep, "todo")
    assert todo.status == FAIL and "not filled in" in todo.detail and "zoo Y" in todo.hint
    assert _by_name(rep, "gone").status == FAIL and "does not exist" in _by_name(rep, "gone").detail
    assert not rep.ok
    text = format_check_report(rep, "en")
    assert "[FAIL] todo: model_path" in text and "to fix: download it (zoo Y)" in text
    assert "problem(s): fix them before `rklab sweep" in text


def test_runtime_library_missing_and_driver_version(tmp_path, monkeypatch):
    monkeypatch.delenv("RKLLM_LIB", raising=False)
    monkeypatch.delenv("RKLLM_VERSION", raising=False)
    plan = _plan(tmp_path, "- {name: a, kind: llm, model: Qwen3-0.6B, backend: rkllm, model_path: FILL_ME.rkllm}\n")
    proc, sys_root = _fake_roots(tmp_path, driver="RKNPU driver: v0.9.5")
    rep = check_plan(plan, proc_root=proc, sys_root=sys_root, library=str(tmp_path / "no" / "librkllmrt.so"),
                     disk_path=tmp_path, min_disk_mb=1)
    lib = _by_name(rep, "RKLLM runtime")
    assert lib.status == FAIL and "does not exist" in lib.detail and "rknn-llm" in lib.detail
    drv = _by_name(rep, "NPU driver")
    assert drv.status == FAIL and "0.9.5" in drv.detail
    assert read_driver_version(sys_root) == "0.9.5"


def test_runtime_layout_and_release_reported(tmp_path, monkeypatch, fake_rkllm_libs):
    monkeypatch.delenv("RKLLM_VERSION", raising=False)
    plan = _plan(tmp_path, "- {name: a, kind: llm, model: Qwen3-0.6B, backend: rkllm, model_path: FILL_ME.rkllm}\n")
    proc, sys_root = _fake_roots(tmp_path)
    for abi, lib in fake_rkllm_libs.items():
        rep = check_plan(plan, proc_root=proc, sys_root=sys_root, library=str(lib), disk_path=tmp_path, min_disk_mb=1)
        item = _by_name(rep, "RKLLM runtime")
        assert item.status == OK and f"rkllm.h {abi} (layout fingerprint" in item.detail, item.detail
    monkeypatch.setenv("RKLLM_VERSION", "1.1.0")
    rep = check_plan(plan, proc_root=proc, sys_root=sys_root, library=str(fake_rkllm_libs["1.3.0"]),
                     disk_path=tmp_path, min_disk_mb=1)
    item = _by_name(rep, "RKLLM runtime")
    assert item.status == FAIL and "RKLLM_VERSION=1.1.0" in item.detail, item.detail


@pytest.mark.parametrize("version, status", [("0.9.5", FAIL), ("0.9.6", FAIL), ("0.9.7", WARN), ("0.9.8", OK),
                                             ("0.9.9", OK)])
def test_driver_minimum_097_recommended_098(tmp_path, version, status):
    plan = _plan(tmp_path, "- {name: a, kind: llm, model: Qwen3-0.6B, backend: rkllm, model_path: FILL_ME.rkllm}\n")
    proc, sys_root = _fake_roots(tmp_path, driver=f"RKNPU driver: v{version}")
    rep = check_plan(plan, proc_root=proc, sys_root=sys_root, library=str(tmp_path / "none.so"), disk_path=tmp_path,
                     min_disk_mb=1)
    drv = _by_name(rep, "NPU driver")
    assert drv.status == status and version in drv.detail
    if status == FAIL:
        assert "older than 0.9.7" in drv.detail and "0.9.8" in drv.hint
    if status == WARN:
        assert "0.9.8 is recommended" in drv.detail


def test_memory_warning_names_entries_that_will_not_fit_and_disk(tmp_path):
    plan = _plan(tmp_path, """\
        - {name: small, kind: llm, model: Qwen3-0.6B, backend: rkllm, model_path: FILL_ME.rkllm}
        - {name: big, kind: llm, model: Qwen3-4B, backend: rkllm, model_path: FILL_ME2.rkllm}
    """)
    proc, sys_root = _fake_roots(tmp_path, available_kb=2_000_000)  # ~1953 MB available
    rep = check_plan(plan, proc_root=proc, sys_root=sys_root, disk_path=tmp_path, min_disk_mb=10**9)
    mem = _by_name(rep, "free memory")
    assert mem.status == WARN and "big (~" in mem.detail and "small" not in mem.detail
    assert "1,953 MB" in mem.detail
    disk = _by_name(rep, "free disk")
    assert disk.status == FAIL and "--out" in disk.hint


def test_demo_plan_is_ready_here(tmp_path, demo_gguf):
    from rklab.paths import data_dir

    proc, sys_root = _fake_roots(tmp_path, driver=None)
    rep = check_plan(data_dir() / "plans" / "demo.yaml", proc_root=proc, sys_root=sys_root, disk_path=tmp_path,
                     min_disk_mb=1)
    assert rep.ok, format_check_report(rep)
    assert not [i for i in rep.items if i.category == "driver"]  # no NPU entry: no driver check
    assert "一切就绪" in format_check_report(rep, "zh")


def test_cli_exit_codes(tmp_path, capsys, demo_gguf):
    from rklab.cli import main
    from rklab.paths import data_dir

    assert main(["models", "check", str(data_dir() / "plans" / "demo.yaml")]) == 0
    plan = _plan(tmp_path, "- {name: a, kind: llm, model: Qwen3-0.6B, backend: llamacpp, model_path: FILL_ME.gguf}\n")
    assert main(["models", "check", str(plan)]) == 1
    assert "[FAIL] a: model_path" in capsys.readouterr().out
