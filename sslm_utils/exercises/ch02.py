"""Checkers for chapter 2's exercises (the mathematics of attention).

Each checker calls the reader's function on small fixed inputs, compares it
with the reference in :mod:`sslm_utils.attention`, and names the mistake when
it recognises one (a missing √d_k, a mask that lets the future through,
heads reshaped without a transpose...).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..attention import causal_mask, scaled_dot_product_attention, sinusoidal_positions
from . import Feedback, check_close, check_shape, run_checker


def _inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    # seq_q != seq_k and d_k != d_v so that a transposed matrix cannot pass by accident;
    # a large spread of the scores makes a missing 1/sqrt(d_k) visible.
    q = 2.0 * torch.randn(2, 3, 5, 16, generator=g)
    k = 2.0 * torch.randn(2, 3, 6, 16, generator=g)
    v = torch.randn(2, 3, 6, 8, generator=g)
    return q, k, v


def _unpack(fb: Feedback, result, what: str):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fb.fail(f"{what} should return a pair (output, weights), got {type(result).__name__}.")
        return None
    out, weights = result
    for name, t in (("output", out), ("weights", weights)):
        if not isinstance(t, torch.Tensor):
            fb.fail(f"{name} should be a torch.Tensor, got {type(t).__name__}.")
            return None
    return out, weights


def _softmax_weights(q, k, scale):
    return (q @ k.transpose(-2, -1) * scale).softmax(-1)


# --------------------------------------------------------------------------- notebook 2.1


def check_attention(fn) -> Feedback:
    """``fn(q, k, v, mask=None)`` must return ``(softmax(q kᵀ/√d_k) v, weights)``."""

    def body(fb: Feedback):
        q, k, v = _inputs()
        d_k = q.shape[-1]
        got = _unpack(fb, fn(q, k, v), "fn(q, k, v)")
        if got is None:
            return
        out, weights = got
        ok = check_shape(fb, weights, (2, 3, 5, 6), "weights (batch, heads, seq_q, seq_k)")
        ok &= check_shape(fb, out, (2, 3, 5, 8), "output (batch, heads, seq_q, d_v)")
        if not ok:
            return
        weights = weights.detach().double()
        if not torch.allclose(weights.sum(-1), torch.ones(2, 3, 5, dtype=torch.float64), atol=1e-5):
            if torch.allclose(weights.sum(-2), torch.ones(2, 3, 6, dtype=torch.float64), atol=1e-5):
                fb.fail("the weights sum to 1 over the queries: take the softmax over the keys, dim=-1.")
            else:
                fb.fail("each row of weights must sum to 1 (a softmax over the keys, dim=-1).")
            return
        ref_w = _softmax_weights(q, k, 1 / math.sqrt(d_k)).double()
        if not torch.allclose(weights, ref_w, atol=1e-5):
            for scale, hint in (
                (1.0, "the scores were not divided by √d_k: use (q @ k.transpose(-2, -1)) / math.sqrt(d_k)."),
                (1 / d_k, "the scores were divided by d_k; divide by its square root, √d_k."),
                (math.sqrt(d_k), "the scores were multiplied by √d_k; divide by it instead."),
            ):
                if torch.allclose(weights, _softmax_weights(q, k, scale).double(), atol=1e-5):
                    fb.fail(hint)
                    return
            check_close(fb, weights, ref_w, "weights", atol=1e-5)
            return
        ref_out, _ = scaled_dot_product_attention(q, k, v)
        if not check_close(fb, out, ref_out, "output", atol=1e-5):
            fb.messages.append("the weights are right: the output is weights @ v.")
            return
        # with a mask: a causal mask of shape (seq_q, seq_k) = (5, 6)
        mask = causal_mask(5, 6)
        got = _unpack(fb, fn(q, k, v, mask=mask), "fn(q, k, v, mask=mask)")
        if got is None:
            return
        out_m, w_m = got
        if not check_shape(fb, w_m, (2, 3, 5, 6), "weights with a mask"):
            return
        w_m = w_m.detach().double()
        if (w_m[..., ~mask].abs() > 1e-6).any():
            if (w_m[..., mask].abs() < 1e-9).all():
                fb.fail("the mask is inverted: True means 'may attend', so fill the scores where mask is False.")
            else:
                fb.fail(
                    "positions where the mask is False got non-zero weight: before the softmax, "
                    "scores.masked_fill(~mask, float('-inf'))."
                )
            return
        ref_out_m, ref_w_m = scaled_dot_product_attention(q, k, v, mask)
        if check_close(fb, w_m, ref_w_m, "weights with a mask", atol=1e-5):
            check_close(fb, out_m, ref_out_m, "output with a mask", atol=1e-5)

    return run_checker("scaled dot-product attention", body)


def check_causal_mask(fn) -> Feedback:
    """``fn(n)`` must return the ``(n, n)`` bool mask with True on and below the diagonal."""

    def body(fb: Feedback):
        for n in (4, 7, 1):
            mask = fn(n)
            if not isinstance(mask, torch.Tensor):
                fb.fail(f"fn({n}) should return a torch.Tensor, got {type(mask).__name__}.")
                return
            if not check_shape(fb, mask, (n, n), f"fn({n})"):
                return
            if mask.dtype != torch.bool:
                fb.fail(f"return a bool tensor (True = may attend), got dtype {mask.dtype}; e.g. .bool().")
                return
            want = causal_mask(n)
            if torch.equal(mask, want):
                continue
            if n > 1 and torch.equal(mask, ~want):
                fb.fail("the mask is inverted: True must mean 'may attend' (on and below the diagonal).")
                return
            future = mask & ~want
            if future.any():
                i, j = (int(t) for t in torch.nonzero(future)[0])
                fb.fail(f"query {i} may attend to key {j} > {i}: the future leaks through the mask.")
                return
            if not mask.diagonal().all():
                fb.fail(
                    "the diagonal must be True: a token may attend to itself (with a strict mask "
                    "the first token has no key at all and its softmax is undefined)."
                )
                return
            i, j = (int(t) for t in torch.nonzero(want & ~mask)[0])
            fb.fail(f"query {i} cannot see key {j} <= {i}: every past position must stay visible.")
            return

    return run_checker("causal mask", body)


_ATTENTION_MASK = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])


def check_padding_mask(fn) -> Feedback:
    """``fn(attention_mask)`` must turn 1/0 ``(batch, seq)`` into a bool ``(batch, 1, 1, seq)`` key mask."""

    def body(fb: Feedback):
        am = _ATTENTION_MASK.clone()
        mask = fn(am)
        if not isinstance(mask, torch.Tensor):
            fb.fail(f"return a torch.Tensor, got {type(mask).__name__}.")
            return
        shape = tuple(mask.shape)
        if shape == (3, 5):
            fb.fail(
                "shape (batch, seq) = (3, 5) does not broadcast against the scores (batch, heads, seq_q, seq_k); "
                "add two axes: [:, None, None, :]."
            )
            return
        if shape == (3, 1, 5, 1):
            fb.fail("shape (3, 1, 5, 1) masks queries; a padding mask hides keys: shape (batch, 1, 1, seq).")
            return
        if not check_shape(fb, mask, (3, 1, 1, 5), "mask"):
            return
        if mask.dtype != torch.bool:
            fb.fail(f"return a bool tensor (True = may attend), got dtype {mask.dtype}.")
            return
        want = am.bool()[:, None, None, :]
        if torch.equal(mask, ~want):
            fb.fail("the mask is inverted: True must mark real tokens and False the padding.")
            return
        if not torch.equal(mask, want):
            fb.fail(f"mask[:, 0, 0, :] is {mask[:, 0, 0, :].int().tolist()}, expected {am.tolist()}.")
            return
        # the point of the mask: real tokens' outputs do not depend on how much padding follows
        g = torch.Generator().manual_seed(1)
        x = torch.randn(3, 2, 5, 4, generator=g)
        out, _ = scaled_dot_product_attention(x, x, x, mask)
        for b, length in enumerate(am.sum(1).tolist()):
            alone, _ = scaled_dot_product_attention(x[b : b + 1, :, :length], x[b : b + 1, :, :length],
                                                    x[b : b + 1, :, :length])
            check_close(fb, out[b : b + 1, :, :length], alone, f"output of sequence {b} with padding", atol=1e-5)

    return run_checker("padding mask", body)


# --------------------------------------------------------------------------- notebook 2.2


def check_split_heads(fn) -> Feedback:
    """``fn(x, n_heads)``: ``(batch, seq, d_model)`` → ``(batch, heads, seq, d_head)``."""

    def body(fb: Feedback):
        x = torch.arange(2 * 5 * 12, dtype=torch.float32).reshape(2, 5, 12)
        got = fn(x, 3)
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
            got = fn(n, d)
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
            got = fn(x, sublayer, norm)
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
    "check_attention",
    "check_causal_mask",
    "check_padding_mask",
    "check_pre_ln_residual",
    "check_sinusoidal_positions",
    "check_split_heads",
]
