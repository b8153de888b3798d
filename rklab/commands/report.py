"""``rklab report RUN_DIR``: execute notebook 04 over a sweep's records and export the HTML."""

from __future__ import annotations

import sys


def _report(args) -> int:
    # imported when the command runs: `rklab --help` should not load papermill and pandas
    from rklab.orchestrate.publish import build_html_report, default_results_md
    from rklab.report.load import load_sweep_records, skipped_lines  # as above: start-up cost

    html = build_html_report(
        args.run_dir,
        html_path=args.html,
        lang=args.lang,
        board=args.board,
        results_md=args.results_md or default_results_md(),
    )
    skipped = skipped_lines(load_sweep_records([args.run_dir]))
    for line in skipped:  # also listed in the report's warnings
        print(f"rklab: skipped {line}", file=sys.stderr)
    if skipped:
        print(f"rklab: {len(skipped)} line(s) of the records are not in the report (listed above and in its warnings)",
              file=sys.stderr)
    print(f"HTML report: {html}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="run notebook 04 on a sweep folder and export a self-contained HTML report",
        description="Executes notebooks/04_report.ipynb with papermill over RUN_DIR's records, writes "
        "benchmark_log.md and exports the notebook to one offline HTML file (code hidden).",
    )
    p.add_argument("run_dir", help="folder made by `rklab sweep` (or any folder holding records.jsonl)")
    p.add_argument("--html", metavar="PATH", help="HTML file to write (default RUN_DIR/report.html)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    p.add_argument("--board", default="rk3588-8gb", help="board profile for predictions (default rk3588-8gb)")
    p.add_argument("--results-md", metavar="PATH", help="where to write benchmark_log.md (default results/benchmark_log.md)")
    p.set_defaults(func=_report)
