"""sslm_utils.finetuning.task_weights: a task stores what trained, verified on load."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.files import IntegrityError
from sslm_utils.finetuning import (
    SentenceClassifier,
    apply_strategy,
    load_trainable,
    save_trainable,
    trainable_state,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _lora(bert, seed=0):
    torch.manual_seed(seed)
    return apply_strategy(SentenceClassifier(bert, 2), "lora", r=2, alpha=4.0)


def test_only_the_trainable_parameters_are_saved_and_they_load_back(tmp_path, small_bert):
    bert = small_bert()
    model = _lora(bert)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.5)  # as if trained
    size = save_trainable(model, tmp_path)
    state = trainable_state(model)
    assert set(state) == {n for n, p in model.named_parameters() if p.requires_grad}
    n_numbers = sum(t.numel() for t in state.values())
    assert n_numbers * 4 <= size < n_numbers * 4 + 4096  # float32 numbers plus a small header
    fresh = _lora(bert, seed=1)  # the same strategy on the same pretrained weights, other random A and head
    load_trainable(fresh, tmp_path)
    for name, p in fresh.named_parameters():
        assert torch.equal(p, dict(model.named_parameters())[name])


def test_full_fine_tuning_stores_the_whole_model(tmp_path, small_bert):
    model = SentenceClassifier(small_bert(), 2)
    size = save_trainable(model, tmp_path)
    assert size >= 4 * sum(p.numel() for p in model.parameters())


def test_damaged_or_mismatched_files_are_refused(tmp_path, small_bert):
    bert = small_bert()
    save_trainable(_lora(bert), tmp_path)
    with pytest.raises(ValueError, match="no parameter of that name"):
        load_trainable(SentenceClassifier(bert, 2), tmp_path)  # built without LoRA
    with pytest.raises(ValueError, match="same sizes"):
        load_trainable(apply_strategy(SentenceClassifier(bert, 2), "lora", r=3, alpha=4.0), tmp_path)
    path = tmp_path / "trainable.safetensors"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(IntegrityError, match="does not match the SHA-256"):
        load_trainable(_lora(bert), tmp_path)
    frozen = apply_strategy(SentenceClassifier(bert, 2), "full").requires_grad_(False)
    with pytest.raises(ValueError, match="nothing task-specific to save"):
        save_trainable(frozen, tmp_path / "none")
