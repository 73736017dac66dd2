"""Checkers for lesson 3.4, span corruption and replaced-token detection
(chapters/03_pretraining/04_span_corruption_and_rtd.ipynb)."""

from __future__ import annotations

import torch

from ...objectives.electra import replace_tokens
from ...objectives.span_corruption import span_corrupt
from ..feedback import Feedback, answer, run_checker

# --------------------------------------------------------------------------- span corruption


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


# --------------------------------------------------------------------------- ELECTRA's labels


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
