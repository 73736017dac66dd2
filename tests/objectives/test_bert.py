"""sslm_utils.objectives.bert: BERT's losses and held-out metrics on a tiny BertForPreTraining."""

from __future__ import annotations

import math

import pytest
import torch

from sslm_utils.objectives.bert import (
    SentenceTaskFrom,
    mlm_only_loss,
    mlm_only_metrics,
    objective_functions,
    pretraining_loss,
    pretraining_metrics,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_loss_equals_the_library_loss(tiny_bert, mlm_batch, wordpiece_tokenizer):
    model, batch = tiny_bert.eval(), mlm_batch
    loss, parts = pretraining_loss(model, batch)
    library = model(**batch).loss
    torch.testing.assert_close(loss, library, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(parts["mlm_loss"] + parts["nsp_loss"], library, rtol=1e-5, atol=1e-6)
    # an untrained model guesses: about ln V for MLM and ln 2 for NSP
    assert abs(parts["mlm_loss"].item() - math.log(len(wordpiece_tokenizer))) < 0.5
    assert abs(parts["nsp_loss"].item() - math.log(2)) < 0.3


def test_wrapped_model_takes_the_full_forward(tiny_bert, mlm_batch):
    model, batch = tiny_bert.eval(), mlm_batch

    class Wrapper(torch.nn.Module):  # stands in for DistributedDataParallel
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, **kw):
            return self.module(**kw)

    torch.testing.assert_close(pretraining_loss(Wrapper(model), batch)[0], pretraining_loss(model, batch)[0])


def test_metrics_are_exact_ratios(tiny_bert, mlm_batch):
    model, batch = tiny_bert.eval(), mlm_batch
    metrics = pretraining_metrics(model, batch)
    n_masked = (batch["labels"] != -100).sum().item()
    assert metrics["mlm_loss"][1].item() == n_masked
    assert metrics["nsp_accuracy"][1].item() == len(batch["next_sentence_label"])
    loss, parts = pretraining_loss(model, batch)
    assert metrics["mlm_loss"][0].item() / n_masked == pytest.approx(parts["mlm_loss"].item(), rel=1e-5)


def test_mlm_only_loss_leaves_the_sentence_head_alone(tiny_bert, mlm_batch):
    model, batch = tiny_bert.eval(), mlm_batch
    loss, parts = mlm_only_loss(model, batch)
    full, full_parts = pretraining_loss(model, batch)
    torch.testing.assert_close(loss, full_parts["mlm_loss"])
    loss.backward()
    assert model.cls.seq_relationship.weight.grad is None  # no gradient reaches the NSP head
    assert set(mlm_only_metrics(model, batch)) == {"mlm_loss", "mlm_accuracy", "loss"}
    assert objective_functions("mlm") == (mlm_only_loss, mlm_only_metrics)
    assert objective_functions("sop") == (pretraining_loss, pretraining_metrics)
    with pytest.raises(ValueError, match="objective must be one of"):
        objective_functions("nsp+sop")


def test_the_breakdown_scores_each_kind_of_position(tiny_bert, mlm_batch, wordpiece_tokenizer):
    """The three kinds partition the chosen positions: their counts and totals add up to the overall numbers."""
    mask_id = wordpiece_tokenizer.mask_token_id
    with torch.no_grad():
        scores = pretraining_metrics(tiny_bert.eval(), mlm_batch, mask_id=mask_id)
    kinds = ("mask", "random", "kept")
    n = sum(float(scores[f"mlm_accuracy_at_{k}"][1]) for k in kinds)
    assert n == float(scores["mlm_accuracy"][1]) and float(scores["mlm_accuracy_at_mask"][1]) > 0.6 * n
    for name in ("mlm_loss", "mlm_accuracy"):
        total = sum(float(scores[f"{name}_at_{k}"][0]) for k in kinds)
        assert total == pytest.approx(float(scores[name][0]), rel=1e-5)
    assert "mlm_accuracy_at_mask" not in pretraining_metrics(tiny_bert.eval(), mlm_batch)  # only with mask_id


def test_objective_functions_pass_the_mask_id(tiny_bert, mlm_batch, wordpiece_tokenizer):
    for objective in ("nsp", "mlm"):
        _, metrics = objective_functions(objective, mask_id=wordpiece_tokenizer.mask_token_id)
        with torch.no_grad():
            scores = metrics(tiny_bert.eval(), mlm_batch)
        assert "mlm_accuracy_at_mask" in scores and ("nsp_accuracy" in scores) == (objective == "nsp")


def _nsp_head_grad(model, loss) -> torch.Tensor:
    model.zero_grad(set_to_none=True)
    loss.backward()
    return model.cls.seq_relationship.weight.grad


def test_the_sentence_task_joins_at_its_step(tiny_bert, mlm_batch):
    model, batch = tiny_bert.eval(), mlm_batch
    delayed = SentenceTaskFrom(3)
    full, parts = pretraining_loss(model, batch)
    for step, joined in ((0, False), (2, False), (3, True), (10, True)):
        delayed.set_step(step)
        loss, logged = delayed(model, batch)
        torch.testing.assert_close(loss, full if joined else parts["mlm_loss"])
        assert set(logged) == {"mlm_loss", "nsp_loss"}  # the sentence loss is logged before it counts
        grad = _nsp_head_grad(model, loss)
        assert grad is not None and bool(grad.abs().sum() > 0) == joined  # a zero gradient, not a missing one


def test_objective_functions_delay_the_sentence_task_only_when_asked(wordpiece_tokenizer):
    loss_fn, _ = objective_functions("sop", sentence_task_from=100)
    assert isinstance(loss_fn, SentenceTaskFrom) and loss_fn.start == 100
    assert objective_functions("nsp", sentence_task_from=0)[0] is pretraining_loss
    with pytest.raises(ValueError, match="'mlm' has no sentence task to delay"):
        objective_functions("mlm", sentence_task_from=5)
    with pytest.raises(ValueError, match="sentence_task_from must be an int >= 0"):
        objective_functions("nsp", sentence_task_from=-1)
