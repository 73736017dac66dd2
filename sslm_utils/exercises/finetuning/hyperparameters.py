"""Checkers for lesson 4.4, hyperparameters, overfitting and forgetting
(chapters/04_finetuning/04_hyperparameters_and_forgetting.ipynb)."""

from __future__ import annotations

import math

from ..feedback import Feedback, answer, run_checker

# --------------------------------------------------------------------------- early stopping with patience

# (validation losses, patience, (best index, stop index)), indices counted over the evaluations from 0
_PATIENCE_CASES = [
    ([0.90, 0.70, 0.72, 0.71, 0.60, 0.80], 2, (1, 3)),  # stops before the later best
    ([0.90, 0.70, 0.72, 0.71, 0.60, 0.80], 3, (4, 5)),  # waits long enough to see it; never fires
    ([0.50, 0.50, 0.50, 0.40], 2, (0, 2)),  # a tie is no improvement
    ([0.90, 0.95], 1, (0, 1)),
    ([0.90, 0.80, 0.70], 1, (2, 2)),  # improves every time: runs to the end
]


def _rule(losses, patience, *, tie_improves=False) -> tuple[int, int]:
    """(best, stop) of a patience rule; ``tie_improves`` is a typical slip, kept to name it."""
    best, since = 0, 0
    for i in range(1, len(losses)):
        if losses[i] < losses[best] or (tie_improves and losses[i] == losses[best]):
            best, since = i, 0
        else:
            since += 1
        if since == patience:
            return best, i
    return best, len(losses) - 1


def _patience_hint(losses, patience, got, want) -> str:
    if got == (min(range(len(losses)), key=losses.__getitem__), want[1]):
        return "that best index is the best of the whole run; the rule keeps the best seen *before* it stops."
    if len(set(losses)) < len(losses) and got == _rule(losses, patience, tie_improves=True):
        return "a validation loss equal to the best so far is no improvement: count it towards the patience."
    if got == _rule(losses, patience + 1):
        return "stop after `patience` evaluations without a new best, not `patience + 1`."
    return f"expected (best, stop) = {want}."


def check_patience_stop(fn) -> Feedback:
    """``fn(losses, patience)`` must return ``(best, stop)``: indices into ``losses`` (one validation loss per
    evaluation) of the evaluation whose weights a patience rule keeps, and of the evaluation after which it stops
    training (the last one if it never fires). The rule stops after ``patience`` evaluations in a row without a
    loss lower than the best so far."""

    def body(fb: Feedback):
        for losses, patience, want in _PATIENCE_CASES:
            assert _rule(losses, patience) == want  # the cases agree with the rule they teach
            got = answer(fn, list(losses), patience)
            if not isinstance(got, tuple | list) or len(got) != 2:
                fb.fail(f"return a pair (best, stop) of indices; got {got!r}.")
                return
            got = (int(got[0]), int(got[1]))
            if got != want:
                fb.fail(f"losses {losses}, patience {patience}: got (best, stop) = {got}; "
                        + _patience_hint(losses, patience, got, want))
                return

    return run_checker("early stopping with patience", body)


# --------------------------------------------------------------------------- what weight decay leaves


def _schedule(max_steps=120, warmup=12, lr=3e-4):
    from ...engine.optimization import lr_factor

    return [lr * lr_factor(t, warmup_steps=warmup, max_steps=max_steps) for t in range(max_steps)]


def check_decay_left(fn) -> Feedback:
    """``fn(lrs, weight_decay)`` must return the fraction of a weight left by AdamW's decoupled weight decay
    alone after steps at the learning rates ``lrs`` (one per step): every step multiplies the weight by
    ``1 - lr * weight_decay``. Checked against :func:`sslm_utils.engine.decay_left`, itself tested against
    ``torch.optim.AdamW``."""

    def body(fb: Feedback):
        from ...engine import TrainConfig
        from ...engine.optimization import decay_left

        for lr, weight_decay in ((3e-4, 0.01), (3e-4, 0.1), (5e-2, 0.2)):
            config = TrainConfig(max_steps=120, lr=lr, warmup_steps=12, weight_decay=weight_decay)
            lrs = _schedule(120, 12, lr)
            want = decay_left(config)
            got = answer(fn, list(lrs), weight_decay)
            try:
                got = float(got)
            except (TypeError, ValueError):
                fb.fail(f"return one number, the fraction left; got {got!r}.")
                return
            if math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
                continue
            if math.isclose(got, (1 - weight_decay) ** len(lrs), rel_tol=1e-9):
                fb.fail("each step decays by lr x weight_decay, not by weight_decay alone: AdamW scales the decay "
                        "by the step's learning rate.")
            elif math.isclose(got, 1 - want, rel_tol=1e-9):
                fb.fail("that is the fraction removed; return the fraction left.")
            elif math.isclose(got, math.exp(-weight_decay * sum(lrs)), rel_tol=1e-3):
                fb.fail("close: that is the continuous approximation exp(-weight_decay x sum of lrs); return the "
                        "exact product of the per-step factors.")
            else:
                fb.fail(f"lr {lr}, weight_decay {weight_decay}: expected {want:.6f}, got {got:.6f}.")
            return

    return run_checker("what weight decay leaves", body)


# --------------------------------------------------------------------------- layer-wise learning-rate decay


def _package_scales(n_layers: int, decay: float) -> list[float]:
    """The multipliers :func:`~sslm_utils.finetuning.layerwise_lr_scales` gives a tiny BERT classifier, as
    [embeddings, layer 1 (bottom), ..., layer n (top), head]."""
    import torch
    from transformers import BertConfig, BertModel

    from ...finetuning import SentenceClassifier, layerwise_lr_scales

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=n_layers, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=16)
    classifier = SentenceClassifier(BertModel(config), 2)
    scales = layerwise_lr_scales(classifier, decay)

    def scale_of(fragment: str) -> float:
        return next(v for k, v in scales.items() if fragment in k)

    layers = [scale_of(f"encoder.layer.{i}.") for i in range(n_layers)]
    return [scale_of("embeddings."), *layers, scale_of("head.")]


def check_layer_scales(fn) -> Feedback:
    """``fn(n_layers, decay)`` must return ``n_layers + 2`` learning-rate multipliers, from the bottom up:
    the embeddings, layer 1 (the lowest) ... layer ``n_layers`` (the top), and the task head. The head keeps
    the full rate; each step down multiplies it by ``decay``."""

    def body(fb: Feedback):
        for n_layers, decay in ((4, 0.8), (2, 0.5), (3, 1.0)):
            want = _package_scales(n_layers, decay)
            got = answer(fn, n_layers, decay)
            try:
                got = [float(v) for v in got]
            except TypeError:
                fb.fail(f"return a list of {n_layers + 2} numbers; got {got!r}.")
                return
            if len(got) != len(want):
                fb.fail(f"{n_layers} layers: return {n_layers + 2} multipliers (embeddings, each layer, head); got "
                        f"{len(got)}.")
                return
            if all(math.isclose(g, w, rel_tol=1e-9) for g, w in zip(got, want)):
                continue
            if all(math.isclose(g, w, rel_tol=1e-9) for g, w in zip(got, want[::-1])):
                fb.fail("the order is reversed: the *lower* layers get the smaller rates (their features are the "
                        "general ones), and the list runs from the embeddings up to the head.")
            elif math.isclose(got[0], got[1], rel_tol=1e-9) and decay != 1.0:
                fb.fail("the embeddings sit below layer 1: one more factor of decay than the lowest layer.")
            else:
                fb.fail(f"{n_layers} layers, decay {decay}: expected {[round(w, 4) for w in want]}, got "
                        f"{[round(g, 4) for g in got]}.")
            return

    return run_checker("layer-wise learning-rate decay", body)
