"""sslm_utils.objectives.pairs: BERT's sentence pairs (NSP), ALBERT's order task (SOP) and plain pairs (MLM)."""

from __future__ import annotations

import math
import random

import pytest
import torch

from sslm_utils.objectives.pairs import IS_NEXT, OBJECTIVES, build_pair_examples, encode_pair, truncate_pair


def test_encode_pair_matches_the_tokenizer(wordpiece_tokenizer):
    tokenizer = wordpiece_tokenizer
    a_text, b_text = "Our navy is strong.", "Our army is ready."
    a = tokenizer(a_text, add_special_tokens=False)["input_ids"]
    b = tokenizer(b_text, add_special_tokens=False)["input_ids"]
    ours = encode_pair(a, b, seq_len=24, cls_id=tokenizer.cls_token_id, sep_id=tokenizer.sep_token_id,
                       pad_id=tokenizer.pad_token_id)
    theirs = tokenizer(a_text, b_text, padding="max_length", max_length=24)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert ours[key] == theirs[key], key
    with pytest.raises(ValueError, match="exceed seq_len"):
        encode_pair(a, b, seq_len=len(a) + len(b) + 2, cls_id=2, sep_id=3, pad_id=0)
    with pytest.raises(ValueError, match="at least one token"):
        encode_pair([], b, seq_len=24, cls_id=2, sep_id=3, pad_id=0)


def test_truncate_pair_keeps_the_junction():
    a, b = truncate_pair(list(range(10)), list(range(100, 104)), 8)
    assert a == [6, 7, 8, 9] and b == [100, 101, 102, 103]
    a, b = truncate_pair([1, 2], list(range(100, 110)), 5)
    assert a == [1, 2] and b == [100, 101, 102]


def synthetic_docs(n_docs=40, n_sents=30, seed=0):
    """Documents whose sentences are numbered, so continuity can be checked: doc d, sentence s
    is [1000 d + s] * length."""
    rng = random.Random(seed)
    return [[[1000 * d + s + 10] * rng.randint(3, 9) for s in range(n_sents)] for d in range(n_docs)]


def _decode_pairs(ds):
    """Back to (A, B, label) token lists from the padded rows."""
    out = []
    for row, types, mask, label in zip(ds.input_ids, ds.token_type_ids, ds.attention_mask, ds.next_sentence_label,
                                       strict=True):
        real = row[mask.bool()].tolist()
        t = types[mask.bool()].tolist()
        a = [x for x, s in zip(real[1:], t[1:], strict=True) if s == 0][:-1]
        b = [x for x, s in zip(real, t, strict=True) if s == 1][:-1]
        out.append((a, b, int(label)))
    return out


@pytest.mark.parametrize("objective", ["nsp", "sop", "mlm"])
def test_pair_examples_layout_and_labels(objective):
    docs = synthetic_docs()
    ds = build_pair_examples(docs, seq_len=32, cls_id=2, sep_id=3, pad_id=0, objective=objective, seed=1)
    n = len(ds)
    assert ds.input_ids.shape == ds.token_type_ids.shape == ds.attention_mask.shape == (n, 32)
    assert (ds.input_ids[:, 0] == 2).all()
    assert ((ds.input_ids == 3).sum(1) == 2).all()  # exactly two [SEP]
    assert ((ds.input_ids == 0) == (ds.attention_mask == 0)).all()  # pads exactly where the mask is 0
    share = float((ds.next_sentence_label == IS_NEXT).float().mean())
    if objective == "mlm":
        assert share == 1.0  # contiguous text only
    else:
        assert abs(share - 0.5) < 4 * math.sqrt(0.25 / n), share  # a fair coin, within 4 standard errors
    for a, b, label in _decode_pairs(ds):
        doc_a, doc_b = a[-1] // 1000, b[0] // 1000
        junction = b[0] - a[-1]  # +1 (or 0 inside a cut sentence) when B continues A
        if label == IS_NEXT:
            assert doc_a == doc_b and junction in (0, 1)
        elif objective == "nsp":
            assert doc_a != doc_b  # a random segment from another document
        else:
            assert doc_a == doc_b and b[-1] <= a[0]  # same document, order swapped


def test_pairs_are_deterministic_and_fill_the_length():
    docs = synthetic_docs()
    one = build_pair_examples(docs, seq_len=32, cls_id=2, sep_id=3, pad_id=0, seed=5)
    two = build_pair_examples(docs, seq_len=32, cls_id=2, sep_id=3, pad_id=0, seed=5)
    assert torch.equal(one.input_ids, two.input_ids)
    assert one.attention_mask.float().mean() > 0.8  # chunks fill the sequence, little padding
    more = build_pair_examples(docs, seq_len=32, cls_id=2, sep_id=3, pad_id=0, seed=5, dupe_factor=2)
    assert len(more) > 1.8 * len(one)
    assert len(one.subset(7)) == 7 and set(one[0]) == {"input_ids", "token_type_ids", "attention_mask",
                                                      "next_sentence_label"}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"objective": "clm"}, ValueError, "objective must be one of"),
        ({"seq_len": 4}, ValueError, "seq_len must be an int >= 5"),
        ({"dupe_factor": 0}, ValueError, "dupe_factor must be a positive int"),
        ({"docs": [[[5, 6]]]}, ValueError, "at least 2 documents"),
        ({"docs": [[[5]], []]}, ValueError, "non-empty documents"),
    ],
)
def test_bad_pair_arguments(kwargs, error, message):
    args = dict(docs=synthetic_docs(3, 4), seq_len=32, cls_id=2, sep_id=3, pad_id=0) | kwargs
    with pytest.raises(error, match=message):
        build_pair_examples(**args)


def test_objectives_cut_the_same_chunks():
    """Same seed, same cuts: the objectives differ only in what happens to B (fair comparison)."""
    docs = synthetic_docs()
    kw = dict(seq_len=32, cls_id=2, sep_id=3, pad_id=0, seed=3)
    rows = {o: _decode_pairs(build_pair_examples(docs, objective=o, **kw)) for o in OBJECTIVES}
    assert len(rows["mlm"]) == len(rows["sop"])
    for (a, b, _), (sa, sb, label) in zip(rows["mlm"], rows["sop"], strict=True):
        if label == IS_NEXT:
            assert (sa, sb) == (a, b)
        else:  # the same chunk swapped (truncation then trims other ends, so compare sentence ids)
            assert set(sa) & set(b) and set(sb) & set(a) and max(sb) <= min(sa)
