"""Reproducibility: one call seeds every random number generator the book uses."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from . import checks


def set_seed(seed: int = 0, *, deterministic: bool = True) -> int:
    """Seed Python, NumPy and PyTorch (CPU and every GPU).

    With ``deterministic=True`` PyTorch is also asked for deterministic
    kernels where they exist (``warn_only`` so that an operation without one
    warns instead of failing a reader's notebook). Returns the seed so a cell
    can print it.
    """
    seed = checks.seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        # cuBLAS needs this workspace setting to be deterministic.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    return seed
