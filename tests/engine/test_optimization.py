"""sslm_utils.engine.optimization: warm-up, then linear, cosine or constant learning rates."""

from __future__ import annotations

import pytest

from sslm_utils.engine.optimization import lr_factor


def test_lr_schedules():
    kw = dict(warmup_steps=4, max_steps=14)
    assert lr_factor(0, **kw) == pytest.approx(1 / 5) and lr_factor(3, **kw) == pytest.approx(4 / 5)
    assert lr_factor(4, **kw) == 1.0 and lr_factor(14, **kw) == 0.0
    assert lr_factor(9, **kw) == pytest.approx(0.5)
    assert lr_factor(9, **kw, schedule="cosine") == pytest.approx(0.5)
    assert lr_factor(6, **kw, schedule="cosine") > lr_factor(6, **kw)
    assert lr_factor(13, **kw, schedule="constant") == 1.0


def test_decay_left_equals_what_adamw_does_to_a_weight_with_no_gradient():
    """With a zero gradient Adam's step is zero, so only the decoupled decay moves the weight."""
    import torch

    from sslm_utils.engine import TrainConfig
    from sslm_utils.engine.optimization import decay_left, make_optimizer, make_scheduler

    config = TrainConfig(max_steps=30, lr=0.05, warmup_steps=5, weight_decay=0.2)
    layer = torch.nn.Linear(3, 3, bias=False)
    start = layer.weight.detach().clone()
    optimizer = make_optimizer(layer, config)
    scheduler = make_scheduler(optimizer, config)
    for _ in range(config.max_steps):
        layer.weight.grad = torch.zeros_like(layer.weight)
        optimizer.step()
        scheduler.step()
    ratio = (layer.weight.detach() / start).flatten()
    assert torch.allclose(ratio, torch.full_like(ratio, decay_left(config)), atol=1e-6)
    assert decay_left(config) < 0.9  # strong enough here to see
    assert decay_left(TrainConfig(max_steps=30, lr=0.05, weight_decay=0.0)) == 1.0
    from sslm_utils.finetuning import FineTuneConfig

    with pytest.raises(TypeError, match="train_config"):
        decay_left(FineTuneConfig())
