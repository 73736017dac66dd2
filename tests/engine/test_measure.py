"""sslm_utils.engine.measure: wall-clock time, bytes allocated, growth exponents."""

import math

import pytest
import torch

from sslm_utils.engine.measure import allocated_bytes, loglog_slope, seconds


def test_measure_helpers():
    x = torch.randn(64, 64)
    assert seconds(torch.matmul, x, x, repeats=2) > 0
    # one (256, 256) float32 result is 256 KiB; the profiler must see at least that
    assert allocated_bytes(torch.matmul, torch.randn(256, 64), torch.randn(64, 256)) >= 256 * 256 * 4
    assert math.isclose(loglog_slope([1, 2, 4, 8], [3, 12, 48, 192]), 2.0)
    with pytest.raises(ValueError, match="positive"):
        loglog_slope([0, 1], [1, 2])
    with pytest.raises(ValueError, match="repeats"):
        seconds(torch.matmul, x, x, repeats=0)

