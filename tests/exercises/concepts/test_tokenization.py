"""Lesson 1.2's checkers accept the solutions and name the typical mistakes."""

from collections import Counter

from sslm_utils.exercises.concepts.tokenization import check_apply_bpe, check_most_frequent_pair, check_wordpiece
from sslm_utils.text.subword import apply_bpe, pair_counts, wordpiece_word


def messages(fb):
    return " ".join(fb.messages)


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
