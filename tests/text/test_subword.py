"""sslm_utils.text.subword: BPE and WordPiece from scratch, equal to the tokenizers library."""

import json

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from sslm_utils.text.subword import apply_bpe, learn_bpe, merge_pair, pair_counts, word_frequencies, wordpiece_word


def test_pair_counts_weighted_by_frequency():
    counts = pair_counts({("a", "b", "a", "b"): 3, ("a", "b"): 1})
    assert counts[("a", "b")] == 7 and counts[("b", "a")] == 3


def test_merge_pair_left_to_right():
    assert merge_pair({("a", "a", "a"): 2}, ("a", "a")) == {("aa", "a"): 2}


def test_learn_bpe_matches_library(small_texts):
    freqs = word_frequencies(small_texts)
    ours = learn_bpe(freqs, 150)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    alphabet = {ch for w in freqs for ch in w}
    tok.train_from_iterator(small_texts, trainers.BpeTrainer(vocab_size=len(alphabet) + 150, min_frequency=0,
                                                             show_progress=False))
    theirs = [tuple(m) if isinstance(m, list) else tuple(m.split(" "))
              for m in json.loads(tok.to_str())["model"]["merges"]]
    assert ours == theirs


def test_apply_bpe():
    merges = learn_bpe({"low": 5, "lower": 2, "newest": 6, "widest": 3}, 10)
    pieces = apply_bpe("lowest", merges)
    assert "".join(pieces) == "lowest" and len(pieces) < len("lowest")


def test_wordpiece_word_matches_library(wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    vocab = tok.get_vocab()
    for word in ["government", "unconstitutionally", "the", "zyzzyva", "appropriations"]:
        assert wordpiece_word(word, vocab) == tok.tokenize(word)


def test_wordpiece_unknown_word():
    assert wordpiece_word("xyz", {"x", "##y"}) == ["[UNK]"]


@pytest.mark.parametrize("bad", [lambda: learn_bpe({}, 3), lambda: learn_bpe({"a": 1}, -1),
                                 lambda: apply_bpe("", []), lambda: wordpiece_word("", set()),
                                 lambda: word_frequencies("a string")])
def test_bad_inputs(bad):
    with pytest.raises((TypeError, ValueError)):
        bad()
