"""The training engine: exact resume, accumulation, schedules, evaluation, bad arguments."""

from __future__ import annotations

import math

import pytest
import torch

from sslm_utils import checkpoint as ckpt
from sslm_utils.training import (
    TrainConfig,
    default_loss,
    epoch_plan,
    evaluate,
    lr_factor,
    resolve_mixed_precision,
    steps_per_epoch,
    train,
)

VOCAB, LENGTH = 40, 8


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_bert(dropout: float = 0.1, seed: int = 0):
    """A 1-layer BERT with an MLM head: small enough to train in milliseconds, real enough
    to exercise tied weights, dropout and ``save_pretrained``."""
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=VOCAB, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=LENGTH, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
    )
    return BertForMaskedLM(config)


def toy_data(n: int = 48, seed: int = 1) -> list[dict]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, VOCAB, (n, LENGTH), generator=gen)
    return [{"input_ids": row, "attention_mask": torch.ones(LENGTH, dtype=torch.long)} for row in ids]


def masking_collate(items: list[dict]) -> dict:
    """Dynamic masking with the global generator: resume must restore it to be exact."""
    batch = torch.utils.data.default_collate(items)
    chosen = torch.rand(batch["input_ids"].shape) < 0.3
    batch["labels"] = torch.where(chosen, batch["input_ids"], -100)
    batch["input_ids"] = torch.where(chosen, 4, batch["input_ids"])
    return batch


def config(**changes) -> TrainConfig:
    base = dict(max_steps=8, batch_size=8, grad_accum_steps=2, lr=1e-2, warmup_steps=2, eval_every=4,
                checkpoint_every=3, progress=False)
    base.update(changes)
    return TrainConfig(**base)


class Crash(RuntimeError):
    pass


class CrashingData(list):
    """A dataset that raises after ``limit`` item reads: a power cut in the middle of a step."""

    def __init__(self, items, limit):
        super().__init__(items)
        self.limit, self.reads = limit, 0

    def __getitem__(self, i):
        self.reads += 1
        if self.reads > self.limit:
            raise Crash("simulated crash")
        return super().__getitem__(i)


def params_equal(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# --------------------------------------------------------------------------- exact resume


def test_interrupted_and_resumed_run_is_bit_identical(tmp_path):
    data, held_out = toy_data(), toy_data(16, seed=2)
    cfg = config()
    kw = dict(config=cfg, eval_data=held_out, collate_fn=masking_collate)

    straight = train(tiny_bert(), data, output_dir=tmp_path / "a", **kw)

    # crash in the middle of step 5: the checkpoint of step 3 is the latest one
    crashing = CrashingData(data, limit=4 * cfg.batch_size + cfg.micro_batch_size)
    with pytest.raises(Crash):
        train(tiny_bert(), crashing, output_dir=tmp_path / "b", **kw)
    assert ckpt.latest_checkpoint(tmp_path / "b" / "checkpoints").name == "step-00000003"
    # resume into a model initialised differently: the checkpoint must overwrite everything
    resumed = train(tiny_bert(seed=123), data, output_dir=tmp_path / "b", resume="latest", **kw)

    assert resumed.resumed_from.name == "step-00000003"
    assert resumed.steps == straight.steps == cfg.max_steps
    assert straight.model.training is True and any(isinstance(m, torch.nn.Dropout) for m in straight.model.modules())
    for (name, p), (_, q) in zip(straight.model.named_parameters(), resumed.model.named_parameters(), strict=True):
        assert torch.equal(p, q), f"parameter {name} differs after resume"
    untimed = lambda history: [{k: v for k, v in r.items() if k != "tokens_per_s"} for r in history]
    assert untimed(straight.history) == untimed(resumed.history)  # losses, lrs, norms, evals: all equal


def test_resume_without_restoring_rng_is_not_identical(tmp_path, monkeypatch):
    """The control experiment: the test above is sensitive to the RNG state (dropout is on)."""
    data = toy_data()
    cfg = config(eval_every=None)
    straight = train(tiny_bert(), data, config=cfg, collate_fn=masking_collate)
    with pytest.raises(Crash):
        train(tiny_bert(), CrashingData(data, 4 * cfg.batch_size), config=cfg, collate_fn=masking_collate,
              output_dir=tmp_path)
    monkeypatch.setattr(ckpt, "restore_rng_state", lambda state: None)
    resumed = train(tiny_bert(), data, config=cfg, collate_fn=masking_collate, output_dir=tmp_path, resume="latest")
    assert not params_equal(straight.model, resumed.model)


def test_checkpoint_is_a_transformers_folder(tmp_path):
    from transformers import BertForMaskedLM

    result = train(tiny_bert(), toy_data(), config=config(), collate_fn=masking_collate, output_dir=tmp_path)
    folder = result.checkpoint / ckpt.MODEL_DIR
    assert (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    reloaded = BertForMaskedLM.from_pretrained(folder)
    assert params_equal(result.model, reloaded)
    # keep_checkpoints=2: steps 6 and 8 remain
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "checkpoints")] == ["step-00000006", "step-00000008"]


def test_resume_auto_starts_fresh_then_resumes(tmp_path):
    cfg = config(max_steps=3, checkpoint_every=None, eval_every=None)
    first = train(tiny_bert(), toy_data(), config=cfg, collate_fn=masking_collate, output_dir=tmp_path, resume="auto")
    assert first.resumed_from is None
    again = train(tiny_bert(), toy_data(), config=cfg, collate_fn=masking_collate, output_dir=tmp_path, resume="auto")
    assert again.resumed_from.name == "step-00000003" and params_equal(first.model, again.model)


# --------------------------------------------------------------------------- accumulation, schedule, data order


def test_accumulation_matches_one_big_batch():
    """Without dropout, 2 x 4 examples give the same update as 1 x 8, up to rounding."""
    data = toy_data()
    collate = lambda items: {**(b := torch.utils.data.default_collate(items)), "labels": b["input_ids"]}
    one = train(tiny_bert(dropout=0.0), data, config=config(grad_accum_steps=1, eval_every=None), collate_fn=collate)
    two = train(tiny_bert(dropout=0.0), data, config=config(grad_accum_steps=4, eval_every=None), collate_fn=collate)
    for p, q in zip(one.model.parameters(), two.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_loss_goes_down_and_history_has_both_splits():
    data = toy_data(64)
    result = train(tiny_bert(dropout=0.0), data, eval_data=data[:16], collate_fn=masking_collate,
                   config=config(max_steps=30, lr=3e-2, eval_every=10, checkpoint_every=None))
    train_frame, eval_frame = result.frame("train"), result.frame("eval")
    assert list(eval_frame["step"]) == [10, 20, 30]
    assert len(train_frame) == 30 and {"lr", "loss", "grad_norm", "tokens_per_s"} <= set(train_frame.columns)
    assert eval_frame["loss"].iloc[-1] < eval_frame["loss"].iloc[0]
    assert result.tokens_seen == 30 * 8 * LENGTH and result.tokens_per_second > 0


def test_lr_schedules():
    kw = dict(warmup_steps=4, max_steps=14)
    assert lr_factor(0, **kw) == pytest.approx(1 / 5) and lr_factor(3, **kw) == pytest.approx(4 / 5)
    assert lr_factor(4, **kw) == 1.0 and lr_factor(14, **kw) == 0.0
    assert lr_factor(9, **kw) == pytest.approx(0.5)
    assert lr_factor(9, **kw, schedule="cosine") == pytest.approx(0.5)
    assert lr_factor(6, **kw, schedule="cosine") > lr_factor(6, **kw)
    assert lr_factor(13, **kw, schedule="constant") == 1.0


def test_scheduler_and_clipping_applied():
    data = toy_data()
    cfg = config(eval_every=None, max_grad_norm=1e-3, schedule="linear", warmup_steps=2, max_steps=6)
    result = train(tiny_bert(), data, config=cfg, collate_fn=masking_collate)
    lrs = result.frame()["lr"].tolist()
    assert lrs == pytest.approx([cfg.lr * lr_factor(s, warmup_steps=2, max_steps=6) for s in range(6)])
    assert all(g > 1e-3 for g in result.frame()["grad_norm"])  # norms are logged before clipping


def test_epoch_plan_is_a_seeded_partition():
    cfg = config(batch_size=6, grad_accum_steps=3, seed=7)
    plan = epoch_plan(20, cfg, epoch=0)
    assert len(plan) == steps_per_epoch(20, 6) == 3 and all(len(m) == 3 and len(m[0]) == 2 for m in plan)
    flat = [i for step in plan for micro in step for i in micro]
    assert len(set(flat)) == 18 and epoch_plan(20, cfg, epoch=0) == plan and epoch_plan(20, cfg, epoch=1) != plan
    # two processes take disjoint halves of each global batch
    r0, r1 = (epoch_plan(20, cfg, 0, num_processes=2, rank=r) for r in (0, 1))
    assert len(r0) == 1 and not set(sum(r0[0], [])) & set(sum(r1[0], []))


def test_evaluate_ratio_metrics_and_rng_untouched():
    model, data = tiny_bert(), toy_data(10)

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


def test_loss_fn_may_return_parts():
    def loss_fn(model, batch):
        loss = default_loss(model, batch)
        return loss, {"half": loss / 2}

    result = train(tiny_bert(), toy_data(), config=config(max_steps=3, eval_every=None), collate_fn=masking_collate,
                   loss_fn=loss_fn)
    row = result.frame().iloc[-1]
    assert row["half"] == pytest.approx(row["loss"] / 2, rel=1e-5)


def test_train_leaves_no_accelerate_state_behind():
    from accelerate.state import AcceleratorState

    train(tiny_bert(), toy_data(), config=config(max_steps=3, eval_every=None), collate_fn=masking_collate)
    assert AcceleratorState._shared_state == {}


def _two_process_run(output_dir):
    collate = lambda items: {**(b := torch.utils.data.default_collate(items)), "labels": b["input_ids"]}
    train(tiny_bert(dropout=0.0), toy_data(), config=config(batch_size=4, grad_accum_steps=2, eval_every=None),
          collate_fn=collate, output_dir=output_dir, eval_data=toy_data(10))


def test_notebook_launcher_two_processes_match_one(tmp_path):
    """After train() ran in this process, notebook_launcher still starts (no Accelerator is left behind),
    and 2 processes x 4 examples follow the same path as 1 process x 8."""
    from accelerate import notebook_launcher

    collate = lambda items: {**(b := torch.utils.data.default_collate(items)), "labels": b["input_ids"]}
    single = train(tiny_bert(dropout=0.0), toy_data(), config=config(eval_every=None, grad_accum_steps=1),
                   collate_fn=collate)
    notebook_launcher(_two_process_run, args=(str(tmp_path),), num_processes=2)
    folder = ckpt.latest_checkpoint(tmp_path / "checkpoints")
    assert sorted(p.name for p in (folder / "rng").iterdir()) == ["rank-0.pt", "rank-1.pt"]
    both = tiny_bert(seed=9)
    state = ckpt.load_checkpoint(folder, model=both, restore_rng=False)
    assert state["num_processes"] == 2 and state["examples_seen"] == 8 * single.steps
    for p, q in zip(single.model.parameters(), both.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_trackers_receive_train_and_eval_metrics():
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
    train(tiny_bert(), toy_data(), config=config(max_steps=3, eval_every=None, trackers=(memory,)),
          collate_fn=masking_collate, eval_data=toy_data(8))
    assert memory.config["max_steps"] == "3"
    assert [step for step, _ in memory.rows] == [1, 2, 3, 3] and "eval/loss" in memory.rows[-1][1]


def test_tensorboard_tracker(tmp_path):
    pytest.importorskip("tensorboard")
    train(tiny_bert(), toy_data(), config=config(max_steps=3, trackers=("tensorboard",)), collate_fn=masking_collate,
          eval_data=toy_data(8), output_dir=tmp_path)
    assert any(p.name.startswith("events.out.tfevents") for p in tmp_path.rglob("*"))


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_steps": 0}, "max_steps must be a positive int"),
        ({"max_steps": -5}, "max_steps must be a positive int"),
        ({"batch_size": 0}, "batch_size must be a positive int"),
        ({"grad_accum_steps": 3}, "does not divide batch_size=8"),
        ({"grad_accum_steps": 0}, "grad_accum_steps must be a positive int"),
        ({"eval_every": 0}, "eval_every must be a positive int"),
        ({"eval_every": -1}, "eval_every must be a positive int"),
        ({"checkpoint_every": 0}, "checkpoint_every must be a positive int"),
        ({"warmup_steps": 8}, "must be smaller than max_steps"),
        ({"lr": 0.0}, "lr must be a positive"),
        ({"schedule": "step"}, "schedule must be one of"),
        ({"mixed_precision": "fp8"}, "mixed_precision must be one of"),
        ({"max_grad_norm": 0.0}, "None to turn clipping off"),
        ({"keep_checkpoints": 0}, "keep_checkpoints must be a positive int"),
    ],
)
def test_bad_config_says_how_to_fix(changes, message):
    with pytest.raises(ValueError, match=message):
        config(**changes)


def test_fp16_on_cpu_is_refused():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert resolve_mixed_precision("auto") == "no"
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        resolve_mixed_precision("fp16")


def test_bad_train_arguments(tmp_path):
    model, data, cfg = tiny_bert(), toy_data(), config()
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


def test_resume_with_a_different_config_is_refused(tmp_path):
    data = toy_data()
    train(tiny_bert(), data, config=config(max_steps=3), collate_fn=masking_collate, output_dir=tmp_path)
    with pytest.raises(ValueError, match="lr: 0.01 -> 0.02"):
        train(tiny_bert(), data, config=config(max_steps=3, lr=2e-2), collate_fn=masking_collate,
              output_dir=tmp_path, resume="latest")
    with pytest.raises(ValueError, match="same training data"):
        train(tiny_bert(), data[:40], config=config(max_steps=3), collate_fn=masking_collate,
              output_dir=tmp_path, resume="latest")
