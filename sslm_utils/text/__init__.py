"""Step 2: from raw text to token ids (words, sentences, subword algorithms, trained tokenizers).

Its modules, in the order the book teaches them (every public name is importable
from the subpackage too):

- ``words``: words and word vocabularies: the units of chapter 1's language models.
- ``sentences``: sentence splitting without a trained model, for building BERT's sentence pairs (lesson 3.1).
- ``subword``: subword algorithms from scratch, small enough to read in one sitting.
- ``tokenizers``: train subword tokenizers and wrap them as ``transformers`` tokenizers.
- ``documents``: whole corpora as token ids: speeches as sentences of ids (for BERT's pairs) or as one run of ids
  (for a GPT).
"""

from .documents import (
    encode_documents,
    tokenize_documents,
)
from .sentences import (
    ABBREVIATIONS,
    split_sentences,
)
from .subword import (
    Symbols,
    apply_bpe,
    learn_bpe,
    merge_pair,
    pair_counts,
    word_frequencies,
    wordpiece_word,
)
from .tokenizers import (
    BERT_SPECIAL_TOKENS,
    GPT_SPECIAL_TOKENS,
    MAX_LENGTH,
    TokenizerMismatchError,
    check_vocab_size,
    load_tokenizer,
    tokens_per_word,
    train_bpe,
    train_wordpiece,
)
from .words import (
    UNK,
    Vocab,
    take_tokens,
    words,
)

__all__ = [
    "UNK",
    "words",
    "Vocab",
    "take_tokens",
    "ABBREVIATIONS",
    "split_sentences",
    "Symbols",
    "word_frequencies",
    "pair_counts",
    "merge_pair",
    "learn_bpe",
    "apply_bpe",
    "wordpiece_word",
    "BERT_SPECIAL_TOKENS",
    "GPT_SPECIAL_TOKENS",
    "MAX_LENGTH",
    "TokenizerMismatchError",
    "check_vocab_size",
    "train_wordpiece",
    "train_bpe",
    "load_tokenizer",
    "tokens_per_word",
    "tokenize_documents",
    "encode_documents",
]
