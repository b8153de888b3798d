"""The ``rklab`` console command.

Subcommands live in ``rklab/commands/<name>.py``; each module defines
``register(subparsers)`` and sets ``func`` on its parser. The functions are thin
shells over library calls. Errors derived from :class:`RklabError` print one line
and exit with their code (2 for bad input); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import pkgutil
import sys
import traceback

import rklab.commands as commands_pkg
from rklab import __version__
from rklab.errors import RklabError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rklab",
        description="Which LLMs/VLMs fit on an RK3588 board and how fast they run.",
    )
    parser.add_argument("--version", action="version", version=f"rklab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"rklab.commands.{info.name}")
        module.register(subparsers)
    return parser



def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except RklabError as exc:
        if debug:
            traceback.print_exc()
        print(f"rklab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # a write outside rklab.records (a notebook, a manifest) hit a full disk: one line, not a traceback
        if debug:
            traceback.print_exc()
        print(f"rklab: error: the disk is full: cannot write {exc.filename or 'a result file'} ({exc.strerror}); "
              "free some space, then run again (a sweep continues with --resume)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rklab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
