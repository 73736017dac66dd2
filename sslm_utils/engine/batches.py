"""Which examples form which batch: the data order is a pure function of ``(seed, epoch)``.

Resuming at step ``s`` therefore only skips the batches already consumed in
the current epoch, without replaying anything; several processes take
disjoint slices of the same global batch.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .. import checks
from .config import TrainConfig


def steps_per_epoch(n_examples: int, batch_size: int, num_processes: int = 1) -> int:
    """Optimizer steps in one pass; the incomplete last global batch is dropped
    so that every step sees the same number of examples."""
    checks.non_negative_int("n_examples", n_examples)
    checks.positive_int("batch_size", batch_size, "It counts examples per step on one process.")
    checks.positive_int("num_processes", num_processes)
    return n_examples // (batch_size * num_processes)


def epoch_plan(
    n_examples: int, config: TrainConfig, epoch: int, *, num_processes: int = 1, rank: int = 0
) -> list[list[list[int]]]:
    """This process's batches for one epoch: ``plan[step][micro_batch] -> indices``.

    The permutation depends only on ``(seed, epoch)``, so any process, in any
    run, computes the same order; each global batch of
    ``batch_size * num_processes`` examples is cut into one slice per process,
    and each slice into ``grad_accum_steps`` micro-batches.
    """
    gen = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
    order = torch.randperm(n_examples, generator=gen).tolist()
    per_step, micro = config.batch_size * num_processes, config.micro_batch_size
    plan = []
    for s in range(steps_per_epoch(n_examples, config.batch_size, num_processes)):
        mine = order[s * per_step + rank * config.batch_size : s * per_step + (rank + 1) * config.batch_size]
        plan.append([mine[i : i + micro] for i in range(0, config.batch_size, micro)])
    return plan


def check_dataset(data, name: str) -> int:
    if not (hasattr(data, "__len__") and hasattr(data, "__getitem__")):
        raise TypeError(
            f"{name} must support len() and indexing (a list, a torch Dataset, a datasets.Dataset), "
            f"got {type(data).__name__}. Wrap an iterable in list(...) first."
        )
    return len(data)


def count_tokens(batch) -> int:
    """Real tokens in a batch: the attention mask's ones, else every input id."""
    if isinstance(batch, Mapping):
        if "attention_mask" in batch:
            return int(batch["attention_mask"].sum())
        if "input_ids" in batch:
            return int(batch["input_ids"].numel())
    return 0


def to_device(batch, device):
    from accelerate.utils import send_to_device

    return send_to_device(batch, device)
