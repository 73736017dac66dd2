"""sslm_utils.text.words: chapter 1's word tokens, the closed vocabulary, the token budget."""

import pytest

from sslm_utils.text.words import Vocab, take_tokens, words


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


def test_take_tokens():
    assert take_tokens([[1, 2, 3], [4, 5]], 4) == [[1, 2, 3], [4]]
    assert take_tokens([[1], [2]], None) == [[1], [2]]
    with pytest.raises(ValueError):
        take_tokens([[1]], 0)
