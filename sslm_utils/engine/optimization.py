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


def decay_left(config: TrainConfig) -> float:
    """The fraction of a decayed weight that AdamW's weight decay alone leaves at the end of a run.

    PyTorch's AdamW multiplies every decayed weight by ``1 - lr_t * weight_decay``
    at each step, whatever the gradient (the decay is *decoupled* from Adam's
    update), with ``lr_t`` the scheduled rate; over the run that is the product
    of those factors. It shows how strong a weight decay is before any training:
    a fine-tuning run of a few hundred steps at a small rate shrinks the weights
    by a fraction of a percent, however the coefficient is tuned.
    """
    if not isinstance(config, TrainConfig):
        hint = (" (a FineTuneConfig: pass its .train_config(n_examples))"
                if hasattr(config, "train_config") else "")
        raise TypeError(f"decay_left needs the engine's TrainConfig, got {type(config).__name__}{hint}.")
    left = 1.0
    for step in range(config.max_steps):
        factor = lr_factor(step, warmup_steps=config.warmup_steps, max_steps=config.max_steps,
                           schedule=config.schedule)
        left *= 1.0 - config.lr * factor * config.weight_decay
    return left


def _bare_name(name: str) -> str:
    """A parameter's name without the ``module.`` prefix a DistributedDataParallel wrapper adds."""
    return name.removeprefix("module.")


def check_lr_scales(model: torch.nn.Module, lr_scales) -> dict[str, float]:
    """``lr_scales`` as a dict of trainable parameter names to positive floats; anything else is refused."""
    if not isinstance(lr_scales, dict):
        raise TypeError(f"lr_scales must be a dict of parameter names to multipliers of the learning rate, got "
                        f"{type(lr_scales).__name__}.")
    trainable = {_bare_name(n) for n, p in model.named_parameters() if p.requires_grad}
    unknown = sorted(set(lr_scales) - trainable)
    if unknown:
        raise ValueError(f"lr_scales names {len(unknown)} parameter(s) the model does not train, e.g. "
                         f"{unknown[:3]}; use the names of model.named_parameters() with requires_grad=True.")
    for name, scale in lr_scales.items():
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale) or scale <= 0:
            raise ValueError(f"lr_scales[{name!r}] must be a positive number, got {scale!r}; freeze the "
                             "parameter (requires_grad=False) rather than give it a learning rate of 0.")
    return {name: float(scale) for name, scale in lr_scales.items()}


def make_optimizer(model: torch.nn.Module, config: TrainConfig, lr_scales: dict | None = None) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only: decaying biases and LayerNorm
    gains towards zero has no regularising purpose and only hurts.

    ``lr_scales`` multiplies the learning rate of the parameters it names (the
    rest keep 1): e.g. smaller rates for lower layers, layer-wise learning-rate
    decay. Each (decay, scale) pair becomes one parameter group, and the
    schedule multiplies every group's rate by the same factor.
    """
    if lr_scales is None:
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
    scales = check_lr_scales(model, lr_scales)
    by_group: dict[tuple[bool, float], list] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            key = (param.ndim >= 2, scales.get(_bare_name(name), 1.0))
            by_group.setdefault(key, []).append(param)
    if not by_group:
        raise ValueError("The model has no trainable parameters (all have requires_grad=False).")
    groups = [{"params": params, "weight_decay": config.weight_decay if decayed else 0.0, "lr": config.lr * scale}
              for (decayed, scale), params in sorted(by_group.items(), key=lambda kv: (not kv[0][0], -kv[0][1]))]
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, eps=config.eps)


def make_scheduler(optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        return lr_factor(step, warmup_steps=config.warmup_steps, max_steps=config.max_steps, schedule=config.schedule)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
