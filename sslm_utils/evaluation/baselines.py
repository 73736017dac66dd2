"""The simple baselines a model must beat before the book says it learned anything.

A unigram model (training-set frequencies, no context at all), a uniform
guess (ln V), a Kneser-Ney n-gram scored on the very targets a GPT predicts,
and TF-IDF + logistic regression for classification: each is cheap, strong
for its cost, and computed on exactly the same held-out data as the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .. import checks


def log_vocab(vocab_size: int) -> float:
    """The loss of a uniform guess over the vocabulary: ln V nats."""
    return math.log(checks.positive_int("vocab_size", vocab_size))


def unigram_log_probs(train_ids, targets, vocab_size: int, special_ids: Sequence[int] = ()) -> torch.Tensor:
    """ln p(target) from add-one-smoothed training frequencies: the baseline that ignores context.

    Add-one smoothing keeps unseen tokens finite; ``special_ids`` (tokens that
    are never targets, such as ``[CLS]`` or ``[PAD]``) get no mass.
    """
    checks.positive_int("vocab_size", vocab_size)
    counts = torch.bincount(torch.as_tensor(train_ids).flatten(), minlength=vocab_size).double() + 1.0
    counts[list(special_ids)] = 0.0
    return torch.log(counts / counts.sum())[torch.as_tensor(targets)]


def unigram_cross_entropy(train_ids, targets, vocab_size: int, special_ids: Sequence[int] = ()) -> float:
    """Mean of −:func:`unigram_log_probs` (nats): the floor a masked LM must beat to show it uses context."""
    return float(-unigram_log_probs(train_ids, targets, vocab_size, special_ids).mean())


def ngram_log_probs(kn_model, blocks: torch.Tensor) -> torch.Tensor:
    """A fitted :class:`~sslm_utils.models.ngram.KneserNeyLM`'s ln p of the same targets a GPT predicts:
    positions 1 … L-1 of every block, with only the block's own earlier tokens as context."""
    checks.tensor("blocks", blocks, min_dim=2)
    logp = kn_model.log_probs(blocks.tolist(), skip=1)
    return logp.view(len(blocks), blocks.shape[1] - 1)


def kneser_ney_log_probs(train_blocks: torch.Tensor, blocks: torch.Tensor, vocab_size: int,
                         orders: Sequence[int] = (2, 3, 4, 5)) -> dict[int, torch.Tensor]:
    """ln p of every GPT target of ``blocks`` (shape ``(n_blocks, L - 1)``) under an interpolated Kneser-Ney model
    of each order, fitted on every training token; scored like a GPT (:func:`ngram_log_probs`)."""
    from ..models.ngram import KneserNeyLM

    checks.tensor("train_blocks", train_blocks, min_dim=2)
    orders = [checks.positive_int("order", n) for n in orders]
    if not orders:
        raise ValueError("orders is empty; pass the n-gram orders to try, e.g. (2, 3, 4, 5).")
    history = [train_blocks.flatten().tolist()]
    return {n: ngram_log_probs(KneserNeyLM(n, vocab_size).fit(history), blocks) for n in orders}


def kneser_ney_perplexities(train_blocks: torch.Tensor, blocks: torch.Tensor, vocab_size: int,
                            orders: Sequence[int] = (2, 3, 4, 5)) -> dict[int, float]:
    """Held-out perplexity of an interpolated Kneser-Ney model of each order, fitted on every training token.

    Scored like a GPT (:func:`ngram_log_probs`: the same targets, each block's
    own earlier tokens as context), so ``min(result.values())`` is the n-gram a
    GPT must beat on these blocks; which order wins depends on how much text
    there is (more text supports longer histories).
    """
    from .perplexity import perplexity

    return {n: perplexity(logp.flatten())
            for n, logp in kneser_ney_log_probs(train_blocks, blocks, vocab_size, orders).items()}


def tfidf_features(train_texts: Sequence[str], *other_texts: Sequence[str], min_df: int = 2):
    """TF-IDF bag-of-words vectors (dense arrays) fitted on ``train_texts`` only, for each text set given.

    The strongest cheap baseline for sentence classification: no pretraining,
    no word order, just which words occur. Fitting on the training texts only
    keeps test vocabulary out of the features.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(min_df=min_df).fit(list(train_texts))
    return tuple(vectorizer.transform(list(texts)).toarray() for texts in (train_texts, *other_texts))
