"""Words and word vocabularies: the units of chapter 1's language models.

A deliberately simple word splitter (lower-cased letters, numbers,
punctuation marks), a closed vocabulary that maps rare words to ``<unk>``, and
a helper that cuts a corpus to a token budget without merging documents.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

UNK = "<unk>"


_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)*|[^\sa-z\d]")


def words(text: str) -> list[str]:
    """Lower-cased words, numbers and single punctuation marks, in order."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}.")
    return _WORD.findall(text.lower())


class Vocab:
    """A closed word vocabulary: the ``size - 1`` most frequent words plus ``<unk>``."""

    def __init__(self, tokens: Iterable[str], size: int):
        if not isinstance(size, int) or size < 2:
            raise ValueError(f"size must be an int of at least 2 (one word plus <unk>), got {size!r}.")
        counts = Counter(tokens)
        if UNK in counts:
            raise ValueError(f"The corpus already contains the reserved token {UNK!r}.")
        # sort by count, then alphabetically, so ties never depend on dict order
        common = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: size - 1]
        self.itos = [UNK] + [w for w, _ in common]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        return [self.stoi.get(t, 0) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in ids]


def take_tokens(documents: Sequence[Sequence], max_tokens: int | None) -> list[list]:
    """The first ``max_tokens`` tokens of a corpus, keeping document boundaries.

    ``None`` keeps everything. Profiles use this to size a corpus without
    ever mixing the end of one speech into the start of another.
    """
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise ValueError(f"max_tokens must be a positive int or None, got {max_tokens!r}.")
    out, left = [], max_tokens
    for doc in documents:
        if left is not None:
            if left <= 0:
                break
            doc = doc[:left]
            left -= len(doc)
        out.append(list(doc))
    return out
