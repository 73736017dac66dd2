"""sslm_utils.objectives.span_corruption: T5's span corruption as an exact, invertible data transformation."""

from __future__ import annotations

import random

import pytest

from sslm_utils.objectives.span_corruption import random_partition, span_corrupt, span_noise_mask


def test_random_partition_is_a_composition():
    rng = random.Random(0)
    for _ in range(200):
        total = rng.randint(1, 50)
        parts = rng.randint(1, total)
        lengths = random_partition(total, parts, rng)
        assert len(lengths) == parts and sum(lengths) == total and min(lengths) >= 1
    with pytest.raises(ValueError, match="non-empty parts"):
        random_partition(3, 4, rng)


@pytest.mark.parametrize("length", [2, 3, 10, 57, 128, 512])
def test_span_noise_mask_counts(length):
    rng = random.Random(length)
    mask = span_noise_mask(length, rng=rng)
    n_noise = sum(mask)
    assert len(mask) == length
    assert n_noise == min(max(round(length * 0.15), 1), length - 1)
    assert not mask[0]  # the text starts with kept tokens
    n_spans = sum(1 for i, m in enumerate(mask) if m and not mask[i - 1])
    assert n_spans == min(max(round(n_noise / 3), 1), length - n_noise)


def test_span_noise_mask_statistics():
    rng = random.Random(0)
    masks = [span_noise_mask(128, rng=rng) for _ in range(300)]
    starts = sum(sum(1 for i, m in enumerate(mask) if m and not mask[i - 1]) for mask in masks)
    noise = sum(sum(mask) for mask in masks)
    assert noise / (128 * 300) == pytest.approx(0.148, abs=0.003)  # round(19.2) = 19 of 128
    assert noise / starts == pytest.approx(19 / 6, abs=0.01)  # round(19 / 3) = 6 spans
    # the spans land everywhere, not always in the same place
    assert len({tuple(m) for m in masks}) == 300


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"length": 1}, "length must be an int >= 2"), ({"length": 10, "noise_density": 0.0}, "noise_density"),
     ({"length": 10, "mean_span_length": 0.5}, "mean_span_length")],
)
def test_span_noise_mask_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        span_noise_mask(**kwargs)


def test_span_corrupt_example_and_round_trip():
    assert span_corrupt([10, 11, 12, 13, 14], [False, True, True, False, True], sentinel_ids=[99, 98, 97]) == (
        [10, 99, 13, 98], [99, 11, 12, 98, 14, 97])
    inputs, targets = span_corrupt([10, 11, 12], [False, True, False], sentinel_ids=[99, 98], eos_id=1)
    assert inputs == [10, 99, 12, 1] and targets == [99, 11, 98, 1]
    # the inputs and targets together give back the text: fill each sentinel with its span
    rng = random.Random(2)
    sentinels = list(range(1000, 1100))
    for _ in range(100):
        ids = [rng.randrange(5, 500) for _ in range(rng.randint(2, 80))]
        inputs, targets = span_corrupt(ids, span_noise_mask(len(ids), rng=rng), sentinel_ids=sentinels)
        spans, current = {}, None
        for t in targets:
            if t in sentinels:
                current = t
                spans[current] = []
            else:
                spans[current].append(t)
        rebuilt = [t for x in inputs for t in (spans[x] if x in sentinels else [x])]
        assert rebuilt == ids


def test_span_corrupt_errors():
    with pytest.raises(ValueError, match="same length"):
        span_corrupt([1, 2, 3], [True, False], sentinel_ids=[9, 8])
    with pytest.raises(ValueError, match="sentinel ids"):
        span_corrupt([1, 2, 3, 4], [True, False, True, False], sentinel_ids=[9, 8])
