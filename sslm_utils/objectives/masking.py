"""Masked language modelling's input side: BERT's 15 % masking with the 80/10/10 rule (lesson 3.1).

Masks are drawn afresh for every batch (dynamic masking, Liu et al., 2019)
by a collator, from PyTorch's global generator unless given a private one,
so the engine's checkpoints capture the masking stream too.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .. import checks
from .labels import IGNORE_INDEX


def _check_ratios(mlm_probability, mask_ratio, random_ratio) -> None:
    for name, value in (("mlm_probability", mlm_probability), ("mask_ratio", mask_ratio),
                        ("random_ratio", random_ratio)):
        checks.fraction(name, value)
    if mask_ratio + random_ratio > 1.0 + 1e-9:
        raise ValueError(f"mask_ratio + random_ratio must be at most 1, got {mask_ratio} + {random_ratio}.")


def mask_tokens(
    input_ids: torch.Tensor,
    *,
    mask_id: int,
    special_ids: Sequence[int] | torch.Tensor,
    candidate_ids: Sequence[int] | torch.Tensor,
    mlm_probability: float = 0.15,
    mask_ratio: float = 0.8,
    random_ratio: float = 0.1,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: returns ``(inputs, labels)``, both shaped like ``input_ids``.

    Each position that is not a special token (padding included) is chosen
    with probability ``mlm_probability``; its label is the original id, every
    other label is -100. Of the chosen, ``mask_ratio`` become ``[MASK]``,
    ``random_ratio`` a random id from ``candidate_ids``, and the rest stay
    unchanged — so the model cannot learn that only ``[MASK]`` positions
    matter, and its representation of every real token must stay useful.
    """
    if not isinstance(input_ids, torch.Tensor) or input_ids.dtype not in (torch.long, torch.int):
        raise TypeError("input_ids must be an integer tensor of token ids.")
    _check_ratios(mlm_probability, mask_ratio, random_ratio)
    candidates = torch.as_tensor(candidate_ids, dtype=torch.long, device=input_ids.device)
    if candidates.numel() == 0:
        raise ValueError("candidate_ids is empty: there is no token to draw random replacements from.")
    special = torch.isin(input_ids, torch.as_tensor(special_ids, dtype=input_ids.dtype, device=input_ids.device))
    # 1. choose positions
    probs = torch.full(input_ids.shape, float(mlm_probability), device=input_ids.device)
    probs.masked_fill_(special, 0.0)
    chosen = torch.bernoulli(probs, generator=generator).bool()
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    # 2. one uniform draw per position splits the chosen into [MASK] / random / unchanged
    u = torch.rand(input_ids.shape, generator=generator, device=input_ids.device)
    to_mask = chosen & (u < mask_ratio)
    to_random = chosen & (u >= mask_ratio) & (u < mask_ratio + random_ratio)
    picks = torch.randint(len(candidates), input_ids.shape, generator=generator, device=input_ids.device)
    inputs = torch.where(to_mask, torch.full_like(input_ids, mask_id), input_ids)
    inputs = torch.where(to_random, candidates[picks], inputs)
    return inputs, labels


POSITION_KINDS = ("mask", "random", "kept")


def chosen_position_kinds(input_ids: torch.Tensor, labels: torch.Tensor, mask_id: int) -> dict[str, torch.Tensor]:
    """What the model was shown at each chosen position (``labels != -100``), in the order of ``labels[chosen]``.

    ``"mask"``: the ``[MASK]`` token, so only the context can tell the answer;
    ``"random"``: another token; ``"kept"``: the answer itself, which a model
    learns to copy long before it uses context. Scoring the three apart is
    what shows whether a model uses context at all.
    """
    chosen = labels != IGNORE_INDEX  # (B, L)
    shown, target = input_ids[chosen], labels[chosen]  # (M,), (M,)
    return {"mask": shown == mask_id, "random": (shown != mask_id) & (shown != target), "kept": shown == target}


def special_and_candidate_ids(tokenizer) -> tuple[list[int], list[int]]:
    """The tokenizer's special ids, and every other id (the pool for random replacements)."""
    special = sorted(set(tokenizer.all_special_ids))
    candidates = [i for i in range(len(tokenizer)) if i not in set(special)]
    return special, candidates


class MLMCollator:
    """Stack :class:`PairDataset` items and mask them afresh (dynamic masking).

    By default the masks come from PyTorch's global generator, which the
    training engine checkpoints, so a resumed run masks exactly as an
    uninterrupted one. Pass ``generator`` for a private stream.
    """

    def __init__(self, tokenizer, *, mlm_probability: float = 0.15, mask_ratio: float = 0.8,
                 random_ratio: float = 0.1, generator: torch.Generator | None = None):
        if tokenizer.mask_token_id is None:
            raise ValueError("The tokenizer has no [MASK] token; masked language modelling needs one.")
        self.mask_id = tokenizer.mask_token_id
        self.special_ids, self.candidate_ids = special_and_candidate_ids(tokenizer)
        _check_ratios(mlm_probability, mask_ratio, random_ratio)  # fail here, not at the first batch
        self.mlm_probability, self.mask_ratio, self.random_ratio = mlm_probability, mask_ratio, random_ratio
        self.generator = generator

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        batch = {k: torch.stack([torch.as_tensor(item[k]) for item in items]) for k in items[0]}
        batch["input_ids"], batch["labels"] = mask_tokens(
            batch["input_ids"], mask_id=self.mask_id, special_ids=self.special_ids,
            candidate_ids=self.candidate_ids, mlm_probability=self.mlm_probability,
            mask_ratio=self.mask_ratio, random_ratio=self.random_ratio, generator=self.generator,
        )
        return batch
