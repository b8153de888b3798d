"""``rklab models fetch-demo`` and ``rklab models check PLAN``."""

from __future__ import annotations

from rklab.measure.demo_model import fetch_demo


def _fetch_demo(args) -> int:
    path = fetch_demo(force=args.force)
    print(path)
    return 0


def _check(args) -> int:
    # the plan check (the engine, the runtimes) is imported when the command runs: start-up cost
    from rklab.orchestrate.plancheck import check_plan, format_check_report

    report = check_plan(args.plan)
    print(format_check_report(report, lang=args.lang))
    return 0 if report.ok else 1


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="fetch the demo model; check a plan's model files")
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    f = sub.add_parser("fetch-demo", help="download SmolLM2-135M-Instruct Q4_1 GGUF into the cache")
    f.add_argument("--force", action="store_true", help="download again even if cached")
    f.set_defaults(func=_fetch_demo)
    c = sub.add_parser("check", help="check a plan's files, runtime, driver, memory and disk")
    c.add_argument("plan", help="plan YAML, e.g. data/plans/rk3588-8gb.yaml")
    c.add_argument("--lang", choices=["zh", "en"], default="en")
    c.set_defaults(func=_check)
