"""``rklab lab``: JupyterLab in the project with token or password auth always on."""

from __future__ import annotations

import argparse
import getpass
import os

from rklab.errors import RklabError


def _read_password() -> str:
    env_pw = os.environ.get("RKLAB_LAB_PASSWORD")
    if env_pw is not None:
        return env_pw
    try:
        first = getpass.getpass("JupyterLab password: ")
        second = getpass.getpass("again: ")
    except (EOFError, OSError) as exc:
        raise RklabError("--password needs a terminal to type the password (or set RKLAB_LAB_PASSWORD)") from exc
    if first != second:
        raise RklabError("the two passwords differ; run `rklab lab --password` again")
    return first


def _run(args) -> int:
    # imported when the command runs: `rklab --help` should not load the lab's dependencies
    from rklab.orchestrate.lab import build_lab_command, format_command, print_banner, run_lab

    extra = list(args.jupyter_args or [])
    password = _read_password() if args.password else None
    cmd = build_lab_command(ip=args.ip, port=args.port, certfile=args.certfile, keyfile=args.keyfile,
                            password=password, extra_args=extra)
    if args.print_command:
        print_banner(cmd)
        print(format_command(cmd))
        return 0
    return run_lab(cmd)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "lab",
        help="start JupyterLab in the project (token or password auth always on)",
        description="Start JupyterLab in the project folder with authentication always on. "
        "Default address 127.0.0.1: reach it from a laptop with "
        "`ssh -N -L 8888:127.0.0.1:8888 user@board`. Extra Jupyter options go after `--`.",
    )
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 = all, warns without TLS)")
    p.add_argument("--port", type=int, default=8888, help="TCP port (default 8888)")
    p.add_argument("--certfile", help="TLS certificate (PEM); needs --keyfile")
    p.add_argument("--keyfile", help="TLS private key (PEM); needs --certfile")
    p.add_argument("--password", action="store_true",
                   help="password login instead of a token (asks for it; or env RKLAB_LAB_PASSWORD)")
    p.add_argument("--print-command", action="store_true",
                   help="print the URL and the JupyterLab command line, do not start it")
    p.add_argument("jupyter_args", nargs=argparse.REMAINDER,
                   help="extra JupyterLab options after `--` (options that disable auth are refused)")
    p.set_defaults(func=_run)

    # Jupyter options given without `--` (e.g. --IdentityProvider.token='') reach
    # check_jupyter_args too, so a refusal is one clear line instead of an argparse usage dump.
    parse_known = p.parse_known_args

    def parse_known_args(args=None, namespace=None):
        ns, rest = parse_known(args, namespace)
        ns.jupyter_args = list(getattr(ns, "jupyter_args", None) or []) + list(rest)
        return ns, []

    p.parse_known_args = parse_known_args
