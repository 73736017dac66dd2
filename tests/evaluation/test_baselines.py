"""sslm_utils.evaluation.baselines: unigram, n-gram, uniform and TF-IDF baselines on the model's own targets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sslm_utils.evaluation.baselines import (
    log_vocab,
    ngram_log_probs,
    tfidf_features,
    unigram_cross_entropy,
    unigram_log_probs,
)
from sslm_utils.models.ngram import KneserNeyLM


def test_unigram_cross_entropy():
    train_ids = torch.tensor([5, 5, 5, 6])
    # add-one counts 4, 2 (ids 5, 6) and 1 for the other non-special id 7: p(5) = 4/7
    ce = unigram_cross_entropy(train_ids, torch.tensor([5]), vocab_size=8, special_ids=[0, 1, 2, 3, 4])
    assert ce == pytest.approx(-math.log(4 / 7))


def test_unigram_log_probs_without_special_ids():
    train_ids = torch.tensor([[0, 0, 1], [0, 2, 2]])  # counts 3, 1, 2, 0 over a vocabulary of 4
    targets = torch.tensor([[0, 3], [2, 1]])
    lp = unigram_log_probs(train_ids, targets, vocab_size=4)
    assert lp.shape == targets.shape  # one ln p per target, in place
    expected = torch.tensor([[4 / 10, 1 / 10], [3 / 10, 2 / 10]], dtype=torch.float64).log()  # add-one: 4, 2, 3, 1
    torch.testing.assert_close(lp, expected)
    every = unigram_log_probs(train_ids, torch.arange(4), vocab_size=4)
    assert math.isclose(float(every.exp().sum()), 1.0)  # a distribution over the vocabulary


def test_unigram_log_probs_with_special_ids():
    train_ids = [5, 5, 5, 6, 0, 0, 0, 0]  # the padding (0) is counted in training but is never a target
    lp = unigram_log_probs(train_ids, [5, 6, 7], vocab_size=8, special_ids=[0, 1, 2, 3, 4])
    torch.testing.assert_close(lp, torch.tensor([4 / 7, 2 / 7, 1 / 7], dtype=torch.float64).log())
    every = unigram_log_probs(train_ids, torch.arange(8), vocab_size=8, special_ids=[0, 1, 2, 3, 4])
    assert torch.isinf(every[:5]).all() and math.isclose(float(every.exp().sum()), 1.0)  # no mass on specials
    plain = unigram_log_probs(train_ids, [5], vocab_size=8)
    assert float(plain[0]) < float(lp[0])  # without specials the mass is spread over more ids


def test_unigram_cross_entropy_is_minus_the_mean_log_prob():
    gen = torch.Generator().manual_seed(0)
    train_ids, targets = torch.randint(0, 50, (400,), generator=gen), torch.randint(5, 50, (60,), generator=gen)
    for specials in ((), (0, 1, 2, 3, 4)):
        lp = unigram_log_probs(train_ids, targets, 50, special_ids=specials)
        ce = unigram_cross_entropy(train_ids, targets, 50, special_ids=specials)
        assert isinstance(ce, float) and ce == pytest.approx(-float(lp.mean()))
    assert unigram_cross_entropy(train_ids, targets, 50) < log_vocab(50) + 0.05  # about the uniform guess here


def test_log_vocab():
    assert log_vocab(1000) == pytest.approx(math.log(1000))
    with pytest.raises(ValueError, match="vocab_size must be a positive int"):
        log_vocab(0)


def test_baselines_score_the_same_targets(bpe_tokenizer):
    blocks = torch.tensor([[1, 2, 3, 1, 2], [3, 1, 2, 3, 1]])
    kn = KneserNeyLM(2, len(bpe_tokenizer)).fit([[1, 2, 3] * 20])
    kn_lp = ngram_log_probs(kn, blocks)
    assert kn_lp.shape == (2, 4)
    assert math.isclose(float(kn_lp[0, 0]), math.log(kn.prob([1], 2)))
    uni = unigram_log_probs(blocks, blocks[:, 1:], len(bpe_tokenizer))
    assert uni.shape == (2, 4) and (uni < 0).all()


def test_tfidf_features_are_fitted_on_the_training_texts_only():
    train = ["the union is strong", "the union endures", "our navy is strong", "our army is ready"]
    test = ["the zeppelin is strong", "zeppelin zeppelin zeppelin"]
    x_train, x_test = tfidf_features(train, test, min_df=1)
    assert x_train.shape[0] == 4 and x_test.shape[0] == 2 and x_train.shape[1] == x_test.shape[1]
    assert isinstance(x_train, np.ndarray) and isinstance(x_test, np.ndarray)  # dense
    both, _ = tfidf_features(train + test, test, min_df=1)
    assert both.shape[1] == x_train.shape[1] + 1  # fitted on the test texts too, 'zeppelin' would get a column
    assert not x_test[1].any()  # a text of test-only words has no feature at all
    assert x_test[0].any()


def test_tfidf_min_df_drops_rare_training_words():
    train = ["a good film", "a bad film", "good acting"]
    (x_train,) = tfidf_features(train)  # default min_df=2: 'film' and 'good' (one-letter words are no tokens)
    assert x_train.shape == (3, 2)
    x_train, x_val, x_test = tfidf_features(train, ["good"], ["bad acting"])
    assert x_val.shape == x_test.shape == (1, 2)
    assert x_val.any() and not x_test.any()  # 'bad' and 'acting' occur once in training: no columns


def test_kneser_ney_perplexities_match_one_model_per_order_and_higher_orders_win_on_repetitive_text():
    from sslm_utils.evaluation.baselines import kneser_ney_perplexities
    from sslm_utils.evaluation.perplexity import perplexity

    g = torch.Generator().manual_seed(0)
    phrase = torch.randint(0, 20, (12,), generator=g)
    train = phrase.repeat(40).view(-1, 16)  # a 12-token phrase over and over: long histories pay
    held_out = phrase.repeat(4).view(-1, 16)
    result = kneser_ney_perplexities(train, held_out, 20, orders=(1, 3))
    one = KneserNeyLM(3, 20).fit([train.flatten().tolist()])
    assert result[3] == pytest.approx(perplexity(ngram_log_probs(one, held_out).flatten()))
    assert result[3] < result[1]
    with pytest.raises(ValueError, match="orders is empty"):
        kneser_ney_perplexities(train, held_out, 20, orders=())
    from sslm_utils.evaluation.baselines import kneser_ney_log_probs

    per_token = kneser_ney_log_probs(train, held_out, 20, orders=(3,))[3]
    assert per_token.shape == (len(held_out), 15)
    assert perplexity(per_token.flatten()) == pytest.approx(result[3])
