"""Cloze-style classification: let the MLM head fill a blank with a word that names the label.

Pattern-exploiting training (PET; Schick & Schütze, 2021) rewrites a
classification example as a fill-in-the-blank sentence — "the film was a
mess. It was [MASK]." — and reads the label from the score the pretrained
MLM head gives to one word per label (the *verbalizer*: great → positive,
terrible → negative). No new parameter is needed, so the pretrained model
classifies before it has seen a single labelled example (zero-shot), and
fine-tuning the same head with few labels starts from there.

:class:`ClozeClassifier` is that classifier as a module: a copy of the MLM,
whose output is the verbalizer's scores at the blank, so the fine-tuning
engine trains it like any other classifier on :class:`ClozeTexts` (each text
already put into the template). PET itself adds to this cross-entropy an
auxiliary MLM loss and distils an ensemble of patterns into one model; the
book trains the single-pattern classifier only.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from .. import checks
from ..engine.eval_loop import eval_mode
from .heads import check_labels
from .parts import encoder_of
from .training import LabelledTexts

TEXT_SLOT = "{text}"


def _check_template(template: str, mask_token: str) -> None:
    if not isinstance(template, str) or template.count(TEXT_SLOT) != 1:
        raise ValueError(f"template must contain {TEXT_SLOT} exactly once, got {template!r}; e.g. "
                         f"'{TEXT_SLOT} It was {mask_token}.'")
    if template.count(mask_token) != 1:
        raise ValueError(f"template must contain the tokenizer's mask token {mask_token} exactly once, got "
                         f"{template!r}; e.g. '{TEXT_SLOT} It was {mask_token}.'")


def verbalizer_ids(tokenizer, verbalizer) -> list[int]:
    """The vocabulary id of each label's word, in the verbalizer's order; each word must be exactly one token.

    ``verbalizer`` maps labels to words (``{0: "terrible", 1: "great"}``) or
    lists one word per label id (``["terrible", "great"]``).
    """
    words = list(verbalizer.values()) if isinstance(verbalizer, Mapping) else verbalizer
    if isinstance(words, str) or not isinstance(words, Sequence) or len(words) < 2:
        raise ValueError(f"verbalizer must map each of at least two labels to a word, e.g. ['terrible', 'great'] or "
                         f"{{0: 'terrible', 1: 'great'}}; got {verbalizer!r}.")
    ids = []
    for word in words:
        pieces = tokenizer.tokenize(word) if isinstance(word, str) else []
        found = tokenizer.convert_tokens_to_ids(pieces)
        if len(found) != 1 or found[0] == tokenizer.unk_token_id:
            raise ValueError(f"The verbalizer word {word!r} is {pieces or 'no token'} for this tokenizer, not one "
                             "known token, so the MLM head cannot score it at a single [MASK]. Choose a word the "
                             "tokenizer keeps whole (tokenizer.tokenize(word) has one piece that is not "
                             f"{tokenizer.unk_token}).")
        ids.append(found[0])
    if len(set(ids)) != len(ids):
        raise ValueError(f"Two labels share a word in verbalizer {verbalizer!r}; give each label its own word.")
    return ids


def _mlm_logits(output) -> torch.Tensor:
    """The MLM scores of a ``BertForPreTraining`` (``prediction_logits``) or ``BertForMaskedLM`` (``logits``)."""
    logits = getattr(output, "prediction_logits", None)
    if logits is None:
        logits = getattr(output, "logits", None)
    if logits is None:
        raise TypeError(f"The model returned {type(output).__name__} without MLM scores; pass a model with an MLM "
                        "head (BertForPreTraining or BertForMaskedLM).")
    return logits  # (batch, seq, vocab)


@torch.no_grad()
def verbalizer_logits(model, tokenizer, texts: Sequence[str], template: str, verbalizer, *, batch_size: int = 32,
                      max_length: int | None = None) -> torch.Tensor:
    """``(len(texts), n_labels)`` scores: the MLM logit of each label's word at the template's mask.

    Each text is put into ``template`` (which holds ``{text}`` and the
    tokenizer's mask token). A text too long for ``max_length`` (default: the
    model's position limit) is shortened on the side away from the mask, so
    the blank is never cut off. ``argmax(1)`` is PET's zero-shot prediction;
    ``log_softmax(1)`` its distribution over the labels.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string; wrap it in a list.")
    texts = list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("texts must be a non-empty list of strings.")
    checks.positive_int("batch_size", batch_size)
    mask = tokenizer.mask_token
    if mask is None:
        raise ValueError("The tokenizer has no mask token; cloze classification needs a masked-LM tokenizer.")
    _check_template(template, mask)
    ids = torch.tensor(verbalizer_ids(tokenizer, verbalizer))
    max_length = max_length or getattr(model.config, "max_position_embeddings", None) or 512
    # cut the text where it does not touch the blank: before it when the blank comes after the text
    side = "left" if template.index(mask) > template.index(TEXT_SLOT) else "right"
    device = next(model.parameters()).device
    rows = []
    old_side = tokenizer.truncation_side
    tokenizer.truncation_side = side
    try:
        with eval_mode(model):
            for start in range(0, len(texts), batch_size):
                prompts = [template.replace(TEXT_SLOT, t) for t in texts[start:start + batch_size]]
                enc = tokenizer(prompts, padding=True, truncation=True, max_length=max_length,
                                return_tensors="pt").to(device)
                at_mask = enc["input_ids"] == tokenizer.mask_token_id  # (batch, seq)
                if not (at_mask.sum(1) == 1).all():
                    raise ValueError("A text contains the mask token itself, so the blank is ambiguous; remove "
                                     f"{mask} from the texts.")
                logits = _mlm_logits(model(**enc))  # (batch, seq, vocab)
                rows.append(logits[at_mask][:, ids.to(device)].float().cpu())  # (batch, n_labels)
    finally:
        tokenizer.truncation_side = old_side
    return torch.cat(rows)  # (n_texts, n_labels)


def _mlm_head(model: nn.Module) -> nn.Module:
    """The masked-LM output layers of a ``BertForPreTraining`` or ``BertForMaskedLM``: hidden vector → vocabulary."""
    head = getattr(getattr(model, "cls", None), "predictions", None)
    if head is None:
        raise TypeError(f"{type(model).__name__} has no masked-LM head (model.cls.predictions); pass a "
                        "BertForPreTraining or BertForMaskedLM.")
    return head


class ClozeTexts(LabelledTexts):
    """Labelled texts, each put into a cloze ``template`` and tokenized: ``[CLS] before text after [SEP]``.

    The template holds ``{text}`` and the tokenizer's mask token once each
    (``"{text} It was [MASK]."``). A text too long for ``max_length`` is cut
    on the side away from the blank, so every example keeps its ``[MASK]``.
    ``texts`` keeps the original texts.
    """

    def __init__(self, tokenizer, texts: Sequence[str], labels: Sequence[int], template: str, *,
                 max_length: int | None = None):
        if tokenizer.mask_token is None:
            raise ValueError("The tokenizer has no mask token; cloze classification needs a masked-LM tokenizer.")
        _check_template(template, tokenizer.mask_token)
        self.template = template
        super().__init__(tokenizer, texts, labels, max_length=max_length)

    def _encode(self, tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
        before, _, after = self.template.partition(TEXT_SLOT)
        before_ids, after_ids = (tokenizer(part, add_special_tokens=False)["input_ids"] for part in (before, after))
        room = max_length - len(before_ids) - len(after_ids) - 2  # [CLS] and [SEP]
        if room < 1:
            raise ValueError(f"The template {self.template!r} takes {max_length - room} of the {max_length} "
                             "positions, leaving no room for the text; shorten the template.")
        blank_after = tokenizer.mask_token_id in after_ids  # then keep the text's end, next to the blank
        encoded = []
        for ids in tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]:
            if tokenizer.mask_token_id in ids:
                raise ValueError(f"A text contains the mask token {tokenizer.mask_token} itself, so the blank would "
                                 "be ambiguous; remove it from the texts.")
            ids = (ids[-room:] if blank_after else ids[:room]) if len(ids) > room else ids
            encoded.append([tokenizer.cls_token_id, *before_ids, *ids, *after_ids, tokenizer.sep_token_id])
        return encoded


class ClozeClassifier(nn.Module):
    """A copy of a masked LM whose scores for a text are the MLM logits of the verbalizer's words at its blank.

    No parameter is new: with the pretrained weights it classifies zero-shot
    (its predictions are :func:`verbalizer_logits`' argmax), and fine-tuning
    trains the encoder and the MLM head through the cross-entropy of those
    scores. Feed it :class:`ClozeTexts` (one ``[MASK]`` per text). Only the
    blank's hidden vector goes through the MLM head, not every position's.
    """

    def __init__(self, masked_lm: nn.Module, tokenizer, verbalizer):
        super().__init__()
        _mlm_head(masked_lm)  # fail before copying when there is none
        ids = verbalizer_ids(tokenizer, verbalizer)
        copied = copy.deepcopy(masked_lm)  # fine-tuning never changes the pretrained model
        self.bert = encoder_of(copied)
        self.bert.pooler = None  # NSP's; the blank's vector goes straight to the MLM head
        self.lm_head = _mlm_head(copied)
        self.mask_id, self.n_labels = tokenizer.mask_token_id, len(ids)
        self.register_buffer("label_ids", torch.tensor(ids), persistent=False)

    @property
    def config(self):
        return self.bert.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None):
        at_mask = input_ids == self.mask_id  # (batch, seq)
        if not (at_mask.sum(1) == 1).all():
            raise ValueError("Every input must hold the mask token exactly once; build the inputs with ClozeTexts "
                             "(a template with one [MASK]).")
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state  # (batch, seq, d_model)
        vocab_logits = self.lm_head(hidden[at_mask])  # (batch, vocab): one blank per row
        logits = vocab_logits[:, self.label_ids]  # (batch, n_labels)
        loss = None
        if labels is not None:
            check_labels(labels, logits.shape[0], self.n_labels)
            loss = F.cross_entropy(logits.float(), labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)
