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
