"""Each checker of lesson 4.1 accepts the solution and rejects typical wrong answers, saying why."""

from __future__ import annotations

import math
from collections import Counter

from sslm_utils.exercises.finetuning.six_steps import check_cls_logits, check_majority_accuracy, check_schedule

from .. import rejects


def test_cls_logits():
    check_cls_logits(lambda hidden, head: head(hidden[:, 0])).assert_passed()
    rejects(check_cls_logits(lambda hidden, head: head(hidden)), "every position")
    rejects(check_cls_logits(lambda hidden, head: head(hidden.mean(1))), "mean pooling")
    rejects(check_cls_logits(lambda hidden, head: head(hidden[:, -1])), "last position")
    rejects(check_cls_logits(lambda hidden, head: hidden[:, 0] @ head.weight.T), "bias")
    rejects(check_cls_logits(lambda hidden, head: head(hidden[:, 1])), "class scores")


def _majority(train, test):
    top = Counter(train).most_common(1)[0][0]
    return sum(y == top for y in test) / len(test)


def test_majority_accuracy():
    check_majority_accuracy(_majority).assert_passed()
    rejects(check_majority_accuracy(lambda train, test: _majority(test, test)), "test labels")
    rejects(check_majority_accuracy(lambda train, test: _majority(train, train)), "share of the training")
    rejects(check_majority_accuracy(lambda train, test: 100 * _majority(train, test)), "percentage")
    rejects(check_majority_accuracy(lambda train, test: 0.5), "expected 0.25")


def test_schedule():
    def solution(n_train, batch_size, epochs, warmup_fraction):
        steps = max(1, round(epochs * (n_train // batch_size)))
        return steps, round(warmup_fraction * steps)

    check_schedule(solution).assert_passed()
    rejects(check_schedule(lambda n, b, e, f: (round(e * math.ceil(n / b)), round(f * e * math.ceil(n / b)))),
            "partial batch")
    rejects(check_schedule(lambda n, b, e, f: (solution(n, b, e, f)[0], round(f * (n // b)))), "not of one epoch")
    rejects(check_schedule(lambda n, b, e, f: (solution(n, b, e, f)[0], 0)), "warm-up should be")
    rejects(check_schedule(lambda n, b, e, f: (n, 0)), "expected")
