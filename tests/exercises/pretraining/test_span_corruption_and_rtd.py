"""Each checker of lesson 3.4 accepts the solution and rejects typical wrong answers, saying why."""

from __future__ import annotations

import torch

from sslm_utils.exercises.pretraining.span_corruption_and_rtd import check_rtd_labels, check_span_corrupt
from sslm_utils.objectives.span_corruption import span_corrupt

from .. import rejects

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

    rejects(check_span_corrupt(per_token), "one sentinel per *span*")
    rejects(check_span_corrupt(no_final_sentinel), "one more sentinel")
    rejects(check_span_corrupt(lambda ids, mask, s: ([t for t, m in zip(ids, mask) if not m], [])),
                "leave one sentinel")


# --------------------------------------------------------------------------- ELECTRA labels


def test_rtd_labels():
    def solution(ids, masked, sampled):
        corrupted = torch.where(masked, sampled, ids)
        return corrupted, (corrupted != ids).long()

    check_rtd_labels(solution).assert_passed()
    rejects(check_rtd_labels(lambda i, m, s: (torch.where(m, s, i), m.long())), "sampled the original")
    rejects(check_rtd_labels(lambda i, m, s: (s, (s != i).long())), "original token elsewhere")
