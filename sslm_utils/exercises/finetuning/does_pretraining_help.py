"""Checkers for lesson 4.3, does pretraining help? (chapters/04_finetuning/03_does_pretraining_help.ipynb)."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..feedback import Feedback, answer, check_shape, run_checker

# --------------------------------------------------------------------------- a paired gain over seeds


def _seed_accuracies():
    # seed by seed, two methods on the same subsets: each seed's luck moves both together
    pretrained = np.array([0.62, 0.55, 0.70, 0.58])
    baseline = np.array([0.60, 0.52, 0.66, 0.57])
    return pretrained, baseline


def check_paired_gain(fn) -> Feedback:
    """``fn(a, b)`` (accuracies per seed, same seeds in the same order) must return ``(gain, se)``: the mean of
    the per-seed differences ``a - b`` and the standard error of that mean (sample std, ``ddof=1``, over
    ``sqrt(n)``)."""

    def body(fb: Feedback):
        a, b = _seed_accuracies()
        diff = a - b
        want = (diff.mean(), diff.std(ddof=1) / math.sqrt(len(diff)))
        got = answer(fn, a.copy(), b.copy())
        if not isinstance(got, tuple | list) or len(got) != 2:
            fb.fail(f"return a pair (gain, se); got {got!r}.")
            return
        gain, se = float(got[0]), float(got[1])
        if not math.isclose(gain, want[0], abs_tol=1e-9):
            fb.fail(f"the gain is the mean of a - b, {want[0]:.4f}; got {gain:.4f}." if not math.isclose(
                gain, -want[0], abs_tol=1e-9) else "the sign is reversed: the gain is a - b (a over b).")
            return
        if math.isclose(se, want[1], rel_tol=1e-6):
            return
        unpaired = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        if math.isclose(se, unpaired, rel_tol=1e-6):
            fb.fail(f"that is the unpaired standard error ({unpaired:.4f}); the seeds pair the two methods (same "
                    "subset, same test split), so take the standard error of the differences a - b.")
        elif math.isclose(se, diff.std(ddof=0) / math.sqrt(len(diff)), rel_tol=1e-6):
            fb.fail("use the sample standard deviation (ddof=1): with a few seeds, ddof=0 understates it.")
        elif math.isclose(se, diff.std(ddof=1), rel_tol=1e-6):
            fb.fail("that is the standard deviation of the differences; the standard error of their mean divides "
                    "it by sqrt(number of seeds).")
        else:
            fb.fail(f"expected a standard error of {want[1]:.4f}, got {se:.4f}.")

    return run_checker("a paired gain over seeds", body)


# --------------------------------------------------------------------------- how many labels is pretraining worth?


def _curve():
    sizes = np.array([32, 100, 300, 1000, 3000])
    accuracy = np.array([0.50, 0.55, 0.61, 0.66, 0.70])  # the baseline's learning curve
    return sizes, accuracy


def check_labels_needed(fn) -> Feedback:
    """``fn(sizes, accuracy, target)`` must return how many labels the curve needs to reach ``target``,
    interpolating linearly in ``log(size)`` between the two sizes around it (learning curves are close to
    straight against the logarithm of the size); ``math.inf`` if the curve never reaches it, the first size if
    it starts above it."""

    def body(fb: Feedback):
        sizes, accuracy = _curve()
        cases = [(0.58, math.exp(math.log(100) + 0.5 * (math.log(300) - math.log(100)))),
                 (0.66, 1000.0), (0.75, math.inf), (0.40, 32.0)]
        for target, want in cases:
            got = answer(fn, sizes.copy(), accuracy.copy(), target)
            try:
                got = float(got)
            except (TypeError, ValueError):
                fb.fail(f"return a number of labels (a float; math.inf if never reached); got {got!r}.")
                return
            if math.isinf(want):
                if not math.isinf(got):
                    fb.fail(f"the curve never reaches {target}: return math.inf (more labels than measured), not "
                            f"{got:g}; extrapolating past the last point is a guess.")
                    return
                continue
            if math.isclose(got, want, rel_tol=1e-6):
                continue
            linear = 100 + (target - 0.55) / (0.61 - 0.55) * 200 if target == 0.58 else None
            if linear is not None and math.isclose(got, linear, rel_tol=1e-6):
                fb.fail(f"that interpolates linearly in the size ({linear:.0f}); interpolate in log(size), where "
                        f"the curve is straight: the answer is {want:.0f}.")
            elif target == 0.40:
                fb.fail(f"the curve starts above {target} at its first size; return that size ({want:g}), not "
                        f"{got:g}.")
            else:
                fb.fail(f"for target {target} expected {want:.1f} labels, got {got:.1f}.")
            return

    return run_checker("how many labels the baseline needs", body)


# --------------------------------------------------------------------------- masked-LM loss where the model cannot copy


def _mlm_case():
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(8, 20, generator=gen)  # (chosen positions, vocab)
    targets = torch.randint(0, 20, (8,), generator=gen)
    shown = targets.clone()  # what the input showed at each chosen position
    shown[:5] = 3  # [MASK] (id 3) at the first five; a random word at the sixth; the word itself at the last two
    shown[5] = (targets[5] + 1) % 20
    logits[6:, :] = -5.0
    logits[6, targets[6]] = logits[7, targets[7]] = 8.0  # copying the visible word: easy
    return logits, targets, shown, 3


def check_loss_at_mask(fn) -> Feedback:
    """``fn(logits (M, V), targets (M,), shown (M,), mask_id)`` must return the mean cross-entropy over the
    positions whose input showed ``[MASK]`` only (``shown == mask_id``)."""

    def body(fb: Feedback):
        logits, targets, shown, mask_id = _mlm_case()
        nll = torch.nn.functional.cross_entropy(logits, targets, reduction="none")  # (M,)
        want = nll[shown == mask_id].mean()
        got = answer(fn, logits.clone(), targets.clone(), shown.clone(), mask_id)
        got = torch.as_tensor(got).detach().float()
        if not check_shape(fb, got, (), "the loss"):
            return
        if torch.isclose(got, want, atol=1e-5):
            return
        if torch.isclose(got, nll.mean(), atol=1e-5):
            fb.fail("that averages every chosen position, including the two where the input showed the answer "
                    "(a model can copy it); keep the positions where shown == mask_id.")
        elif torch.isclose(got, nll[shown != mask_id].mean(), atol=1e-5):
            fb.fail("those are the positions that did *not* show [MASK]; keep shown == mask_id.")
        elif torch.isclose(got, nll[shown == mask_id].sum(), atol=1e-5):
            fb.fail("that is the sum; return the mean over the [MASK] positions.")
        else:
            fb.fail(f"expected {float(want):.4f}, got {float(got):.4f}.")

    return run_checker("the masked-LM loss at [MASK] positions", body)
