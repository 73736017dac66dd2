"""sslm_utils.engine.loop: exact resume, accumulation, schedules, trackers, several processes, bad arguments."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.engine import checkpoints as ckpt
from sslm_utils.engine.loop import train
from sslm_utils.engine.losses import default_loss
from sslm_utils.engine.optimization import lr_factor
from tests.conftest import Crash, CrashingData

pytestmark = pytest.mark.usefixtures("one_thread")


def params_equal(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# --------------------------------------------------------------------------- exact resume


def test_interrupted_and_resumed_run_is_bit_identical(tmp_path, toy_bert, toy_data, masking_collate, toy_config):
    data, held_out = toy_data(), toy_data(16, seed=2)
    cfg = toy_config()
    kw = dict(config=cfg, eval_data=held_out, collate_fn=masking_collate)

    straight = train(toy_bert(), data, output_dir=tmp_path / "a", **kw)

    # crash in the middle of step 5: the checkpoint of step 3 is the latest one
    crashing = CrashingData(data, limit=4 * cfg.batch_size + cfg.micro_batch_size)
    with pytest.raises(Crash):
        train(toy_bert(), crashing, output_dir=tmp_path / "b", **kw)
    assert ckpt.latest_checkpoint(tmp_path / "b" / "checkpoints").name == "step-00000003"
    # resume into a model initialised differently: the checkpoint must overwrite everything
    resumed = train(toy_bert(seed=123), data, output_dir=tmp_path / "b", resume="latest", **kw)

    assert resumed.resumed_from.name == "step-00000003"
    assert resumed.steps == straight.steps == cfg.max_steps
    assert straight.model.training is True and any(isinstance(m, torch.nn.Dropout) for m in straight.model.modules())
    for (name, p), (_, q) in zip(straight.model.named_parameters(), resumed.model.named_parameters(), strict=True):
        assert torch.equal(p, q), f"parameter {name} differs after resume"
    untimed = lambda history: [{k: v for k, v in r.items() if k != "tokens_per_s"} for r in history]
    assert untimed(straight.history) == untimed(resumed.history)  # losses, lrs, norms, evals: all equal


def test_resume_without_restoring_rng_is_not_identical(tmp_path, monkeypatch, toy_bert, toy_data, masking_collate,
                                                       toy_config):
    """The control experiment: the test above is sensitive to the RNG state (dropout is on)."""
    data = toy_data()
    cfg = toy_config(eval_every=None)
    straight = train(toy_bert(), data, config=cfg, collate_fn=masking_collate)
    with pytest.raises(Crash):
        train(toy_bert(), CrashingData(data, 4 * cfg.batch_size), config=cfg, collate_fn=masking_collate,
              output_dir=tmp_path)
    monkeypatch.setattr(ckpt, "restore_rng_state", lambda state: None)
    resumed = train(toy_bert(), data, config=cfg, collate_fn=masking_collate, output_dir=tmp_path, resume="latest")
    assert not params_equal(straight.model, resumed.model)


def test_checkpoint_is_a_transformers_folder(tmp_path, toy_bert, toy_data, masking_collate, toy_config):
    from transformers import BertForMaskedLM

    result = train(toy_bert(), toy_data(), config=toy_config(), collate_fn=masking_collate, output_dir=tmp_path)
    folder = result.checkpoint / ckpt.MODEL_DIR
    assert (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    reloaded = BertForMaskedLM.from_pretrained(folder)
    assert params_equal(result.model, reloaded)
    # keep_checkpoints=2: steps 6 and 8 remain
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "checkpoints")] == ["step-00000006", "step-00000008"]


def test_resume_auto_starts_fresh_then_resumes(tmp_path, toy_bert, toy_data, masking_collate, toy_config):
    cfg = toy_config(max_steps=3, checkpoint_every=None, eval_every=None)
    first = train(toy_bert(), toy_data(), config=cfg, collate_fn=masking_collate, output_dir=tmp_path, resume="auto")
    assert first.resumed_from is None
    again = train(toy_bert(), toy_data(), config=cfg, collate_fn=masking_collate, output_dir=tmp_path, resume="auto")
    assert again.resumed_from.name == "step-00000003" and params_equal(first.model, again.model)


# --------------------------------------------------------------------------- accumulation, schedule, data order


def test_accumulation_matches_one_big_batch(toy_bert, toy_data, toy_config):
    """Without dropout, 2 x 4 examples give the same update as 1 x 8, up to rounding."""
    data = toy_data()
    collate = lambda items: {**(b := torch.utils.data.default_collate(items)), "labels": b["input_ids"]}
    one = train(toy_bert(dropout=0.0), data, config=toy_config(grad_accum_steps=1, eval_every=None), collate_fn=collate)
    two = train(toy_bert(dropout=0.0), data, config=toy_config(grad_accum_steps=4, eval_every=None), collate_fn=collate)
    for p, q in zip(one.model.parameters(), two.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_loss_goes_down_and_history_has_both_splits(toy_bert, toy_data, masking_collate, toy_config):
    data = toy_data(64)
    result = train(toy_bert(dropout=0.0), data, eval_data=data[:16], collate_fn=masking_collate,
                   config=toy_config(max_steps=30, lr=3e-2, eval_every=10, checkpoint_every=None))
    train_frame, eval_frame = result.frame("train"), result.frame("eval")
    assert list(eval_frame["step"]) == [10, 20, 30]
    assert len(train_frame) == 30 and {"lr", "loss", "grad_norm", "tokens_per_s"} <= set(train_frame.columns)
    assert eval_frame["loss"].iloc[-1] < eval_frame["loss"].iloc[0]
    assert result.tokens_seen == 30 * 8 * data[0]["input_ids"].numel() and result.tokens_per_second > 0


def test_scheduler_and_clipping_applied(toy_bert, toy_data, masking_collate, toy_config):
    data = toy_data()
    cfg = toy_config(eval_every=None, max_grad_norm=1e-3, schedule="linear", warmup_steps=2, max_steps=6)
    result = train(toy_bert(), data, config=cfg, collate_fn=masking_collate)
    lrs = result.frame()["lr"].tolist()
    assert lrs == pytest.approx([cfg.lr * lr_factor(s, warmup_steps=2, max_steps=6) for s in range(6)])
    assert all(g > 1e-3 for g in result.frame()["grad_norm"])  # norms are logged before clipping


def test_loss_fn_may_return_parts(toy_bert, toy_data, masking_collate, toy_config):
    def loss_fn(model, batch):
        loss = default_loss(model, batch)
        return loss, {"half": loss / 2}

    result = train(toy_bert(), toy_data(), config=toy_config(max_steps=3, eval_every=None), collate_fn=masking_collate,
                   loss_fn=loss_fn)
    row = result.frame().iloc[-1]
    assert row["half"] == pytest.approx(row["loss"] / 2, rel=1e-5)


class StepRecordingLoss:
    """A curriculum-style loss: the engine tells it the step before each optimizer step."""

    def __init__(self):
        self.steps = []

    def set_step(self, step):
        self.steps.append(step)

    def __call__(self, model, batch):
        return default_loss(model, batch)


def test_a_loss_with_set_step_learns_the_step_also_after_a_resume(tmp_path, toy_bert, toy_data, masking_collate,
                                                                   toy_config):
    data, first, rest = toy_data(), StepRecordingLoss(), StepRecordingLoss()
    kw = dict(collate_fn=masking_collate, output_dir=tmp_path)
    train(toy_bert(), data, config=toy_config(stop_after=5, eval_every=None), loss_fn=first, **kw)
    train(toy_bert(), data, config=toy_config(eval_every=None), loss_fn=rest, resume="latest", **kw)
    assert first.steps == [0, 1, 2, 3, 4] and rest.steps == [5, 6, 7]  # steps already taken, 0-based


def test_on_evaluate_sees_every_evaluation_and_the_bare_model(toy_bert, toy_data, masking_collate, toy_config):
    seen = []
    model = toy_bert()
    result = train(model, toy_data(), config=toy_config(eval_every=3), eval_data=toy_data(16, seed=2),
                   collate_fn=masking_collate, on_evaluate=lambda step, scores, m: seen.append((step, scores, m)))
    evals = [r for r in result.history if r["split"] == "eval"]
    assert [step for step, _, _ in seen] == [r["step"] for r in evals] == [3, 6, 8]
    assert all(scores["loss"] == row["loss"] for (_, scores, _), row in zip(seen, evals, strict=True))
    assert all(m is result.model for _, _, m in seen)
    with pytest.raises(TypeError, match="on_evaluate must be a function"):
        train(toy_bert(), toy_data(), config=toy_config(), on_evaluate="best")


def test_train_leaves_no_accelerate_state_behind(toy_bert, toy_data, masking_collate, toy_config):
    from accelerate.state import AcceleratorState

    train(toy_bert(), toy_data(), config=toy_config(max_steps=3, eval_every=None), collate_fn=masking_collate)
    assert AcceleratorState._shared_state == {}


def test_notebook_launcher_two_processes_match_one(tmp_path, toy_bert, toy_data, toy_config):
    """After train() ran in this process, notebook_launcher still starts (no Accelerator is left behind),
    and 2 processes x 4 examples follow the same path as 1 process x 8."""
    from accelerate import notebook_launcher

    collate = lambda items: {**(b := torch.utils.data.default_collate(items)), "labels": b["input_ids"]}
    single = train(toy_bert(dropout=0.0), toy_data(), config=toy_config(eval_every=None, grad_accum_steps=1),
                   collate_fn=collate)

    def two_process_run(output_dir):  # each forked process runs this with half the batch
        train(toy_bert(dropout=0.0), toy_data(), config=toy_config(batch_size=4, grad_accum_steps=2, eval_every=None),
              collate_fn=collate, output_dir=output_dir, eval_data=toy_data(10))

    notebook_launcher(two_process_run, args=(str(tmp_path),), num_processes=2)
    folder = ckpt.latest_checkpoint(tmp_path / "checkpoints")
    assert sorted(p.name for p in (folder / "rng").iterdir()) == ["rank-0.pt", "rank-1.pt"]
    both = toy_bert(seed=9)
    state = ckpt.load_checkpoint(folder, model=both, restore_rng=False)
    assert state["num_processes"] == 2 and state["examples_seen"] == 8 * single.steps
    for p, q in zip(single.model.parameters(), both.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_trackers_receive_train_and_eval_metrics(toy_bert, toy_data, masking_collate, toy_config):
    from accelerate.tracking import GeneralTracker

    class Memory(GeneralTracker):
        name, requires_logging_directory, main_process_only = "memory", False, True

        def __init__(self):
            super().__init__()
            self.rows, self.config = [], None

        @property
        def tracker(self):
            return self.rows

        def store_init_configuration(self, values):
            self.config = values

        def log(self, values, step=None, **kwargs):
            self.rows.append((step, dict(values)))

    memory = Memory()
    train(toy_bert(), toy_data(), config=toy_config(max_steps=3, eval_every=None, trackers=(memory,)),
          collate_fn=masking_collate, eval_data=toy_data(8))
    assert memory.config["max_steps"] == "3"
    assert [step for step, _ in memory.rows] == [1, 2, 3, 3] and "eval/loss" in memory.rows[-1][1]


def test_tensorboard_tracker(tmp_path, toy_bert, toy_data, masking_collate, toy_config):
    pytest.importorskip("tensorboard")
    train(toy_bert(), toy_data(), config=toy_config(max_steps=3, trackers=("tensorboard",)), collate_fn=masking_collate,
          eval_data=toy_data(8), output_dir=tmp_path)
    assert any(p.name.startswith("events.out.tfevents") for p in tmp_path.rglob("*"))


# --------------------------------------------------------------------------- bad arguments


def test_bad_train_arguments(tmp_path, toy_bert, toy_data, masking_collate, toy_config):
    model, data, cfg = toy_bert(), toy_data(), toy_config()
    with pytest.raises(TypeError, match="TrainConfig"):
        train(model, data, config={"max_steps": 3})
    with pytest.raises(TypeError, match="support len"):
        train(model, iter(data), config=cfg)
    with pytest.raises(ValueError, match="fewer than one step"):
        train(model, data[:5], config=cfg, collate_fn=masking_collate)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        train(model, data, config=cfg, resume=tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        train(model, data, config=cfg, output_dir=tmp_path, resume="latest")
    with pytest.raises(ValueError, match="needs output_dir"):
        train(model, data, config=cfg, resume="latest")
    with pytest.raises(TypeError, match="without a 'loss'"):
        train(model, data, config=cfg)  # no labels in the batch
    with pytest.raises(ValueError, match="scalar tensor"):
        train(model, data, config=cfg, collate_fn=masking_collate,
              loss_fn=lambda m, b: m(**b).logits)


def test_resume_with_a_different_config_is_refused(tmp_path, toy_bert, toy_data, masking_collate, toy_config):
    data = toy_data()
    train(toy_bert(), data, config=toy_config(max_steps=3), collate_fn=masking_collate, output_dir=tmp_path)
    with pytest.raises(ValueError, match="lr: 0.01 -> 0.02"):
        train(toy_bert(), data, config=toy_config(max_steps=3, lr=2e-2), collate_fn=masking_collate,
              output_dir=tmp_path, resume="latest")
    with pytest.raises(ValueError, match="same training data"):
        train(toy_bert(), data[:40], config=toy_config(max_steps=3), collate_fn=masking_collate,
              output_dir=tmp_path, resume="latest")


def test_a_run_in_slices_equals_one_run(tmp_path, toy_bert, toy_data, masking_collate, toy_config):
    """stop_after ends a call early (checkpointed) without changing the schedule; resuming finishes the same run."""
    data, held_out = toy_data(), toy_data(16, seed=2)
    kw = dict(eval_data=held_out, collate_fn=masking_collate)
    straight = train(toy_bert(), data, config=toy_config(), output_dir=tmp_path / "a", **kw)
    first = train(toy_bert(), data, config=toy_config(stop_after=5), output_dir=tmp_path / "b", **kw)
    assert first.steps == 5 and first.checkpoint.name == "step-00000005" and first.history[-1]["split"] == "eval"
    rest = train(toy_bert(), data, config=toy_config(), output_dir=tmp_path / "b", resume="latest", **kw)
    assert params_equal(straight.model, rest.model) and rest.steps == 8
    train_rows = lambda history: [r for r in history if r["split"] == "train"]
    untimed = lambda rows: [{k: v for k, v in r.items() if k != "tokens_per_s"} for r in rows]
    assert untimed(train_rows(straight.history)) == untimed(train_rows(rest.history))
    with pytest.raises(ValueError, match="stop_after=9 is beyond max_steps=8"):
        toy_config(stop_after=9)


# --------------------------------------------------------------------------- learning rates per parameter


def test_lr_scales_of_one_change_nothing_and_small_scales_move_less(toy_bert, toy_data, masking_collate, toy_config):
    data, cfg = toy_data(), toy_config(max_steps=4, checkpoint_every=None, eval_every=None)
    plain = train(toy_bert(dropout=0.0), data, config=cfg, collate_fn=masking_collate)
    model = toy_bert(dropout=0.0)
    ones = {name: 1.0 for name, _ in model.named_parameters()}
    same = train(model, data, config=cfg, collate_fn=masking_collate, lr_scales=ones)
    assert params_equal(plain.model, same.model)  # regrouping alone changes no number
    start = toy_bert(dropout=0.0)
    slow_name = "bert.embeddings.word_embeddings.weight"
    slow = train(toy_bert(dropout=0.0), data, config=cfg, collate_fn=masking_collate,
                 lr_scales={slow_name: 1e-3})
    moved = {name: (p - dict(start.named_parameters())[name]).abs().max().item()
             for name, p in slow.model.named_parameters()}
    plain_moved = (dict(plain.model.named_parameters())[slow_name] - dict(start.named_parameters())[slow_name])
    assert moved[slow_name] < 0.01 * plain_moved.abs().max().item()
    assert [row["lr"] for row in slow.history if row["split"] == "train"] == [
        row["lr"] for row in plain.history if row["split"] == "train"]  # the logged rate is the base rate


def test_bad_lr_scales_say_how_to_fix_them(toy_bert, toy_data, masking_collate, toy_config):
    kw = dict(config=toy_config(), collate_fn=masking_collate)
    with pytest.raises(ValueError, match="does not train"):
        train(toy_bert(), toy_data(), lr_scales={"bert.nonexistent.weight": 0.5}, **kw)
    with pytest.raises(ValueError, match="positive number.*requires_grad=False"):
        train(toy_bert(), toy_data(), lr_scales={"bert.embeddings.word_embeddings.weight": 0.0}, **kw)
    with pytest.raises(TypeError, match="lr_scales must be a dict"):
        train(toy_bert(), toy_data(), lr_scales=[0.5], **kw)


def test_on_evaluate_returning_true_stops_the_run_and_a_resume_trains_no_further(tmp_path, toy_bert, toy_data,
                                                                                 masking_collate, toy_config):
    kw = dict(eval_data=toy_data(16, seed=2), collate_fn=masking_collate, output_dir=tmp_path)
    stop_at_6 = lambda step, scores, m: step == 6  # noqa: E731
    result = train(toy_bert(), toy_data(), config=toy_config(eval_every=3, checkpoint_every=None),
                   on_evaluate=stop_at_6, **kw)
    assert result.stopped_early and result.steps == 6 and result.checkpoint.name == "step-00000006"
    again = train(toy_bert(), toy_data(), config=toy_config(eval_every=3, checkpoint_every=None),
                  on_evaluate=stop_at_6, resume="latest", **kw)
    assert again.stopped_early and again.steps == 6 and params_equal(again.model, result.model)
    ran_on = train(toy_bert(), toy_data(), config=toy_config(eval_every=3), eval_data=toy_data(16, seed=2),
                   collate_fn=masking_collate, on_evaluate=lambda *a: None)
    assert not ran_on.stopped_early and ran_on.steps == 8  # None (or anything but True) never stops
