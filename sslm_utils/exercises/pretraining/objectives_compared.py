"""Checkers for lesson 3.3, pretraining objectives compared (chapters/03_pretraining/03_objectives_compared.ipynb)."""

from __future__ import annotations

import math

import torch

from ..feedback import Feedback, answer, check_close, check_shape, run_checker

# --------------------------------------------------------------------------- an SOP example


def check_sop_example(fn) -> Feedback:
    """``fn(a, b, swap)`` must return ``(a, b, 0)`` without a swap and ``(b, a, 1)`` with one."""

    def body(fb: Feedback):
        a, b = [11, 12, 13], [21, 22]
        for swap, want in ((False, (a, b, 0)), (True, (b, a, 1))):
            got = answer(fn, list(a), list(b), swap)
            if not isinstance(got, tuple | list) or len(got) != 3:
                fb.fail(f"return a tuple (first, second, label); got {got!r}.")
                return
            first, second, label = list(got[0]), list(got[1]), got[2]
            if (first, second) == (want[0], want[1]) and label == want[2]:
                continue
            if (first, second) == (want[0], want[1]):
                fb.fail(f"with swap={swap} the segments are right but the label is {label!r}; SOP labels the "
                        "natural order 0 and the swapped order 1 (the transformers convention for NotNext).")
            elif (first, second) == (b, a) and not swap:
                fb.fail("with swap=False the segments must keep their order (a, b); swap only when asked.")
            else:
                fb.fail(f"with swap={swap} expected segments {want[0]} and {want[1]}, got {first} and {second}. "
                        "SOP never brings in text from elsewhere: it only decides the order.")
            return

    return run_checker("a sentence-order-prediction example", body)


# --------------------------------------------------------------------------- mean pooling


def _pool_case():
    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(3, 5, 4, generator=gen)  # (batch, seq, d)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]])
    want = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
    return hidden, mask, want


def check_mean_pool(fn) -> Feedback:
    """``fn(hidden (B, L, d), attention_mask (B, L))`` must average the real positions only: ``(B, d)``."""

    def body(fb: Feedback):
        hidden, mask, want = _pool_case()
        got = answer(fn, hidden.clone(), mask.clone())
        if not check_shape(fb, got, tuple(want.shape), "the pooled vectors"):
            return
        got = torch.as_tensor(got, dtype=want.dtype)
        if torch.allclose(got, want, atol=1e-5):
            return
        if torch.allclose(got, hidden.mean(1), atol=1e-5):
            fb.fail("you averaged every position, padding included; weight the positions by attention_mask "
                    "and divide by the number of real tokens, mask.sum(1).")
        elif torch.allclose(got, (hidden * mask.unsqueeze(-1)).mean(1), atol=1e-5):
            fb.fail("you zeroed the padding but still divided by the full length; divide by mask.sum(1).")
        elif torch.allclose(got, hidden[:, 0], atol=1e-5):
            fb.fail("that is the first ([CLS]) position, not the mean of the real tokens.")
        else:
            check_close(fb, got, want, "the pooled vectors", atol=1e-5)

    return run_checker("mean pooling over real tokens", body)


# --------------------------------------------------------------------------- paired standard error


def check_paired_difference(fn) -> Feedback:
    """``fn(loss_a, loss_b)`` must return ``(mean(a - b), std(a - b) / sqrt(n))``."""

    def body(fb: Feedback):
        gen = torch.Generator().manual_seed(1)
        shared = torch.rand(400, generator=gen) * 8  # how hard each token is, for both models
        a = shared + 0.05 * torch.randn(400, generator=gen)
        b = shared + 0.1 + 0.05 * torch.randn(400, generator=gen)
        d = (a - b).double()
        want = (float(d.mean()), float(d.std() / math.sqrt(len(d))))
        got = answer(fn, a.clone(), b.clone())
        if not isinstance(got, tuple | list) or len(got) != 2:
            fb.fail(f"return a pair (mean difference, standard error); got {got!r}.")
            return
        mean, se = float(got[0]), float(got[1])
        if not math.isclose(mean, want[0], rel_tol=1e-3, abs_tol=1e-6):
            hint = " (that is b - a)" if math.isclose(mean, -want[0], rel_tol=1e-3) else ""
            fb.fail(f"the mean difference should be {want[0]:.4f}, got {mean:.4f}{hint}.")
            return
        unpaired = math.sqrt(float(a.double().var() + b.double().var()) / len(a))
        if math.isclose(se, unpaired, rel_tol=1e-2):
            fb.fail(f"{se:.4f} is the unpaired standard error, sqrt((var a + var b) / n). The tokens are "
                    "shared, so take the differences first: std(a - b) / sqrt(n).")
        elif math.isclose(se, float(d.std()), rel_tol=1e-2):
            fb.fail("that is the standard deviation of the differences; divide it by sqrt(n).")
        elif not math.isclose(se, want[1], rel_tol=1e-2):
            fb.fail(f"the standard error should be {want[1]:.5f}, got {se:.5f}.")

    return run_checker("a paired difference and its standard error", body)
