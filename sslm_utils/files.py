"""Files that are never half-written: atomic writes and checksums."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """The hex SHA-256 of a file, read in chunks so large files fit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike):
    """Yield a temporary path beside ``target``; move it into place only on success.

    ``os.replace`` is atomic on one filesystem, so a reader (or a crash) sees
    either the old file or the complete new one, never a partial write.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def file_lock(target: str | os.PathLike):
    """Hold an exclusive lock named after ``target`` while a cache entry is checked and built.

    Two processes that share a cache (two notebooks run side by side, or
    ``make test``'s parallel workers) would otherwise both build the same
    entry, and a training run would resume from the other's checkpoints. The
    second process waits here, then finds the entry built. The lock is an
    ``flock`` on ``.<name>.lock`` beside ``target``, released if the holder dies;
    where ``fcntl`` does not exist (Windows) nothing is locked, and entries stay
    atomic but may be built twice.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    with open(target.parent / f".{target.name}.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


MANIFEST = "manifest.json"


class IntegrityError(RuntimeError):
    """A folder's files do not match the SHA-256 manifest written beside them."""


def write_manifest(folder: str | os.PathLike) -> Path:
    """Record the SHA-256 of every file below ``folder`` in ``folder/manifest.json``."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = {p.relative_to(folder).as_posix(): sha256_file(p) for p in files}
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return path


def read_json(path: str | os.PathLike, error=ValueError, fix: str = "") -> dict:
    """A JSON file's content, or ``error`` naming the file and ``fix`` (not a bare ``JSONDecodeError``)."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path} is missing. {fix}".rstrip()) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise error(f"{path} is not valid JSON ({err}): it was truncated or corrupted. {fix}".rstrip()) from None


def verify_manifest(folder: str | os.PathLike, error=IntegrityError, fix: str = "") -> dict:
    """Check every file listed in ``folder/manifest.json`` against its SHA-256; return the manifest.

    Raises ``error`` naming the first file that is missing or differs, with
    ``fix`` appended: a flipped bit or a truncated file is reported, never loaded.
    """
    folder = Path(folder)
    manifest = read_json(folder / MANIFEST, error, fix)
    if not isinstance(manifest, dict) or not manifest:
        raise error(f"{folder / MANIFEST} lists no files. {fix}".rstrip())
    for name, digest in manifest.items():
        path = folder / name
        if not path.is_file():
            raise error(f"{path} is missing (listed in {MANIFEST}). {fix}".rstrip())
        if sha256_file(path) != digest:
            raise error(f"{path} does not match the SHA-256 recorded in {MANIFEST} (one of the two was corrupted "
                        f"or truncated on disk). {fix}".rstrip())
    return manifest
