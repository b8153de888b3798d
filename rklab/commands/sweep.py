"""``rklab sweep PLAN``: run notebooks 01, 02/03 per plan entry, 04, and print the HTML path."""

from __future__ import annotations


def _sweep(args) -> int:
    # imported when the command runs: `rklab --help` should not load papermill and the measurement stack
    from rklab.orchestrate.sweep import format_summary, run_sweep

    result = run_sweep(
        args.plan,
        out=args.out,
        resume=args.resume,
        only=args.only,
        lang=args.lang,
        timeout_s=args.timeout,
        results_md=args.results_md,
        report=not args.no_report,
        progress=not args.no_progress,
        force=args.force,
        board_id=args.board_id,
        board=args.board,
    )
    print(format_summary(result))
    return result.exit_code


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="run a plan: 01 feasibility, 02/03 per entry (one kernel each), 04 report + HTML",
        description="Run every entry of a plan through papermill, record failures and go on, "
        "then write the report (HTML + results/benchmark_log.md). Exit status 1 if any entry failed.",
    )
    p.add_argument("plan", help="plan YAML, e.g. data/plans/demo.yaml or data/plans/rk3588-8gb.yaml")
    p.add_argument("--out", metavar="DIR", help="output folder (default: runs/<timestamp>/)")
    p.add_argument("--resume", metavar="DIR", help="continue the sweep in DIR: skip entries that are complete")
    p.add_argument("--only", metavar="NAMES", help="comma-separated entry names to run (default: all)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    p.add_argument("--timeout", type=float, metavar="S", help="per-entry time limit in seconds (default: the plan's timeout_s, else 1800)")
    p.add_argument("--results-md", metavar="PATH", help="where to write benchmark_log.md (default results/benchmark_log.md)")
    p.add_argument("--force", action="store_true",
                   help="run entries even when the pre-flight predicts they run out of memory "
                   "(sets force=True for every entry; the memory guard still stops a run at the floor)")
    p.add_argument("--board-id", metavar="NAME",
                   help="name of the board in every record (default: the host name; `rklab fleet run` gives the "
                   "inventory name); a resumed sweep keeps the name it started with")
    p.add_argument("--board", metavar="PROFILE",
                   help="board profile for predictions, overriding the plan's `board` (e.g. rk3588-16gb)")
    p.add_argument("--no-report", action="store_true", help="skip notebook 04 and the HTML export")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_sweep)
