"""Chapter 2's attention building blocks, one tested version for every later chapter.

Conventions used throughout:

* Tensors are batch-first: a sequence of vectors is ``(batch, seq, d_model)``;
  inside attention, heads get their own axis, ``(batch, heads, seq, d_head)``.
* A *mask* is boolean and ``True`` means "may attend" — the same convention
  as the boolean ``attn_mask`` of :func:`torch.nn.functional.scaled_dot_product_attention`.
  (Beware: :class:`torch.nn.MultiheadAttention` uses the opposite convention,
  ``True`` = "ignore", and Hugging Face models take 1/0 integers or an
  additive float mask; :func:`to_additive_mask` converts for the latter.)
* A mask must broadcast against the scores ``(..., seq_q, seq_k)``: a causal
  mask is ``(seq_q, seq_k)``, a padding mask ``(batch, 1, 1, seq_k)``.

The layers follow BERT (post-LN, Devlin et al., 2019) by default and GPT-2
(pre-LN) with ``norm_first=True``; :func:`copy_from_bert_layer` and
:func:`copy_to_bert_layer` move weights between them and ``transformers``'
``BertLayer``, so a test can show they compute the same function.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .. import checks


def _check_mask(mask, scores_shape: tuple) -> torch.Tensor:
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a torch.Tensor (bool, True = may attend), got {type(mask).__name__}.")
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise TypeError(
            f"mask has dtype {mask.dtype}; use a bool mask (True = may attend), e.g. attention_mask.bool(), "
            "or a float mask that is added to the scores. An integer mask is ambiguous."
        )
    try:
        broadcast = torch.broadcast_shapes(tuple(mask.shape), scores_shape)
    except RuntimeError:
        broadcast = None
    if broadcast != scores_shape:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to the attention scores of shape "
            f"{scores_shape} (..., seq_q, seq_k). A causal mask is (seq_q, seq_k); a padding mask is "
            "(batch, 1, 1, seq_k), see padding_mask()."
        )
    return mask


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    scale: float | None = None,
    dropout_p: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q kᵀ / √d_k) v, returning ``(output, weights)``.

    Shapes: ``q`` is ``(..., seq_q, d_k)``, ``k`` is ``(..., seq_k, d_k)``,
    ``v`` is ``(..., seq_k, d_v)``; the output is ``(..., seq_q, d_v)`` and the
    weights ``(..., seq_q, seq_k)``. ``mask`` is bool (``True`` = may attend)
    or float (added to the scores) and broadcasts to ``(..., seq_q, seq_k)``.
    A query whose every key is masked gets zero weights and a zero output,
    as in PyTorch's own function. ``scale`` defaults to ``1 / √d_k``;
    ``dropout_p`` drops attention weights (pass 0 at evaluation).
    """
    checks.tensor("q", q, 2)
    checks.tensor("k", k, 2)
    checks.tensor("v", v, 2)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"queries and keys must share d_k (their last dimension): q has shape {tuple(q.shape)}, "
            f"k has shape {tuple(k.shape)}."
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"keys and values must have the same number of positions (dimension -2): k has shape "
            f"{tuple(k.shape)}, v has shape {tuple(v.shape)}."
        )
    try:
        batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except RuntimeError as exc:
        raise ValueError(
            f"the leading (batch, heads) dimensions of q {tuple(q.shape)}, k {tuple(k.shape)} and "
            f"v {tuple(v.shape)} do not broadcast."
        ) from exc
    checks.fraction("dropout_p", dropout_p, open_high=True)
    d_k = q.shape[-1]
    scale = 1.0 / math.sqrt(d_k) if scale is None else float(scale)

    scores = q @ k.transpose(-2, -1) * scale  # (..., seq_q, seq_k)
    if mask is not None:
        _check_mask(mask, (*batch, q.shape[-2], k.shape[-2]))
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))
            # rows with no allowed key would be softmax(-inf, ..., -inf) = NaN: zero them instead
            empty = ~mask.any(dim=-1, keepdim=True)
            scores = scores.masked_fill(empty, 0.0)
        else:
            scores = scores + mask
    weights = scores.softmax(dim=-1)
    if mask is not None and mask.dtype == torch.bool:
        weights = weights.masked_fill(~mask, 0.0)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    return weights @ v, weights  # (..., seq_q, d_v), (..., seq_q, seq_k)


def causal_mask(n: int, m: int | None = None, *, device=None) -> torch.Tensor:
    """``(n, m)`` bool mask with ``True`` on and below the diagonal: query i sees keys 0..i.

    ``m`` defaults to ``n``; the diagonal starts at the top-left corner, like
    ``is_causal=True`` in PyTorch's function.
    """
    checks.positive_int("n", n)
    m = n if m is None else checks.positive_int("m", m)
    return torch.ones(n, m, dtype=torch.bool, device=device).tril()


def padding_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Turn a tokenizer's ``attention_mask`` (batch, seq) of 1 = token / 0 = pad into a key mask.

    Returns a bool ``(batch, 1, 1, seq)`` tensor that broadcasts against
    scores ``(batch, heads, seq_q, seq)``: no query may attend to a pad key.
    """
    checks.tensor("attention_mask", attention_mask, 2)
    if attention_mask.dim() != 2:
        raise ValueError(
            f"attention_mask must have shape (batch, seq), got {tuple(attention_mask.shape)}."
        )
    if attention_mask.dtype != torch.bool:
        values = torch.unique(attention_mask)
        if not torch.isin(values, torch.tensor([0, 1], device=values.device, dtype=values.dtype)).all():
            raise ValueError(
                f"attention_mask must hold only 0 (padding) and 1 (token), found values {values.tolist()}."
            )
    return attention_mask.bool()[:, None, None, :]


def to_additive_mask(mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A bool mask as the additive float mask Hugging Face's eager attention expects.

    ``True`` becomes 0 and ``False`` the most negative finite number of ``dtype``.
    """
    checks.tensor("mask", mask, 1)
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be bool (True = may attend), got dtype {mask.dtype}.")
    out = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
    return out.masked_fill(~mask, torch.finfo(dtype).min)


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """``(batch, seq, d_model)`` → ``(batch, heads, seq, d_head)`` with ``d_head = d_model // heads``."""
    checks.tensor("x", x, 3)
    checks.positive_int("n_heads", n_heads)
    if x.dim() != 3:
        raise ValueError(f"x must have shape (batch, seq, d_model), got {tuple(x.shape)}.")
    batch, seq, d_model = x.shape
    if d_model % n_heads:
        raise ValueError(f"d_model={d_model} (x of shape {tuple(x.shape)}) is not divisible by n_heads={n_heads}.")
    return x.view(batch, seq, n_heads, d_model // n_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``(batch, heads, seq, d_head)`` → ``(batch, seq, heads * d_head)``, the inverse of :func:`split_heads`."""
    checks.tensor("x", x, 4)
    if x.dim() != 4:
        raise ValueError(f"x must have shape (batch, heads, seq, d_head), got {tuple(x.shape)}.")
    batch, heads, seq, d_head = x.shape
    return x.transpose(1, 2).reshape(batch, seq, heads * d_head)


class MultiHeadAttention(nn.Module):
    """Multi-head attention: project, split into heads, attend per head, merge, project.

    ``forward(x, context=None, mask=None)`` is self-attention when ``context``
    is None and cross-attention (queries from ``x``, keys and values from
    ``context``) otherwise; it returns ``(output, weights)`` with output
    ``(batch, seq_q, d_model)`` and weights ``(batch, heads, seq_q, seq_k)``.
    """

    def __init__(self, d_model: int, n_heads: int, *, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        checks.positive_int("d_model", d_model)
        checks.positive_int("n_heads", n_heads)
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}.")
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.dropout = checks.fraction("dropout", dropout, open_high=True)
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _check_input(self, name: str, x) -> None:
        checks.tensor(name, x, 3)
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ValueError(
                f"{name} must have shape (batch, seq, d_model={self.d_model}), got {tuple(x.shape)}."
            )

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, mask: torch.Tensor | None = None):
        self._check_input("x", x)
        context = x if context is None else context
        self._check_input("context", context)
        if context.shape[0] != x.shape[0]:
            raise ValueError(f"x {tuple(x.shape)} and context {tuple(context.shape)} have different batch sizes.")
        q = split_heads(self.q_proj(x), self.n_heads)  # (batch, heads, seq_q, d_head)
        k = split_heads(self.k_proj(context), self.n_heads)  # (batch, heads, seq_k, d_head)
        v = split_heads(self.v_proj(context), self.n_heads)  # (batch, heads, seq_k, d_head)
        p = self.dropout if self.training else 0.0
        out, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p=p)
        return self.out_proj(merge_heads(out)), weights  # (batch, seq_q, d_model), (batch, heads, seq_q, seq_k)
