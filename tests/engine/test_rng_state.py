"""sslm_utils.engine.rng_state: every generator's state, captured and restored."""

from __future__ import annotations

import random

import numpy as np
import torch

from sslm_utils.engine.rng_state import capture_rng_state, restore_rng_state


def test_rng_state_round_trip():
    state = capture_rng_state()
    first = (random.random(), np.random.rand(), torch.rand(3))
    restore_rng_state(state)
    second = (random.random(), np.random.rand(), torch.rand(3))
    assert first[:2] == second[:2] and torch.equal(first[2], second[2])
