"""How sure a measured difference is: standard errors for accuracies and for paired comparisons.

Two models scored on the *same* held-out items differ less by chance than
two independent samples would, because the hard items are hard for both:
the paired standard error uses the per-item differences and is the honest
yardstick for "model A beats model B". When the items come in groups (the
paragraphs of one speaker, the snippets about one film), items of a group
are not independent draws, and the standard error must count groups, not
items: ``groups`` does that (a cluster-robust standard error).
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


def mean_and_standard_error(values, groups=None) -> tuple[float, float]:
    """Mean of per-item ``values`` and its standard error; with ``groups`` (one label per item), clustered.

    Without groups the items are taken as independent: ``std / sqrt(n)``.
    With groups, the standard error is the cluster-robust one: the squared
    sums of deviations per group, with the small-sample factor G / (G − 1),
    so that a group of many alike items counts about as one. With every
    item in its own group the two agree exactly.
    """
    v = torch.as_tensor(values, dtype=torch.float64)
    if v.dim() != 1:
        raise ValueError(f"values must be 1-D (one score per item), got shape {tuple(v.shape)}.")
    if len(v) < 2:
        raise ValueError("A standard error needs at least two items.")
    if groups is None:
        return float(v.mean()), float(v.std() / len(v) ** 0.5)
    groups = list(groups)
    if len(groups) != len(v):
        raise ValueError(f"{len(groups)} group labels for {len(v)} items: pass one group (e.g. the speaker) "
                         "per item, in the same order.")
    index = {g: i for i, g in enumerate(dict.fromkeys(groups))}
    if len(index) < 2:
        raise ValueError("All items are in one group: a clustered standard error needs at least two groups.")
    ids = torch.tensor([index[g] for g in groups])
    sums = torch.zeros(len(index), dtype=torch.float64).index_add_(0, ids, v - v.mean())  # (groups,)
    n_groups = len(index)
    variance = n_groups / (n_groups - 1) * float((sums**2).sum()) / len(v) ** 2
    return float(v.mean()), math.sqrt(variance)


def paired_difference(a, b, groups=None) -> tuple[float, float]:
    """Mean of ``a − b`` and its standard error, for two models' scores of the same items, in the same order
    (clustered by ``groups`` when given: see :func:`mean_and_standard_error`)."""
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    if a.shape != b.shape or a.dim() != 1:
        raise ValueError(f"a and b must be 1-D and of equal length (one score per item), got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}.")
    if len(a) < 2:
        raise ValueError("A standard error needs at least two paired items.")
    return mean_and_standard_error(a - b, groups)
