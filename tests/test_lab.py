"""rklab lab: auth always on, refusals, TLS warning, and a real JupyterLab start."""

from __future__ import annotations

import contextlib
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
        ["--ServerApp.allow_origin_pat=.*"],  # the same wildcard as a regex
        ["--ServerApp.allow_origin_pat=.+"],
        ["--NotebookApp.allow_origin_pat=^(https?://.*|null)$"],
        ["--ServerApp.allow_origin_pat", ".*"],
        ["--ServerApp.allow_origin_pat=("],  # not a regex at all
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
    own_host = lab.build_lab_command(extra_args=[r"--ServerApp.allow_origin_pat=https://board\.lan(:\d+)?$"],
                                     env=CLEAN_ENV)
    assert own_host.argv[-1].startswith("--ServerApp.allow_origin_pat=")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """Two self-signed certificate/key pairs (openssl) and an encrypted copy of the first key."""
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    for n in ("a", "b"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / f"{n}.key"),
                        "-out", str(d / f"{n}.crt"), "-days", "2", "-subj", f"/CN={n}"], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(d / "a.key"), "-aes256", "-passout", "pass:secret",
                    "-out", str(d / "enc.key")], check=True, capture_output=True)
    (d / "garbage.pem").write_text("not a certificate\n")
    return d


@pytest.mark.parametrize("cert, key, words", [
    ("garbage.pem", "a.key", "holds no PEM certificate"),
    ("a.crt", "a.crt", "holds no PEM private key"),
    ("a.crt", "b.key", "do not make a TLS pair (the key belongs to another certificate)"),
    ("a.crt", "enc.key", "is encrypted and the server cannot ask for its passphrase"),
])
def test_cert_and_key_are_checked_before_start(tls_files, cert, key, words):
    with pytest.raises(RklabError) as exc:
        lab.build_lab_command(ip="0.0.0.0", certfile=str(tls_files / cert), keyfile=str(tls_files / key), env=CLEAN_ENV)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_warns_on_network_address_without_tls_not_with_tls(tls_files):
    plain = lab.build_lab_command(ip="0.0.0.0", env=CLEAN_ENV)
    assert len(plain.warnings) == 1 and "without TLS" in plain.warnings[0] and "ssh -N -L" in plain.warnings[0]
    cert, key = tls_files / "a.crt", tls_files / "a.key"
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


def _start_lab(tmp_path):
    """A real `rklab lab`, serving; returns (wrapper process, port, the server's private config path)."""
    port = _free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    env.pop("JUPYTER_TOKEN", None)
    root = ["--", "--allow-root"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([sys.executable, "-m", "rklab", "lab", "--port", str(port), *root],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=PROJECT_ROOT,
                            start_new_session=True)
    deadline = time.monotonic() + 90
    config = None
    while time.monotonic() < deadline and not _port_in_use(port):
        assert proc.poll() is None, "rklab lab exited early"
        for pid in _children(proc.pid):
            try:
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            config = config or next((Path(a.decode()[len("--config="):]) for a in args if a.startswith(b"--config=")), None)
        time.sleep(0.2)
    assert _port_in_use(port) and config is not None
    return proc, port, config


def _wait_closed(port: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _port_in_use(port):
            return True
        time.sleep(0.3)
    return False


def test_sigkill_of_the_wrapper_stops_jupyterlab_and_leaves_no_token(tmp_path):
    proc, port, config = _start_lab(tmp_path)
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert _wait_closed(port), "JupyterLab still serving after rklab lab was SIGKILLed"
        assert not config.exists() and not config.parent.exists(), "the token config was left behind"
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left of its process group
            os.killpg(proc.pid, signal.SIGKILL)


def test_second_sigterm_during_shutdown_still_removes_the_token_config(tmp_path):
    proc, port, config = _start_lab(tmp_path)
    try:
        os.kill(proc.pid, signal.SIGTERM)
        time.sleep(0.05)
        os.kill(proc.pid, signal.SIGTERM)  # impatient user: the wrapper is waiting for JupyterLab to stop
        proc.wait(timeout=30)
        assert not config.exists() and not config.parent.exists(), "the token config was left behind"
        assert _wait_closed(port)
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left of its process group
            os.killpg(proc.pid, signal.SIGKILL)
