"""The loss a training step minimises: the model's own ``.loss`` by default, or a chapter's ``loss_fn``.

A ``loss_fn(model, batch)`` returns a scalar, or ``(scalar, {name: part})``
to log the parts of a sum (MLM and NSP, say).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch


def default_loss(model, batch):
    """Call the model on the batch and return its ``.loss`` (the transformers convention)."""
    out = model(**batch) if isinstance(batch, Mapping) else model(batch)
    loss = getattr(out, "loss", None)
    if loss is None and isinstance(out, Mapping):
        loss = out.get("loss")
    if loss is None:
        raise TypeError(
            f"The model returned {type(out).__name__} without a 'loss'. Put labels in the batch, or pass "
            "loss_fn=lambda model, batch: ... returning a scalar loss."
        )
    return loss


def split_loss(value) -> tuple[torch.Tensor, dict]:
    """``loss_fn`` returns a scalar loss, or ``(loss, {name: scalar})`` to log parts of it."""
    loss, extras = (value if isinstance(value, tuple) else (value, {}))
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn must return a scalar tensor (e.g. a mean), got {shape}.")
    if not isinstance(extras, Mapping):
        raise TypeError("loss_fn may return (loss, dict of scalars); the second item was not a dict.")
    return loss, dict(extras)


def as_float(value) -> float:
    return float(value.detach().float().mean()) if isinstance(value, torch.Tensor) else float(value)
