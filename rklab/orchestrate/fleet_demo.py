"""``make fleet-demo`` (``rklab fleet demo``): the demo plan on two throwaway local boards.

Two sshd instances on 127.0.0.1 (:mod:`rklab.orchestrate.localboards`: own host keys, a generated
client key, each board in its own folder) stand in for two boards; the real fleet playbook syncs
the project to each, checks the plan, runs the sweep asynchronously and pulls the results back;
the merged report holds both boards, each labelled. The sshd processes are stopped (by pid) at
the end, whatever happened.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Callable

from rklab.measure.demo_model import fetch_demo
from rklab.orchestrate.fleet import FleetResult, run_fleet
from rklab.orchestrate.localboards import LocalBoards
from rklab.paths import data_dir, runs_dir

DEMO_POLL_S = 2.0  # local boards: looking at a sweep costs next to nothing


def run_fleet_demo(out: str | os.PathLike | None = None, *, lang: str = "zh", plan: str | os.PathLike | None = None,
                   echo: Callable[[str], None] | None = None) -> FleetResult:
    """Start two local boards, run ``plan`` (default the demo plan) on both, stop them; returns the fleet result."""
    echo = echo or (lambda s: print(s, flush=True))
    fetch_demo()  # the boards get the demo model from this machine's cache (hard links)
    out = Path(out).expanduser().absolute() if out else runs_dir() / f"fleet-demo-{_dt.datetime.now():%Y%m%d-%H%M%S}"
    plan = Path(plan) if plan else data_dir() / "plans" / "demo.yaml"
    with LocalBoards(out / "local-boards") as boards:
        echo("local boards: " + ", ".join(f"{b.name} [{b.profile}] sshd pid {b.pid} on 127.0.0.1:{b.port}, folder {b.folder}"
                                          for b in boards.boards.values()))
        inventory = boards.write_inventory(out / "inventory.yaml")
        result = run_fleet(inventory, plan, out=out / "fleet", lang=lang, poll_s=DEMO_POLL_S, echo=echo)
    echo("local boards stopped (sshd by pid)")
    return result
