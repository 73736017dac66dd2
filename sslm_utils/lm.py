"""Chapter 1's language models: counts against a tiny neural network.

Both models see the same words through the same closed vocabulary and the
same ``context`` words of history, so their held-out perplexities compare
like with like. The count model is interpolated Kneser-Ney (Kneser & Ney,
1995; Chen & Goodman, 1999); the neural one is the fixed-window MLP of
Bengio et al. (2003).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

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


def _check_sequences(sequences, vocab_size: int | None = None) -> list[list[int]]:
    if not isinstance(sequences, Sequence) or not sequences:
        raise ValueError("Expected a non-empty list of token-id sequences (one per document).")
    if not all(isinstance(s, Sequence) and not isinstance(s, str) for s in sequences):
        raise TypeError("Each document must be a list of int token ids, not a string.")
    if vocab_size is not None:
        top = max((max(s) for s in sequences if s), default=0)
        if top >= vocab_size:
            raise ValueError(f"Token id {top} is outside the vocabulary of size {vocab_size}.")
    return [list(s) for s in sequences]


class KneserNeyLM:
    """Interpolated Kneser-Ney n-gram model over integer token ids.

    Lower orders use *continuation* counts: how many distinct words precede
    an n-gram, not how often it occurs. A word like "states" is frequent but
    almost always follows "united", so it should not get a large share of the
    probability reserved for unseen histories.
    """

    def __init__(self, order: int, vocab_size: int, discount: float = 0.75):
        if not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be a positive int, got {order!r}.")
        if not 0 < discount < 1:
            raise ValueError(f"discount must lie strictly between 0 and 1, got {discount!r}.")
        self.order, self.vocab_size, self.discount = order, vocab_size, discount
        self.counts: list[Counter] = []

    def fit(self, sequences: Sequence[Sequence[int]]) -> KneserNeyLM:
        sequences = _check_sequences(sequences, self.vocab_size)
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
        sequences = _check_sequences(sequences)
        skip = self.order - 1 if skip is None else skip
        out = [
            math.log(self.prob(seq[max(0, i - self.order + 1) : i], seq[i]))
            for seq in sequences
            for i in range(skip, len(seq))
        ]
        return torch.tensor(out, dtype=torch.float64)


def perplexity(total_nll: float, n_tokens: int) -> float:
    """exp(mean negative log-likelihood): the effective number of equally likely choices."""
    if n_tokens <= 0:
        raise ValueError("Perplexity needs at least one predicted token.")
    return math.exp(total_nll / n_tokens)


def context_windows(sequences: Sequence[Sequence[int]], context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (previous ``context`` ids, next id) pair inside each document.

    Returns ``inputs`` of shape ``(n_examples, context)`` and ``targets`` of
    shape ``(n_examples,)``; windows never straddle two documents.
    """
    if not isinstance(context, int) or context < 1:
        raise ValueError(f"context must be a positive int, got {context!r}.")
    sequences = _check_sequences(sequences)
    xs, ys = [], []
    for seq in sequences:
        if len(seq) <= context:
            continue
        ids = torch.tensor(seq)
        xs.append(ids.unfold(0, context, 1)[:-1])  # (len - context, context)
        ys.append(ids[context:])
    if not xs:
        raise ValueError(f"No document is longer than the context of {context} tokens.")
    return torch.cat(xs), torch.cat(ys)


class FixedWindowLM(nn.Module):
    """Bengio et al. (2003): embed the last ``context`` words, concatenate, one hidden layer."""

    def __init__(self, vocab_size: int, context: int, embed_dim: int, hidden_dim: int):
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.hidden = nn.Linear(context * embed_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() != 2 or inputs.shape[1] != self.context:
            raise ValueError(
                f"inputs must have shape (batch, {self.context}), got {tuple(inputs.shape)}."
            )
        x = self.embed(inputs).flatten(1)  # (batch, context * embed_dim)
        return self.out(torch.tanh(self.hidden(x)))  # (batch, vocab) logits


def train_window_lm(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    lr: float = 5e-3,
    seed: int = 0,
    eval_every: int | None = None,
    eval_fn: Callable[[nn.Module], float] | None = None,
    progress: bool = True,
) -> dict[str, list]:
    """Adam with a cosine schedule on random minibatches.

    Returns ``{"loss": [training loss of every step], "eval": [(step, eval_fn(model)), ...]}``;
    ``eval_fn`` (for instance held-out perplexity) runs every ``eval_every`` steps and at the end.
    """
    if not isinstance(steps, int) or steps < 1 or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive ints, got {steps!r} and {batch_size!r}.")
    if (eval_every is None) != (eval_fn is None):
        raise ValueError("Pass eval_every and eval_fn together, or neither.")
    if eval_every is not None and (not isinstance(eval_every, int) or eval_every < 1):
        raise ValueError(f"eval_every must be a positive int, got {eval_every!r}.")
    if inputs.shape[0] != targets.shape[0]:
        raise ValueError(f"inputs has {inputs.shape[0]} rows but targets has {targets.shape[0]}.")
    from .progress import trange

    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    history: dict[str, list] = {"loss": [], "eval": []}
    for step in trange(1, steps + 1, disable=not progress, desc="training"):
        model.train()
        idx = torch.randint(len(targets), (batch_size,), generator=gen)
        loss = F.cross_entropy(model(inputs[idx].to(device)), targets[idx].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        history["loss"].append(loss.item())
        if eval_fn is not None and (step % eval_every == 0 or step == steps):
            history["eval"].append((step, eval_fn(model)))
    return history


@torch.no_grad()
def window_lm_log_probs(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int = 4096
) -> torch.Tensor:
    """Natural-log probability the model gives each target, in order."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(targets), batch_size):
        logits = model(inputs[start : start + batch_size].to(device))  # (batch, vocab)
        log_p = F.log_softmax(logits, dim=-1)
        picked = log_p.gather(1, targets[start : start + batch_size, None].to(device)).squeeze(1)
        out.append(picked.double().cpu())
    return torch.cat(out)


def perplexity_of(log_probs: torch.Tensor) -> float:
    """Perplexity from per-token natural-log probabilities."""
    if log_probs.numel() == 0:
        raise ValueError("Perplexity needs at least one predicted token.")
    return perplexity(-float(log_probs.sum()), log_probs.numel())


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
