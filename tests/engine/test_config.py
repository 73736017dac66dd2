"""sslm_utils.engine.config: a TrainConfig that refuses what cannot work, with the fix in the message."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.engine.config import resolve_mixed_precision


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
def test_bad_config_says_how_to_fix(changes, message, toy_config):
    with pytest.raises(ValueError, match=message):
        toy_config(**changes)


def test_fp16_on_cpu_is_refused():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert resolve_mixed_precision("auto") == "no"
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        resolve_mixed_precision("fp16")


def test_bf16_on_a_cpu_without_native_support_warns(monkeypatch):
    """bf16 is real on the CPU (the engine autocasts), but without AMX or AVX-512 BF16 it is emulated: say so."""
    from sslm_utils.engine import config as config_module

    monkeypatch.setattr(config_module.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(config_module, "cpu_supports_bf16", lambda: False)
    with pytest.warns(UserWarning, match="emulated, slower than fp32"):
        assert config_module.resolve_mixed_precision("bf16", cpu=True) == "bf16"
    assert config_module.resolve_mixed_precision("auto", cpu=True) == "no"
    monkeypatch.setattr(config_module, "cpu_supports_bf16", lambda: True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert config_module.resolve_mixed_precision("bf16", cpu=True) == "bf16"


def test_bf16_on_the_cpu_changes_the_arithmetic(toy_bert, toy_data, masking_collate, toy_config):
    """The flag is not a silent no-op: under bf16 autocast the losses differ from fp32, a little."""
    import warnings

    from sslm_utils.engine import train

    losses = {}
    for mp in ("no", "bf16"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = train(toy_bert(dropout=0.0), toy_data(), config=toy_config(mixed_precision=mp, cpu=True),
                           collate_fn=masking_collate)
        losses[mp] = [r["loss"] for r in result.history if r["split"] == "train"]
    assert losses["no"] != losses["bf16"]
    assert losses["no"] == pytest.approx(losses["bf16"], rel=0.02)


def test_summary_is_short_and_names_what_shapes_the_run():
    from sslm_utils.engine.config import TrainConfig

    config = TrainConfig(max_steps=450, batch_size=32, lr=2e-3, eps=1e-6, warmup_steps=45, eval_every=50,
                         checkpoint_every=50)
    assert config.summary().splitlines() == [
        "450 steps of 32 examples",
        "AdamW: lr 0.002, betas (0.9, 0.999), eps 1e-06, weight decay 0.01",
        "schedule: 45 warm-up steps, then linear decay; gradients clipped at norm 1",
        "evaluation every 50 steps, a checkpoint every 50; mixed precision: auto",
    ]
    assert len(repr(config)) > 300  # what the notebooks used to print


def test_summary_of_a_config_without_warmup_clipping_or_periodic_evaluation():
    from sslm_utils.engine.config import TrainConfig

    text = TrainConfig(max_steps=10, batch_size=8, grad_accum_steps=2, stop_after=5, schedule="constant",
                       max_grad_norm=None, cpu=True).summary()
    assert "(2 micro-batches of 4), stopping after step 5" in text
    assert "schedule: constant; no gradient clipping" in text
    assert "evaluation at the end, one checkpoint, at the end" in text and "CPU only" in text
    assert max(len(line) for line in text.splitlines()) <= 88
