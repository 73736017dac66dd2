"""sslm_utils.engine.guards: what train checks before the first step, and the loss it refuses to train on."""

from __future__ import annotations

import math

import pytest
import torch

from sslm_utils.engine import (
    CheckpointError,
    TrainingDivergedError,
    latest_checkpoint,
    list_checkpoints,
    train,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def run(toy_bert, toy_data, masking_collate, toy_config, out, **kw):
    model = kw.pop("model", None) or toy_bert()
    config = kw.pop("config", None) or toy_config(max_steps=3)
    return train(model, toy_data(), config=config, collate_fn=masking_collate, output_dir=out, **kw)


# --------------------------------------------------------------------------- the checkpoint folder


def test_a_fresh_run_refuses_another_runs_checkpoints(tmp_path, toy_bert, toy_data, masking_collate, toy_config):
    """Otherwise the new run's checkpoints are pruned as "older" than the old run's, and resume loads the old run."""
    longer = run(toy_bert, toy_data, masking_collate, toy_config, tmp_path, config=toy_config(max_steps=8))
    with pytest.raises(FileExistsError, match="resume='auto' to continue that run, overwrite=True"):
        run(toy_bert, toy_data, masking_collate, toy_config, tmp_path)
    assert latest_checkpoint(tmp_path / "checkpoints") == longer.checkpoint  # untouched

    fresh = run(toy_bert, toy_data, masking_collate, toy_config, tmp_path, overwrite=True)
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")] == ["step-00000003"]
    assert fresh.checkpoint.is_dir() and fresh.resumed_from is None
    with pytest.raises(ValueError, match="overwrite=True deletes the checkpoints that resume"):
        run(toy_bert, toy_data, masking_collate, toy_config, tmp_path, resume="latest", overwrite=True)


def test_two_checkpoints_stay_even_with_keep_one(tmp_path, toy_bert, toy_data, masking_collate, toy_config):
    config = toy_config(max_steps=5, checkpoint_every=1, keep_checkpoints=1)
    run(toy_bert, toy_data, masking_collate, toy_config, tmp_path, config=config)
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")] == ["step-00000004", "step-00000005"]


def test_stale_temporaries_are_removed(tmp_path, toy_bert, toy_data, masking_collate, toy_config):
    root = tmp_path / "checkpoints"
    root.mkdir()
    (root / ".latest.abc.tmp").write_text("step-0000")  # a kill during the pointer's write
    (root / ".tmp-step-00000002").mkdir()  # a kill during a checkpoint's write
    run(toy_bert, toy_data, masking_collate, toy_config, tmp_path)
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step-00000003"]


def test_output_dir_that_is_a_file(tmp_path, toy_bert, toy_data, masking_collate, toy_config):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file; pass a folder"):
        run(toy_bert, toy_data, masking_collate, toy_config, tmp_path / "file")


# --------------------------------------------------------------------------- arguments, before any step


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"eval_data": []}, ValueError, "eval_data is empty"),
        ({"loss_fn": "cross_entropy"}, TypeError, "loss_fn must be a function"),
        ({"compute_metrics": 3}, TypeError, "compute_metrics must be a function"),
        ({"eval_collate_fn": [1]}, TypeError, "eval_collate_fn must be a function"),
    ],
)
def test_bad_arguments_fail_before_the_first_step(changes, error, message, tmp_path, toy_bert, toy_data,
                                                  masking_collate, toy_config):
    with pytest.raises(error, match=message):
        run(toy_bert, toy_data, masking_collate, toy_config, tmp_path, **changes)
    assert not (tmp_path / "checkpoints").exists()  # nothing ran


def test_the_first_batch_must_fit_the_model(tmp_path, toy_bert, toy_data, toy_config):
    model, config = toy_bert(), toy_config(max_steps=3)
    outside = [{"input_ids": torch.full((8,), 40), "labels": torch.zeros(8, dtype=torch.long)}] * 16
    with pytest.raises(ValueError, match="outside the model's vocabulary of 40"):
        train(model, outside, config=config)
    too_long = [{"input_ids": torch.ones(9, dtype=torch.long), "labels": torch.ones(9, dtype=torch.long)}] * 16
    with pytest.raises(ValueError, match="has only 8 \\(its position table\\)"):
        train(model, too_long, config=config)


def test_the_first_batch_check_draws_no_random_numbers(toy_bert, toy_data, masking_collate, toy_config):
    """The check collates a batch with a collator that masks at random: it must not shift the run's masks."""
    from sslm_utils.engine.guards import check_first_batch

    model, data = toy_bert(), toy_data()
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    check_first_batch(model, data, masking_collate, toy_config())
    assert torch.equal(torch.random.get_rng_state(), before)


# --------------------------------------------------------------------------- while training


def test_a_non_finite_loss_stops_the_run_with_the_likely_cause(tmp_path, toy_bert, toy_data, masking_collate,
                                                               toy_config):
    steps = {"n": 0}

    def loss_that_explodes(model, batch):
        steps["n"] += 1
        loss = model(**batch).loss
        return loss * math.inf if steps["n"] > 4 else loss  # micro-batches 5+: step 3 (2 per step)

    config = toy_config(max_steps=6, checkpoint_every=2)
    with pytest.raises(TrainingDivergedError, match="became inf at step 3.*lr=0.01.*step-00000002, is intact"):
        train(toy_bert(), toy_data(), config=config, collate_fn=masking_collate, loss_fn=loss_that_explodes,
              output_dir=tmp_path)


def test_a_huge_learning_rate_is_caught(toy_bert, toy_data, masking_collate, toy_config):
    with pytest.raises(TrainingDivergedError, match="try 3-10x smaller"):
        train(toy_bert(), toy_data(), config=toy_config(max_steps=8, lr=1e9, max_grad_norm=None, warmup_steps=0),
              collate_fn=masking_collate)


# --------------------------------------------------------------------------- resuming a changed model


def test_resuming_with_another_dropout_warns(tmp_path, toy_bert, toy_data, masking_collate, toy_config):
    run(toy_bert, toy_data, masking_collate, toy_config, tmp_path, config=toy_config(max_steps=3))
    with pytest.warns(UserWarning, match="hidden_dropout_prob: 0.1 -> 0.3"):
        run(toy_bert, toy_data, masking_collate, toy_config, tmp_path, model=_with_dropout(toy_bert(), 0.3),
            resume="latest")


def _with_dropout(model, p: float):
    model.config.hidden_dropout_prob = p
    return model


def test_resuming_into_a_wider_model_is_a_checkpoint_error(tmp_path, toy_bert, toy_data, masking_collate,
                                                           toy_config):
    from transformers import BertForMaskedLM

    run(toy_bert, toy_data, masking_collate, toy_config, tmp_path)
    wider = toy_bert().config
    wider.hidden_size, wider.intermediate_size = 32, 64
    with pytest.raises(CheckpointError, match="do not fit this model.*same architecture"), \
            pytest.warns(UserWarning, match="hidden_size: 16 -> 32"):
        run(toy_bert, toy_data, masking_collate, toy_config, tmp_path, model=BertForMaskedLM(wider),
            resume="latest")
