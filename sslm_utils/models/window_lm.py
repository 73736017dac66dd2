"""Bengio et al.'s (2003) fixed-window neural language model, and the short loop that trains it (lesson 1.1).

It sees the same ``context`` words as the n-gram model it is compared with,
so their held-out perplexities compare like with like.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .. import checks
from ..progress import trange


def context_windows(sequences: Sequence[Sequence[int]], context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (previous ``context`` ids, next id) pair inside each document.

    Returns ``inputs`` of shape ``(n_examples, context)`` and ``targets`` of
    shape ``(n_examples,)``; windows never straddle two documents.
    """
    checks.positive_int("context", context)
    sequences = checks.token_sequences(sequences)
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
    checks.positive_int("steps", steps)
    checks.positive_int("batch_size", batch_size)
    if (eval_every is None) != (eval_fn is None):
        raise ValueError("Pass eval_every and eval_fn together, or neither.")
    if eval_every is not None and (not isinstance(eval_every, int) or eval_every < 1):
        raise ValueError(f"eval_every must be a positive int, got {eval_every!r}.")
    if inputs.shape[0] != targets.shape[0]:
        raise ValueError(f"inputs has {inputs.shape[0]} rows but targets has {targets.shape[0]}.")

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
