"""Causal language modelling (lesson 3.2): pack documents into blocks and predict every next token.

Every speech is followed by ``<|endoftext|>``, all of them concatenated and
cut into blocks of exactly ``block_size`` tokens: no padding, so every
position of every block is a prediction the model learns from. The labels
are the inputs; the model shifts them by one itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

from .. import checks
from .labels import IGNORE_INDEX

EOT = "<|endoftext|>"


def pack_documents(docs: Sequence[Sequence[int]], block_size: int, eos_id: int) -> torch.Tensor:
    """Concatenate ``doc + [eos]`` for every document and cut the stream into full blocks.

    Returns a ``(n_blocks, block_size)`` long tensor. The tail that does not
    fill a last block is dropped, so no block holds padding; a block may
    start in one document and end in the next, the ``<|endoftext|>`` between
    them telling the model that the context before it no longer applies.
    """
    if checks.positive_int("block_size", block_size) < 2:
        raise ValueError(f"block_size must be an int >= 2 (one input and one next token), got {block_size!r}.")
    if isinstance(docs, (str, torch.Tensor)) or not isinstance(docs, Sequence):
        raise TypeError("docs must be a list of documents, each a list of int token ids.")
    if not all(isinstance(d, Sequence) and not isinstance(d, str) for d in docs):
        raise TypeError("each document must be a list of int token ids, not a string or a number.")
    stream = [t for doc in docs for t in (*doc, eos_id)]
    n_blocks = len(stream) // block_size
    if n_blocks == 0:
        raise ValueError(f"The documents hold {len(stream)} tokens (with separators), fewer than one block "
                         f"of {block_size}; use more documents or a smaller block_size.")
    return torch.tensor(stream[: n_blocks * block_size], dtype=torch.long).view(n_blocks, block_size)


class BlockDataset(torch.utils.data.Dataset):
    """Packed blocks of ``block_size`` ids; ``dataset[i]`` is ``{"input_ids", "labels"}``.

    The labels are the inputs themselves: ``GPT2LMHeadModel`` (like every
    causal LM in transformers) shifts them inside its loss, predicting
    ``labels[t + 1]`` from the logits at ``t``.
    """

    def __init__(self, blocks: torch.Tensor):
        blocks = torch.as_tensor(blocks, dtype=torch.long)
        if blocks.ndim != 2:
            raise ValueError(f"blocks must have shape (n_blocks, block_size), got {tuple(blocks.shape)}.")
        self.blocks = blocks

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.blocks[i], "labels": self.blocks[i]}

    def subset(self, n: int | None) -> BlockDataset:
        return BlockDataset(self.blocks[:n])

    @property
    def n_tokens(self) -> int:
        return self.blocks.numel()


def shift_for_next_token(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits[:, :-1], labels[:, 1:])`` flattened: position t predicts token t + 1."""
    if logits.ndim != 3 or labels.ndim != 2 or logits.shape[:2] != labels.shape:
        raise ValueError(f"logits must be (B, L, V) and labels (B, L); got {tuple(logits.shape)} and "
                         f"{tuple(labels.shape)}.")
    return logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten()


def causal_lm_loss(model, batch):
    """Mean next-token cross-entropy (nats); equals ``model(**batch).loss`` of a transformers causal LM."""
    if hasattr(model, "config"):
        checks.ids_fit_model("batch['input_ids']", batch["input_ids"], model.config)
    out = model(input_ids=batch["input_ids"])
    logits, targets = shift_for_next_token(out.logits, batch.get("labels", batch["input_ids"]))
    return F.cross_entropy(logits.float(), targets, ignore_index=IGNORE_INDEX)


def causal_lm_metrics(model, batch) -> dict:
    """Held-out ``loss`` (per predicted token, exact over the set) and next-token ``accuracy``."""
    out = model(input_ids=batch["input_ids"])
    logits, targets = shift_for_next_token(out.logits, batch.get("labels", batch["input_ids"]))
    keep = targets != IGNORE_INDEX
    n = torch.tensor(float(keep.sum()))
    total = F.cross_entropy(logits.float(), targets, ignore_index=IGNORE_INDEX, reduction="sum")
    return {"loss": (total, n), "accuracy": ((logits.argmax(-1) == targets)[keep].sum(), n)}
