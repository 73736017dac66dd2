"""Checkers for lesson 3.1, BERT: masked-LM and next-sentence prediction
(chapters/03_pretraining/01_bert_mlm_nsp.ipynb)."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from ...objectives.labels import IGNORE_INDEX
from ...objectives.pairs import encode_pair
from ..feedback import Feedback, answer, check_close, run_checker

# --------------------------------------------------------------------------- the 80/10/10 rule

_SPECIALS = (0, 1, 2, 3, 4)  # [PAD] [UNK] [CLS] [SEP] [MASK]
_MASK_ID, _VOCAB = 4, 1000


def _masking_case(seed: int = 0) -> torch.Tensor:
    """400 sequences of 128 ids with [CLS], a [SEP] and trailing padding: 51k maskable tokens."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(len(_SPECIALS), _VOCAB, (400, 128), generator=gen)
    ids[:, 0], ids[:, 60], ids[:, 120:] = 2, 3, 0
    ids[::7, 100:120] = 0  # some rows are shorter
    return ids


def check_mask_tokens(fn) -> Feedback:
    """``fn(input_ids, mask_id, special_ids, candidate_ids, generator)`` must return ``(inputs, labels)``
    with BERT's masking: 15 % of the non-special positions, of which 80 % [MASK], 10 % random, 10 % kept."""

    def body(fb: Feedback):
        ids = _masking_case()
        candidates = torch.arange(len(_SPECIALS), _VOCAB)
        result = answer(fn, ids.clone(), _MASK_ID, list(_SPECIALS), candidates, torch.Generator().manual_seed(1))
        if not (isinstance(result, tuple) and len(result) == 2):
            fb.fail("return a pair (inputs, labels).")
            return
        inputs, labels = (torch.as_tensor(x) for x in result)
        if inputs.shape != ids.shape or labels.shape != ids.shape:
            fb.fail(f"inputs and labels must both have the shape of input_ids {tuple(ids.shape)}, got "
                    f"{tuple(inputs.shape)} and {tuple(labels.shape)}.")
            return
        special = torch.isin(ids, torch.tensor(_SPECIALS))
        chosen = labels != IGNORE_INDEX
        if chosen.all():
            fb.fail("every label is a token id: positions that were not chosen need the label -100, "
                    "so the loss ignores them.")
            return
        if chosen[special].any():
            fb.fail(f"{int(chosen[special].sum())} special or padding positions were chosen; [CLS], [SEP] and "
                    "[PAD] must never be masked (exclude them before drawing).")
            return
        if not torch.equal(labels[chosen], ids[chosen]):
            fb.fail("a chosen position's label must be its ORIGINAL token id (what the model should recover).")
            return
        if not torch.equal(inputs[~chosen], ids[~chosen]):
            fb.fail("positions that were not chosen must keep their token in inputs.")
            return
        eligible, n = int((~special).sum()), int(chosen.sum())
        rate, tol = n / eligible, 4 * math.sqrt(0.15 * 0.85 / eligible)
        if abs(rate - 0.15) > tol:
            fb.fail(f"{rate:.1%} of the maskable positions were chosen, expected 15 % (± {tol:.1%}).")
            return
        masked = float((inputs[chosen] == _MASK_ID).float().mean())
        kept = float((inputs[chosen] == ids[chosen]).float().mean())
        swapped = 1.0 - masked - kept
        tol = 4 * math.sqrt(0.8 * 0.2 / n) + 0.002  # + the 1-in-1000 chance a random token equals the original
        if abs(masked - 0.8) > tol or abs(swapped - 0.1) > tol or abs(kept - 0.1) > tol:
            hint = ""
            if masked > 0.95:
                hint = " Every chosen position became [MASK]: the 10 % random / 10 % unchanged cases are missing."
            elif abs(swapped - 0.02) < 0.01 or abs(kept - 0.18) < 0.02:
                hint = (" Of the 20 % that are not [MASK], half should be random: take 50 % of the remainder "
                        "(or split one uniform draw at 0.8 and 0.9), not 10 % of it.")
            fb.fail(f"of the chosen positions {masked:.1%} are [MASK], {swapped:.1%} random, {kept:.1%} unchanged; "
                    f"expected 80 / 10 / 10 %.{hint}")
            return
        replaced = inputs[chosen & (inputs != _MASK_ID) & (inputs != ids)]
        if torch.isin(replaced, torch.tensor(_SPECIALS)).any():
            fb.fail("some random replacements are special tokens; draw them from candidate_ids.")

    return run_checker("BERT's 15 % masking with the 80/10/10 rule", body)


# --------------------------------------------------------------------------- an NSP pair

_PAIR_CASES = [
    ([10, 11, 12], [20, 21], 12),
    ([10], [20, 21, 22, 23], 9),
    ([10, 11], [20], 6),  # no padding left
]


def check_nsp_pair(fn) -> Feedback:
    """``fn(a, b, seq_len, cls_id, sep_id, pad_id)`` must return a dict with ``input_ids``,
    ``token_type_ids`` and ``attention_mask`` for ``[CLS] A [SEP] B [SEP]`` padded to ``seq_len``."""

    def body(fb: Feedback):
        for a, b, seq_len in _PAIR_CASES:
            want = encode_pair(a, b, seq_len=seq_len, cls_id=2, sep_id=3, pad_id=0)
            got = answer(fn, list(a), list(b), seq_len, 2, 3, 0)
            if not isinstance(got, dict):
                fb.fail(f"return a dict with keys {sorted(want)}, got {type(got).__name__}.")
                return
            for key in ("input_ids", "token_type_ids", "attention_mask"):
                if key not in got:
                    fb.fail(f"the result has no {key!r}.")
                    return
                value = [int(x) for x in torch.as_tensor(got[key]).flatten().tolist()]
                if value == want[key]:
                    continue
                hint = _pair_hint(key, value, want[key], a, b)
                fb.fail(f"for A={a}, B={b}, seq_len={seq_len}: {key} is {value}, expected {want[key]}. {hint}")
                return

    return run_checker("an NSP pair: [CLS] A [SEP] B [SEP]", body)


def _pair_hint(key: str, got: list[int], want: list[int], a, b) -> str:
    if len(got) != len(want):
        return f"It has {len(got)} entries; pad it to seq_len = {len(want)}."
    if key == "input_ids":
        return "Start with [CLS] (2), close A and B with [SEP] (3) each, then fill with [PAD] (0)."
    if key == "token_type_ids":
        real = len(a) + len(b) + 3
        if got[len(a) + 2 : real] != want[len(a) + 2 : real]:
            return "B and the [SEP] that closes it belong to segment 1."
        if got[:len(a) + 2] != want[:len(a) + 2]:
            return "[CLS], A and the first [SEP] belong to segment 0."
        return "Padding gets segment 0."
    return "1 for every real token (specials included), 0 for padding."


# --------------------------------------------------------------------------- the MLM loss


def _mlm_case(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(3, 7, 11, generator=gen) * 2  # (B, L, V)
    labels = torch.randint(0, 11, (3, 7), generator=gen)
    labels[torch.rand(3, 7, generator=gen) > 0.3] = IGNORE_INDEX
    labels[0, 0] = 5  # at least one masked position
    return logits, labels


def check_mlm_loss(fn) -> Feedback:
    """``fn(logits, labels)`` must return the masked-LM loss: the mean, over positions whose label is not
    -100, of the cross-entropy of a softmax over the whole vocabulary."""

    def body(fb: Feedback):
        for seed in (0, 1):
            logits, labels = _mlm_case(seed)
            keep = labels != IGNORE_INDEX
            want = F.cross_entropy(logits[keep], labels[keep])
            got = answer(fn, logits.clone(), labels.clone())
            if check_close(Feedback("probe"), got, want, rtol=1e-4, atol=1e-5):
                continue
            got_value = float(torch.as_tensor(got).float().mean())
            one_hot = F.one_hot(labels[keep], logits.shape[-1]).float()
            binary = F.binary_cross_entropy_with_logits(logits[keep], one_hot)
            everywhere = F.cross_entropy(logits.flatten(0, 1), labels.clamp(min=0).flatten())
            summed = F.cross_entropy(logits[keep], labels[keep], reduction="sum")
            if math.isclose(got_value, float(binary), rel_tol=1e-4):
                hint = ("that is a binary (sigmoid) cross-entropy, one yes/no per vocabulary entry; the target is "
                        "one token out of V, so use a softmax over the vocabulary (F.cross_entropy).")
            elif math.isclose(got_value, float(everywhere), rel_tol=1e-4):
                hint = "you averaged over every position; only those whose label is not -100 count."
            elif math.isclose(got_value, float(summed), rel_tol=1e-4):
                hint = "you summed over the masked positions; take the mean."
            else:
                hint = "compute F.cross_entropy over the masked positions only (ignore_index=-100 does it)."
            fb.fail(f"the loss came out {got_value:.5g}, expected {float(want):.5g}: {hint}")
            return

    return run_checker("the masked-LM loss", body)
