"""Each lesson-3.1 checker accepts the solution and rejects typical wrong answers, saying why."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from sslm_utils.exercises.pretraining.bert_mlm_nsp import check_mask_tokens, check_mlm_loss, check_nsp_pair
from sslm_utils.objectives.masking import mask_tokens
from sslm_utils.objectives.pairs import encode_pair

# --------------------------------------------------------------------------- masking


def solution_mask(input_ids, mask_id, special_ids, candidate_ids, generator):
    return mask_tokens(input_ids, mask_id=mask_id, special_ids=special_ids, candidate_ids=candidate_ids,
                       generator=generator)


def _choose(input_ids, special_ids, generator, p=0.15, exclude_specials=True):
    probs = torch.full(input_ids.shape, p)
    if exclude_specials:
        probs[torch.isin(input_ids, torch.tensor(special_ids))] = 0
    chosen = torch.bernoulli(probs, generator=generator).bool()
    return chosen, torch.where(chosen, input_ids, -100)


def all_mask(input_ids, mask_id, special_ids, candidate_ids, generator):
    chosen, labels = _choose(input_ids, special_ids, generator)
    return torch.where(chosen, mask_id, input_ids), labels


def ten_percent_of_rest(input_ids, mask_id, special_ids, candidate_ids, generator):
    chosen, labels = _choose(input_ids, special_ids, generator)
    u = torch.rand(input_ids.shape, generator=generator)
    v = torch.rand(input_ids.shape, generator=generator)
    inputs = torch.where(chosen & (u < 0.8), mask_id, input_ids)
    random_ids = candidate_ids[torch.randint(len(candidate_ids), input_ids.shape, generator=generator)]
    return torch.where(chosen & (u >= 0.8) & (v < 0.1), random_ids, inputs), labels


def masks_specials(input_ids, mask_id, special_ids, candidate_ids, generator):
    chosen, labels = _choose(input_ids, special_ids, generator, exclude_specials=False)
    return torch.where(chosen, mask_id, input_ids), labels


def labels_everywhere(input_ids, mask_id, special_ids, candidate_ids, generator):
    inputs, _ = solution_mask(input_ids, mask_id, special_ids, candidate_ids, generator)
    return inputs, input_ids.clone()


def unattempted(*args):
    ...


def test_mask_checker():
    assert check_mask_tokens(solution_mask).passed
    for wrong, phrase in [
        (all_mask, "Every chosen position became [MASK]"),
        (ten_percent_of_rest, "take 50 % of the remainder"),
        (masks_specials, "must never be masked"),
        (labels_everywhere, "need the label -100"),
        (unattempted, "returned None"),
        (lambda *a: a[0], "return a pair"),
    ]:
        feedback = check_mask_tokens(wrong)
        assert not feedback.passed, wrong
        assert phrase in str(feedback), (phrase, str(feedback))


# --------------------------------------------------------------------------- NSP pair


def solution_pair(a, b, seq_len, cls_id, sep_id, pad_id):
    return encode_pair(a, b, seq_len=seq_len, cls_id=cls_id, sep_id=sep_id, pad_id=pad_id)


def last_sep_in_segment_zero(a, b, seq_len, cls_id, sep_id, pad_id):
    out = solution_pair(a, b, seq_len, cls_id, sep_id, pad_id)
    out["token_type_ids"][len(a) + len(b) + 2] = 0
    return out


def no_padding(a, b, seq_len, cls_id, sep_id, pad_id):
    ids = [cls_id, *a, sep_id, *b, sep_id]
    types = [0] * (len(a) + 2) + [1] * (len(b) + 1)
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": [1] * len(ids)}


def pads_attended(a, b, seq_len, cls_id, sep_id, pad_id):
    out = solution_pair(a, b, seq_len, cls_id, sep_id, pad_id)
    out["attention_mask"] = [1] * seq_len
    return out


def pads_in_segment_one(a, b, seq_len, cls_id, sep_id, pad_id):
    out = solution_pair(a, b, seq_len, cls_id, sep_id, pad_id)
    n = len(a) + len(b) + 3
    out["token_type_ids"] = out["token_type_ids"][:n] + [1] * (seq_len - n)
    return out


def test_pair_checker():
    assert check_nsp_pair(solution_pair).passed
    for wrong, phrase in [
        (last_sep_in_segment_zero, "B and the [SEP] that closes it belong to segment 1"),
        (no_padding, "pad it to seq_len"),
        (pads_attended, "0 for padding"),
        (pads_in_segment_one, "Padding gets segment 0"),
        (lambda *a: [1, 2, 3], "return a dict"),
        (unattempted, "returned None"),
    ]:
        feedback = check_nsp_pair(wrong)
        assert not feedback.passed, wrong
        assert phrase in str(feedback), (phrase, str(feedback))


# --------------------------------------------------------------------------- MLM loss


def solution_loss(logits, labels):
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)


def binary_loss(logits, labels):
    keep = labels != -100
    return F.binary_cross_entropy_with_logits(logits[keep], F.one_hot(labels[keep], logits.shape[-1]).float())


def every_position(logits, labels):
    return F.cross_entropy(logits.flatten(0, 1), labels.clamp(min=0).flatten())


def summed(logits, labels):
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction="sum")


def test_mlm_loss_checker():
    assert check_mlm_loss(solution_loss).passed
    for wrong, phrase in [
        (binary_loss, "binary (sigmoid) cross-entropy"),
        (every_position, "averaged over every position"),
        (summed, "take the mean"),
        (lambda logits, labels: torch.tensor(0.0), "F.cross_entropy over the masked positions"),
        (unattempted, "returned None"),
    ]:
        feedback = check_mlm_loss(wrong)
        assert not feedback.passed, wrong
        assert phrase in str(feedback), (phrase, str(feedback))
