"""Checkers for lesson 4.1, fine-tuning in six steps (chapters/04_finetuning/01_six_steps.ipynb)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ...finetuning.training import FineTuneConfig
from ..feedback import Feedback, answer, check_close, check_shape, run_checker

# --------------------------------------------------------------------------- the [CLS] head


def _head_case():
    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(3, 5, 4, generator=gen)  # (batch, seq, d_model)
    head = nn.Linear(4, 2)
    with torch.no_grad():
        head.weight.copy_(torch.randn(2, 4, generator=gen))
        head.bias.copy_(torch.randn(2, generator=gen))
    return hidden, head


def check_cls_logits(fn) -> Feedback:
    """``fn(hidden (B, L, d), head)`` must return ``head(hidden[:, 0])``: one row of class scores per text."""

    def body(fb: Feedback):
        hidden, head = _head_case()
        with torch.no_grad():
            want = head(hidden[:, 0])  # (batch, n_labels)
            got = answer(fn, hidden.clone(), head)
        got = torch.as_tensor(got).detach()
        if got.shape == (3, 5, 2):
            fb.fail("you applied the head at every position: (batch, seq, n_labels). A sentence classifier "
                    "scores the whole text once; take the [CLS] position, hidden[:, 0], first.")
            return
        if not check_shape(fb, got, tuple(want.shape), "the class scores"):
            return
        got = got.to(want.dtype)
        if torch.allclose(got, want, atol=1e-5):
            return
        with torch.no_grad():
            if torch.allclose(got, head(hidden.mean(1)), atol=1e-5):
                fb.fail("that is mean pooling over every position; this head reads the [CLS] position, "
                        "hidden[:, 0], which BERT puts first in every input.")
            elif torch.allclose(got, head(hidden[:, -1]), atol=1e-5):
                fb.fail("that is the last position (where a GPT would read); BERT's [CLS] is the first, "
                        "hidden[:, 0].")
            elif torch.allclose(got, hidden[:, 0] @ head.weight.T, atol=1e-5):
                fb.fail("the bias is missing: nn.Linear computes x @ W.T + b; call head(...) itself.")
            else:
                check_close(fb, got, want, "the class scores", atol=1e-5)

    return run_checker("class scores from the [CLS] position", body)


# --------------------------------------------------------------------------- the majority baseline


def check_majority_accuracy(fn) -> Feedback:
    """``fn(train_labels, test_labels)`` must predict the training set's most frequent class for every test
    example and return the accuracy that earns on the test set."""

    def body(fb: Feedback):
        train = [0, 0, 0, 1, 1]  # majority: 0
        test = [1, 1, 1, 0]  # the test set leans the other way
        got = answer(fn, list(train), list(test))
        try:
            got = float(got)
        except (TypeError, ValueError):
            fb.fail(f"return one number, the accuracy as a fraction; got {got!r}.")
            return
        if math.isclose(got, 0.25, abs_tol=1e-9):
            return
        if math.isclose(got, 0.75, abs_tol=1e-9):
            fb.fail("you chose the majority class from the test labels: a baseline may only learn from the "
                    "training split, or it scores with information no model is allowed to see.")
        elif math.isclose(got, 0.6, abs_tol=1e-9):
            fb.fail("0.6 is the majority's share of the training labels; score its prediction on the test "
                    "labels instead.")
        elif math.isclose(got, 25.0, abs_tol=1e-9):
            fb.fail("return a fraction (0.25), not a percentage.")
        else:
            fb.fail(f"expected 0.25 (predict class 0, the training majority, for all 4 test examples, of "
                    f"which 1 is class 0), got {got:g}.")

    return run_checker("the majority-class baseline", body)


# --------------------------------------------------------------------------- the schedule


def check_schedule(fn) -> Feedback:
    """``fn(n_train, batch_size, epochs, warmup_fraction)`` must return ``(steps, warmup_steps)`` as
    :meth:`~sslm_utils.finetuning.FineTuneConfig.train_config` plans them."""

    def body(fb: Feedback):
        for n_train, batch, epochs, fraction in ((1000, 32, 4.0, 0.1), (250, 16, 2.5, 0.06)):
            plan = FineTuneConfig(epochs=epochs, batch_size=batch, warmup_fraction=fraction).train_config(n_train)
            want = (plan.max_steps, plan.warmup_steps)
            got = answer(fn, n_train, batch, epochs, fraction)
            if not isinstance(got, tuple | list) or len(got) != 2:
                fb.fail(f"return a pair (steps, warmup_steps); got {got!r}.")
                return
            got = (int(got[0]), int(got[1]))
            if got == want:
                continue
            per_epoch_ceil = math.ceil(n_train / batch)
            if got[0] == round(epochs * per_epoch_ceil):
                fb.fail(f"for {n_train} examples in batches of {batch} you counted the last, partial batch; the "
                        f"engine drops it, so an epoch is n_train // batch_size = {n_train // batch} steps.")
            elif got[0] == want[0] and got[1] == round(fraction * (n_train // batch)):
                fb.fail("the warm-up is a fraction of all steps, not of one epoch.")
            elif got[0] == want[0]:
                fb.fail(f"the steps are right; the warm-up should be round({fraction} x {want[0]}) = {want[1]}.")
            else:
                fb.fail(f"for n_train={n_train}, batch_size={batch}, epochs={epochs} expected {want}, got {got}: "
                        "steps = round(epochs x (n_train // batch_size)), warm-up = round(fraction x steps).")
            return

    return run_checker("the fine-tuning schedule", body)
