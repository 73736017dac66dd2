"""sslm_utils.repro: one seed for Python, NumPy and PyTorch."""

import random

import numpy as np
import pytest
import torch

from sslm_utils.repro import set_seed


def draw():
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_same_seed_same_numbers():
    set_seed(123)
    first = draw()
    set_seed(123)
    assert draw() == first
    set_seed(124)
    assert draw() != first


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "7", True])
def test_bad_seeds(bad):
    with pytest.raises((TypeError, ValueError)):
        set_seed(bad)
