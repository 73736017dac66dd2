"""LoRA: train a low-rank update of chosen weight matrices, keep the pretrained weights frozen.

Hu et al. (2022) replace a frozen linear map ``W x`` by
``W x + (alpha / r) · B A x`` with ``A`` of shape ``(r, in)`` and ``B`` of
shape ``(out, r)`` for a small rank ``r``. ``B`` starts at zero, so the model
starts as the pretrained one; ``A`` starts random (Kaiming-uniform, as
``nn.Linear`` and the ``peft`` library do), so ``B``'s first gradients are not
zero. The scale ``alpha / r`` keeps the update's size roughly independent of
``r``. After training, ``B A`` can be added into ``W`` (:func:`merge_lora`):
the merged model is an ordinary one, with no extra cost at inference.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .. import checks
from .parts import head_parameters


class LoRALinear(nn.Module):
    """``base(x) + (alpha / r) · B(A(dropout(x)))`` around a frozen ``nn.Linear``, named as in ``peft``."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}.")
        checks.positive_int("r", r, "Pass the rank of the update, e.g. 4 or 8.")
        checks.positive_float("alpha", alpha, "Pass the scale numerator, e.g. alpha = 2 * r.")
        checks.fraction("dropout", dropout, open_high=True)
        self.base = base.requires_grad_(False)
        self.r, self.alpha, self.scaling = r, alpha, alpha / r
        kwargs = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_A = nn.Linear(base.in_features, r, bias=False, **kwargs)
        self.lora_B = nn.Linear(r, base.out_features, bias=False, **kwargs)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))  # nn.Linear's (and peft's) init
        nn.init.zeros_(self.lora_B.weight)  # the update starts at zero
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (..., in)
        update = self.lora_B(self.lora_A(self.dropout(x)))  # (..., r) -> (..., out)
        return self.base(x) + self.scaling * update  # (..., out)

    @torch.no_grad()
    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` computing the same map: ``W + (alpha / r) · B A``, the same bias."""
        base = self.base
        out = nn.Linear(base.in_features, base.out_features, bias=base.bias is not None,
                        device=base.weight.device, dtype=base.weight.dtype)
        out.weight.copy_(base.weight + self.scaling * self.lora_B.weight @ self.lora_A.weight)  # (out, in)
        if base.bias is not None:
            out.bias.copy_(base.bias)
        return out.requires_grad_(base.weight.requires_grad)


def lora_parameter_count(in_features: int, out_features: int, r: int) -> int:
    """Parameters LoRA adds to one ``in -> out`` linear map: ``A`` is ``r x in``, ``B`` is ``out x r``."""
    return r * (in_features + out_features)


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)


def _linear_names(model: nn.Module) -> list[str]:
    return sorted({name.rpartition(".")[2] for name, m in model.named_modules() if isinstance(m, nn.Linear)})


def add_lora(model: nn.Module, r: int, alpha: float, targets: tuple[str, ...] = ("query", "value"),
             dropout: float = 0.0) -> nn.Module:
    """Wrap every ``nn.Linear`` whose name ends in one of ``targets`` in a :class:`LoRALinear`, in place, and
    freeze everything except the LoRA matrices and the task head. Returns ``model``.

    A target matches a module by the last part of its dotted name, as in
    ``peft``: ``"query"`` matches ``bert.encoder.layer.0.attention.self.query``
    in every layer. Hu et al. adapt the query and value projections.
    """
    checks.positive_int("r", r, "Pass the rank of the update, e.g. 4 or 8.")
    checks.positive_float("alpha", alpha, "Pass the scale numerator, e.g. alpha = 2 * r.")
    checks.fraction("dropout", dropout, open_high=True)  # checked here, before the model is touched
    if isinstance(targets, str):
        targets = (targets,)
    if not targets:
        raise ValueError(f"targets is empty; name the linear layers to adapt, e.g. ('query', 'value'). This model's "
                         f"linear layers are named: {', '.join(_linear_names(model))}.")
    if any(isinstance(m, LoRALinear) for m in model.modules()):
        raise ValueError("The model already has LoRA layers; merge them first (merge_lora) or start from a fresh "
                         "copy of the pretrained model.")
    found = {t: [name for name, _ in model.named_modules() if name.rpartition(".")[2] == t] for t in targets}
    missing = [t for t, names in found.items() if not names]
    if missing:
        raise ValueError(f"No module is named {', '.join(map(repr, missing))}. The linear layers of "
                         f"{type(model).__name__} are named: {', '.join(_linear_names(model))}.")
    chosen = [name for names in found.values() for name in names]
    for name in chosen:
        module = model.get_submodule(name)
        if not isinstance(module, nn.Linear):
            raise TypeError(f"LoRA adapts linear layers, but {name} is a {type(module).__name__}. The linear layers "
                            f"are named: {', '.join(_linear_names(model))}.")
    head = head_parameters(model)
    model.requires_grad_(False)
    for name in chosen:
        _replace(model, name, LoRALinear(model.get_submodule(name), r, alpha, dropout))  # A, B require grad
    for p in head:
        p.requires_grad_(True)
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every :class:`LoRALinear` by the plain ``nn.Linear`` it computes (``W + (alpha / r) · B A``),
    in place: the same outputs, the original architecture, no extra cost. Returns ``model``."""
    names = [name for name, m in model.named_modules() if isinstance(m, LoRALinear)]
    if not names:
        raise ValueError("The model has no LoRA layers to merge; add them with add_lora(model, r, alpha) first.")
    for name in names:
        _replace(model, name, model.get_submodule(name).merged())
    return model
