"""Checkers for lesson 2.1, scaled dot-product attention
(chapters/02_attention/01_scaled_dot_product_attention.ipynb).

Each checker calls the reader's function on small fixed inputs, compares it
with the reference in :mod:`sslm_utils.models.attention`, and names the mistake
when it recognises one (a missing √d_k, a mask that lets the future through...).
"""

from __future__ import annotations

import math

import torch

from ...models.attention import causal_mask, scaled_dot_product_attention
from ..feedback import Feedback, answer, check_close, check_shape, run_checker


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


def _check_unmasked(fb: Feedback, fn, q, k, v) -> bool:
    """Attention without a mask: the weights' shape, normalisation and scaling, then the output."""
    d_k = q.shape[-1]
    got = _unpack(fb, answer(fn, q, k, v), "fn(q, k, v)")
    if got is None:
        return False
    out, weights = got
    ok = check_shape(fb, weights, (2, 3, 5, 6), "weights (batch, heads, seq_q, seq_k)")
    ok &= check_shape(fb, out, (2, 3, 5, 8), "output (batch, heads, seq_q, d_v)")
    if not ok:
        return False
    weights = weights.detach().double()
    if not torch.allclose(weights.sum(-1), torch.ones(2, 3, 5, dtype=torch.float64), atol=1e-5):
        if torch.allclose(weights.sum(-2), torch.ones(2, 3, 6, dtype=torch.float64), atol=1e-5):
            fb.fail("the weights sum to 1 over the queries: take the softmax over the keys, dim=-1.")
        else:
            fb.fail("each row of weights must sum to 1 (a softmax over the keys, dim=-1).")
        return False
    ref_w = _softmax_weights(q, k, 1 / math.sqrt(d_k)).double()
    if not torch.allclose(weights, ref_w, atol=1e-5):
        for scale, hint in (
            (1.0, "the scores were not divided by √d_k: use (q @ k.transpose(-2, -1)) / math.sqrt(d_k)."),
            (1 / d_k, "the scores were divided by d_k; divide by its square root, √d_k."),
            (math.sqrt(d_k), "the scores were multiplied by √d_k; divide by it instead."),
        ):
            if torch.allclose(weights, _softmax_weights(q, k, scale).double(), atol=1e-5):
                fb.fail(hint)
                return False
        check_close(fb, weights, ref_w, "weights", atol=1e-5)
        return False
    ref_out, _ = scaled_dot_product_attention(q, k, v)
    if not check_close(fb, out, ref_out, "output", atol=1e-5):
        fb.messages.append("the weights are right: the output is weights @ v.")
        return False
    return True


def _check_masked(fb: Feedback, fn, q, k, v) -> None:
    """Attention with a causal mask of shape (seq_q, seq_k) = (5, 6): masked keys get zero weight."""
    mask = causal_mask(5, 6)
    got = _unpack(fb, answer(fn, q, k, v, mask=mask), "fn(q, k, v, mask=mask)")
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


def check_attention(fn) -> Feedback:
    """``fn(q, k, v, mask=None)`` must return ``(softmax(q kᵀ/√d_k) v, weights)``."""

    def body(fb: Feedback):
        q, k, v = _inputs()
        if _check_unmasked(fb, fn, q, k, v):
            _check_masked(fb, fn, q, k, v)

    return run_checker("scaled dot-product attention", body)


def check_causal_mask(fn) -> Feedback:
    """``fn(n)`` must return the ``(n, n)`` bool mask with True on and below the diagonal."""

    def body(fb: Feedback):
        for n in (4, 7, 1):
            mask = answer(fn, n)
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
        mask = answer(fn, am)
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


__all__ = [
    "check_attention",
    "check_causal_mask",
    "check_padding_mask",
]
