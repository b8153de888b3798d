"""``rklab fleet run INVENTORY PLAN`` and ``rklab fleet report DIR``: many boards, one report."""

from __future__ import annotations

import sys
import time


def _fleet():
    # imported when a fleet command runs: `rklab --help` should not load pandas, papermill and the playbook runner
    from rklab.orchestrate import fleet, fleet_demo

    return fleet, fleet_demo


def _finish(result) -> int:
    summary, errors = _fleet()[0].format_fleet_summary(result)
    print(summary, flush=True)
    for line in errors:
        print(f"rklab: error: {line}", file=sys.stderr)
    return result.exit_code


def _run(args) -> int:
    return _finish(_fleet()[0].run_fleet(args.inventory, args.plan, out=args.out, limit=args.limit, lang=args.lang,
                                         poll_s=args.poll, timeout_s=args.timeout, report=not args.no_report))


def _demo(args) -> int:
    t0 = time.monotonic()
    rc = _finish(_fleet()[1].run_fleet_demo(args.out, lang=args.lang))
    print(f"fleet demo wall time: {time.monotonic() - t0:.0f} s")
    return rc


def _report(args) -> int:
    print(f"merged HTML report: {_fleet()[0].fleet_report(args.dir, lang=args.lang, html_path=args.html)}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("fleet", help="run a plan on many boards through Ansible; merge their results",
                              description="Run one plan on every board of an Ansible inventory (in parallel, "
                              "each board at its own pace) and merge the results into one report. See docs/fleet.md.")
    sub = p.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)
    r = sub.add_parser("run", help="sync, set up, check and sweep every board; pull the results; merge them",
                       description="Runs fleet/playbook.yaml on the inventory's boards: sync the project, set it up, "
                       "`rklab models check`, the sweep as an asynchronous task, pull the results back. A board that "
                       "fails or cannot be reached is recorded and the others go on. Running the same command again "
                       "continues the fleet run: each board's sweep resumes. Exit status: 0 all boards measured their "
                       "plan, 1 a sweep, an entry or the report failed, 2 a board could not be reached or set up.")
    r.add_argument("inventory", help="Ansible inventory of the boards (see fleet/inventory.example.yaml)")
    r.add_argument("plan", help="plan YAML, e.g. data/plans/demo.yaml (a host's rklab_plan overrides it)")
    r.add_argument("--out", metavar="DIR", help="fleet folder (default runs/fleet-<plan>-<inventory>/; "
                   "an existing fleet folder is continued)")
    r.add_argument("--limit", metavar="HOSTS", help="only these hosts or groups (Ansible pattern, e.g. board-a,board-b)")
    r.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    r.add_argument("--poll", type=float, default=30.0, metavar="S",
                   help="seconds between two looks at a running sweep (default 30)")
    r.add_argument("--timeout", type=float, default=2 * 86400.0, metavar="S",
                   help="longest a board's sweep may run before Ansible stops it (default 2 days)")
    r.add_argument("--no-report", action="store_true", help="do not merge the results into a report")
    r.set_defaults(func=_run)
    d = sub.add_parser("demo", help="the demo plan on two throwaway local boards (sshd on 127.0.0.1); `make fleet-demo`",
                       description="Starts two sshd instances on 127.0.0.1 as two boards (own host keys, a generated "
                       "client key, each board in its own folder), runs data/plans/demo.yaml on both through the fleet "
                       "playbook, prints the merged report's path and stops the sshd processes it started.")
    d.add_argument("--out", metavar="DIR", help="demo folder (default runs/fleet-demo-<timestamp>/)")
    d.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    d.set_defaults(func=_demo)
    m = sub.add_parser("report", help="merge the pulled results of a fleet folder into one HTML report")
    m.add_argument("dir", help="folder made by `rklab fleet run`")
    m.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    m.add_argument("--html", metavar="PATH", help="HTML file to write (default DIR/report.html)")
    m.set_defaults(func=_report)
