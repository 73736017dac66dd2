"""Houlsby adapters: a small bottleneck inside every layer trains, the pretrained weights stay as they are.

Houlsby et al. (2019) insert an adapter twice in each transformer layer:
after the attention block's output projection and after the feed-forward
block's, each time *before* the residual sum and its LayerNorm. An adapter
is a down-projection to a few dimensions, a nonlinearity, an up-projection
back, and a skip connection around them. With the up-projection initialised
to zero, each adapter starts as the identity, so the adapted model computes
exactly what the pretrained one did until training moves it. Only the
adapters, the LayerNorms and the task head train: a few percent of BERT's
parameters, and a task is stored as that few percent.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import checks
from .parts import encoder_layers, encoder_of, head_parameters


class HoulsbyAdapter(nn.Module):
    """``x + up(gelu(down(x)))``: a bottleneck of width ``bottleneck`` with a skip connection around it."""

    def __init__(self, d_model: int, bottleneck: int):
        super().__init__()
        checks.positive_int("d_model", d_model)
        checks.positive_int("bottleneck", bottleneck, "Pass the adapter's width, e.g. 8 or 64 (Houlsby et al. use "
                                                      "8 to 256).")
        self.down = nn.Linear(d_model, bottleneck)  # nn.Linear's init: any will do, since ``up`` starts at zero
        self.up = nn.Linear(bottleneck, d_model)
        nn.init.zeros_(self.up.weight)  # the adapter starts as the identity
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, seq, d_model)
        return x + self.up(F.gelu(self.down(x)))  # (batch, seq, d_model)


def adapter_parameter_count(d_model: int, bottleneck: int) -> int:
    """Parameters of one adapter: two weight matrices ``d_model x bottleneck`` and their biases."""
    return 2 * d_model * bottleneck + bottleneck + d_model


class AdapterSlot(nn.Module):
    """A sublayer's output dropout followed by an adapter.

    It takes the place of the ``dropout`` of BERT's ``BertSelfOutput`` and
    ``BertOutput``, whose forward is ``LayerNorm(dropout(dense(h)) + input)``,
    so the adapter sees the sublayer's output exactly where Houlsby et al.
    (and their reference code) apply it: after the projection and its
    dropout, before the residual sum and the LayerNorm.
    """

    def __init__(self, dropout: nn.Module, adapter: HoulsbyAdapter):
        super().__init__()
        self.dropout = dropout
        self.adapter = adapter

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, seq, d_model)
        return self.adapter(self.dropout(x))


def _sublayer_outputs(layer: nn.Module) -> list[nn.Module]:
    """The two modules of a BERT layer whose dropout an adapter follows: attention's output, the FFN's output."""
    outputs = [getattr(getattr(layer, "attention", None), "output", None), getattr(layer, "output", None)]
    for out in outputs:
        if not all(hasattr(out, name) for name in ("dense", "dropout", "LayerNorm")):
            raise TypeError(f"{type(layer).__name__} is not a BERT layer (expected attention.output and output, each "
                            "with dense, dropout and LayerNorm); add_adapters supports BERT-style encoders.")
    return outputs


def add_adapters(model: nn.Module, bottleneck: int) -> nn.Module:
    """Insert two Houlsby adapters of width ``bottleneck`` in every encoder layer, in place, and freeze everything
    except the adapters, the encoder's LayerNorms and the task head. Returns ``model``.

    Right after insertion the model computes exactly what it did before.
    """
    checks.positive_int("bottleneck", bottleneck, "Pass the adapter's width, e.g. 8 or 64.")
    if any(isinstance(m, AdapterSlot) for m in model.modules()):
        raise ValueError("The model already has adapters; add_adapters twice would stack a second set. Start from "
                         "a fresh copy of the pretrained model.")
    d_model = encoder_of(model).config.hidden_size
    slots = [out for layer in encoder_layers(model) for out in _sublayer_outputs(layer)]
    model.requires_grad_(False)
    for out in slots:
        weight = out.dense.weight  # the new module lives where the layer does, in its dtype
        adapter = HoulsbyAdapter(d_model, bottleneck).to(device=weight.device, dtype=weight.dtype)
        out.dropout = AdapterSlot(out.dropout, adapter)  # new parameters require grad
    for module in encoder_of(model).modules():
        if isinstance(module, nn.LayerNorm):
            module.requires_grad_(True)
    for p in head_parameters(model):
        p.requires_grad_(True)
    return model
