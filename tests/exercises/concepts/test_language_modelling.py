"""Lesson 1.1's checkers accept the solutions and name the typical mistakes."""

import math
from collections import Counter

import torch

from sslm_utils.exercises.concepts.language_modelling import check_bigram_mle, check_context_windows, check_perplexity
from sslm_utils.models.window_lm import context_windows


def messages(fb):
    return " ".join(fb.messages)


def test_unanswered_exercise_is_reported_not_raised():
    fb = check_perplexity(lambda probs: None)
    assert not fb and "returned None" in messages(fb)


def test_perplexity_checker():
    assert check_perplexity(lambda p: math.exp(-sum(map(math.log, p)) / len(p)))
    assert "minus sign" in messages(check_perplexity(lambda p: math.exp(sum(map(math.log, p)) / len(p))))
    assert "cross-entropy" in messages(check_perplexity(lambda p: -sum(map(math.log, p)) / len(p)))
    assert "average" in messages(check_perplexity(lambda p: math.exp(-sum(map(math.log, p)))))


def bigram(tokens, prev, word):
    pairs = Counter(zip(tokens, tokens[1:]))
    return pairs[(prev, word)] / sum(c for (a, _), c in pairs.items() if a == prev)


def test_bigram_checker():
    assert check_bigram_mle(bigram)
    wrong = lambda t, p, w: Counter(zip(t, t[1:]))[(p, w)] / len(t)
    assert "number of tokens" in messages(check_bigram_mle(wrong))


def test_context_windows_checker():
    assert check_context_windows(lambda ids, c: context_windows([ids], c))
    def last_input_as_target(ids, c):
        x, _ = context_windows([ids], c)
        return x, x[:, -1]
    assert "*next* token" in messages(check_context_windows(last_input_as_target))
    assert "shape" in messages(check_context_windows(lambda ids, c: (torch.zeros(1, c), torch.zeros(1))))
