"""Lesson 2.2's checkers accept the solutions and name the typical mistakes."""

import torch

from sslm_utils.exercises.attention.transformer_layer import (
    check_pre_ln_residual,
    check_sinusoidal_positions,
    check_split_heads,
)
from sslm_utils.models.transformer import sinusoidal_positions

from .. import rejects

# --------------------------------------------------------------------------- heads


def test_split_heads_accepts_solution():
    def solution(x, n_heads):
        b, s, d = x.shape
        return x.view(b, s, n_heads, d // n_heads).transpose(1, 2)

    check_split_heads(solution).assert_passed()


def test_split_heads_rejects_typical_mistakes():
    rejects(check_split_heads(lambda x, h: x.view(x.shape[0], h, x.shape[1], -1)), "mix positions")
    rejects(check_split_heads(lambda x, h: x.view(x.shape[0], x.shape[1], h, -1)), "transpose")
    rejects(
        check_split_heads(lambda x, h: x.view(x.shape[0], x.shape[1], h, -1).permute(0, 2, 3, 1)), "swapped"
    )
    rejects(
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
    rejects(check_sinusoidal_positions(lambda n, d: _pe(n, d, swap=True)), "swapped")
    rejects(check_sinusoidal_positions(lambda n, d: _pe(n, d, layout="halves")), "interleaves")
    rejects(check_sinusoidal_positions(lambda n, d: _pe(n, d, exponent=0.5)), "exponent")
    rejects(check_sinusoidal_positions(lambda n, d: _pe(n, d).T), "shape")


# --------------------------------------------------------------------------- pre-LN


def test_pre_ln_accepts_solution():
    check_pre_ln_residual(lambda x, sub, norm: x + sub(norm(x))).assert_passed()


def test_pre_ln_rejects_typical_mistakes():
    rejects(check_pre_ln_residual(lambda x, sub, norm: norm(x + sub(x))), "post-LN")
    rejects(check_pre_ln_residual(lambda x, sub, norm: sub(norm(x))), "residual")
    rejects(check_pre_ln_residual(lambda x, sub, norm: norm(x) + sub(norm(x))), "x itself")
    rejects(check_pre_ln_residual(lambda x, sub, norm: x + sub(x)), "result")
