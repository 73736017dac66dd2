import math
from collections import Counter

import torch

from sslm_utils.exercises import Feedback, check_close
from sslm_utils.exercises.ch01 import (
    check_apply_bpe,
    check_bigram_mle,
    check_context_windows,
    check_most_frequent_pair,
    check_perplexity,
    check_wordpiece,
)
from sslm_utils.lm import context_windows
from sslm_utils.subword import apply_bpe, pair_counts, wordpiece_word


def messages(fb):
    return " ".join(fb.messages)


def test_check_close_names_the_index():
    fb = Feedback("x")
    assert not check_close(fb, [1.0, 2.0, 3.5], [1.0, 2.0, 3.0])
    assert "index (2,)" in messages(fb) and "3.5" in messages(fb)


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


def test_pair_checker():
    def right(words):
        counts = pair_counts(words)
        return max(counts, key=counts.get)
    def unweighted(words):
        counts = Counter(p for s in words for p in zip(s, s[1:]))
        return max(counts, key=counts.get)
    assert check_most_frequent_pair(right)
    assert "distinct" in messages(check_most_frequent_pair(unweighted))


def test_apply_bpe_checker():
    assert check_apply_bpe(apply_bpe)
    assert not check_apply_bpe(lambda word, merges: list(word))
    assert "join back" in messages(check_apply_bpe(lambda word, merges: [word[:1]]))


def test_wordpiece_checker():
    assert check_wordpiece(wordpiece_word)
    no_prefix = lambda word, vocab: [p.removeprefix("##") for p in wordpiece_word(word, vocab)]
    assert not check_wordpiece(no_prefix)
    def never_unk(word, vocab):
        pieces = wordpiece_word(word, vocab)
        return list(word) if pieces == ["[UNK]"] else pieces
    assert "[UNK]" in messages(check_wordpiece(never_unk))
