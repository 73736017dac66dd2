"""Each checker of lesson 4.3 accepts the solution and rejects typical wrong answers, saying why."""

from __future__ import annotations

import math

import numpy as np
import torch

from sslm_utils.exercises.finetuning.does_pretraining_help import (
    check_labels_needed,
    check_loss_at_mask,
    check_paired_gain,
)

from .. import rejects


def _paired(a, b):
    d = a - b
    return d.mean(), d.std(ddof=1) / math.sqrt(len(d))


def test_paired_gain():
    check_paired_gain(_paired).assert_passed()
    rejects(check_paired_gain(lambda a, b: (a.mean() - b.mean(), math.sqrt(a.var(ddof=1) / 4 + b.var(ddof=1) / 4))),
            "unpaired")
    rejects(check_paired_gain(lambda a, b: ((a - b).mean(), (a - b).std() / 2)), "ddof=1")
    rejects(check_paired_gain(lambda a, b: ((a - b).mean(), (a - b).std(ddof=1))), "sqrt")
    rejects(check_paired_gain(lambda a, b: _paired(b, a)), "sign is reversed")
    rejects(check_paired_gain(lambda a, b: 0.1), "pair")


def _needed(sizes, accuracy, target):
    if target <= accuracy[0]:
        return float(sizes[0])
    for i in range(1, len(sizes)):
        if accuracy[i] >= target:
            lo, hi = np.log(sizes[i - 1]), np.log(sizes[i])
            t = (target - accuracy[i - 1]) / (accuracy[i] - accuracy[i - 1])
            return float(np.exp(lo + t * (hi - lo)))
    return math.inf


def _linear(sizes, accuracy, target):
    if target <= accuracy[0] or target > accuracy[-1]:
        return _needed(sizes, accuracy, target)
    return float(np.interp(target, accuracy, sizes))


def test_labels_needed():
    check_labels_needed(_needed).assert_passed()
    rejects(check_labels_needed(_linear), "log(size)")
    rejects(check_labels_needed(lambda s, a, t: float(np.exp(np.interp(t, a, np.log(s))))), "never reaches")
    rejects(check_labels_needed(lambda s, a, t: 0.0 if t < a[0] else _needed(s, a, t)), "starts above")
    rejects(check_labels_needed(lambda s, a, t: "many"), "number of labels")


def test_loss_at_mask():
    def at_mask(logits, targets, shown, mask_id):
        nll = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
        return nll[shown == mask_id].mean()

    check_loss_at_mask(at_mask).assert_passed()
    rejects(check_loss_at_mask(lambda lg, t, s, m: torch.nn.functional.cross_entropy(lg, t)), "copy")
    rejects(check_loss_at_mask(lambda lg, t, s, m: at_mask(lg, t, (s != m).long() * m, m)), "did *not*")
    rejects(check_loss_at_mask(
        lambda lg, t, s, m: torch.nn.functional.cross_entropy(lg, t, reduction="none")[s == m].sum()), "sum")
    rejects(check_loss_at_mask(lambda lg, t, s, m: torch.zeros(())), "expected")
    rejects(check_loss_at_mask(lambda lg, t, s, m: torch.zeros(3)), "the loss")
