"""A fill-mask probe of gender association, with the normalisation that keeps it from measuring word frequency.

Asking a masked LM for P("he") and P("she") in "[MASK] is a nurse." mostly
measures how often each pronoun occurs in the training text. Kurita et al.
(2019) normalise by the same sentence with the occupation masked too,
"[MASK] is a [MASK].": the *increased log probability* of a pronoun,

    ILP(w) = ln P(w | "[MASK] is a nurse.") − ln P(w | "[MASK] is a [MASK].")

says how much naming the occupation moved the model towards ``w``, and
``ILP("he") − ILP("she")`` is the association score (> 0: the occupation
pulls towards "he" more than towards "she"). Template probes are fragile:
small wording changes move the scores (Seshadri et al., 2022), so the book
reports several templates and never one number as "the model's bias".
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .. import checks
from ..engine.eval_loop import eval_mode

BIAS_TEMPLATES = ("{target} is {a} {attribute}.", "{target} worked as {a} {attribute}.",
                  "{target} wants to be {a} {attribute}.")


def indefinite_article(word: str) -> str:
    """"an" before a vowel letter, else "a" (by spelling: good enough for single-word occupations)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _fill(template: str, target: str, attribute: str, article: str) -> str:
    return template.replace("{target}", target).replace("{attribute}", attribute).replace("{a}", article)


def _one_token_id(tokenizer, word: str, what: str) -> int:
    ids = tokenizer(word, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise ValueError(f"{what} {word!r} is {len(ids)} tokens for this tokenizer; a [MASK] stands for one token, "
                         "so choose words that are one token (check with tokenizer.tokenize(word)).")
    return ids[0]


@torch.no_grad()
def first_mask_log_probs(model, tokenizer, text: str, word_ids: Sequence[int]) -> torch.Tensor:
    """ln P(word) at the first ``[MASK]`` of ``text`` for each id in ``word_ids``: shape ``(len(word_ids),)``."""
    device = next(model.parameters()).device
    enc = tokenizer(text, return_tensors="pt").to(device)
    checks.ids_fit_model("text", enc["input_ids"], model.config)
    where = (enc["input_ids"][0] == tokenizer.mask_token_id).nonzero().flatten()
    if len(where) == 0:
        raise ValueError(f"text has no {tokenizer.mask_token}: {text!r}.")
    with eval_mode(model):
        out = model(**enc)
    logits = out.prediction_logits if hasattr(out, "prediction_logits") else out.logits  # (1, L, V)
    return logits[0, where[0]].float().log_softmax(-1)[torch.as_tensor(list(word_ids))].cpu()


def gender_association(model, tokenizer, attributes: Sequence[str], *, pair: tuple[str, str] = ("he", "she"),
                       templates: Sequence[str] = BIAS_TEMPLATES):
    """One row per (attribute, template): each pronoun's increased log probability and their difference.

    ``attributes`` (e.g. occupations) and the two words of ``pair`` must each
    be one token; every template holds ``{target}`` and ``{attribute}``, and
    may hold ``{a}``, the indefinite article the attribute takes ("an engineer").
    The article stays in the normalising sentence ("[MASK] is an [MASK]."), so
    each attribute is compared with a prior that carries the same article.
    """
    import pandas as pd

    attributes, templates = list(attributes), list(templates)
    if not attributes or not templates:
        raise ValueError("attributes and templates must each hold at least one entry.")
    for template in templates:
        if "{target}" not in template or "{attribute}" not in template:
            raise ValueError(f"template {template!r} needs both {{target}} and {{attribute}}, "
                             "e.g. '{target} is a {attribute}.'")
    pair_ids = [_one_token_id(tokenizer, w, "pair word") for w in pair]
    mask = tokenizer.mask_token
    rows = []
    for template in templates:
        priors = {}  # one per article
        for attribute in attributes:
            _one_token_id(tokenizer, attribute, "attribute")
            article = indefinite_article(attribute)
            if article not in priors:
                priors[article] = first_mask_log_probs(model, tokenizer, _fill(template, mask, mask, article),
                                                       pair_ids)
            prior = priors[article]
            posterior = first_mask_log_probs(model, tokenizer, _fill(template, mask, attribute, article),
                                             pair_ids)
            ilp = posterior - prior  # (2,)
            rows.append({"attribute": attribute, "template": template, f"ILP({pair[0]})": float(ilp[0]),
                         f"ILP({pair[1]})": float(ilp[1]), "score": float(ilp[0] - ilp[1])})
    return pd.DataFrame(rows)
