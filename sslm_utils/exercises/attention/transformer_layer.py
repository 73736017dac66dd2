"""Checkers for lesson 2.2, the transformer layer (chapters/02_attention/02_transformer_layer.ipynb).

Each checker compares the reader's function with the package's reference and
names the mistake when it recognises one (heads reshaped without a transpose,
sine and cosine swapped, a post-LN block where pre-LN was asked for...).
"""

from __future__ import annotations

import torch
from torch import nn

from ...models.transformer import sinusoidal_positions
from ..feedback import Feedback, answer, check_close, check_shape, run_checker


def check_split_heads(fn) -> Feedback:
    """``fn(x, n_heads)``: ``(batch, seq, d_model)`` → ``(batch, heads, seq, d_head)``."""

    def body(fb: Feedback):
        x = torch.arange(2 * 5 * 12, dtype=torch.float32).reshape(2, 5, 12)
        got = answer(fn, x, 3)
        if not isinstance(got, torch.Tensor):
            fb.fail(f"return a torch.Tensor, got {type(got).__name__}.")
            return
        want = x.view(2, 5, 3, 4).transpose(1, 2)
        shape = tuple(got.shape)
        if shape == (2, 5, 3, 4):
            fb.fail("shape (batch, seq, heads, d_head): now move heads to axis 1 with .transpose(1, 2).")
            return
        if shape == (2, 3, 4, 5):
            fb.fail("shape (batch, heads, d_head, seq): seq and d_head are swapped; expected (2, 3, 5, 4).")
            return
        if not check_shape(fb, got, (2, 3, 5, 4), "result (batch, heads, seq, d_head)"):
            return
        if torch.equal(got, x.reshape(2, 3, 5, 4)):
            fb.fail(
                "the shape is right but heads mix positions: reshaping straight to (batch, heads, seq, d_head) "
                "cuts the sequence, not the features. View as (batch, seq, heads, d_head), then transpose(1, 2)."
            )
            return
        if torch.equal(got, x.view(2, 5, 4, 3).permute(0, 3, 1, 2)):
            fb.fail("each head must take a contiguous slice of d_head features: view(batch, seq, heads, d_head).")
            return
        check_close(fb, got, want, "result")

    return run_checker("split heads by reshaping", body)


def check_sinusoidal_positions(fn) -> Feedback:
    """``fn(n, d)`` must return the interleaved sin/cos encodings ``(n, d)``."""

    def body(fb: Feedback):
        for n, d in ((10, 8), (50, 16)):
            got = answer(fn, n, d)
            if not isinstance(got, torch.Tensor):
                fb.fail(f"return a torch.Tensor, got {type(got).__name__}.")
                return
            if not check_shape(fb, got, (n, d), f"fn({n}, {d})"):
                return
            want = sinusoidal_positions(n, d)
            got = got.detach().double()
            if torch.allclose(got, want.double(), atol=1e-5):
                continue
            pos = torch.arange(n, dtype=torch.float64)[:, None]
            i2 = torch.arange(0, d, 2, dtype=torch.float64)
            angle = pos / 10_000 ** (i2 / d)
            swapped = torch.stack([angle.cos(), angle.sin()], -1).reshape(n, d)
            halves = torch.cat([angle.sin(), angle.cos()], -1)
            slow = pos / 10_000 ** (i2 / 2 / d)
            wrong_exp = torch.stack([slow.sin(), slow.cos()], -1).reshape(n, d)
            for bad, hint in (
                (swapped, "sine and cosine are swapped: even dimensions 2i hold the sine, odd 2i+1 the cosine."),
                (halves, "you concatenated [all sines, all cosines]; this book interleaves them: "
                         "pe[:, 0::2] = sin, pe[:, 1::2] = cos."),
                (wrong_exp, "the frequencies are wrong: the exponent is 2i/d where 2i is the even dimension index."),
            ):
                if torch.allclose(got, bad, atol=1e-5):
                    fb.fail(hint)
                    return
            check_close(fb, got, want, f"fn({n}, {d})", atol=1e-5)
            return

    return run_checker("sinusoidal positional encodings", body)


def check_pre_ln_residual(fn) -> Feedback:
    """``fn(x, sublayer, norm)`` must compute the pre-LN block ``x + sublayer(norm(x))``."""

    def body(fb: Feedback):
        g = torch.Generator().manual_seed(2)
        x = 3.0 * torch.randn(2, 4, 8, generator=g) + 1.0
        sublayer = nn.Linear(8, 8)
        norm = nn.LayerNorm(8)
        with torch.no_grad():
            for p in (*sublayer.parameters(), *norm.parameters()):
                p.copy_(torch.randn(p.shape, generator=g))
            got = answer(fn, x, sublayer, norm)
            if not isinstance(got, torch.Tensor):
                fb.fail(f"return a torch.Tensor, got {type(got).__name__}.")
                return
            if not check_shape(fb, got, (2, 4, 8), "result"):
                return
            want = x + sublayer(norm(x))
            if torch.allclose(got, want, atol=1e-5):
                return
            for bad, hint in (
                (norm(x + sublayer(x)), "that is post-LN, norm(x + sublayer(x)); pre-LN normalises the "
                                        "sublayer's input and leaves the residual path untouched."),
                (sublayer(norm(x)), "the residual connection is missing: add x back."),
                (norm(x) + sublayer(norm(x)), "the residual must carry x itself, not norm(x)."),
                (norm(x + sublayer(norm(x))), "pre-LN has no LayerNorm after the addition: x + sublayer(norm(x))."),
            ):
                if torch.allclose(got, bad, atol=1e-5):
                    fb.fail(hint)
                    return
            check_close(fb, got, want, "result", atol=1e-5)

    return run_checker("a pre-LN residual block", body)


__all__ = [
    "check_pre_ln_residual",
    "check_sinusoidal_positions",
    "check_split_heads",
]
