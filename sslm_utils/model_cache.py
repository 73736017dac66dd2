"""One cache for the book's pretrained models, shared by every chapter that trains one.

A model is cached under ``sslm_utils.data.cache_dir()/models/<key>``, where the
key hashes every profile field that changes what gets trained, so a changed
profile never loads a stale model. A trained model is written to a temporary
folder and renamed into place: the entry appears whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch


@dataclass
class PretrainedModel:
    """A pretrained model with its tokenizer and how it came to be (training history, run info)."""

    model: torch.nn.Module
    tokenizer: object
    history: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    from_cache: bool = False

    def frame(self, split: str = "train"):
        """The history of one split (``train`` or ``eval``) as a DataFrame, for plots."""
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in r.items() if k != "split"} for r in self.history
                             if r["split"] == split])


def cache_key(name: str, profile, shared_fields: tuple[str, ...], field_prefix: str, version: int) -> str:
    """``<name>-<profile>-<digest>``, hashing ``shared_fields``, every ``field_prefix*`` field and ``version``."""
    fields = {k: v for k, v in profile.as_dict().items() if k in shared_fields or k.startswith(field_prefix)}
    digest = hashlib.sha256(json.dumps([fields, version], sort_keys=True).encode()).hexdigest()[:10]
    return f"{name}-{profile.name}-{digest}"


def model_dir(key: str) -> Path:
    from .data import cache_dir

    return cache_dir() / "models" / key


def load_cached(folder: Path, model_class, result_class=PretrainedModel) -> PretrainedModel:
    """Read a cache entry written by :func:`store_trained`."""
    from .tokenization import load_tokenizer

    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    model = model_class.from_pretrained(folder / "model")
    return result_class(model, load_tokenizer(folder / "model"), meta["history"], meta["info"], from_cache=True)


def run_info(profile, result, data_stats: dict) -> dict:
    """What the cache records about a training run."""
    return {
        "source": "book", "profile": profile.name, "steps": result.steps, "train_time_s": result.train_time_s,
        "tokens_seen": result.tokens_seen, "tokens_per_second": result.tokens_per_second, **data_stats,
    }


def store_trained(folder: Path, model, tokenizer, history: list[dict], info: dict) -> None:
    """Write model, tokenizer and ``meta.json`` to a temporary folder, then rename it to ``folder``."""
    from .checkpoint import save_model_weights

    tmp = folder.parent / f".tmp-{folder.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    save_model_weights(model, tmp / "model", tokenizer)
    (tmp / "meta.json").write_text(json.dumps({"history": history, "info": info}), encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)  # the cache entry appears whole or not at all


def cached_tokenizer(profile, kind: str, train_fn, trained_with: Path, corpus=None):
    """The chapter tokenizer ``ch03-<kind>-<digest>`` for ``profile``, trained on training speeches once.

    Cached because the ``tokenizers`` trainers break frequency ties in a
    different order in every process (their hash maps are randomly seeded),
    so two trainings give vocabularies with permuted ids; one cached copy keeps
    data, model and every later notebook on the same ids. The tokenizer saved
    beside a cached model (``trained_with``) comes first, then the tokenizer
    cache; otherwise ``train_fn(texts, vocab_size)`` trains one, which is
    written to a temporary folder and renamed into place.
    """
    from .data import cache_dir, load_sotu
    from .tokenization import load_tokenizer

    keys = ("tokenizer_vocab_size", "tokenizer_train_docs")
    digest = hashlib.sha256(json.dumps([getattr(profile, k) for k in keys]).encode()).hexdigest()[:10]
    folder = cache_dir() / "tokenizers" / f"ch03-{kind}-{digest}"
    if (Path(trained_with) / "tokenizer.json").is_file():
        return load_tokenizer(trained_with)
    if folder.is_dir():
        return load_tokenizer(folder)
    texts = (corpus or load_sotu())["train"]["text"]
    if profile.tokenizer_train_docs is not None:
        texts = texts[: profile.tokenizer_train_docs]
    tokenizer = train_fn(texts, profile.tokenizer_vocab_size)
    tmp = folder.parent / f".tmp-{folder.name}-{os.getpid()}"
    tokenizer.save_pretrained(tmp)
    try:
        os.replace(tmp, folder)  # appears whole; if another process won the race, use its copy
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return load_tokenizer(folder)
    return tokenizer
