import math
import random

import pytest
import torch

from sslm_utils.lm import (
    FixedWindowLM,
    KneserNeyLM,
    Vocab,
    context_windows,
    perplexity,
    perplexity_of,
    take_tokens,
    train_window_lm,
    window_lm_log_probs,
    words,
)


def test_words():
    assert words("Mr. Smith's 1,000 dollars!") == ["mr", ".", "smith's", "1,000", "dollars", "!"]
    with pytest.raises(TypeError):
        words(["not", "a", "string"])


def test_vocab_closed_with_unk():
    vocab = Vocab("a b b c c c".split(), size=3)
    assert vocab.itos == ["<unk>", "c", "b"]
    assert vocab.encode(["c", "a", "zzz"]) == [1, 0, 0]
    with pytest.raises(ValueError):
        Vocab(["a"], size=1)


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
    uni = perplexity_of(KneserNeyLM(1, 4).fit(docs).log_probs(docs, skip=2))
    tri = perplexity_of(KneserNeyLM(3, 4).fit(docs).log_probs(docs, skip=2))
    assert tri < 1.5 < uni


def test_kneser_ney_bad_input():
    with pytest.raises(ValueError):
        KneserNeyLM(0, 10)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        KneserNeyLM(2, 3).fit([[0, 5]])
    with pytest.raises(RuntimeError, match="fit"):
        KneserNeyLM(2, 3).prob([0], 1)


def test_context_windows_stay_inside_documents():
    x, y = context_windows([[1, 2, 3, 4], [5, 6, 7]], context=2)
    assert x.tolist() == [[1, 2], [2, 3], [5, 6]] and y.tolist() == [3, 4, 7]
    with pytest.raises(ValueError):
        context_windows([[1, 2]], context=2)


def test_perplexity():
    assert perplexity(-4 * math.log(0.25), 4) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        perplexity(1.0, 0)


def test_neural_lm_trains():
    torch.manual_seed(0)
    docs = [[0, 1, 2, 3, 4] * 40]
    x, y = context_windows(docs, 2)
    model = FixedWindowLM(5, 2, 8, 16)
    history = train_window_lm(model, x, y, steps=150, batch_size=32, lr=1e-2, progress=False,
                              eval_every=50, eval_fn=lambda m: perplexity_of(window_lm_log_probs(m, x, y)))
    assert history["loss"][-1] < history["loss"][0] / 5
    assert [s for s, _ in history["eval"]] == [50, 100, 150]
    assert history["eval"][-1][1] < 1.2


def test_neural_lm_errors():
    model = FixedWindowLM(5, 2, 4, 4)
    with pytest.raises(ValueError, match="shape"):
        model(torch.zeros(3, 4, dtype=torch.long))
    x, y = torch.zeros(4, 2, dtype=torch.long), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError):
        train_window_lm(model, x, y, steps=0, batch_size=2)
    with pytest.raises(ValueError, match="together"):
        train_window_lm(model, x, y, steps=1, batch_size=2, eval_every=1)


def test_take_tokens():
    assert take_tokens([[1, 2, 3], [4, 5]], 4) == [[1, 2, 3], [4]]
    assert take_tokens([[1], [2]], None) == [[1], [2]]
    with pytest.raises(ValueError):
        take_tokens([[1]], 0)
