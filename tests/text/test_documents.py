"""sslm_utils.text.documents: speeches as sentences of ids (BERT) or as one run of ids (GPT)."""

from __future__ import annotations

import copy

import pytest

from sslm_utils.text.documents import encode_documents, tokenize_documents


def test_tokenize_documents(wordpiece_tokenizer, sentence_corpus):
    tokenizer = copy.deepcopy(wordpiece_tokenizer)  # the padded call below changes the tokenizer's state
    docs = tokenize_documents(sentence_corpus, tokenizer)
    assert len(docs) == 3 and len(docs[0]) == 6 and len(docs[1]) == 4
    assert docs[0][0] == tokenizer("Mr. Smith went to Washington.", add_special_tokens=False)["input_ids"]
    special = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    assert not special & {i for d in docs for s in d for i in s}
    with pytest.raises(TypeError, match="not one string"):
        tokenize_documents("one string", tokenizer)
    # a padded call leaves padding switched on inside the fast tokenizer; it must not leak into sentences
    tokenizer("Our navy is strong.", "Our army is ready.", padding="max_length", max_length=40)
    assert tokenize_documents(sentence_corpus, tokenizer) == docs


def test_encode_documents_refuses_one_string(bpe_tokenizer):
    with pytest.raises(TypeError, match="not one string"):
        encode_documents("one speech", bpe_tokenizer)


def test_encoding_ignores_padding_left_on_by_an_earlier_call(bpe_tokenizer):
    """tokenizer([...], padding=True) switches padding on in the Rust backend; encode_batch would then pad
    every document to the longest one (2.1 once scored a held-out stream that was 60 % padding)."""
    import copy

    from sslm_utils.text.documents import encode_documents

    texts = ["a short speech.", "a somewhat longer speech with many more words in it than the first one."]
    tokenizer = copy.deepcopy(bpe_tokenizer)  # the session's fixture stays untouched
    clean = encode_documents(texts, tokenizer)
    tokenizer(texts, padding=True)  # leaves padding on in the backend
    assert encode_documents(texts, tokenizer) == clean
    assert len(clean[0]) < len(clean[1])
