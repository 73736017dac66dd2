"""Train subword tokenizers and wrap them as ``transformers`` tokenizers.

Two algorithms, as in the published models: WordPiece (BERT) and byte-level
BPE (GPT-2). Both are trained with the ``tokenizers`` library and wrapped so
that ``save_pretrained`` / ``AutoTokenizer.from_pretrained`` round-trip.

A pitfall guarded here: in transformers 5, ``BertTokenizerFast(vocab_file=...)``
silently builds a tokenizer with only the 5 special tokens. Every wrapper
built here is checked against the trained vocabulary size.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from .. import checks

BERT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


GPT_SPECIAL_TOKENS = ("<|endoftext|>",)


MAX_LENGTH = 512


class TokenizerMismatchError(RuntimeError):
    """A wrapped tokenizer does not have the vocabulary it was built from."""


def _check_training_args(texts, vocab_size: int, min_frequency: int, n_special: int) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of strings, not one string; wrap it in a list.")
    texts = list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("texts must be a non-empty iterable of strings.")
    if not any(t.strip() for t in texts):
        raise ValueError("texts hold only whitespace, so there is nothing to learn a vocabulary from; check that "
                         "the corpus was read correctly (the right column, the right file).")
    if not isinstance(vocab_size, int) or vocab_size <= n_special:
        raise ValueError(
            f"vocab_size must be an int larger than the {n_special} special tokens, got {vocab_size!r}."
        )
    checks.positive_int("min_frequency", min_frequency)
    return texts


def check_vocab_size(wrapped, expected: int) -> None:
    """Raise if a wrapper lost its vocabulary (the transformers 5 ``vocab_file`` trap)."""
    if len(wrapped) != expected:
        raise TokenizerMismatchError(
            f"The tokenizer has {len(wrapped)} tokens but its vocabulary has {expected}. "
            "In transformers 5, BertTokenizerFast(vocab_file=...) silently drops the vocabulary; "
            "build it with BertTokenizer(vocab=path) or AutoTokenizer.from_pretrained(folder)."
        )


def _fit(tok: Tokenizer, trainer_class, texts: list[str], vocab_size: int, min_frequency: int, special_tokens,
         **extra) -> None:
    """Train ``tok`` in place with a quiet ``tokenizers`` trainer (the special tokens get the first ids)."""
    trainer = trainer_class(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(special_tokens),
                            show_progress=False, **extra)
    tok.train_from_iterator(texts, trainer)


def train_wordpiece(
    texts: Iterable[str], vocab_size: int, *, min_frequency: int = 2, lowercase: bool = True
):
    """Train a BERT-style WordPiece tokenizer and return it as a ``BertTokenizer``.

    Inputs are normalised like BERT's (optional lower-casing and accent
    stripping), split on whitespace and punctuation, and encoded as
    ``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]`` with token-type ids 0/1.

    Not bit-reproducible across processes: the ``tokenizers`` trainer breaks
    ties through randomly seeded hash maps, so two runs can number tokens
    differently and, at larger sizes, differ in a few rare tokens. Train once
    and save it (as chapter 3's ``bert_tokenizer`` does) when ids must agree.
    """
    from transformers import BertTokenizer

    texts = _check_training_args(texts, vocab_size, min_frequency, len(BERT_SPECIAL_TOKENS))
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    _fit(tok, trainers.WordPieceTrainer, texts, vocab_size, min_frequency, BERT_SPECIAL_TOKENS)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.decoder = decoders.WordPiece()
    wrapped = BertTokenizer(tokenizer_object=tok, do_lower_case=lowercase, model_max_length=MAX_LENGTH)
    check_vocab_size(wrapped, tok.get_vocab_size())
    return wrapped


def train_bpe(texts: Iterable[str], vocab_size: int, *, min_frequency: int = 2):
    """Train a GPT-2-style byte-level BPE tokenizer; return a ``PreTrainedTokenizerFast``.

    Byte-level means the base alphabet is the 256 byte values, so no input is
    ever unknown. ``<|endoftext|>`` serves as beginning, end and padding token.
    """
    from transformers import PreTrainedTokenizerFast

    n_base = len(pre_tokenizers.ByteLevel.alphabet()) + len(GPT_SPECIAL_TOKENS)
    texts = _check_training_args(texts, vocab_size, min_frequency, n_base)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    _fit(tok, trainers.BpeTrainer, texts, vocab_size, min_frequency, GPT_SPECIAL_TOKENS,
         initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    eot = GPT_SPECIAL_TOKENS[0]
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=eot, eos_token=eot, pad_token=eot, model_max_length=MAX_LENGTH
    )
    check_vocab_size(wrapped, tok.get_vocab_size())
    return wrapped


def load_tokenizer(folder: str | os.PathLike):
    """Load a tokenizer saved with ``save_pretrained``, checking its vocabulary survived."""
    import json

    from transformers import AutoTokenizer

    folder = os.fspath(folder)
    spec = os.path.join(folder, "tokenizer.json")
    if not os.path.isfile(spec):
        raise FileNotFoundError(
            f"No tokenizer.json in {folder!r}; save a tokenizer there with save_pretrained(folder)."
        )
    tok = AutoTokenizer.from_pretrained(folder)
    with open(spec, encoding="utf-8") as f:
        expected = len(json.load(f)["model"]["vocab"])
    # added special tokens are part of the model vocab for both algorithms here
    check_vocab_size(tok, expected)
    return tok


def tokens_per_word(tokenizer, texts: Iterable[str]) -> float:
    """Average subword tokens per whitespace word (the 'fertility'), specials excluded."""
    n_tokens = n_words = 0
    for text in texts:
        n_tokens += len(tokenizer.tokenize(text))
        n_words += len(text.split())
    if n_words == 0:
        raise ValueError("texts contain no words.")
    return n_tokens / n_words
