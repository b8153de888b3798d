"""rklab lab: auth always on, refusals, TLS warning, and a real JupyterLab start."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from rklab.orchestrate import lab
from rklab.errors import RklabError
from rklab.paths import PROJECT_ROOT

CLEAN_ENV = {"PATH": os.environ.get("PATH", "")}


def rklab_cli(*args, env=None, timeout=60):
    full_env = dict(os.environ)
    full_env.pop("JUPYTER_TOKEN", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "rklab", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=PROJECT_ROOT)


def test_default_is_loopback_with_a_fresh_random_token_kept_out_of_argv():
    a = lab.build_lab_command(env=CLEAN_ENV)
    b = lab.build_lab_command(env=CLEAN_ENV)
    assert a.auth == "token" and a.ip == "127.0.0.1" and a.port == 8888 and not a.warnings
    assert len(a.token) >= 40 and a.token != b.token
    assert a.url == f"http://127.0.0.1:8888/lab?token={a.token}"
    assert not any(a.token in arg for arg in a.argv)  # `ps` must not show it
    assert a.config["IdentityProvider"]["token"] == a.token
    assert a.config["ServerApp"]["disable_check_xsrf"] is False
    assert a.config["ServerApp"]["port_retries"] == 0
    assert f"--ServerApp.root_dir={PROJECT_ROOT.resolve()}" in a.argv
    assert a.argv[1:3] == ["-m", "jupyterlab"]
    text = a.config_text()
    assert f'c.IdentityProvider.token = "{a.token}"' in text
    assert "c.ServerApp.disable_check_xsrf = False" in text


def test_user_token_from_environment_is_used():
    cmd = lab.build_lab_command(env={"JUPYTER_TOKEN": "my-own-token-123"})
    assert cmd.token == "my-own-token-123" and cmd.url.endswith("?token=my-own-token-123")


def test_password_mode_hashes_and_has_no_token():
    from jupyter_server.auth import passwd_check

    cmd = lab.build_lab_command(password="correct horse", env=CLEAN_ENV)
    assert cmd.auth == "password" and cmd.token is None and "token=" not in cmd.url
    hashed = cmd.config["PasswordIdentityProvider"]["hashed_password"]
    assert "correct horse" not in hashed and passwd_check(hashed, "correct horse")
    assert cmd.config["PasswordIdentityProvider"]["password_required"] is True


@pytest.mark.parametrize(
    "extra",
    [
        ["--IdentityProvider.token="],
        ["--IdentityProvider.token=''"],
        ["--ServerApp.token", '""'],
        ["--NotebookApp.token="],
        ["--token="],
        ["--ServerApp.disable_check_xsrf=True"],
        ["--ServerApp.disable_check_xsrf"],
        ["--ServerApp.allow_unauthenticated_access=True"],
        ["--ServerApp.allow_origin=*"],
        ["--PasswordIdentityProvider.hashed_password="],
        ["--ServerApp.password=''"],
        ["--ServerApp.ip=0.0.0.0"],
    ],
)
def test_refuses_options_that_weaken_auth(extra):
    with pytest.raises(RklabError) as ei:
        lab.build_lab_command(extra_args=extra, env=CLEAN_ENV)
    msg = str(ei.value)
    assert "\n" not in msg and extra[0].split("=")[0] in msg


@pytest.mark.parametrize(
    "env, word",
    [({"JUPYTER_TOKEN": ""}, "JUPYTER_TOKEN"), ({"JUPYTER_SERVER_ALLOW_UNAUTHENTICATED_ACCESS": "1"}, "UNAUTHENTICATED")],
)
def test_refuses_environment_that_disables_auth(env, word):
    with pytest.raises(RklabError, match=word):
        lab.build_lab_command(env=env)


def test_refuses_empty_password_and_bad_port_and_half_tls(tmp_path):
    with pytest.raises(RklabError, match="password is empty"):
        lab.build_lab_command(password="  ", env=CLEAN_ENV)
    with pytest.raises(RklabError, match="--port 70000"):
        lab.build_lab_command(port=70000, env=CLEAN_ENV)
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(RklabError, match="add --keyfile"):
        lab.build_lab_command(certfile=str(cert), env=CLEAN_ENV)
    with pytest.raises(RklabError, match="--keyfile .*nope.pem does not exist"):
        lab.build_lab_command(certfile=str(cert), keyfile=str(tmp_path / "nope.pem"), env=CLEAN_ENV)


def test_harmless_extra_options_pass_through():
    cmd = lab.build_lab_command(extra_args=["--", "--LabApp.collaborative=True"], env=CLEAN_ENV)
    assert cmd.argv[-1] == "--LabApp.collaborative=True"


def test_warns_on_network_address_without_tls_not_with_tls(tmp_path):
    plain = lab.build_lab_command(ip="0.0.0.0", env=CLEAN_ENV)
    assert len(plain.warnings) == 1 and "without TLS" in plain.warnings[0] and "ssh -N -L" in plain.warnings[0]
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("y")
    tls = lab.build_lab_command(ip="0.0.0.0", certfile=str(cert), keyfile=str(key), env=CLEAN_ENV)
    assert not tls.warnings and tls.url.startswith("https://") and tls.tls
    assert f"--ServerApp.certfile={cert.resolve()}" in tls.argv
    assert not lab.build_lab_command(ip="::1", env=CLEAN_ENV).warnings


def test_private_config_file_is_0600(tmp_path):
    cmd = lab.build_lab_command(env=CLEAN_ENV)
    path = lab.write_private_config(cmd, directory=tmp_path)
    assert (path.stat().st_mode & 0o777) == 0o600 and (path.parent.stat().st_mode & 0o777) == 0o700
    assert cmd.token in path.read_text()


# ---------------------------------------------------------------------------------- through the CLI
def test_cli_print_command_shows_url_with_token():
    r = rklab_cli("lab", "--print-command")
    assert r.returncode == 0, r.stderr
    url_line = next(line for line in r.stdout.splitlines() if "token=" in line)
    token = url_line.split("token=")[1].strip()
    assert len(token) >= 40
    assert "ssh -N -L 8888:127.0.0.1:8888" in r.stdout


@pytest.mark.parametrize(
    "args, env",
    [
        (["--IdentityProvider.token=''"], {}),
        (["--", "--ServerApp.disable_check_xsrf=True"], {}),
        ([], {"JUPYTER_TOKEN": ""}),
        (["--password"], {"RKLAB_LAB_PASSWORD": ""}),
    ],
)
def test_cli_refusals_are_one_line_exit_2(args, env):
    r = rklab_cli("lab", "--print-command", *args, env=env)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rklab: error: ") and "Traceback" not in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the root refusal needs root")
def test_cli_refuses_root_without_allow_root():
    r = rklab_cli("lab", "--port", str(_free_port()))
    assert r.returncode == 2 and "as root" in r.stderr and "--allow-root" in r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, token=None):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_real_jupyterlab_requires_the_token(tmp_path):
    port = _free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), HOME=os.environ.get("HOME", str(tmp_path)))
    env.pop("JUPYTER_TOKEN", None)
    root = ["--", "--allow-root"] if os.geteuid() == 0 else []  # Jupyter refuses root otherwise
    proc = subprocess.Popen([sys.executable, "-m", "rklab", "lab", "--port", str(port), *root], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=PROJECT_ROOT, start_new_session=True)
    try:
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/lab?token=" in first
        token = first.split("token=")[1].strip()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline:
            try:
                status, body = _get(f"{base}/api/contents", token)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                assert proc.poll() is None, "rklab lab exited early"
                time.sleep(0.5)
        assert status == 200
        names = {item["name"] for item in json.loads(body)["content"]}
        assert "rklab" in names  # served from the project root
        assert _get(f"{base}/api/contents")[0] == 403  # no token: refused
        assert _get(f"{base}/api/contents", "wrong-token")[0] == 403
        # the token is not on any command line (other users can read those)
        for pid in [proc.pid] + _children(proc.pid):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            assert token not in cmdline
    finally:
        os.kill(proc.pid, signal.SIGTERM)  # rklab lab stops JupyterLab and removes its config
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
    time.sleep(0.5)
    assert not _port_in_use(port), "JupyterLab still running after rklab lab was stopped"


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
