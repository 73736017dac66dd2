"""sslm_utils.models.ngram: interpolated Kneser-Ney is a distribution, learns structure, refuses bad input."""

import math
import random

import pytest

from sslm_utils.evaluation import perplexity
from sslm_utils.models.ngram import KneserNeyLM


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kneser_ney_is_normalised(order):
    rng = random.Random(order)
    docs = [[rng.randrange(12) for _ in range(200)] for _ in range(3)]
    lm = KneserNeyLM(order, vocab_size=12).fit(docs)
    for _ in range(5):
        context = [rng.randrange(12) for _ in range(order - 1)]
        assert math.isclose(sum(lm.prob(context, w) for w in range(12)), 1.0, rel_tol=1e-9)


def test_kneser_ney_learns_structure():
    docs = [[0, 1, 2, 3] * 50]
    uni = perplexity(KneserNeyLM(1, 4).fit(docs).log_probs(docs, skip=2))
    tri = perplexity(KneserNeyLM(3, 4).fit(docs).log_probs(docs, skip=2))
    assert tri < 1.5 < uni


def test_kneser_ney_bad_input():
    with pytest.raises(ValueError):
        KneserNeyLM(0, 10)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        KneserNeyLM(2, 3).fit([[0, 5]])
    with pytest.raises(RuntimeError, match="fit"):
        KneserNeyLM(2, 3).prob([0], 1)
