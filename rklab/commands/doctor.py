"""``rklab doctor``: what decides whether measurements on this machine match Rockchip's, with fixes."""

from __future__ import annotations

import json


def _run(args) -> int:
    # imported when the command runs: `rklab --help` should not load the board checks
    from rklab.measure.doctor import format_doctor, run_doctor

    report = run_doctor(library=args.library)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_doctor(report, lang=args.lang))
    return 0 if report.ok else 1


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "doctor",
        help="check the board: RKLLM library and its ABI, NPU driver, clocks, DDR devfreq, CMA, free memory",
        description="Report what decides whether measurements here match Rockchip's official conditions: the "
        "RKLLM library (found, architecture, which rkllm.h release its layout matches), the RKNPU driver "
        "version, CPU/NPU/DDR governors and clocks (pinned as Rockchip's fix_freq script pins them?), "
        "whether DDR devfreq exists at all, CMA and free memory. Every problem comes with the command that "
        "fixes it. Run it with sudo on the board (debugfs needs root). Exit 1 when a check fails. "
        "On a PC it says which checks do not apply.",
    )
    p.add_argument("--library", help="path of librkllmrt.so (default: RKLLM_LIB, /usr/lib, the linker path)")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.add_argument("--lang", choices=["zh", "en"], default="en")
    p.set_defaults(func=_run)
