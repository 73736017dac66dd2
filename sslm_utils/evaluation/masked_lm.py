"""Scoring a masked LM honestly: at the positions it could not see, against the unigram on the same positions.

An MLM's "masked-token accuracy" averages three kinds of chosen positions:
80 % show ``[MASK]``, 10 % a random token and 10 % the answer itself, which
a model learns to copy long before it reads context. Only the ``[MASK]``
positions measure context use, so that is where the book reports loss and
accuracy, beside the unigram model (no context at all) scored on exactly
the same positions. The masks come from :func:`held_out_mlm_batches`, a
public function seeded on its own, so any model, and any reader, can be
scored on the same blanks.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .. import checks
from ..engine.eval_loop import eval_mode, evaluation_batches
from ..objectives.bert import pretraining_logits
from ..objectives.masking import MLMCollator, chosen_position_kinds
from .baselines import unigram_log_probs
from .statistics import binomial_standard_error

KINDS = ("mask", "random", "kept")


def held_out_mlm_batches(pairs, tokenizer, *, batch_size: int = 64, seed: int = 0) -> list[dict]:
    """``pairs`` (a :class:`~sslm_utils.objectives.PairDataset`) collated and masked by BERT's 80/10/10 rule,
    with the random generators seeded by ``seed`` (and the caller's left untouched): the same call always
    gives the same blanks."""
    return [batch for _, batch in evaluation_batches(pairs, batch_size=batch_size, collate_fn=MLMCollator(tokenizer),
                                                     seed=seed)]


@torch.no_grad()
def mlm_position_scores(model, batches, tokenizer) -> dict[str, torch.Tensor]:
    """Per chosen position, in a fixed order: the target id, the model's loss and top-1 hit, and which kind of
    position it was (``kind_mask``, ``kind_random``, ``kind_kept`` boolean masks); and per pair the NSP hit."""
    device = next(model.parameters()).device
    parts = {"target": [], "nll": [], "hit": [], **{f"kind_{k}": [] for k in KINDS}, "nsp_hit": []}
    with eval_mode(model):
        for batch in batches:
            checks.ids_fit_model("batch['input_ids']", batch["input_ids"], model.config)
            mlm_logits, targets, nsp_logits = pretraining_logits(model, {k: v.to(device) for k, v in batch.items()})
            kinds = chosen_position_kinds(batch["input_ids"], batch["labels"], tokenizer.mask_token_id)
            parts["target"].append(targets.cpu())
            parts["nll"].append(F.cross_entropy(mlm_logits.float(), targets, reduction="none").cpu())
            parts["hit"].append((mlm_logits.argmax(-1) == targets).cpu())
            for kind in KINDS:
                parts[f"kind_{kind}"].append(kinds[kind])
            parts["nsp_hit"].append(nsp_logits.argmax(-1).cpu() == batch["next_sentence_label"])
    return {name: torch.cat(values) for name, values in parts.items()}


def masked_lm_report(model, batches, tokenizer, train_ids) -> dict[str, float]:
    """Held-out MLM numbers at ``[MASK]`` positions beside the unigram's on the same positions, plus NSP.

    ``train_ids``: every real token of the training data (the unigram model's
    counts). Returns losses in nats, accuracies as fractions with their
    standard errors, and the position counts, e.g. ``loss_at_mask``,
    ``unigram_loss_at_mask``, ``loss_gap_at_mask`` (unigram minus model, paired by position)
    ± ``loss_gap_at_mask_se``, ``accuracy_at_mask`` ± ``accuracy_at_mask_se``,
    ``unigram_accuracy_at_mask``, ``accuracy_at_random``, ``accuracy_at_kept``,
    ``nsp_accuracy``.
    """
    scores = mlm_position_scores(model, batches, tokenizer)
    at_mask = scores["kind_mask"]
    n_mask = int(at_mask.sum())
    if n_mask == 0:
        raise ValueError("the batches hold no [MASK] position; pass batches from held_out_mlm_batches().")
    vocab = len(tokenizer)
    train_ids = torch.as_tensor(train_ids).flatten()
    specials = sorted(set(tokenizer.all_special_ids))
    every = unigram_log_probs(train_ids, torch.arange(vocab), vocab, special_ids=specials)  # (V,)
    targets = scores["target"][at_mask]
    report = {
        "positions_at_mask": n_mask,
        "loss_at_mask": float(scores["nll"][at_mask].mean()),
        "unigram_loss_at_mask": float(-every[targets].mean()),
        "accuracy_at_mask": float(scores["hit"][at_mask].float().mean()),
        "unigram_accuracy_at_mask": float((targets == every.argmax()).float().mean()),
    }
    report["accuracy_at_mask_se"] = binomial_standard_error(report["accuracy_at_mask"], n_mask)
    # how far below the unigram, position by position on the same targets, and how sure that is
    gap = -every[targets].double() - scores["nll"][at_mask].double()  # (n_mask,) nats
    report["loss_gap_at_mask"] = float(gap.mean())
    report["loss_gap_at_mask_se"] = float(gap.std() / math.sqrt(n_mask)) if n_mask > 1 else math.nan
    report["loss_at_chosen"] = float(scores["nll"].mean())  # every chosen position: [MASK], random and kept
    for kind in ("random", "kept"):
        where = scores[f"kind_{kind}"]
        report[f"accuracy_at_{kind}"] = float(scores["hit"][where].float().mean()) if where.any() else math.nan
    nsp = scores["nsp_hit"].float()
    report["nsp_accuracy"] = float(nsp.mean())
    report["nsp_accuracy_se"] = binomial_standard_error(report["nsp_accuracy"], len(nsp))
    return report


def real_token_ids(pairs) -> torch.Tensor:
    """Every real (not padding) token id of a :class:`~sslm_utils.objectives.PairDataset`: the unigram's counts."""
    return pairs.input_ids[pairs.attention_mask.bool()]


__all__ = ["held_out_mlm_batches", "mlm_position_scores", "masked_lm_report", "real_token_ids"]
