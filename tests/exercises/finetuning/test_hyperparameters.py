"""Each checker of lesson 4.4 accepts the solution and rejects typical wrong answers, saying why."""

from __future__ import annotations

import math

from sslm_utils.exercises.finetuning.hyperparameters import (
    _rule,
    check_decay_left,
    check_layer_scales,
    check_patience_stop,
)

from .. import rejects


def _patience(losses, patience, *, tie_improves=False, extra=0):
    """The rule with two typical slips available (the checker's cases fix what is right)."""
    return _rule(losses, patience + extra, tie_improves=tie_improves)


def test_patience_stop():
    check_patience_stop(_patience).assert_passed()
    rejects(check_patience_stop(lambda losses, p: _patience(losses, p, extra=1)), "patience + 1")
    rejects(check_patience_stop(lambda losses, p: (min(range(len(losses)), key=losses.__getitem__),
                                                   _patience(losses, p)[1])), "whole run")
    rejects(check_patience_stop(lambda losses, p: _patience(losses, p, tie_improves=True)), "equal to the best")
    rejects(check_patience_stop(lambda losses, p: 3), "pair")


def test_decay_left():
    check_decay_left(lambda lrs, wd: math.prod(1 - lr * wd for lr in lrs)).assert_passed()
    rejects(check_decay_left(lambda lrs, wd: (1 - wd) ** len(lrs)), "learning rate")
    rejects(check_decay_left(lambda lrs, wd: 1 - math.prod(1 - lr * wd for lr in lrs)), "fraction removed")
    rejects(check_decay_left(lambda lrs, wd: math.exp(-wd * sum(lrs))), "continuous approximation")
    rejects(check_decay_left(lambda lrs, wd: "small"), "one number")


def _scales(n_layers, decay):
    return [decay ** (n_layers + 1 - i) for i in range(n_layers + 1)] + [1.0]


def test_layer_scales():
    check_layer_scales(_scales).assert_passed()
    rejects(check_layer_scales(lambda n, d: _scales(n, d)[::-1]), "reversed")
    rejects(check_layer_scales(lambda n, d: [d**n] + _scales(n, d)[1:]), "embeddings sit below")
    rejects(check_layer_scales(lambda n, d: _scales(n, d)[1:]), "multipliers")
