"""Each checker of lesson 3.3 accepts the solution and rejects typical wrong answers, saying why."""

from __future__ import annotations

import math

from sslm_utils.exercises.pretraining.objectives_compared import (
    check_mean_pool,
    check_paired_difference,
    check_sop_example,
)

from .. import rejects

# --------------------------------------------------------------------------- SOP


def test_sop_example():
    check_sop_example(lambda a, b, swap: (b, a, 1) if swap else (a, b, 0)).assert_passed()
    rejects(check_sop_example(lambda a, b, swap: (b, a, 0) if swap else (a, b, 1)), "label")
    rejects(check_sop_example(lambda a, b, swap: (b, a, 1) if not swap else (a, b, 0)), "keep their order")
    rejects(check_sop_example(lambda a, b, swap: (a, [1, 2], 1) if swap else (a, b, 0)), "never brings in")


# --------------------------------------------------------------------------- mean pooling


def test_mean_pool():
    def solution(hidden, mask):
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1)

    check_mean_pool(solution).assert_passed()
    rejects(check_mean_pool(lambda h, m: h.mean(1)), "padding included")
    rejects(check_mean_pool(lambda h, m: (h * m.unsqueeze(-1)).mean(1)), "divided by the full length")
    rejects(check_mean_pool(lambda h, m: h[:, 0]), "[CLS]")
    rejects(check_mean_pool(lambda h, m: h.sum(1)), "pooled vectors")


# --------------------------------------------------------------------------- paired difference


def test_paired_difference():
    def solution(a, b):
        d = (a - b).double()
        return float(d.mean()), float(d.std() / math.sqrt(len(d)))

    check_paired_difference(solution).assert_passed()
    rejects(check_paired_difference(
        lambda a, b: (float((a - b).mean()), math.sqrt(float(a.double().var() + b.double().var()) / len(a)))),
        "unpaired")
    rejects(check_paired_difference(lambda a, b: (float((a - b).mean()), float((a - b).std()))), "sqrt(n)")
    rejects(check_paired_difference(lambda a, b: solution(b, a)), "b - a")
