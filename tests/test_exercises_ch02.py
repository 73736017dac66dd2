"""Chapter 2's checkers accept the solutions and name the typical mistakes."""

import math

import torch

from sslm_utils.attention import causal_mask, padding_mask, scaled_dot_product_attention, sinusoidal_positions
from sslm_utils.exercises.ch02 import (
    check_attention,
    check_causal_mask,
    check_padding_mask,
    check_pre_ln_residual,
    check_sinusoidal_positions,
    check_split_heads,
)


def _rejects(feedback, *words):
    assert not feedback.passed, str(feedback)
    text = " ".join(feedback.messages)
    for w in words:
        assert w in text, f"{w!r} not in: {text}"


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
    _rejects(check_attention(_attention_variant(scale=lambda d: 1.0)), "√d_k", "not divided")
    _rejects(check_attention(_attention_variant(scale=lambda d: 1 / d)), "divided by d_k")
    _rejects(check_attention(_attention_variant(dim=-2)), "over the queries")
    _rejects(check_attention(_attention_variant(mask_mode="ignore")), "mask is False")
    _rejects(check_attention(_attention_variant(mask_mode="multiply")), "mask is False")
    _rejects(check_attention(lambda q, k, v, mask=None: attention_solution(q, k, v, mask)[0]), "pair")
    _rejects(check_attention(lambda q, k, v, mask=None: (attention_solution(q, k, v, mask)[1],) * 2), "shape")


def test_attention_reports_inverted_mask():
    _rejects(check_attention(_attention_variant(mask_mode="inverted")), "inverted")


def test_attention_unsolved_starter_reports_not_raises():
    def starter(q, k, v, mask=None):
        raise NotImplementedError

    _rejects(check_attention(starter), "NotImplementedError")


# --------------------------------------------------------------------------- causal mask


def test_causal_mask_accepts_solution():
    check_causal_mask(lambda n: torch.tril(torch.ones(n, n, dtype=torch.bool))).assert_passed()
    check_causal_mask(causal_mask).assert_passed()


def test_causal_mask_rejects_typical_mistakes():
    _rejects(check_causal_mask(lambda n: torch.ones(n, n, dtype=torch.bool).triu()), "future")
    _rejects(check_causal_mask(lambda n: torch.ones(n, n, dtype=torch.bool).triu(1)), "inverted")
    _rejects(check_causal_mask(lambda n: torch.ones(n, n, dtype=torch.bool).tril(-1)), "diagonal")
    _rejects(check_causal_mask(lambda n: torch.ones(n, n).tril()), "bool")
    _rejects(check_causal_mask(lambda n: torch.ones(n, n, dtype=torch.bool)), "future")
    _rejects(check_causal_mask(lambda n: torch.eye(n, dtype=torch.bool)), "past")
    _rejects(check_causal_mask(lambda n: torch.ones(n, n + 1, dtype=torch.bool).tril()), "shape")


# --------------------------------------------------------------------------- padding mask


def test_padding_mask_accepts_solution():
    check_padding_mask(lambda am: am.bool()[:, None, None, :]).assert_passed()
    check_padding_mask(padding_mask).assert_passed()


def test_padding_mask_rejects_typical_mistakes():
    _rejects(check_padding_mask(lambda am: am.bool()), "broadcast")
    _rejects(check_padding_mask(lambda am: am.bool()[:, None, :, None]), "queries")
    _rejects(check_padding_mask(lambda am: ~am.bool()[:, None, None, :]), "inverted")
    _rejects(check_padding_mask(lambda am: am[:, None, None, :]), "bool")


# --------------------------------------------------------------------------- heads


def test_split_heads_accepts_solution():
    def solution(x, n_heads):
        b, s, d = x.shape
        return x.view(b, s, n_heads, d // n_heads).transpose(1, 2)

    check_split_heads(solution).assert_passed()


def test_split_heads_rejects_typical_mistakes():
    _rejects(check_split_heads(lambda x, h: x.view(x.shape[0], h, x.shape[1], -1)), "mix positions")
    _rejects(check_split_heads(lambda x, h: x.view(x.shape[0], x.shape[1], h, -1)), "transpose")
    _rejects(
        check_split_heads(lambda x, h: x.view(x.shape[0], x.shape[1], h, -1).permute(0, 2, 3, 1)), "swapped"
    )
    _rejects(
        check_split_heads(lambda x, h: x.view(x.shape[0], x.shape[1], -1, h).permute(0, 3, 1, 2)), "contiguous"
    )


# --------------------------------------------------------------------------- positions


def _pe(n, d, layout="interleaved", exponent=1.0, swap=False):
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    angle = pos / 10_000 ** (torch.arange(0, d, 2, dtype=torch.float64) * exponent / d)
    a, b = (angle.cos(), angle.sin()) if swap else (angle.sin(), angle.cos())
    if layout == "halves":
        return torch.cat([a, b], -1).float()
    return torch.stack([a, b], -1).reshape(n, d).float()


def test_sinusoidal_accepts_solution():
    check_sinusoidal_positions(_pe).assert_passed()
    check_sinusoidal_positions(sinusoidal_positions).assert_passed()


def test_sinusoidal_rejects_typical_mistakes():
    _rejects(check_sinusoidal_positions(lambda n, d: _pe(n, d, swap=True)), "swapped")
    _rejects(check_sinusoidal_positions(lambda n, d: _pe(n, d, layout="halves")), "interleaves")
    _rejects(check_sinusoidal_positions(lambda n, d: _pe(n, d, exponent=0.5)), "exponent")
    _rejects(check_sinusoidal_positions(lambda n, d: _pe(n, d).T), "shape")


# --------------------------------------------------------------------------- pre-LN


def test_pre_ln_accepts_solution():
    check_pre_ln_residual(lambda x, sub, norm: x + sub(norm(x))).assert_passed()


def test_pre_ln_rejects_typical_mistakes():
    _rejects(check_pre_ln_residual(lambda x, sub, norm: norm(x + sub(x))), "post-LN")
    _rejects(check_pre_ln_residual(lambda x, sub, norm: sub(norm(x))), "residual")
    _rejects(check_pre_ln_residual(lambda x, sub, norm: norm(x) + sub(norm(x))), "x itself")
    _rejects(check_pre_ln_residual(lambda x, sub, norm: x + sub(x)), "result")
