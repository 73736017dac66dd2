"""sslm_utils.evaluation.perplexity: exp of the mean negative log-likelihood, from per-token ln p only."""

from __future__ import annotations

import math

import pytest
import torch

from sslm_utils.evaluation.perplexity import perplexity


def test_perplexity():
    assert perplexity([math.log(0.25)] * 4) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        perplexity([])


@pytest.mark.parametrize("vocab", [2, 10, 50_000])
def test_a_uniform_guess_over_v_tokens_has_perplexity_v(vocab):
    log_probs = torch.full((37,), -math.log(vocab), dtype=torch.float64)
    assert perplexity(log_probs) == pytest.approx(vocab, rel=1e-9)
    assert perplexity(log_probs.tolist()) == pytest.approx(vocab, rel=1e-9)  # a list works too


def test_perplexity_is_exp_of_the_mean_nll():
    log_probs = torch.tensor([math.log(0.5), math.log(0.1), math.log(0.9)], dtype=torch.float64)
    assert perplexity(log_probs) == pytest.approx(math.exp(-log_probs.mean().item()))
    assert perplexity([0.0, 0.0]) == 1.0  # certain and right


@pytest.mark.parametrize(
    ("log_probs", "message"),
    [
        ([], "at least one predicted token"),
        (torch.empty(0), "at least one predicted token"),
        ([-1.0, 0.5], "all <= 0"),  # a probability or a loss, not ln p
        ([-1.0, math.nan], "NaN"),
        ([-math.inf, -1.0], "inf"),
    ],
)
def test_bad_log_probs_are_refused(log_probs, message):
    with pytest.raises(ValueError, match=message):
        perplexity(log_probs)


def test_a_huge_mean_nll_overflows_with_a_message():
    with pytest.raises(OverflowError, match="too large"):
        perplexity([-1e4] * 3)
    assert perplexity([-700.0]) == pytest.approx(math.exp(700))  # the largest mean still reported
