"""BERT's losses and held-out metrics: masked-LM cross-entropy, plus NSP or SOP when the objective has one.

The vocabulary head is applied only at the masked positions, as the original
BERT code did: on a small model that head over every position costs more than
the encoder. :func:`objective_functions` gives the ``(loss_fn,
compute_metrics)`` pair the engine takes for each objective.
"""

from __future__ import annotations

import functools

import torch
from torch.nn import functional as F

from .labels import IGNORE_INDEX
from .masking import chosen_position_kinds
from .pairs import check_objective


def pretraining_logits(model, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(mlm_logits (M, V), mlm_targets (M,), nsp_logits (B, 2))`` for the M masked positions.

    A bare ``BertForPreTraining`` is run encoder-first and its vocabulary
    head applied only at the masked positions, as the original BERT code did:
    on a small model that head over all positions costs more than the
    encoder. A wrapped model (DistributedDataParallel) must be called as a
    whole for its gradients to synchronise, so it takes the library's full
    forward and the masked rows are picked afterwards — the same numbers.
    """
    from transformers import BertForPreTraining

    labels = batch["labels"]
    selected = labels != IGNORE_INDEX  # (B, L)
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
    if isinstance(model, BertForPreTraining):
        encoded = model.bert(**inputs)
        hidden, pooled = encoded.last_hidden_state, encoded.pooler_output  # (B, L, H), (B, H)
        mlm_logits = model.cls.predictions(hidden[selected])  # (M, V)
        nsp_logits = model.cls.seq_relationship(pooled)  # (B, 2)
    else:
        out = model(**inputs)
        mlm_logits, nsp_logits = out.prediction_logits[selected], out.seq_relationship_logits
    return mlm_logits, labels[selected], nsp_logits


def pretraining_loss(model, batch):
    """MLM cross-entropy (over the vocabulary, at masked positions) + NSP cross-entropy (two classes).

    Returns ``(total, {"mlm_loss", "nsp_loss"})`` for :func:`~sslm_utils.engine.train`;
    ``total`` equals ``BertForPreTraining(...)(**batch).loss``.
    """
    mlm_logits, targets, nsp_logits = pretraining_logits(model, batch)
    mlm = F.cross_entropy(mlm_logits.float(), targets) if len(targets) else mlm_logits.sum() * 0.0
    nsp = F.cross_entropy(nsp_logits.float(), batch["next_sentence_label"])
    return mlm + nsp, {"mlm_loss": mlm.detach(), "nsp_loss": nsp.detach()}


def mlm_only_loss(model, batch):
    """The masked-LM cross-entropy alone (objective ``"mlm"``): the sentence head gets no gradient."""
    mlm_logits, targets, _ = pretraining_logits(model, batch)
    mlm = F.cross_entropy(mlm_logits.float(), targets) if len(targets) else mlm_logits.sum() * 0.0
    return mlm, {"mlm_loss": mlm.detach()}


def mlm_only_metrics(model, batch, *, mask_id: int | None = None) -> dict:
    """:func:`pretraining_metrics` without the sentence task (objective ``"mlm"``)."""
    scores = pretraining_metrics(model, batch, mask_id=mask_id)
    scores = {k: v for k, v in scores.items() if not k.startswith(("nsp_", "loss"))}
    scores["loss"] = float(scores["mlm_loss"][0].detach() / scores["mlm_loss"][1].clamp(min=1))
    return scores


def objective_functions(objective: str = "nsp", *, mask_id: int | None = None):
    """``(loss_fn, compute_metrics)`` for :func:`~sslm_utils.engine.train` under ``objective``; with ``mask_id``
    the metrics also score the masked tokens by what the input showed (see :func:`mlm_breakdown`)."""
    check_objective(objective)
    loss_fn, metrics_fn = (mlm_only_loss, mlm_only_metrics) if objective == "mlm" else (pretraining_loss,
                                                                                        pretraining_metrics)
    return loss_fn, metrics_fn if mask_id is None else functools.partial(metrics_fn, mask_id=mask_id)


def mlm_breakdown(mlm_logits: torch.Tensor, targets: torch.Tensor, kinds: dict[str, torch.Tensor]) -> dict:
    """Loss and accuracy at the chosen positions of each kind, as ``(total, count)`` pairs:
    ``mlm_loss_at_mask``, ``mlm_accuracy_at_mask``, and the same ``_at_random`` and ``_at_kept``."""
    nll = F.cross_entropy(mlm_logits.float(), targets, reduction="none")  # (M,)
    hit = mlm_logits.argmax(-1) == targets  # (M,)
    scores = {}
    for kind, where in kinds.items():
        n = torch.tensor(float(where.sum()))
        scores[f"mlm_loss_at_{kind}"] = (nll[where].sum(), n)
        scores[f"mlm_accuracy_at_{kind}"] = (hit[where].sum(), n)
    return scores


def pretraining_metrics(model, batch, *, mask_id: int | None = None) -> dict:
    """Held-out numbers as ``(total, count)`` pairs, so they are exact over the whole set:
    MLM loss and accuracy per chosen token, NSP loss and accuracy per pair; with ``mask_id``
    also the MLM numbers at ``[MASK]``, random and kept positions apart (:func:`mlm_breakdown`)."""
    mlm_logits, targets, nsp_logits = pretraining_logits(model, batch)
    breakdown = {} if mask_id is None else mlm_breakdown(
        mlm_logits, targets, chosen_position_kinds(batch["input_ids"], batch["labels"], mask_id))
    nsp_labels = batch["next_sentence_label"]
    n_masked, n_pairs = torch.tensor(float(len(targets))), torch.tensor(float(len(nsp_labels)))
    mlm_sum = F.cross_entropy(mlm_logits.float(), targets, reduction="sum")
    nsp_sum = F.cross_entropy(nsp_logits.float(), nsp_labels, reduction="sum")
    return {
        "mlm_loss": (mlm_sum, n_masked),
        "mlm_accuracy": ((mlm_logits.argmax(-1) == targets).sum(), n_masked),
        "nsp_loss": (nsp_sum, n_pairs),
        "nsp_accuracy": ((nsp_logits.argmax(-1) == nsp_labels).sum(), n_pairs),
        "loss": float((mlm_sum / n_masked.clamp(min=1) + nsp_sum / n_pairs).detach()),
        **breakdown,
    }
