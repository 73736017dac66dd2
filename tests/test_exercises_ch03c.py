"""Each checker of lessons 3.3 and 3.4 accepts the solution and rejects typical wrong answers, saying why."""

from __future__ import annotations

import math

import pytest
import torch

from sslm_utils.exercises.ch03c import (
    check_mean_pool,
    check_paired_difference,
    check_rtd_labels,
    check_sop_example,
    check_span_corrupt,
)
from sslm_utils.objectives import span_corrupt


def unattempted(*args):
    ...


def not_implemented(*args):
    raise NotImplementedError


@pytest.mark.parametrize("check", [check_sop_example, check_mean_pool, check_paired_difference, check_span_corrupt,
                                   check_rtd_labels])
@pytest.mark.parametrize("fn", [unattempted, not_implemented])
def test_unattempted_exercises_are_reported_not_raised(check, fn):
    feedback = check(fn)
    assert not feedback.passed
    assert feedback.messages


def _fails_with(feedback, text: str):
    assert not feedback.passed, "a wrong answer passed"
    assert any(text in m for m in feedback.messages), feedback.messages


# --------------------------------------------------------------------------- SOP


def test_sop_example():
    check_sop_example(lambda a, b, swap: (b, a, 1) if swap else (a, b, 0)).assert_passed()
    _fails_with(check_sop_example(lambda a, b, swap: (b, a, 0) if swap else (a, b, 1)), "label")
    _fails_with(check_sop_example(lambda a, b, swap: (b, a, 1) if not swap else (a, b, 0)), "keep their order")
    _fails_with(check_sop_example(lambda a, b, swap: (a, [1, 2], 1) if swap else (a, b, 0)), "never brings in")


# --------------------------------------------------------------------------- mean pooling


def test_mean_pool():
    def solution(hidden, mask):
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1)

    check_mean_pool(solution).assert_passed()
    _fails_with(check_mean_pool(lambda h, m: h.mean(1)), "padding included")
    _fails_with(check_mean_pool(lambda h, m: (h * m.unsqueeze(-1)).mean(1)), "divided by the full length")
    _fails_with(check_mean_pool(lambda h, m: h[:, 0]), "[CLS]")
    _fails_with(check_mean_pool(lambda h, m: h.sum(1)), "pooled vectors")


# --------------------------------------------------------------------------- paired difference


def test_paired_difference():
    def solution(a, b):
        d = (a - b).double()
        return float(d.mean()), float(d.std() / math.sqrt(len(d)))

    check_paired_difference(solution).assert_passed()
    _fails_with(check_paired_difference(
        lambda a, b: (float((a - b).mean()), math.sqrt(float(a.double().var() + b.double().var()) / len(a)))),
        "unpaired")
    _fails_with(check_paired_difference(lambda a, b: (float((a - b).mean()), float((a - b).std()))), "sqrt(n)")
    _fails_with(check_paired_difference(lambda a, b: solution(b, a)), "b - a")


# --------------------------------------------------------------------------- span corruption


def test_span_corrupt():
    check_span_corrupt(lambda ids, mask, s: span_corrupt(ids, mask, sentinel_ids=s)).assert_passed()

    def per_token(ids, mask, sentinels):
        inputs, targets, k = [], [], 0
        for t, m in zip(ids, mask, strict=True):
            if m:
                inputs.append(sentinels[k])
                targets += [sentinels[k], t]
                k += 1
            else:
                inputs.append(t)
        return inputs, targets + [sentinels[k]]

    def no_final_sentinel(ids, mask, sentinels):
        inputs, targets = span_corrupt(ids, mask, sentinel_ids=sentinels)
        return inputs, targets[:-1]

    _fails_with(check_span_corrupt(per_token), "one sentinel per *span*")
    _fails_with(check_span_corrupt(no_final_sentinel), "one more sentinel")
    _fails_with(check_span_corrupt(lambda ids, mask, s: ([t for t, m in zip(ids, mask) if not m], [])),
                "leave one sentinel")


# --------------------------------------------------------------------------- ELECTRA labels


def test_rtd_labels():
    def solution(ids, masked, sampled):
        corrupted = torch.where(masked, sampled, ids)
        return corrupted, (corrupted != ids).long()

    check_rtd_labels(solution).assert_passed()
    _fails_with(check_rtd_labels(lambda i, m, s: (torch.where(m, s, i), m.long())), "sampled the original")
    _fails_with(check_rtd_labels(lambda i, m, s: (s, (s != i).long())), "original token elsewhere")
