"""Held-out evaluation that never disturbs training: fixed batches, fixed masks, the caller's mode restored.

:func:`evaluation_batches` is the one place that decides what an evaluation
sees — which examples, in which batches, with which random masks — so a
notebook can look at exactly the masked positions :func:`evaluate` scored
instead of replaying its random-number protocol by hand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch.utils.data import default_collate

from .. import checks
from .batches import check_dataset, to_device
from .losses import as_float, default_loss, split_loss


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """``model.eval()`` inside the block (no dropout), then the caller's mode back, even after an error."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def evaluation_batches(eval_data, *, batch_size: int = 32, collate_fn: Callable | None = None, seed: int = 0,
                       rank: int = 0, world: int = 1, device: torch.device | None = None):
    """Yield ``(indices, batch)`` exactly as :func:`evaluate` builds them, on CPU.

    Process ``rank`` of ``world`` takes every ``world``-th example; batches
    are consecutive runs of ``batch_size`` of them. The random generators are
    forked and seeded with ``seed`` for the whole loop, so a collator that
    masks at random (MLM) draws the same masks at every evaluation, and the
    caller's random stream is untouched. The draws match :func:`evaluate`'s as
    long as nothing between two batches draws random numbers (a BERT in eval
    mode draws none).
    """
    n = check_dataset(eval_data, "eval_data")
    if n == 0:
        raise ValueError("eval_data is empty; pass at least one held-out example (or eval_data=None).")
    checks.positive_int("batch_size", batch_size)
    collate = collate_fn or default_collate
    devices = [torch.cuda.current_device()] if device is not None and device.type == "cuda" else []
    mine = list(range(rank, n, world))
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        for start in range(0, len(mine), batch_size):
            idx = mine[start : start + batch_size]
            yield idx, collate([eval_data[i] for i in idx])


def _batch_values(model, batch, n_examples: int, loss_fn, compute_metrics) -> dict[str, tuple[float, float]]:
    """``{name: (total, count)}`` for one batch: a pair is kept, a plain number counts once per example."""
    if compute_metrics is not None:
        values = dict(compute_metrics(model, batch))
    else:
        loss, extras = split_loss((loss_fn or default_loss)(model, batch))
        values = {"loss": loss, **extras}
    return {name: (as_float(v[0]), as_float(v[1])) if isinstance(v, tuple) else (as_float(v) * n_examples, n_examples)
            for name, v in values.items()}


@torch.no_grad()
def evaluate(
    model,
    eval_data,
    *,
    batch_size: int = 32,
    collate_fn: Callable | None = None,
    loss_fn: Callable | None = None,
    compute_metrics: Callable | None = None,
    seed: int = 0,
    accelerator=None,
) -> dict[str, float]:
    """Average metrics over ``eval_data`` without disturbing training.

    ``compute_metrics(model, batch)`` (if given; otherwise ``loss_fn``) returns
    ``{name: value}`` where a value is either a number, averaged over examples,
    or a pair ``(total, count)``, summed over batches and divided at the end
    (e.g. correct predictions over masked tokens — exact, unlike an average of
    per-batch ratios). The batches and their random masks come from
    :func:`evaluation_batches` with ``seed``: the same at every evaluation.
    """
    rank = accelerator.process_index if accelerator is not None else 0
    world = accelerator.num_processes if accelerator is not None else 1
    device = accelerator.device if accelerator is not None else next(model.parameters()).device
    autocast = accelerator.autocast if accelerator is not None else contextlib.nullcontext
    totals: dict[str, list[float]] = {}
    batches = evaluation_batches(eval_data, batch_size=batch_size, collate_fn=collate_fn, seed=seed, rank=rank,
                                 world=world, device=device)
    with eval_mode(model):
        for idx, batch in batches:
            with autocast():
                values = _batch_values(model, to_device(batch, device), len(idx), loss_fn, compute_metrics)
            for name, (num, den) in values.items():
                acc = totals.setdefault(name, [0.0, 0.0])
                acc[0] += num
                acc[1] += den
    names = sorted(totals)
    sums = torch.tensor([totals[k] for k in names], dtype=torch.float64, device=device)
    if accelerator is not None and world > 1:
        sums = accelerator.reduce(sums, reduction="sum")
    return {k: float(s[0] / s[1]) if s[1] else float("nan") for k, s in zip(names, sums.cpu(), strict=True)}
