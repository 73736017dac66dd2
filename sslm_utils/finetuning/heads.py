"""A sentence classifier on a pretrained encoder: pool the last layer, dropout, one linear layer.

Every strategy of chapter 4 trains this same model; only which of its
parameters train changes. It pools the encoder's last layer into one vector
per text — the ``[CLS]`` position, or the mean over the real tokens — and a
linear layer turns that vector into one score per label. Its output carries
``logits`` and, when ``labels`` are given, the cross-entropy ``loss``, so the
engine's :func:`~sslm_utils.engine.train` and
:func:`~sslm_utils.engine.evaluate` use it with their default loss.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from .. import checks
from .parts import encoder_of

POOLINGS = ("cls", "mean")


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None, pooling: str) -> torch.Tensor:
    """One vector per sequence: the first position (``cls``) or the mean over the tokens the mask keeps."""
    if pooling == "cls":
        return hidden[:, 0]  # (batch, d_model)
    if attention_mask is None:
        return hidden.mean(1)  # (batch, d_model)
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)  # (batch, d_model)


class SentenceClassifier(nn.Module):
    """``n_labels`` scores for each text from a BERT encoder: pooled last layer → dropout → linear.

    ``encoder`` is a ``BertModel`` or a model holding one as ``.bert``
    (``BertForPreTraining``, ``BertForMaskedLM``). The classifier trains a
    *copy* of it, so fine-tuning never changes the pretrained model that was
    passed in (chapter 4 fine-tunes the same model several ways). The copy
    drops BERT's pooler, which NSP trained and this head does not use: it
    would only add parameters that never get a gradient. ``pooling="cls"``
    reads the ``[CLS]`` position, as BERT's paper does; ``"mean"`` averages the
    real tokens, the fair choice for an encoder pretrained without NSP.
    ``dropout`` defaults to the encoder's ``hidden_dropout_prob``.
    """

    def __init__(self, encoder: nn.Module, n_labels: int, *, pooling: str = "cls", dropout: float | None = None):
        super().__init__()
        if not isinstance(n_labels, int) or isinstance(n_labels, bool) or n_labels < 2:
            raise ValueError(f"n_labels must be an int >= 2, got {n_labels!r}: a classifier needs at least two "
                             "classes. Pass the number of distinct labels in the task (2 for positive/negative).")
        checks.one_of("pooling", pooling, POOLINGS)
        bert = copy.deepcopy(encoder_of(encoder))
        bert.pooler = None
        config = bert.config
        dropout = config.hidden_dropout_prob if dropout is None else checks.fraction("dropout", dropout,
                                                                                    open_high=True)
        self.bert, self.pooling, self.n_labels = bert, pooling, n_labels
        self.dropout = nn.Dropout(dropout)
        weight = next(bert.parameters())
        self.head = nn.Linear(config.hidden_size, n_labels, device=weight.device, dtype=weight.dtype)
        nn.init.normal_(self.head.weight, std=config.initializer_range)  # BERT's own initialisation
        nn.init.zeros_(self.head.bias)

    @property
    def config(self):
        """The encoder's config (the engine reads it to check the vocabulary and length of the first batch)."""
        return self.bert.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state  # (batch, seq, d_model)
        pooled = pool(hidden, attention_mask, self.pooling)  # (batch, d_model)
        logits = self.head(self.dropout(pooled))  # (batch, n_labels)
        loss = None
        if labels is not None:
            check_labels(labels, logits.shape[0], self.n_labels)
            loss = F.cross_entropy(logits.float(), labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


def check_labels(labels: torch.Tensor, batch: int, n_labels: int) -> None:
    """Fail with the fix instead of cross-entropy's "Target 2 is out of bounds" (costs one GPU sync)."""
    if labels.shape != (batch,) or labels.dtype != torch.long:
        raise ValueError(f"labels must be a 1-D LongTensor with one class index per text ({batch}), got "
                         f"{labels.dtype} of shape {tuple(labels.shape)}; use torch.tensor(labels).long().")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= n_labels:
        bad = low if low < 0 else high
        raise ValueError(f"label {bad} is outside 0..{n_labels - 1} for a classifier of {n_labels} "
                         "labels; map the labels to 0..n_labels-1, or build the classifier with more labels.")
