"""What does Ansible cost a board? Prints figures for `rklab fleet` (not a test: run it by hand).

On one throwaway local board (rklab.orchestrate.localboards: sshd on 127.0.0.1):

1. **Per poll, on the board**: while a sweep runs, the playbook looks at it every ``--poll``
   seconds with ``raw: cat <job file>`` (no Python on the board); ``async_status`` (a Python
   module) is priced beside it. A dummy async job (``sleep``) is polled ``--polls`` times back to
   back each way; the board-side CPU time is what the sshd session's children (shell, ``cat``, the
   module's Python) used, read from the session processes' ``children_user/system`` times (psutil)
   before and after. Also the wall time per poll as the controller sees it.
2. **Per board, end to end** (``--plan``, default data/plans/smoke.yaml): one ``rklab fleet run``
   on the board (data/plans/smoke.yaml: one SmolLM2 entry); Ansible's overhead = the board's time in the playbook minus the sweep's own run
   time (``boards.jsonl``: ``seconds - sweep_seconds``), and its share of the whole.

    .venv/bin/python benchmarks/fleet_overhead.py [--polls 20] [--poll-s 30] [--plan PLAN] [--skip-run]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import ansible_runner
import psutil

from rklab.orchestrate.fleet import ansible_environment, board_records, run_fleet
from rklab.orchestrate.localboards import LocalBoards
from rklab.paths import data_dir

POLL_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: a job to look at
      ansible.builtin.command: sleep 600
      async: 900
      poll: 0
      register: job
    - name: first look (opens the connection)
      ansible.builtin.async_status: {jid: "{{ job.ansible_job_id }}"}
    - name: mark raw
      ansible.builtin.command: "true"
      changed_when: false
    - name: raw polls
      ansible.builtin.raw: "cat {{ job.results_file | quote }}"
      register: st
      until: false
      retries: "{{ polls | int - 1 }}"
      delay: 0
      ignore_errors: true
    - name: mark async_status
      ansible.builtin.command: "true"
      changed_when: false
    - name: async_status polls
      ansible.builtin.async_status: {jid: "{{ job.ansible_job_id }}"}
      register: st
      until: false
      retries: "{{ polls | int - 1 }}"
      delay: 0
      ignore_errors: true
    - name: done
      ansible.builtin.async_status: {jid: "{{ job.ansible_job_id }}", mode: cleanup}
"""


def _session_cpu(sshd_pid: int) -> float:
    """CPU seconds the board's SSH sessions spent in finished children (modules, shells)."""
    total = 0.0
    for p in psutil.Process(sshd_pid).children():
        t = p.cpu_times()
        total += t.children_user + t.children_system
    return total


def poll_cost(root: Path, polls: int) -> dict:
    with LocalBoards(root / "boards", boards=(("bench-board", "rk3588-8gb"),)) as boards:
        board = boards.boards["bench-board"]
        inventory = boards.write_inventory(root / "inventory.yaml")
        (root / "poll.yaml").write_text(POLL_PLAYBOOK)
        (root / "runner").mkdir(exist_ok=True)
        marks: dict[str, tuple[float, float]] = {}

        def on_event(ev: dict) -> bool:
            task = str((ev.get("event_data") or {}).get("task"))
            if ev.get("event") == "runner_on_ok" and task.startswith("mark "):  # before the polls of a kind
                marks[task[5:] + " start"] = (_session_cpu(board.pid), time.monotonic())
            if ev.get("event") in ("runner_on_ok", "runner_on_failed") and task.endswith(" polls"):
                marks[task[:-6] + " end"] = (_session_cpu(board.pid), time.monotonic())
            return True

        r = ansible_runner.run(private_data_dir=str(root / "runner"), playbook=str(root / "poll.yaml"),
                               inventory=str(inventory), extravars={"polls": polls}, quiet=True,
                               event_handler=on_event, envvars=ansible_environment())
    if r.status != "successful" or len(marks) < 4:
        raise SystemExit(f"poll benchmark failed ({r.status}); see {root / 'runner'}")
    out = {}
    for kind in ("raw", "async_status"):
        (c0, t0), (c1, t1) = marks[f"{kind} start"], marks[f"{kind} end"]
        out[kind] = {"board_cpu_ms": (c1 - c0) / polls * 1000, "wall_ms": (t1 - t0) / polls * 1000}
    return out


def fleet_cost(root: Path, plan: Path | None) -> list[dict]:
    plan = plan or data_dir() / "plans" / "smoke.yaml"
    with LocalBoards(root / "boards", boards=(("bench-board", "rk3588-8gb"),)) as boards:
        inventory = boards.write_inventory(root / "inventory.yaml")
        run_fleet(inventory, plan, out=root / "fleet", lang="en", poll_s=2, report=False, echo=lambda s: None)
    return board_records(root / "fleet")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--polls", type=int, default=20)
    ap.add_argument("--poll-s", type=float, default=30.0, help="the fleet's poll interval to price (default 30)")
    ap.add_argument("--plan", type=Path, help="plan for the end-to-end run (default: one tiny SmolLM2 entry)")
    ap.add_argument("--skip-run", action="store_true", help="only the per-poll cost")
    args = ap.parse_args()
    print(f"host: {platform.node()} {platform.machine()}, {psutil.cpu_count()} CPUs, "
          f"load {', '.join(f'{x:.1f}' for x in psutil.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="rklab-fleet-bench-") as tmp:
        for kind, pc in poll_cost(Path(tmp) / "poll", args.polls).items():
            share = pc["board_cpu_ms"] / (args.poll_s * 1000) * 100
            print(f"{kind} poll: {pc['board_cpu_ms']:.1f} ms CPU on the board and {pc['wall_ms']:.0f} ms wall "
                  f"per poll ({args.polls} polls); every {args.poll_s:g} s that is {share:.3f} % of one core")
        if not args.skip_run:
            for r in fleet_cost(Path(tmp) / "run", args.plan):
                print(f"fleet run on one board: {r['seconds']:.0f} s in the playbook = sweep {r['sweep_seconds']:.0f} s "
                      f"+ Ansible {r['ansible_seconds']:.0f} s ({r['ansible_seconds'] / r['seconds'] * 100:.0f} % of "
                      f"the board's time; status {r['status']})")
                print(json.dumps({k: r[k] for k in ("seconds", "sweep_seconds", "ansible_seconds", "entries")}))


if __name__ == "__main__":
    main()
