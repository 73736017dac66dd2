"""Argument checks shared by the whole package, so every bad input gets the same kind of message.

Each check returns the value it accepted (so it can be used inline) or raises
``ValueError``/``TypeError`` naming the argument, what was given and what
would be accepted. ``bool`` is refused where a number is expected: ``True``
is an ``int`` to Python, but never what a reader meant by a step count.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Sequence

import numpy as np


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_real(value) -> bool:
    """A plain or NumPy number (``np.float32`` included), but not a bool or a string."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def positive_int(name: str, value, hint: str = "") -> int:
    """``value`` as an int >= 1, or an error that names ``name``."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}. {hint}".rstrip())
    return int(value)


def non_negative_int(name: str, value, hint: str = "") -> int:
    """``value`` as an int >= 0, or an error that names ``name``."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}. {hint}".rstrip())
    return int(value)


def optional_positive_int(name: str, value, hint: str = "") -> int | None:
    """``None`` (meaning "all of it") or a positive int."""
    return None if value is None else positive_int(name, value, hint)


def positive_float(name: str, value, hint: str = "") -> float:
    """A finite number > 0 (a learning rate, a temperature)."""
    if not is_real(value) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}. {hint}".rstrip())
    return float(value)


def fraction(name: str, value, *, open_low: bool = False, open_high: bool = False) -> float:
    """A probability-like number in [0, 1] (``open_low``/``open_high`` exclude an end)."""
    if not is_real(value) or math.isnan(value):
        raise TypeError(f"{name} must be a number between 0 and 1, got {value!r} ({type(value).__name__}).")
    low_ok = value > 0 if open_low else value >= 0
    high_ok = value < 1 if open_high else value <= 1
    if not (low_ok and high_ok):
        interval = f"{'(' if open_low else '['}0, 1{')' if open_high else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}.")
    return float(value)


def seed(value) -> int:
    """A seed :func:`~sslm_utils.repro.set_seed` accepts: an int in [0, 2**32)."""
    if not _is_int(value):
        raise TypeError(f"seed must be an int, got {type(value).__name__}.")
    if not 0 <= value < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {value}.")
    return int(value)


def one_of(name: str, value, choices: Collection):
    """``value`` if it is one of ``choices``, else an error listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}.")
    return value


def tensor(name: str, x, min_dim: int = 0):
    """``x`` if it is a ``torch.Tensor`` with at least ``min_dim`` dimensions."""
    import torch

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}.")
    if x.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimensions, got shape {tuple(x.shape)}.")
    return x


def token_sequences(sequences, vocab_size: int | None = None) -> list[list[int]]:
    """A non-empty list of documents, each a list of token ids below ``vocab_size``."""
    if not isinstance(sequences, Sequence) or not sequences:
        raise ValueError("Expected a non-empty list of token-id sequences (one per document).")
    if not all(isinstance(s, Sequence) and not isinstance(s, str) for s in sequences):
        raise TypeError("Each document must be a list of int token ids, not a string.")
    if vocab_size is not None:
        ids = [i for s in sequences for i in s]
        outside = [i for i in (min(ids, default=0), max(ids, default=0)) if not 0 <= i < vocab_size]
        if outside:
            raise ValueError(f"Token id {outside[0]} is outside the vocabulary of size {vocab_size} (ids run from "
                             f"0 to {vocab_size - 1}); encode the text with the tokenizer the model was built for.")
    return [list(s) for s in sequences]


def _model_limits(config) -> tuple[int | None, int | None]:
    """``(vocab_size, max_positions)`` of a 🤗 config (BERT or GPT-2 naming), ``None`` where it has none."""
    vocab = getattr(config, "vocab_size", None)
    positions = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    return vocab, positions


def ids_fit_model(name: str, input_ids, config):
    """``input_ids`` if its length fits the model's position table and every id its vocabulary.

    Caught here, a wrong tokenizer or a too-long text gets a message that says
    so, instead of torch's "size of tensor a (62) must match ... (16)" or an
    ``IndexError`` deep inside the embedding.
    """
    import torch

    if not isinstance(input_ids, torch.Tensor) or input_ids.numel() == 0:
        return input_ids
    vocab, positions = _model_limits(config)
    if positions is not None and input_ids.shape[-1] > positions:
        raise ValueError(
            f"{name} has {input_ids.shape[-1]} positions, but the model has only {positions} (its position table). "
            f"Truncate to {positions} tokens (tokenizer(..., truncation=True, max_length={positions}))."
        )
    low, high = int(input_ids.min()), int(input_ids.max())
    if vocab is not None and (low < 0 or high >= vocab):
        bad = high if high >= vocab else low
        raise ValueError(
            f"{name} holds token id {bad}, outside the model's vocabulary of {vocab} (ids 0 to {vocab - 1}): the "
            "text was encoded with another tokenizer. Use the tokenizer saved with the model."
        )
    return input_ids
