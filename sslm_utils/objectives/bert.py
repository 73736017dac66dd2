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

from .. import checks
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
    mlm, nsp = _pretraining_losses(model, batch)
    return mlm + nsp, {"mlm_loss": mlm.detach(), "nsp_loss": nsp.detach()}


def _pretraining_losses(model, batch) -> tuple[torch.Tensor, torch.Tensor]:
    mlm_logits, targets, nsp_logits = pretraining_logits(model, batch)
    mlm = F.cross_entropy(mlm_logits.float(), targets) if len(targets) else mlm_logits.sum() * 0.0
    return mlm, F.cross_entropy(nsp_logits.float(), batch["next_sentence_label"])


def mlm_only_loss(model, batch):
    """The masked-LM cross-entropy alone (objective ``"mlm"``): the sentence head gets no gradient."""
    mlm_logits, targets, _ = pretraining_logits(model, batch)
    mlm = F.cross_entropy(mlm_logits.float(), targets) if len(targets) else mlm_logits.sum() * 0.0
    return mlm, {"mlm_loss": mlm.detach()}


class SentenceTaskFrom:
    """The masked-LM loss alone for the first ``start`` optimizer steps, then MLM + the sentence task.

    A small BERT trained on both losses from the first step learns the
    sentence task from topic words (bag-of-words features) and is slow to learn
    word order, which the masked LM needs (``benchmarks/README.md``, "Leaving
    the unigram plateau"); masked LM first, then both, gives the encoder its
    positions before the sentence head competes for it. The engine calls
    :meth:`set_step` before every optimizer step, so the switch is a pure
    function of the step and a resumed run switches at the same step. The
    sentence loss is computed and logged throughout (the pooled ``[CLS]``
    output costs nothing extra) but adds to the total only from ``start`` on.
    """

    def __init__(self, start: int):
        self.start = checks.non_negative_int("start", start)
        self.step = 0

    def set_step(self, step: int) -> None:
        self.step = step

    def __call__(self, model, batch):
        mlm, nsp = _pretraining_losses(model, batch)
        weight = 0.0 if self.step < self.start else 1.0  # 0 * nsp, not no nsp: every parameter gets a gradient
        return mlm + weight * nsp, {"mlm_loss": mlm.detach(), "nsp_loss": nsp.detach()}

    def __repr__(self) -> str:
        return f"SentenceTaskFrom(start={self.start})"


def mlm_only_metrics(model, batch, *, mask_id: int | None = None) -> dict:
    """:func:`pretraining_metrics` without the sentence task (objective ``"mlm"``)."""
    scores = pretraining_metrics(model, batch, mask_id=mask_id)
    scores = {k: v for k, v in scores.items() if not k.startswith(("nsp_", "loss"))}
    scores["loss"] = float(scores["mlm_loss"][0].detach() / scores["mlm_loss"][1].clamp(min=1))
    return scores


def objective_functions(objective: str = "nsp", *, mask_id: int | None = None, sentence_task_from: int = 0):
    """``(loss_fn, compute_metrics)`` for :func:`~sslm_utils.engine.train` under ``objective``; with ``mask_id``
    the metrics also score the masked tokens by what the input showed (see :func:`mlm_breakdown`).
    ``sentence_task_from`` > 0 trains the masked LM alone for that many steps before NSP/SOP joins
    (:class:`SentenceTaskFrom`); it has no meaning for ``"mlm"``, which has no sentence task."""
    check_objective(objective)
    checks.non_negative_int("sentence_task_from", sentence_task_from)
    if objective == "mlm" and sentence_task_from:
        raise ValueError("objective 'mlm' has no sentence task to delay; use sentence_task_from=0, or objective "
                         "'nsp' / 'sop'.")
    loss_fn, metrics_fn = (mlm_only_loss, mlm_only_metrics) if objective == "mlm" else (pretraining_loss,
                                                                                        pretraining_metrics)
    if sentence_task_from:
        loss_fn = SentenceTaskFrom(sentence_task_from)
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
