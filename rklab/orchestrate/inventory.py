"""Fleet inventories: ordinary Ansible inventories whose hosts are rklab boards.

rklab reads an inventory the way Ansible does (``ansible-inventory --list``: YAML or INI, groups,
group and host variables), after checking YAML syntax itself so that a typo gives one line with
its line number. Every host is a board; its inventory name is the board's ``board_id`` in every
record. Host variables rklab uses (``fleet/inventory.example.yaml``):

=================  ===============================================================================
``rklab_board``    board profile, a file of ``data/boards/`` (required), e.g. ``rk3588-8gb``
``rklab_models_dir``  folder of the model files on the board (``RKLAB_MODELS_DIR``)
``rklab_plan``     plan for this board instead of the command's PLAN (a file on the control
                   machine; relative to the inventory's folder)
``rklab_home``     folder on the board for the project copy and the runs (default ``~/rklab-fleet``)
``rklab_python``   Python of an environment that already has rklab's dependencies (e.g. the conda
                   env of environment.yml); without it the board runs ``make setup`` (a venv)
``rklab_env``      extra environment variables for rklab on the board
=================  ===============================================================================
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rklab.errors import RklabError
from rklab.predict.boards import list_boards, load_board

PROFILE_VAR = "rklab_board"
PLAN_VAR = "rklab_plan"
EXAMPLE = "fleet/inventory.example.yaml"


@dataclass(frozen=True)
class FleetBoard:
    """One host of the inventory, as rklab needs it (the rest stays Ansible's business)."""

    board_id: str  # the inventory name
    profile: str
    address: str
    port: int | None = None
    user: str | None = None
    models_dir: str | None = None
    plan: Path | None = None  # override of the command's plan
    hostvars: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def where(self) -> str:
        """``user@address:port`` for messages."""
        s = f"{self.user}@{self.address}" if self.user else self.address
        return f"{s}:{self.port}" if self.port else s


def ansible_command(name: str) -> str:
    """Path of an Ansible program of this environment (``ansible-playbook``, ``ansible-inventory``)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise RklabError(f"{name} not found: Ansible is not installed in this environment; run `make setup` "
                         "(it installs ansible-core from the package index)")
    return found


def _check_yaml(path: Path) -> None:
    """One line with the line number for a YAML syntax error (Ansible would print pages of warnings)."""
    if path.suffix not in (".yaml", ".yml"):
        return  # an INI inventory: Ansible's parser judges it
    try:
        yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RklabError(f"inventory {where}: not valid YAML ({problem}); fix the syntax "
                         f"(see {EXAMPLE})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RklabError(f"inventory {path} cannot be read ({exc}); give an Ansible inventory file") from None


def _first_warning(stderr: str) -> str:
    for line in stderr.splitlines():
        m = re.match(r"\s*\[WARNING\]:\s*(.+)", line)
        if m:
            return " ".join(m.group(1).split())[:300]
    return ""


def _hosts_in_order(data: dict) -> list[str]:
    """Host names of ``ansible-inventory --list`` output in inventory order (groups depth first)."""
    seen: list[str] = []
    visited: set[str] = set()

    def walk(group: str) -> None:
        if group in visited:
            return
        visited.add(group)
        node = data.get(group) or {}
        for h in node.get("hosts", []):
            if h not in seen:
                seen.append(h)
        for child in node.get("children", []):
            walk(child)

    walk("all")
    return seen


def read_inventory(path: str | os.PathLike, limit: str | None = None) -> dict[str, dict]:
    """``{host: hostvars}`` of an inventory as Ansible reads it, limited to ``limit`` (Ansible pattern)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise RklabError(f"inventory {p} does not exist; copy {EXAMPLE} and fill in your boards")
    _check_yaml(p)
    cmd = [ansible_command("ansible-inventory"), "-i", str(p), "--list"]
    if limit:
        cmd += ["--limit", limit]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    if r.returncode != 0:
        raise RklabError(f"inventory {p}: Ansible cannot read it ({_first_warning(r.stderr) or r.stderr.strip()[:300]}); "
                         f"see {EXAMPLE}")
    try:
        data = json.loads(r.stdout)
    except ValueError:
        raise RklabError(f"inventory {p}: ansible-inventory gave no JSON; check it with "
                         f"`ansible-inventory -i {p} --list`") from None
    hostvars = (data.get("_meta") or {}).get("hostvars") or {}
    hosts = _hosts_in_order(data)
    if not hosts:
        if limit:
            all_hosts = read_inventory(p)
            raise RklabError(f"--limit {limit} matches no host of inventory {p}; hosts: {', '.join(all_hosts)}")
        why = _first_warning(r.stderr)
        raise RklabError(f"inventory {p} defines no hosts" + (f" (Ansible: {why})" if why else "")
                         + f"; list the boards under all: hosts: (see {EXAMPLE})")
    return {h: dict(hostvars.get(h) or {}) for h in hosts}


def load_inventory(path: str | os.PathLike, limit: str | None = None) -> list[FleetBoard]:
    """The boards of an inventory, each checked: a known board profile, a plan override that exists."""
    p = Path(path).expanduser().absolute()
    hosts = read_inventory(p, limit)
    missing = [h for h, v in hosts.items() if not v.get(PROFILE_VAR)]
    if missing:
        raise RklabError(f"inventory {p}: host{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                         f"ha{'ve' if len(missing) > 1 else 's'} no {PROFILE_VAR} (the board profile, e.g. rk3588-8gb); "
                         "add it to the host's variables")
    known = list_boards()
    boards = []
    for h, v in hosts.items():
        profile = str(v[PROFILE_VAR])
        if profile not in known:  # load_board's own words: the closest names, or why RKLLM does not run there
            try:
                load_board(profile)
            except RklabError as exc:
                raise RklabError(f"inventory {p}: host {h}: {PROFILE_VAR}={profile!r}: {exc}") from None
            raise RklabError(f"inventory {p}: host {h}: {PROFILE_VAR}={profile!r} is a file; give the name of a "
                             f"board profile in data/boards/ ({', '.join(known)})")
        plan = None
        if v.get(PLAN_VAR):
            plan = Path(os.path.expanduser(str(v[PLAN_VAR])))
            plan = (plan if plan.is_absolute() else p.parent / plan).resolve()
            if not plan.is_file():
                raise RklabError(f"inventory {p}: host {h}: {PLAN_VAR} {plan} does not exist on this machine; "
                                 "give the path of a plan file (relative to the inventory's folder)")
        port = v.get("ansible_port")
        boards.append(FleetBoard(
            board_id=h, profile=profile, address=str(v.get("ansible_host") or h),
            port=int(port) if port not in (None, "") else None,
            user=str(v["ansible_user"]) if v.get("ansible_user") else None,
            models_dir=str(v["rklab_models_dir"]) if v.get("rklab_models_dir") else None,
            plan=plan, hostvars=v,
        ))
    return boards
