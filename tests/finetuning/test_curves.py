"""sslm_utils.finetuning.curves: every method sees the same subsets; means and paired gains over seeds."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.finetuning.curves import learning_curve, paired_gain, summarize_curve
from sslm_utils.finetuning.training import ClassifierScore, LabelledTexts


@pytest.fixture
def labelled(wordpiece_tokenizer):
    return LabelledTexts(wordpiece_tokenizer, [f"text {i}" for i in range(60)], [i % 2 for i in range(60)])


def fake_method(bonus: float, seen: list):
    def method(subset, seed):
        seen.append((tuple(subset.texts), seed))
        acc = min(1.0, 0.5 + len(subset) / 200 + bonus + seed / 100)
        return ClassifierScore(acc, 0.01, torch.ones(10, dtype=torch.bool))
    return method


def test_every_method_gets_the_same_subsets_and_the_summary_averages_seeds(labelled):
    seen_a, seen_b = [], []
    rows = learning_curve({"a": fake_method(0.1, seen_a), "b": fake_method(0.0, seen_b)}, labelled,
                          sizes=[10, 40], seeds=[0, 2])
    assert seen_a == seen_b and len(seen_a) == 4  # the same subsets, in the same order
    assert len({texts for texts, _ in seen_a}) == 4  # another size or seed: another subset
    summary = summarize_curve(rows).set_index(["method", "labels"])
    assert summary.loc[("a", 10), "mean"] == pytest.approx(0.5 + 0.05 + 0.1 + 0.01)
    assert summary.loc[("a", 10), "se"] == pytest.approx(0.02 / 2**0.5 / 2**0.5)  # std of {0, .02} / sqrt 2
    gain = paired_gain(rows, "a", "b").set_index("labels")
    assert gain.loc[10, "gain"] == pytest.approx(0.1) and gain.loc[10, "se"] == pytest.approx(0.0)


def test_bad_curves_say_how_to_fix_them(labelled):
    with pytest.raises(ValueError, match="more than the 60 labelled examples"):
        learning_curve({"a": fake_method(0, [])}, labelled, sizes=[61])
    with pytest.raises(ValueError, match="No methods"):
        learning_curve({}, labelled, sizes=[10])
    rows = learning_curve({"a": fake_method(0, [])}, labelled, sizes=[10], seeds=[0])
    with pytest.raises(ValueError, match="No method 'b'"):
        paired_gain(rows, "a", "b")
