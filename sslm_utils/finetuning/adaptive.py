"""Continued pretraining: more masked-LM training on a task's own text before fine-tuning (TAPT and DAPT).

Gururangan et al. (2020) continue a pretrained model's own objective on text
closer to the task before fine-tuning it: *domain-adaptive* pretraining
(DAPT) on a large corpus of the task's domain, *task-adaptive* pretraining
(TAPT) on the task's own training texts with their labels unused. Neither
needs a label, so both are still self-supervised; what changes is only which
text the masked LM reads. :func:`continue_pretraining` runs it on the book's
engine (checkpoints, exact resume) and returns a trained *copy*, so the
pretrained model a reader loaded is never changed; :func:`held_out_masked_lm`
measures what it did, on blanks that are the same for every model scored.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F

from .. import checks
from ..engine.config import TrainConfig
from ..engine.eval_loop import eval_mode, evaluation_batches
from ..engine.loop import TrainResult, train
from ..objectives.bert import mlm_breakdown, mlm_only_loss, pretraining_logits
from ..objectives.masking import chosen_position_kinds, mask_tokens, special_and_candidate_ids


def _check_texts(name: str, texts) -> list[str]:
    """Any iterable of strings (a list, a pandas Series, a dataset column) as a list; one string is refused."""
    if isinstance(texts, str | bytes) or not isinstance(texts, Iterable):
        raise TypeError(f"{name} must be a list of strings (one per text), got {type(texts).__name__}.")
    texts = list(texts)
    if not texts:
        raise ValueError(f"{name} is empty; pass at least one text.")
    if not all(isinstance(t, str) for t in texts):
        raise TypeError(f"{name} must hold strings only; pass the texts, not their token ids or labels.")
    return texts


def _max_length(model, max_length: int | None) -> int:
    if max_length is None:
        return model.config.max_position_embeddings
    return checks.positive_int("max_length", max_length)


class UnlabelledTexts(torch.utils.data.Dataset):
    """Texts tokenized once (``[CLS]`` ... ``[SEP]``, cut to ``max_length`` at the end); items are
    ``{"input_ids": [...]}``. Texts with no word the tokenizer knows still keep their two special tokens."""

    def __init__(self, tokenizer, texts: Sequence[str], *, max_length: int | None = None):
        self.texts = _check_texts("texts", texts)
        max_length = max_length or tokenizer.model_max_length
        self.input_ids = tokenizer(self.texts, truncation=True, max_length=max_length)["input_ids"]

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.input_ids[i]}


class MaskedTextCollator:
    """Pad a batch of :class:`UnlabelledTexts` items to the longest, then mask it by BERT's 80/10/10 rule
    (fresh masks every time: dynamic masking). Padding and the special tokens are never chosen."""

    def __init__(self, tokenizer, *, mlm_probability: float = 0.15):
        if tokenizer.mask_token_id is None or tokenizer.pad_token_id is None:
            raise ValueError("The tokenizer needs a [MASK] and a [PAD] token for masked language modelling.")
        checks.fraction("mlm_probability", mlm_probability, open_low=True)
        self.mask_id, self.pad_id = tokenizer.mask_token_id, tokenizer.pad_token_id
        self.special_ids, self.candidate_ids = special_and_candidate_ids(tokenizer)
        self.mlm_probability = mlm_probability

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        longest = max(len(item["input_ids"]) for item in items)
        ids = torch.full((len(items), longest), self.pad_id, dtype=torch.long)  # (batch, seq)
        attention = torch.zeros_like(ids)  # (batch, seq)
        for row, item in enumerate(items):
            ids[row, :len(item["input_ids"])] = torch.as_tensor(item["input_ids"])
            attention[row, :len(item["input_ids"])] = 1
        inputs, labels = mask_tokens(ids, mask_id=self.mask_id, special_ids=self.special_ids,
                                     candidate_ids=self.candidate_ids, mlm_probability=self.mlm_probability)
        return {"input_ids": inputs, "attention_mask": attention, "token_type_ids": torch.zeros_like(ids),
                "labels": labels}


# the masked-LM cross-entropy at the chosen positions, the vocabulary head at those only: pretraining's own
masked_lm_loss = mlm_only_loss


def masked_lm_metrics(model, batch, *, mask_id: int) -> dict:
    """Held-out numbers as ``(total, count)`` pairs: loss and accuracy at every chosen position and at each
    kind apart (``mlm_loss_at_mask`` is the one that measures the use of context)."""
    logits, targets, _ = pretraining_logits(model, batch)
    nll = F.cross_entropy(logits.float(), targets, reduction="sum")
    n = torch.tensor(float(len(targets)))
    kinds = chosen_position_kinds(batch["input_ids"], batch["labels"], mask_id)
    return {"mlm_loss": (nll, n), "loss": (nll, n), **mlm_breakdown(logits, targets, kinds)}


def _check_masked_lm(model, tokenizer) -> None:
    from transformers import BertForPreTraining

    if not isinstance(model, BertForPreTraining):
        raise TypeError(f"This needs a BERT with its pretraining heads (BertForPreTraining, e.g. "
                        f"load_reference('bert').model), got {type(model).__name__}. A fine-tuned classifier has "
                        "lost the masked-LM head: continue pretraining before fine-tuning. (A BertForMaskedLM "
                        "can be copied into a BertForPreTraining of the same config with load_state_dict(..., "
                        "strict=False).)")
    if tokenizer is None:
        return
    if tokenizer.mask_token_id is None:
        raise ValueError("The tokenizer has no [MASK] token; pass the tokenizer the model was pretrained with.")
    if len(tokenizer) > model.config.vocab_size:
        raise ValueError(f"The tokenizer has {len(tokenizer):,} tokens but the model's vocabulary "
                         f"{model.config.vocab_size:,}: they do not belong together. Pass the tokenizer saved "
                         "with the model (e.g. load_reference('bert').tokenizer).")


def continue_pretraining(model, tokenizer, texts: Sequence[str], config: TrainConfig, *,
                         eval_texts: Sequence[str] | None = None, mlm_probability: float = 0.15,
                         max_length: int | None = None, output_dir=None, resume=False) -> TrainResult:
    """Train a copy of the BERT ``model`` further with the masked LM alone on ``texts``; ``model`` is unchanged.

    The sentence task is left out (unlabelled texts come one at a time, with
    no second segment), so only the encoder and the masked-LM head change.
    ``eval_texts`` are scored every ``config.eval_every`` steps with the same
    blanks each time; ``output_dir`` and ``resume`` are the engine's
    (checkpoints, exact resume). Returns the engine's result: ``.model`` is the
    adapted copy, ``.history`` its losses.
    """
    _check_masked_lm(model, tokenizer)
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig (max_steps, batch_size, lr, ...), got "
                        f"{type(config).__name__}.")
    max_length = _max_length(model, max_length)
    data = UnlabelledTexts(tokenizer, texts, max_length=max_length)
    held_out = None if eval_texts is None else UnlabelledTexts(tokenizer, _check_texts("eval_texts", eval_texts),
                                                               max_length=max_length)
    metrics = functools.partial(masked_lm_metrics, mask_id=tokenizer.mask_token_id)
    return train(copy.deepcopy(model), data, config=config, eval_data=held_out,
                 collate_fn=MaskedTextCollator(tokenizer, mlm_probability=mlm_probability),
                 loss_fn=masked_lm_loss, compute_metrics=metrics, output_dir=output_dir, resume=resume)


@torch.no_grad()
def held_out_masked_lm(model, tokenizer, texts: Sequence[str], *, seed: int = 0, batch_size: int = 64,
                       max_length: int | None = None) -> dict:
    """The masked LM's loss and top-1 accuracy at the ``[MASK]`` positions of ``texts``, with standard errors.

    The blanks are drawn with ``seed`` alone (the caller's random stream is
    untouched), so two models scored with the same texts, tokenizer, seed,
    ``batch_size`` and ``max_length`` face the same blanks, and ``per_position`` (the loss at each blank, in a fixed
    order) pairs them position by position. Only ``[MASK]`` positions count:
    at the 10 % left unchanged a model can copy its input.
    """
    _check_masked_lm(model, tokenizer)
    checks.seed(seed)
    data = UnlabelledTexts(tokenizer, _check_texts("texts", texts), max_length=_max_length(model, max_length))
    collate = MaskedTextCollator(tokenizer)
    device = next(model.parameters()).device
    nll, hit = [], []
    with eval_mode(model):
        for _, batch in evaluation_batches(data, batch_size=batch_size, collate_fn=collate, seed=seed):
            logits, targets, _ = pretraining_logits(model, {k: v.to(device) for k, v in batch.items()})
            at_mask = chosen_position_kinds(batch["input_ids"], batch["labels"], collate.mask_id)["mask"]
            nll.append(F.cross_entropy(logits.float(), targets, reduction="none").cpu()[at_mask])
            hit.append((logits.argmax(-1) == targets).cpu()[at_mask])
    nll, hit = torch.cat(nll).double(), torch.cat(hit).double()
    n = len(nll)
    if n == 0:
        raise ValueError("No [MASK] position in these texts (too few or too short); pass more text.")
    return {"loss_at_mask": float(nll.mean()),
            "loss_at_mask_se": float(nll.std() / math.sqrt(n)) if n > 1 else math.nan,
            "accuracy_at_mask": float(hit.mean()),
            "accuracy_at_mask_se": float(hit.std() / math.sqrt(n)) if n > 1 else math.nan,
            "positions": n, "per_position": nll.float()}


def masked_lm_with_encoder(masked_lm, encoder):
    """A copy of the BERT ``masked_lm`` (with its pretraining heads) whose encoder weights are ``encoder``'s.

    After fine-tuning, the classifier's encoder has changed but its masked-LM
    head is gone; putting the changed encoder under the original head measures
    what fine-tuning did to the masked LM, i.e. how much the model *forgot*
    of its pretraining (held-out masked-LM loss before and after). ``encoder``
    is a ``BertModel`` or anything holding one at ``.bert`` (a
    :class:`~sslm_utils.finetuning.SentenceClassifier`, a fine-tuned model
    with LoRA merged); its weights must have the pretrained encoder's names and shapes.
    """
    from .parts import encoder_of

    _check_masked_lm(masked_lm, None)
    source = encoder_of(encoder).state_dict()
    # the pooler feeds only the sentence head; a classifier built without one keeps the original
    target = {k: v for k, v in masked_lm.bert.state_dict().items()
              if k in source or not k.startswith("pooler.")}
    missing = sorted(set(target) - set(source))
    if missing or any(source[k].shape != target[k].shape for k in target):
        raise ValueError(f"The encoder does not match the masked LM's: missing {missing[:3]}, or different shapes. "
                         "Pass the encoder fine-tuned from this model (merge LoRA first: merge_lora(model)).")
    combined = copy.deepcopy(masked_lm)
    combined.bert.load_state_dict({k: source[k] for k in target}, strict=False)
    return combined


__all__ = ["UnlabelledTexts", "MaskedTextCollator", "masked_lm_loss", "masked_lm_metrics", "continue_pretraining",
           "held_out_masked_lm", "masked_lm_with_encoder"]
