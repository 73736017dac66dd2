"""How sure a measured difference is: standard errors for accuracies and for paired comparisons.

Two models scored on the *same* held-out items differ less by chance than
two independent samples would, because the hard items are hard for both:
the paired standard error uses the per-item differences and is the honest
yardstick for "model A beats model B".
"""

from __future__ import annotations

import math

import torch

from .. import checks


def binomial_standard_error(accuracy: float, n: int) -> float:
    """sqrt(p(1 − p) / n): how much an accuracy would move with another test sample of the same size."""
    checks.fraction("accuracy", accuracy)
    checks.positive_int("n", n)
    return math.sqrt(accuracy * (1 - accuracy) / n)


def paired_difference(a, b) -> tuple[float, float]:
    """Mean of ``a − b`` and its standard error, for two models' scores of the same items, in the same order."""
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    if a.shape != b.shape or a.dim() != 1:
        raise ValueError(f"a and b must be 1-D and of equal length (one score per item), got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}.")
    if len(a) < 2:
        raise ValueError("A standard error needs at least two paired items.")
    d = a - b
    return float(d.mean()), float(d.std() / len(d) ** 0.5)
