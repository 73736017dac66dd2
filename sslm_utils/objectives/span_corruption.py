"""Span corruption (T5, Raffel et al., 2020) as an exact data transformation (lesson 3.4).

About 15 % of the tokens are dropped in short contiguous spans; the encoder
reads the text with each span replaced by one sentinel, the decoder writes the
sentinels followed by the dropped tokens. Inputs shrink and targets are
short, so a step is cheap.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def random_partition(total: int, parts: int, rng: random.Random) -> list[int]:
    """``parts`` positive integers summing to ``total``, uniformly over all such compositions."""
    if not isinstance(parts, int) or not 1 <= parts <= total:
        raise ValueError(f"Cannot split {total} items into {parts} non-empty parts; need 1 <= parts <= total.")
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    edges = [0, *cuts, total]
    return [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]


def span_noise_mask(length: int, *, noise_density: float = 0.15, mean_span_length: float = 3.0,
                    rng: random.Random | None = None) -> list[bool]:
    """Which of ``length`` positions to drop, as T5 chooses them.

    Exactly ``round(length * noise_density)`` noise tokens (at least 1, at most
    ``length - 1``) in ``round(noise / mean_span_length)`` spans (at least 1);
    span lengths and the gaps between them are random partitions. The text
    always starts with a kept span, so spans never touch.
    """
    if not isinstance(length, int) or length < 2:
        raise ValueError(f"length must be an int >= 2 (something to keep and something to drop), got {length!r}.")
    if not 0.0 < noise_density < 1.0:
        raise ValueError(f"noise_density must be in (0, 1), got {noise_density!r}; T5 uses 0.15.")
    if not mean_span_length >= 1.0:
        raise ValueError(f"mean_span_length must be >= 1, got {mean_span_length!r}; T5 uses 3.")
    rng = rng or random.Random()
    n_noise = min(max(round(length * noise_density), 1), length - 1)
    n_spans = max(round(n_noise / mean_span_length), 1)
    n_spans = min(n_spans, length - n_noise)  # each span needs a kept token before it
    noise_lengths = random_partition(n_noise, n_spans, rng)
    keep_lengths = random_partition(length - n_noise, n_spans, rng)
    mask: list[bool] = []
    for keep, noise in zip(keep_lengths, noise_lengths, strict=True):
        mask += [False] * keep + [True] * noise
    return mask


def span_corrupt(ids: Sequence[int], noise_mask: Sequence[bool], *, sentinel_ids: Sequence[int],
                 eos_id: int | None = None) -> tuple[list[int], list[int]]:
    """``(encoder_inputs, decoder_targets)`` for T5's span corruption.

    Every maximal run of noise positions becomes one sentinel in the inputs;
    the targets list each sentinel followed by the tokens it hid, and end
    with one more sentinel (T5's convention) — then ``eos_id`` if given, on both.

    >>> span_corrupt([10, 11, 12, 13, 14], [False, True, True, False, True], sentinel_ids=[99, 98, 97])
    ([10, 99, 13, 98], [99, 11, 12, 98, 14, 97])
    """
    ids, noise_mask = list(ids), [bool(m) for m in noise_mask]
    if len(ids) != len(noise_mask):
        raise ValueError(f"ids ({len(ids)}) and noise_mask ({len(noise_mask)}) must have the same length.")
    n_spans = sum(1 for i, m in enumerate(noise_mask) if m and (i == 0 or not noise_mask[i - 1]))
    if n_spans + 1 > len(sentinel_ids):
        raise ValueError(f"{n_spans} spans need {n_spans + 1} sentinel ids, got {len(sentinel_ids)}; "
                         "T5 reserves 100 (<extra_id_0> ... <extra_id_99>).")
    inputs, targets, span = [], [], -1
    for i, (token, noisy) in enumerate(zip(ids, noise_mask, strict=True)):
        if noisy and (i == 0 or not noise_mask[i - 1]):  # a span starts
            span += 1
            inputs.append(sentinel_ids[span])
            targets.append(sentinel_ids[span])
        (targets if noisy else inputs).append(token)
    targets.append(sentinel_ids[span + 1])
    if eos_id is not None:
        inputs.append(eos_id)
        targets.append(eos_id)
    return inputs, targets
