"""Replaced-token detection (ELECTRA, Clark et al., 2020), as exact transformations and a tiny model (lesson 3.4).

A small masked LM (the generator) fills about 15 % of positions with
plausible tokens; the discriminator labels *every* token as original or
replaced, so every position gives a learning signal, not only the masked
15 %. :class:`Electra` and :func:`electra_loss` plug into the engine's
:func:`~sslm_utils.engine.train`.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from .. import checks
from ..models.configs import electra_configs
from .labels import IGNORE_INDEX

ORIGINAL, REPLACED = 0, 1  # ELECTRA's discriminator labels


def replace_tokens(input_ids: torch.Tensor, masked: torch.Tensor, sampled_ids: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(corrupted_ids, labels)`` for the discriminator, shaped like ``input_ids``.

    Masked positions take the generator's sample; the label is
    ``REPLACED`` only where the sample *differs* from the original. A
    generator that guesses right leaves an original token, labelled
    ``ORIGINAL`` — exactly as in ELECTRA.
    """
    if input_ids.shape != masked.shape or input_ids.shape != sampled_ids.shape:
        raise ValueError(f"input_ids {tuple(input_ids.shape)}, masked {tuple(masked.shape)} and sampled_ids "
                         f"{tuple(sampled_ids.shape)} must have the same shape.")
    if masked.dtype != torch.bool:
        raise TypeError("masked must be a boolean tensor (True where the generator fills in a token).")
    corrupted = torch.where(masked, sampled_ids, input_ids)
    labels = (corrupted != input_ids).long()
    return corrupted, labels


def sample_from_logits(logits: torch.Tensor, *, temperature: float = 1.0,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """One token per row of ``logits (..., vocab)``, drawn from softmax(logits / temperature).

    Inverse-CDF sampling (one uniform number per row, found in the cumulative
    probabilities) draws exactly from the distribution and, on the CPU, is
    several times faster than ``torch.multinomial`` over a large vocabulary.
    """
    checks.positive_float("temperature", temperature)
    if torch.isnan(logits).any() or not torch.isfinite(logits).any(-1).all():
        raise ValueError("logits hold a NaN, or a row with no finite value, so there is no distribution to sample "
                         "from; the model that produced them has diverged (check its loss and learning rate).")
    probs = F.softmax(logits.float() / temperature, dim=-1)
    flat = probs.reshape(-1, probs.shape[-1])  # (rows, vocab)
    cdf = flat.cumsum(-1)  # (rows, vocab)
    u = torch.rand(len(flat), 1, generator=generator, device=flat.device) * cdf[:, -1:]  # (rows, 1)
    picks = torch.searchsorted(cdf, u).clamp_(max=flat.shape[-1] - 1)  # (rows, 1)
    return picks.reshape(probs.shape[:-1])


class Electra(torch.nn.Module):
    """A generator (small masked LM) and a discriminator that share token embeddings.

    Clark et al. found a generator 1/4 to 1/2 the discriminator's width works
    best: a stronger one makes replacements too hard to detect early on.
    """

    def __init__(self, generator, discriminator):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        shared = discriminator.electra.embeddings
        generator.electra.embeddings = shared  # one embedding table, trained by both losses
        generator.generator_lm_head.weight = shared.word_embeddings.weight  # tied output layer

    def forward(self, **batch):  # the engine calls the loss function instead
        raise NotImplementedError("Use electra_loss(model, batch); ELECTRA's forward pass samples in between.")


def new_electra(profile, vocab_size: int, *, generator_fraction: float = 0.25, seed: int = 0, **overrides) -> Electra:
    """A freshly initialised :class:`Electra` for ``profile``."""
    from transformers import ElectraForMaskedLM, ElectraForPreTraining

    torch.manual_seed(seed)
    gen_config, disc_config = electra_configs(profile, vocab_size, generator_fraction=generator_fraction,
                                              **overrides)
    return Electra(ElectraForMaskedLM(gen_config), ElectraForPreTraining(disc_config))


def electra_forward(model: Electra, batch: dict, *, temperature: float = 1.0) -> dict:
    """Everything one ELECTRA step computes, from an MLM batch (``input_ids`` masked, ``labels``).

    1. the generator predicts the masked tokens (logits only where masked);
    2. a token is *sampled* at each masked position (no gradient flows
       through the sample: the discriminator's loss does not train the generator);
    3. :func:`replace_tokens` builds the discriminator's input and labels;
    4. the discriminator scores every real token.
    """
    missing = [k for k in ("input_ids", "labels") if k not in batch]
    if missing:
        raise KeyError(f"ELECTRA needs an MLM batch with {missing}; build it with "
                       "pretraining.MLMCollator(tokenizer, mask_ratio=1.0, random_ratio=0.0).")
    labels = batch["labels"]
    masked = labels != IGNORE_INDEX  # (B, L)
    if not masked.any():
        raise ValueError("No position is masked (every label is -100), so the generator has nothing to fill in; "
                         "use a larger mlm_probability or longer sequences.")
    inputs = {k: batch[k] for k in ("attention_mask", "token_type_ids") if k in batch}
    gen_hidden = model.generator.electra(input_ids=batch["input_ids"], **inputs).last_hidden_state  # (B, L, Hg)
    gen_logits = model.generator.generator_lm_head(
        model.generator.generator_predictions(gen_hidden[masked]))  # (M, V)
    originals = torch.where(masked, labels, batch["input_ids"])  # (B, L): the uncorrupted text
    with torch.no_grad():
        sampled = originals.clone()
        sampled[masked] = sample_from_logits(gen_logits.detach(), temperature=temperature)
    corrupted, disc_labels = replace_tokens(originals, masked, sampled)
    disc_logits = model.discriminator(input_ids=corrupted, **inputs).logits  # (B, L)
    real = batch["attention_mask"].bool() if "attention_mask" in batch else torch.ones_like(masked)
    return {"gen_logits": gen_logits, "gen_targets": labels[masked], "disc_logits": disc_logits[real],
            "disc_labels": disc_labels[real], "corrupted": corrupted, "masked": masked}


def electra_loss(model: Electra, batch: dict, *, disc_weight: float = 50.0, temperature: float = 1.0):
    """Generator MLM loss + ``disc_weight`` × discriminator binary cross-entropy (ELECTRA's λ = 50).

    The large weight balances the two: the MLM loss is over thousands of classes at
    15 % of positions, the discriminator's over 2 classes at every position.
    ``temperature`` scales the generator's sampling; a huge one makes every
    replacement a uniformly random token (an easy task, for comparison).
    """
    out = electra_forward(model, batch, temperature=temperature)
    gen = F.cross_entropy(out["gen_logits"].float(), out["gen_targets"])
    disc = F.binary_cross_entropy_with_logits(out["disc_logits"].float(), out["disc_labels"].float())
    return gen + disc_weight * disc, {"gen_loss": gen.detach(), "disc_loss": disc.detach(),
                                      "replaced": out["disc_labels"].float().mean().detach()}


def electra_metrics(model: Electra, batch: dict, *, temperature: float = 1.0) -> dict:
    """Held-out ``(total, count)`` pairs: generator MLM loss and accuracy; discriminator
    accuracy over all tokens, and recall / precision on the replaced ones."""
    out = electra_forward(model, batch, temperature=temperature)
    targets, labels = out["gen_targets"], out["disc_labels"]
    predicted = (out["disc_logits"] > 0).long()
    n_tokens, n_masked = torch.tensor(float(len(labels))), torch.tensor(float(len(targets)))
    replaced, flagged = labels == REPLACED, predicted == REPLACED
    return {
        "gen_loss": (F.cross_entropy(out["gen_logits"].float(), targets, reduction="sum"), n_masked),
        "gen_accuracy": ((out["gen_logits"].argmax(-1) == targets).sum(), n_masked),
        "disc_accuracy": ((predicted == labels).sum(), n_tokens),
        "replaced_fraction": (replaced.sum(), n_tokens),
        "disc_recall": ((flagged & replaced).sum(), replaced.sum()),
        "disc_precision": ((flagged & replaced).sum(), flagged.sum()),
        "loss": float(F.binary_cross_entropy_with_logits(out["disc_logits"].float(), labels.float())),
    }
