"""Subword algorithms from scratch, small enough to read in one sitting.

These are the teaching versions of what the ``tokenizers`` library does in
Rust; chapter 1 checks that :func:`learn_bpe` reproduces the library's merges
exactly and that :func:`wordpiece_word` splits words as BERT does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

Symbols = tuple[str, ...]


def word_frequencies(texts: Iterable[str]) -> Counter:
    """How often each pre-token occurs, pre-tokenized like ``tokenizers``' ``Whitespace``."""
    from tokenizers import pre_tokenizers

    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of strings, not one string; wrap it in a list.")
    split = pre_tokenizers.Whitespace().pre_tokenize_str
    counts: Counter = Counter()
    for text in texts:
        counts.update(word for word, _ in split(text))
    return counts


def pair_counts(words: Mapping[Symbols, int]) -> Counter:
    """Occurrences of every adjacent symbol pair, weighted by word frequency."""
    counts: Counter = Counter()
    for symbols, freq in words.items():
        for pair in zip(symbols, symbols[1:]):
            counts[pair] += freq
    return counts


def merge_pair(words: Mapping[Symbols, int], pair: tuple[str, str]) -> dict[Symbols, int]:
    """Replace every adjacent occurrence of ``pair`` by one joined symbol, left to right."""
    merged: dict[Symbols, int] = {}
    for symbols, freq in words.items():
        out, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
                out.append(symbols[i] + symbols[i + 1])
                i += 2
            else:
                out.append(symbols[i])
                i += 1
        merged[tuple(out)] = merged.get(tuple(out), 0) + freq
    return merged


def learn_bpe(word_freqs: Mapping[str, int], n_merges: int) -> list[tuple[str, str]]:
    """Sennrich et al. (2016): repeatedly merge the most frequent adjacent pair.

    Ties are broken as in the ``tokenizers`` library: the pair whose symbols
    entered the vocabulary first wins (characters in sorted order, then merged
    symbols in order of creation). Returns the merges in order.
    """
    if not isinstance(n_merges, int) or n_merges < 0:
        raise ValueError(f"n_merges must be a non-negative int, got {n_merges!r}.")
    if not word_freqs:
        raise ValueError("word_freqs is empty; count some words first (see word_frequencies).")
    words = {tuple(word): freq for word, freq in word_freqs.items()}
    rank = {ch: i for i, ch in enumerate(sorted({ch for word in word_freqs for ch in word}))}
    merges = []
    for _ in range(n_merges):
        counts = pair_counts(words)
        if not counts:
            break  # every word is a single symbol: nothing left to merge
        best = max(counts, key=lambda p: (counts[p], -rank[p[0]], -rank[p[1]]))
        merges.append(best)
        words = merge_pair(words, best)
        rank.setdefault(best[0] + best[1], len(rank))
    return merges


def apply_bpe(word: str, merges: list[tuple[str, str]]) -> list[str]:
    """Split a new word with learned merges, applied in the order they were learned."""
    if not isinstance(word, str) or not word:
        raise ValueError(f"word must be a non-empty str, got {word!r}.")
    symbols = {tuple(word): 1}
    for pair in merges:
        symbols = merge_pair(symbols, pair)
    return list(next(iter(symbols)))


def wordpiece_word(word: str, vocab: Mapping[str, int] | set, unk: str = "[UNK]", prefix: str = "##") -> list[str]:
    """BERT's greedy longest-match-first split of one word (Wu et al., 2016).

    Take the longest prefix in the vocabulary, then the longest continuation
    (written with ``##``) and so on; if some position has no match at all the
    whole word becomes ``[UNK]``.
    """
    if not isinstance(word, str) or not word:
        raise ValueError(f"word must be a non-empty str, got {word!r}.")
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else prefix + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return [unk]
        pieces.append(piece)
        start = end
    return pieces
