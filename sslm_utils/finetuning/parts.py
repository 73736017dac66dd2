"""The parts of a model that fine-tuning strategies choose between: the encoder, its layers, the task head.

Every strategy of chapter 4 is a choice of which parameters train. These
three lookups name the candidates the same way for a bare ``BertModel``, a
``BertForPreTraining`` or ``BertForMaskedLM`` (whose encoder is ``.bert``)
and the book's :class:`~sslm_utils.finetuning.heads.SentenceClassifier`
(also ``.bert``): the *encoder* is the pretrained network, its *layers* are
``encoder.encoder.layer``, and the *head* is everything outside the encoder.
"""

from __future__ import annotations

from torch import nn


def encoder_of(model: nn.Module) -> nn.Module:
    """The BERT-style encoder inside ``model``: ``model.bert`` if it has one, else ``model`` (a ``BertModel``)."""
    candidate = getattr(model, "bert", model)
    layers = getattr(getattr(candidate, "encoder", None), "layer", None)
    if not isinstance(candidate, nn.Module) or not isinstance(layers, nn.ModuleList):
        raise TypeError(
            f"{type(model).__name__} is not a BERT-style encoder: expected its layers at `model.bert.encoder.layer` "
            "(BertForPreTraining, BertForMaskedLM, SentenceClassifier) or `model.encoder.layer` (BertModel). "
            "Pass one of those."
        )
    return candidate


def encoder_layers(model: nn.Module) -> nn.ModuleList:
    """The encoder's transformer layers, bottom (next to the embeddings) first."""
    return encoder_of(model).encoder.layer


def head_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Every parameter of ``model`` outside its encoder: the task head (``[]`` for a bare encoder).

    A weight shared with the encoder (BERT's MLM decoder is tied to the word
    embeddings) belongs to the encoder, so freezing the encoder freezes it too.
    """
    inside = {id(p) for p in encoder_of(model).parameters()}
    return [p for p in model.parameters() if id(p) not in inside]


def layerwise_lr_scales(model: nn.Module, decay: float) -> dict[str, float]:
    """Layer-wise learning-rate decay: a multiplier of the learning rate for every trainable parameter.

    The head and the pooler keep 1; the top layer gets ``decay``, the one below
    ``decay**2``, and so on down to the embeddings, ``decay**(n_layers + 1)``
    (the rule of Sun et al., 2019, and ELECTRA's fine-tuning). Lower layers,
    whose features are the more general ones, move less. Pass the result to
    :func:`~sslm_utils.engine.train` as ``lr_scales`` (``fine_tune`` does, given
    ``FineTuneConfig(layer_decay=...)``).
    """
    import math

    if isinstance(decay, bool) or not isinstance(decay, int | float) or not math.isfinite(decay) or not 0 < decay <= 1:
        raise ValueError(f"decay must be in (0, 1] (1: no decay; 0.8 or 0.9 are usual), got {decay!r}.")
    encoder = encoder_of(model)
    layers = encoder.encoder.layer
    scale_of = {id(p): decay ** (len(layers) + 1) for p in encoder.embeddings.parameters()}
    for depth, layer in enumerate(reversed(layers), start=1):  # the top layer first
        scale_of.update({id(p): decay**depth for p in layer.parameters()})
    return {name: scale_of.get(id(p), 1.0) for name, p in model.named_parameters() if p.requires_grad}
