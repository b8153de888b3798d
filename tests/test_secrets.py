"""Records, executed notebooks, logs and the exported HTML hold no tokens or environment secrets.

The sweep of ``killed_and_resumed_sweep`` ran with fake secrets in its environment
(``FAKE_SECRETS``: an API key, an AWS secret, a Jupyter token, a Hugging Face token);
none of them may appear in anything it wrote.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.fixtures.reliability import FAKE_SECRETS

TOKEN_IN_URL = re.compile(r"[?&]token=[A-Za-z0-9_\-]{16,}")


def _written_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_sweep_outputs_hold_no_secret(killed_and_resumed_sweep):
    out = killed_and_resumed_sweep.out
    files = _written_files(out) + [out.parent / "benchmark_log.md"]
    files = [f for f in files if f.exists()]
    kinds = {f.suffix for f in files}
    assert {".jsonl", ".ipynb"} <= kinds, kinds  # records and executed notebooks were written
    leaks = []
    for f in files:
        data = f.read_bytes()
        for name, value in FAKE_SECRETS.items():
            if value.encode() in data:
                leaks.append(f"{f.relative_to(out.parent)} holds {name}")
        if TOKEN_IN_URL.search(data.decode("utf-8", errors="replace")):
            leaks.append(f"{f.relative_to(out.parent)} holds a URL with a token")
    assert not leaks, leaks


def test_exported_html_holds_no_secret(killed_and_resumed_sweep):
    html = sorted(killed_and_resumed_sweep.out.rglob("*.html"))
    assert html, "the sweep exported no HTML report"
    for f in html:
        text = f.read_text(encoding="utf-8", errors="replace")
        for name, value in FAKE_SECRETS.items():
            assert value not in text, f"{f.name} holds {name}"
        assert not TOKEN_IN_URL.search(text), f"{f.name} holds a URL with a token"


def test_host_snapshot_and_records_hold_no_environment(tmp_path, monkeypatch):
    """The host snapshot goes into every record: it must not copy the environment."""
    for k, v in FAKE_SECRETS.items():
        monkeypatch.setenv(k, v)
    from rklab.measure.monitor import host_snapshot
    from rklab.records import RecordWriter

    snap = host_snapshot()
    RecordWriter(tmp_path).append({"kind": "llm", "status": "ok", "host": snap})
    data = (tmp_path / "records.jsonl").read_text()
    for name, value in FAKE_SECRETS.items():
        assert value not in data, name


def test_lab_banner_is_the_only_place_the_token_goes(tmp_path, capsys):
    """`rklab lab` prints its token to the terminal but writes it nowhere but a 0600 file."""
    from rklab.orchestrate import lab

    cmd = lab.build_lab_command(env={"PATH": "/usr/bin"}, token="tok-" + "x" * 40)
    lab.print_banner(cmd)
    assert cmd.token in capsys.readouterr().out
    assert not any(cmd.token in a for a in cmd.argv)
    cfg = lab.write_private_config(cmd, directory=tmp_path)
    assert (cfg.stat().st_mode & 0o077) == 0  # nobody else can read it
