"""Interpolated Kneser-Ney n-gram language models (Kneser & Ney, 1995; Chen & Goodman, 1999), lesson 1.1.

The count-based baseline every neural language model in the book must beat
on the same held-out tokens.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

import torch

from .. import checks


class KneserNeyLM:
    """Interpolated Kneser-Ney n-gram model over integer token ids.

    Lower orders use *continuation* counts: how many distinct words precede
    an n-gram, not how often it occurs. A word like "states" is frequent but
    almost always follows "united", so it should not get a large share of the
    probability reserved for unseen histories.
    """

    def __init__(self, order: int, vocab_size: int, discount: float = 0.75):
        checks.positive_int("order", order)
        checks.fraction("discount", discount, open_low=True, open_high=True)
        self.order, self.vocab_size, self.discount = order, vocab_size, discount
        self.counts: list[Counter] = []

    def fit(self, sequences: Sequence[Sequence[int]]) -> KneserNeyLM:
        sequences = checks.token_sequences(sequences, self.vocab_size)
        n = self.order
        highest: Counter = Counter()
        for seq in sequences:
            for i in range(len(seq)):
                highest[tuple(seq[max(0, i - n + 1) : i + 1])] += 1
        # Continuation counts for every lower order: distinct left extensions.
        self.counts = [Counter() for _ in range(n)]  # index k-1 holds k-grams
        for gram, c in highest.items():
            if len(gram) == n:
                self.counts[n - 1][gram] += c
                if n > 1:
                    self.counts[n - 2][gram[1:]] += 1
            else:  # a document's first words: too short for a left extension
                self.counts[len(gram) - 1][gram] += c
        for k in range(n - 1, 1, -1):
            for gram in [g for g in self.counts[k - 1] if len(g) == k]:
                self.counts[k - 2][gram[1:]] += 1
        self.totals, self.types = [], []
        for k in range(n):
            total, types = defaultdict(int), defaultdict(int)
            for gram, c in self.counts[k].items():
                total[gram[:-1]] += c
                types[gram[:-1]] += 1
            self.totals.append(total)
            self.types.append(types)
        return self

    def prob(self, context: Sequence[int], word: int) -> float:
        """P(word | the last ``order - 1`` ids of context)."""
        if not self.counts:
            raise RuntimeError("Call fit() before prob().")
        d = self.discount
        # order 1 interpolates with the uniform distribution, so no word gets zero
        total, types = self.totals[0][()], self.types[0][()]
        p = (max(self.counts[0][(word,)] - d, 0) + d * types / self.vocab_size) / total
        context = tuple(context[len(context) - (self.order - 1) :]) if self.order > 1 else ()
        for k in range(2, self.order + 1):
            if len(context) < k - 1:
                break
            history = context[len(context) - (k - 1) :]
            total = self.totals[k - 1].get(history, 0)
            if total == 0:
                continue  # unseen history: keep the lower-order estimate
            count = self.counts[k - 1].get(history + (word,), 0)
            p = (max(count - d, 0) + d * self.types[k - 1][history] * p) / total
        return p

    def log_probs(self, sequences: Sequence[Sequence[int]], skip: int | None = None) -> torch.Tensor:
        """Natural-log probability of every predicted token, document by document.

        The first ``skip`` tokens of each document (default: ``order - 1``) are
        context only, so every prediction sees a full history; the order matches
        the targets of :func:`context_windows` with ``context = skip``.
        """
        sequences = checks.token_sequences(sequences)
        skip = self.order - 1 if skip is None else skip
        out = [
            math.log(self.prob(seq[max(0, i - self.order + 1) : i], seq[i]))
            for seq in sequences
            for i in range(skip, len(seq))
        ]
        return torch.tensor(out, dtype=torch.float64)
