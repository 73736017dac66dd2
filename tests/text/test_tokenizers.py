"""sslm_utils.text.tokenizers: WordPiece and byte-level BPE as transformers tokenizers, saved and loaded safely."""

import pytest
from transformers import BertTokenizerFast

from sslm_utils.text import tokenizers


def test_wordpiece_vocab_and_specials(wordpiece_tokenizer):
    assert len(wordpiece_tokenizer) == 1000
    assert {"[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"} <= set(wordpiece_tokenizer.all_special_tokens)


def test_wordpiece_pair_encoding(wordpiece_tokenizer):
    enc = wordpiece_tokenizer("the union", "is strong")
    tokens = wordpiece_tokenizer.convert_ids_to_tokens(enc["input_ids"])
    assert tokens[0] == "[CLS]" and tokens.count("[SEP]") == 2 and tokens[-1] == "[SEP]"
    first_sep = tokens.index("[SEP]")
    assert set(enc["token_type_ids"][: first_sep + 1]) == {0}
    assert set(enc["token_type_ids"][first_sep + 1 :]) == {1}


def test_round_trip(tmp_path, wordpiece_tokenizer, small_texts):
    wordpiece_tokenizer.save_pretrained(tmp_path)
    loaded = tokenizers.load_tokenizer(tmp_path)
    assert len(loaded) == len(wordpiece_tokenizer)
    text = small_texts[0][:500]
    assert loaded(text)["input_ids"] == wordpiece_tokenizer(text)["input_ids"]


def test_transformers5_vocab_file_trap_is_caught(tmp_path, wordpiece_tokenizer):
    wordpiece_tokenizer.backend_tokenizer.model.save(str(tmp_path))
    trap = BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"))
    assert len(trap) == 5  # the silent failure this guard exists for
    with pytest.raises(tokenizers.TokenizerMismatchError, match="BertTokenizer\\(vocab=path\\)"):
        tokenizers.check_vocab_size(trap, len(wordpiece_tokenizer))


def test_load_tokenizer_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="save_pretrained"):
        tokenizers.load_tokenizer(tmp_path)


def test_byte_bpe_never_unknown(bpe_tokenizer, small_texts):
    bpe = bpe_tokenizer  # tokenizers.train_bpe(small_texts[:3], 400)
    assert len(bpe) == 400 and bpe.eos_token == "<|endoftext|>"
    for text in ["国情咨文", "naïve café ☕", small_texts[1][:200]]:
        assert bpe.decode(bpe(text)["input_ids"]) == text


@pytest.mark.parametrize(
    "args",
    [("one string", 100), ([], 100), (["text"], 3), (["text"], "big"), ([1, 2], 100)],
)
def test_bad_training_inputs(args):
    with pytest.raises((TypeError, ValueError)):
        tokenizers.train_wordpiece(*args)


def test_byte_bpe_vocab_must_exceed_bytes():
    with pytest.raises(ValueError, match="special tokens"):
        tokenizers.train_bpe(["some text"], 200)


def test_tokens_per_word(wordpiece_tokenizer):
    assert tokenizers.tokens_per_word(wordpiece_tokenizer, ["the union"]) == 1.0
    with pytest.raises(ValueError):
        tokenizers.tokens_per_word(wordpiece_tokenizer, [""])
