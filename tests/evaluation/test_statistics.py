"""sslm_utils.evaluation.statistics: binomial and paired standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sslm_utils.evaluation.statistics import binomial_standard_error, mean_and_standard_error, paired_difference


@pytest.mark.parametrize(("accuracy", "n"), [(0.5, 100), (0.9, 200), (0.0, 10), (1.0, 10), (0.73, 1)])
def test_binomial_standard_error(accuracy, n):
    assert binomial_standard_error(accuracy, n) == pytest.approx(math.sqrt(accuracy * (1 - accuracy) / n))
    assert binomial_standard_error(0.5, 400) == pytest.approx(0.025)


@pytest.mark.parametrize(
    ("accuracy", "n", "name"),
    [(1.2, 10, "accuracy"), (-0.1, 10, "accuracy"), (math.nan, 10, "accuracy"), ("0.5", 10, "accuracy"),
     (0.5, 0, "n"), (0.5, -3, "n"), (0.5, 2.5, "n"), (0.5, True, "n")],
)
def test_binomial_standard_error_refuses_bad_input(accuracy, n, name):
    with pytest.raises((TypeError, ValueError), match=name):
        binomial_standard_error(accuracy, n)


def test_paired_difference_is_the_mean_and_standard_error_of_the_differences():
    a = [0.5, 1.0, 2.0, 4.0]
    b = [0.0, 1.5, 1.0, 3.0]
    d = np.array(a) - np.array(b)
    mean, se = paired_difference(a, b)
    assert mean == pytest.approx(d.mean())
    assert se == pytest.approx(d.std(ddof=1) / math.sqrt(len(d)))
    assert paired_difference(torch.tensor(a), torch.tensor(b)) == pytest.approx((mean, se))
    back = paired_difference(b, a)
    assert back[0] == pytest.approx(-mean) and back[1] == pytest.approx(se)


def test_pairing_removes_the_shared_difficulty():
    """Two models that differ by a constant on items of very different difficulty: the paired error is 0."""
    difficulty = torch.linspace(0.0, 10.0, 50, dtype=torch.float64)
    mean, se = paired_difference(difficulty + 0.2, difficulty)
    assert mean == pytest.approx(0.2) and se == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [([1.0, 2.0], [1.0], "equal length"), ([[1.0, 2.0]], [[1.0, 2.0]], "1-D"), ([1.0], [2.0], "at least two")],
)
def test_paired_difference_refuses_unpaired_input(a, b, message):
    with pytest.raises(ValueError, match=message):
        paired_difference(a, b)


def test_clustered_standard_error_counts_groups_not_items():
    gen = torch.Generator().manual_seed(0)
    values = torch.rand(40, generator=gen)
    # every item its own group: the clustered error is the ordinary one
    assert mean_and_standard_error(values, groups=range(40)) == pytest.approx(mean_and_standard_error(values))
    # each value said four times by the same speaker: four times the items, the same evidence
    repeated, speakers = values.repeat_interleave(4), [i for i in range(40) for _ in range(4)]
    mean, clustered = mean_and_standard_error(repeated, groups=speakers)
    assert mean == pytest.approx(float(values.mean()))
    assert clustered == pytest.approx(mean_and_standard_error(values)[1])
    assert mean_and_standard_error(repeated)[1] < 0.55 * clustered  # ignoring the groups: falsely sure
    # paired differences cluster the same way
    d_mean, d_se = paired_difference(repeated, torch.zeros(160), groups=speakers)
    assert (d_mean, d_se) == pytest.approx((mean, clustered))


@pytest.mark.parametrize("groups, message", [([0, 1], "2 group labels for 4 items"),
                                             ([7, 7, 7, 7], "one group")])
def test_clustered_standard_error_refuses_bad_groups(groups, message):
    with pytest.raises(ValueError, match=message):
        mean_and_standard_error([0.0, 1.0, 1.0, 0.0], groups=groups)
