"""Lesson 2.1's checkers accept the solutions and name the typical mistakes."""

import math

import torch

from sslm_utils.exercises.attention.scaled_dot_product_attention import (
    check_attention,
    check_causal_mask,
    check_padding_mask,
)
from sslm_utils.models.attention import causal_mask, padding_mask, scaled_dot_product_attention

from .. import rejects

# --------------------------------------------------------------------------- attention


def attention_solution(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)
    return weights @ v, weights


def _attention_variant(scale=None, dim=-1, mask_mode="fill"):
    def fn(q, k, v, mask=None):
        s = 1 / math.sqrt(q.shape[-1]) if scale is None else scale(q.shape[-1])
        scores = q @ k.transpose(-2, -1) * s
        if mask is not None:
            if mask_mode == "fill":
                scores = scores.masked_fill(~mask, float("-inf"))
            elif mask_mode == "inverted":
                scores = scores.masked_fill(mask, float("-inf"))
            elif mask_mode == "multiply":
                scores = scores * mask
        weights = scores.softmax(dim=dim)
        return weights @ v, weights

    return fn


def test_attention_accepts_solution_and_package():
    check_attention(attention_solution).assert_passed()
    check_attention(scaled_dot_product_attention).assert_passed()


def test_attention_rejects_typical_mistakes():
    rejects(check_attention(_attention_variant(scale=lambda d: 1.0)), "√d_k", "not divided")
    rejects(check_attention(_attention_variant(scale=lambda d: 1 / d)), "divided by d_k")
    rejects(check_attention(_attention_variant(dim=-2)), "over the queries")
    rejects(check_attention(_attention_variant(mask_mode="ignore")), "mask is False")
    rejects(check_attention(_attention_variant(mask_mode="multiply")), "mask is False")
    rejects(check_attention(lambda q, k, v, mask=None: attention_solution(q, k, v, mask)[0]), "pair")
    rejects(check_attention(lambda q, k, v, mask=None: (attention_solution(q, k, v, mask)[1],) * 2), "shape")


def test_attention_reports_inverted_mask():
    rejects(check_attention(_attention_variant(mask_mode="inverted")), "inverted")


def test_attention_unsolved_starter_reports_not_raises():
    def starter(q, k, v, mask=None):
        raise NotImplementedError

    rejects(check_attention(starter), "NotImplementedError")


# --------------------------------------------------------------------------- causal mask


def test_causal_mask_accepts_solution():
    check_causal_mask(lambda n: torch.tril(torch.ones(n, n, dtype=torch.bool))).assert_passed()
    check_causal_mask(causal_mask).assert_passed()


def test_causal_mask_rejects_typical_mistakes():
    rejects(check_causal_mask(lambda n: torch.ones(n, n, dtype=torch.bool).triu()), "future")
    rejects(check_causal_mask(lambda n: torch.ones(n, n, dtype=torch.bool).triu(1)), "inverted")
    rejects(check_causal_mask(lambda n: torch.ones(n, n, dtype=torch.bool).tril(-1)), "diagonal")
    rejects(check_causal_mask(lambda n: torch.ones(n, n).tril()), "bool")
    rejects(check_causal_mask(lambda n: torch.ones(n, n, dtype=torch.bool)), "future")
    rejects(check_causal_mask(lambda n: torch.eye(n, dtype=torch.bool)), "past")
    rejects(check_causal_mask(lambda n: torch.ones(n, n + 1, dtype=torch.bool).tril()), "shape")


# --------------------------------------------------------------------------- padding mask


def test_padding_mask_accepts_solution():
    check_padding_mask(lambda am: am.bool()[:, None, None, :]).assert_passed()
    check_padding_mask(padding_mask).assert_passed()


def test_padding_mask_rejects_typical_mistakes():
    rejects(check_padding_mask(lambda am: am.bool()), "broadcast")
    rejects(check_padding_mask(lambda am: am.bool()[:, None, :, None]), "queries")
    rejects(check_padding_mask(lambda am: ~am.bool()[:, None, None, :]), "inverted")
    rejects(check_padding_mask(lambda am: am[:, None, None, :]), "bool")
