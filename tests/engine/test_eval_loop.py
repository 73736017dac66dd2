"""sslm_utils.engine.eval_loop: fixed batches and masks, the caller's mode and random stream left alone."""

from __future__ import annotations

import math

import pytest
import torch

from sslm_utils.engine.eval_loop import eval_mode, evaluate, evaluation_batches
from sslm_utils.engine.losses import default_loss
from sslm_utils.objectives.masking import MLMCollator

pytestmark = pytest.mark.usefixtures("one_thread")


def test_evaluate_ratio_metrics_and_rng_untouched(toy_bert, toy_data, masking_collate):
    model, data = toy_bert(), toy_data(10)

    def metrics(model, batch):
        n = batch["input_ids"].shape[0]
        return {"ratio": (torch.tensor(float(n)), torch.tensor(2.0 * n)), "mean": 3.0}

    before = torch.get_rng_state()
    scores = evaluate(model, data, batch_size=4, collate_fn=masking_collate, compute_metrics=metrics)
    assert scores == {"ratio": 0.5, "mean": 3.0}
    assert torch.equal(before, torch.get_rng_state()) and model.training
    a = evaluate(model, data, batch_size=4, collate_fn=masking_collate, loss_fn=default_loss)
    b = evaluate(model, data, batch_size=4, collate_fn=masking_collate, loss_fn=default_loss)
    assert a == b and math.isfinite(a["loss"])  # same masks at every evaluation


# --------------------------------------------------------------------------- eval_mode


def test_eval_mode_restores_train_mode_after_the_block(toy_bert):
    model = toy_bert()
    assert model.training
    with eval_mode(model) as inside:
        assert inside is model and not model.training
        assert not any(m.training for m in model.modules())  # dropout off everywhere
    assert model.training and all(m.training for m in model.modules())


def test_eval_mode_restores_train_mode_after_an_exception(toy_bert):
    model = toy_bert()
    with pytest.raises(RuntimeError, match="inside the block"):
        with eval_mode(model):
            raise RuntimeError("inside the block")
    assert model.training and all(m.training for m in model.modules())


def test_eval_mode_keeps_a_model_in_eval_mode(toy_bert):
    model = toy_bert().eval()
    with eval_mode(model):
        assert not model.training
    assert not model.training and not any(m.training for m in model.modules())
    with pytest.raises(KeyError):
        with eval_mode(model):
            raise KeyError("boom")
    assert not model.training


# --------------------------------------------------------------------------- evaluation_batches = what evaluate sees


def _recorder(seen: list):
    """A compute_metrics that keeps a copy of every batch it is given."""

    def compute_metrics(model, batch):
        seen.append({k: v.detach().clone().cpu() for k, v in batch.items()})
        return {"examples": float(batch["input_ids"].shape[0])}

    return compute_metrics


def test_evaluation_batches_are_exactly_what_evaluate_scores(tiny_bert, corpus_pairs, wordpiece_tokenizer):
    collate = MLMCollator(wordpiece_tokenizer)  # masks with the global generator, as in training
    val, b = corpus_pairs, 2
    assert len(val) > 2 * b  # several batches, one of them maybe short
    seen: list[dict] = []
    evaluate(tiny_bert, val, batch_size=b, collate_fn=collate, compute_metrics=_recorder(seen), seed=0)
    ours = list(evaluation_batches(val, batch_size=b, collate_fn=collate, seed=0))

    assert [idx for idx, _ in ours] == [list(range(i, min(i + b, len(val)))) for i in range(0, len(val), b)]
    assert len(seen) == len(ours)
    for (_, batch), scored in zip(ours, seen, strict=True):
        assert batch.keys() == scored.keys()
        for key in batch:
            assert torch.equal(batch[key], scored[key]), key
    labels = torch.cat([batch["labels"].flatten() for _, batch in ours])
    assert (labels != -100).any()  # some positions are masked: the comparison is not vacuous
    other = torch.cat([batch["labels"].flatten() for _, batch in
                       evaluation_batches(val, batch_size=b, collate_fn=collate, seed=1)])
    assert not torch.equal(labels, other)  # the masks come from the seed


def test_evaluation_batches_leave_the_callers_random_stream_alone(corpus_pairs, wordpiece_tokenizer):
    collate = MLMCollator(wordpiece_tokenizer)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = [batch["labels"] for _, batch in evaluation_batches(corpus_pairs, batch_size=3, collate_fn=collate)]
    assert torch.equal(torch.get_rng_state(), before)
    expected_next = torch.rand(5)
    torch.set_rng_state(before)
    again = [batch["labels"] for _, batch in evaluation_batches(corpus_pairs, batch_size=3, collate_fn=collate)]
    assert all(torch.equal(x, y) for x, y in zip(first, again, strict=True))
    assert torch.equal(torch.rand(5), expected_next)


def test_evaluation_batches_split_the_examples_over_processes(toy_data):
    data = toy_data(7)
    shares = [[i for idx, _ in evaluation_batches(data, batch_size=2, rank=r, world=2) for i in idx] for r in (0, 1)]
    assert shares == [[0, 2, 4, 6], [1, 3, 5]]


def test_evaluate_refuses_empty_data_and_a_zero_batch_size(toy_bert, toy_data):
    model = toy_bert()
    with pytest.raises(ValueError, match="eval_data is empty"):
        evaluate(model, [])
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        evaluate(model, toy_data(4), batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        list(evaluation_batches(toy_data(4), batch_size=-1))
    assert model.training  # the failed evaluations left the mode alone
