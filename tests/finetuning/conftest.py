"""Fixtures of the fine-tuning tests: 2-layer BERTs of width 16 over a 40-token vocabulary, and labelled batches."""

from __future__ import annotations

import pytest
import torch

VOCAB, LENGTH = 40, 12

KINDS = ("model", "pretraining", "masked_lm")


def _small_bert(kind: str = "pretraining", *, width: int = 16, layers: int = 2, seed: int = 0, dropout: float = 0.0):
    from transformers import BertConfig, BertForMaskedLM, BertForPreTraining, BertModel

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=VOCAB, hidden_size=width, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=2 * width, max_position_embeddings=LENGTH, hidden_dropout_prob=dropout,
                        attention_probs_dropout_prob=dropout, pad_token_id=0)
    model_class = {"model": BertModel, "pretraining": BertForPreTraining, "masked_lm": BertForMaskedLM}[kind]
    return model_class(config)


def _labelled_batch(n: int = 4, length: int = LENGTH, n_labels: int = 2, seed: int = 1) -> dict:
    """Random ids (never the pad id 0), the last two positions of odd rows padded, labels in 0..n_labels-1."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, VOCAB, (n, length), generator=gen)
    mask = torch.ones(n, length, dtype=torch.long)
    mask[1::2, -2:] = 0
    ids[mask == 0] = 0
    return {"input_ids": ids, "attention_mask": mask, "labels": torch.randint(0, n_labels, (n,), generator=gen)}


@pytest.fixture(scope="session")
def small_bert():
    """Factory ``(kind="pretraining"|"model"|"masked_lm", width=16, layers=2, seed=0, dropout=0.0) -> BERT``."""
    return _small_bert


@pytest.fixture(scope="session")
def labelled_batch():
    """Factory ``(n=4, length=12, n_labels=2, seed=1) -> {"input_ids", "attention_mask", "labels"}``."""
    return _labelled_batch
