"""Checkers for lessons 3.3 (objectives compared) and 3.4 (span corruption, replaced-token detection)."""

from __future__ import annotations

import math

import torch

from ..objectives import replace_tokens, span_corrupt
from . import Feedback, answer, check_close, check_shape, run_checker

# --------------------------------------------------------------------------- 3.3: an SOP example


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


# --------------------------------------------------------------------------- 3.3: mean pooling


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


# --------------------------------------------------------------------------- 3.3: paired standard error


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


# --------------------------------------------------------------------------- 3.4: span corruption


_SPAN_CASES = [
    ([10, 11, 12, 13, 14, 15, 16], [0, 1, 1, 0, 0, 1, 0]),
    ([10, 11, 12, 13, 14], [0, 0, 0, 0, 1]),  # a span at the very end
    ([10, 11, 12, 13, 14, 15], [0, 1, 0, 1, 0, 1]),  # three one-token spans
]
_SENTINELS = [99, 98, 97, 96]


def check_span_corrupt(fn) -> Feedback:
    """``fn(ids, noise_mask, sentinel_ids)`` must return T5's ``(inputs, targets)`` (no EOS)."""

    def body(fb: Feedback):
        for ids, mask in _SPAN_CASES:
            want = span_corrupt(ids, [bool(m) for m in mask], sentinel_ids=_SENTINELS)
            got = answer(fn, list(ids), [bool(m) for m in mask], list(_SENTINELS))
            if not isinstance(got, tuple | list) or len(got) != 2:
                fb.fail(f"return a pair (inputs, targets); got {got!r}.")
                return
            inputs, targets = [int(x) for x in got[0]], [int(x) for x in got[1]]
            if (inputs, targets) == tuple(want):
                continue
            prefix = f"for ids={ids}, noise_mask={mask}: got inputs {inputs}, targets {targets}; expected " \
                     f"{want[0]}, {want[1]}."
            if inputs.count(_SENTINELS[0]) == 0:
                hint = "each dropped span must leave one sentinel behind in the inputs."
            elif len(inputs) > len(want[0]):
                hint = "one sentinel per *span*, not per dropped token: consecutive noise tokens share one."
            elif targets == want[1][:-1]:
                hint = "T5's targets end with one more sentinel after the last span."
            elif inputs == want[0]:
                hint = "the inputs are right; the targets list each sentinel followed by the tokens it hid."
            else:
                hint = "sentinels are used in order: the first span gets sentinel_ids[0], the next [1], ..."
            fb.fail(f"{prefix} Hint: {hint}")
            return

    return run_checker("T5 span corruption", body)


# --------------------------------------------------------------------------- 3.4: ELECTRA's labels


def check_rtd_labels(fn) -> Feedback:
    """``fn(input_ids, masked, sampled_ids)`` must return ELECTRA's ``(corrupted, labels)``."""

    def body(fb: Feedback):
        ids = torch.tensor([[5, 6, 7, 8, 9, 10]])
        masked = torch.tensor([[False, True, True, False, True, False]])
        sampled = torch.tensor([[0, 40, 7, 0, 41, 0]])  # only masked entries matter; position 2 guessed right
        want_ids, want_labels = replace_tokens(ids, masked, sampled)
        got = answer(fn, ids.clone(), masked.clone(), sampled.clone())
        if not isinstance(got, tuple | list) or len(got) != 2:
            fb.fail(f"return a pair (corrupted_ids, labels); got {got!r}.")
            return
        corrupted, labels = (torch.as_tensor(x).long() for x in got)
        if not torch.equal(corrupted, want_ids):
            fb.fail(f"corrupted ids should be {want_ids.tolist()}, got {corrupted.tolist()}: take the sample "
                    "where masked is True and the original token elsewhere.")
        elif torch.equal(labels, masked.long()):
            fb.fail("you labelled every masked position as replaced, but at position 2 the generator sampled the "
                    "original token 7. ELECTRA labels a token 'replaced' only if it differs from the original.")
        elif not torch.equal(labels, want_labels):
            fb.fail(f"labels should be {want_labels.tolist()} (1 = replaced), got {labels.tolist()}.")

    return run_checker("replaced-token detection labels", body)
