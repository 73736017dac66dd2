"""The rest of a transformer layer (chapter 2): positions, the feed-forward sublayer, encoder and decoder layers.

Each layer is pre-LN or post-LN by one flag, so lesson 2.2 can measure the
difference; sinusoidal positions follow Vaswani et al. (2017).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .. import checks
from .attention import MultiHeadAttention, causal_mask

ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),  # exact (erf) GELU, as in BERT
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),  # GPT-2's approximation
    "relu": F.relu,  # the original Transformer
}


class FeedForward(nn.Module):
    """The position-wise feed-forward sublayer: ``fc2(act(fc1(x)))``, ``d_model → d_ff → d_model``."""

    def __init__(self, d_model: int, d_ff: int, *, activation: str = "gelu", dropout: float = 0.0):
        super().__init__()
        checks.positive_int("d_model", d_model)
        checks.positive_int("d_ff", d_ff)
        if activation not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}.")
        self.activation = activation
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.fc2(ACTIVATIONS[self.activation](self.fc1(x))))


class EncoderLayer(nn.Module):
    """Self-attention and a feed-forward sublayer, each wrapped in a residual and a LayerNorm.

    ``norm_first=False`` is post-LN (the original Transformer and BERT):
    ``x = LN(x + sublayer(x))``. ``norm_first=True`` is pre-LN (GPT-2):
    ``x = x + sublayer(LN(x))``, which needs a final LayerNorm after the stack.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        *,
        dropout: float = 0.0,
        norm_first: bool = False,
        activation: str = "gelu",
        eps: float = 1e-5,
    ):
        super().__init__()
        self.norm_first = bool(norm_first)
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout=dropout)
        self.norm1 = nn.LayerNorm(d_model, eps=eps)
        self.ffn = FeedForward(d_model, d_ff, activation=activation, dropout=dropout)
        self.norm2 = nn.LayerNorm(d_model, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *, return_weights: bool = False):
        if self.norm_first:
            attn, weights = self.self_attn(self.norm1(x), mask=mask)
            x = x + self.dropout(attn)
            x = x + self.ffn(self.norm2(x))
        else:
            attn, weights = self.self_attn(x, mask=mask)
            x = self.norm1(x + self.dropout(attn))
            x = self.norm2(x + self.ffn(x))
        return (x, weights) if return_weights else x


class DecoderLayer(nn.Module):
    """Causal self-attention, optional cross-attention to an encoder's output, a feed-forward sublayer.

    With ``cross_attention=True`` this is the decoder layer of an
    encoder–decoder model (the original Transformer, T5). GPT-style models
    are decoder-only: no encoder, hence ``cross_attention=False`` — the
    layer is then an :class:`EncoderLayer` with a causal mask.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        *,
        cross_attention: bool = True,
        dropout: float = 0.0,
        norm_first: bool = False,
        activation: str = "gelu",
        eps: float = 1e-5,
    ):
        super().__init__()
        self.norm_first = bool(norm_first)
        self.has_cross_attention = bool(cross_attention)
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout=dropout)
        self.norm1 = nn.LayerNorm(d_model, eps=eps)
        if self.has_cross_attention:
            self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout=dropout)
            self.norm2 = nn.LayerNorm(d_model, eps=eps)
        self.ffn = FeedForward(d_model, d_ff, activation=activation, dropout=dropout)
        self.norm3 = nn.LayerNorm(d_model, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def _sublayer(self, x, norm, fn):
        if self.norm_first:
            return x + self.dropout(fn(norm(x)))
        return norm(x + self.dropout(fn(x)))

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor | None = None,
        *,
        self_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
        causal: bool = True,
    ) -> torch.Tensor:
        checks.tensor("x", x, 3)
        if self.has_cross_attention and memory is None:
            raise ValueError("this DecoderLayer has cross-attention: pass memory, the encoder output (batch, seq, d).")
        if not self.has_cross_attention and memory is not None:
            raise ValueError(
                "memory was given but this DecoderLayer has no cross-attention (cross_attention=False, GPT-style)."
            )
        mask = causal_mask(x.shape[1], device=x.device) if causal else None
        if self_mask is not None:
            mask = self_mask if mask is None else (mask & self_mask)
        x = self._sublayer(x, self.norm1, lambda h: self.self_attn(h, mask=mask)[0])
        if self.has_cross_attention:
            x = self._sublayer(x, self.norm2, lambda h: self.cross_attn(h, memory, mask=memory_mask)[0])
        if self.norm_first:
            return x + self.ffn(self.norm3(x))
        return self.norm3(x + self.ffn(x))


def sinusoidal_positions(n: int, d: int, base: float = 10_000.0) -> torch.Tensor:
    """The fixed positional encodings of Vaswani et al. (2017), shape ``(n, d)``.

    ``PE[pos, 2i] = sin(pos / base^(2i/d))`` and ``PE[pos, 2i+1] = cos(...)``:
    sines and cosines interleaved, one frequency per pair of dimensions.
    """
    checks.positive_int("n", n)
    checks.positive_int("d", d)
    if d % 2:
        raise ValueError(f"d must be even (sines and cosines come in pairs), got d={d}.")
    pos = torch.arange(n, dtype=torch.float64)[:, None]  # (n, 1)
    freq = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,)
    pe = torch.empty(n, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe.float()


def sinusoidal_shift_matrix(k: int, d: int, base: float = 10_000.0) -> torch.Tensor:
    """The ``(d, d)`` matrix ``M_k`` with ``PE[pos + k] = PE[pos] @ M_k`` for every ``pos``.

    It is block-diagonal: one 2×2 rotation by ``k·ω_i`` per frequency, and it
    does not depend on ``pos`` — a relative shift is a fixed linear map.
    """
    if isinstance(k, bool) or not isinstance(k, int):
        raise ValueError(f"k must be an int, got {k!r}.")
    checks.positive_int("d", d)
    if d % 2:
        raise ValueError(f"d must be even, got d={d}.")
    angle = k * base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,)
    c, s = torch.cos(angle), torch.sin(angle)
    m = torch.zeros(d, d, dtype=torch.float64)
    idx = torch.arange(0, d, 2)
    m[idx, idx], m[idx, idx + 1] = c, -s
    m[idx + 1, idx], m[idx + 1, idx + 1] = s, c
    return m.float()
