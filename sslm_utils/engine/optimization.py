"""The optimizer and the learning-rate schedule: AdamW, warm-up, then linear or cosine decay.

Weight decay is applied to weight matrices only, not to biases and
LayerNorm parameters (as in BERT and GPT-2), and the schedule is a pure
function of the step, so a resumed run continues it exactly.
"""

from __future__ import annotations

import math

import torch

from .config import SCHEDULES, TrainConfig


def lr_factor(step: int, *, warmup_steps: int, max_steps: int, schedule: str = "linear") -> float:
    """The multiplier of the peak learning rate at optimizer step ``step`` (0-based).

    A linear warm-up from ~0 over ``warmup_steps`` keeps Adam's first,
    poorly-estimated updates small; then a decay to 0 at ``max_steps``
    (linear as in BERT, or half a cosine).
    """
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
    if schedule == "linear":
        return 1.0 - progress
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}.")


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only: decaying biases and LayerNorm
    gains towards zero has no regularising purpose and only hurts."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.ndim >= 2 else no_decay).append(param)
    if not decay and not no_decay:
        raise ValueError("The model has no trainable parameters (all have requires_grad=False).")
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, eps=config.eps)


def make_scheduler(optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        return lr_factor(step, warmup_steps=config.warmup_steps, max_steps=config.max_steps, schedule=config.schedule)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
