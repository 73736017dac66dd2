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

ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),  # exact (erf) GELU, as in BERT
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),  # GPT-2's approximation
    "relu": F.relu,  # the original Transformer
}


# --------------------------------------------------------------------------- checks


def _check_tensor(name: str, x, min_dim: int) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}.")
    if x.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimensions, got shape {tuple(x.shape)}.")
    return x


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return value


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


# --------------------------------------------------------------------------- attention


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
    _check_tensor("q", q, 2)
    _check_tensor("k", k, 2)
    _check_tensor("v", v, 2)
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
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1), got {dropout_p!r}.")
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
    _check_positive_int("n", n)
    m = n if m is None else _check_positive_int("m", m)
    return torch.ones(n, m, dtype=torch.bool, device=device).tril()


def padding_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Turn a tokenizer's ``attention_mask`` (batch, seq) of 1 = token / 0 = pad into a key mask.

    Returns a bool ``(batch, 1, 1, seq)`` tensor that broadcasts against
    scores ``(batch, heads, seq_q, seq)``: no query may attend to a pad key.
    """
    _check_tensor("attention_mask", attention_mask, 2)
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
    _check_tensor("mask", mask, 1)
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be bool (True = may attend), got dtype {mask.dtype}.")
    out = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
    return out.masked_fill(~mask, torch.finfo(dtype).min)


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """``(batch, seq, d_model)`` → ``(batch, heads, seq, d_head)`` with ``d_head = d_model // heads``."""
    _check_tensor("x", x, 3)
    _check_positive_int("n_heads", n_heads)
    if x.dim() != 3:
        raise ValueError(f"x must have shape (batch, seq, d_model), got {tuple(x.shape)}.")
    batch, seq, d_model = x.shape
    if d_model % n_heads:
        raise ValueError(f"d_model={d_model} (x of shape {tuple(x.shape)}) is not divisible by n_heads={n_heads}.")
    return x.view(batch, seq, n_heads, d_model // n_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``(batch, heads, seq, d_head)`` → ``(batch, seq, heads * d_head)``, the inverse of :func:`split_heads`."""
    _check_tensor("x", x, 4)
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
        _check_positive_int("d_model", d_model)
        _check_positive_int("n_heads", n_heads)
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}.")
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _check_input(self, name: str, x) -> None:
        _check_tensor(name, x, 3)
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


class FeedForward(nn.Module):
    """The position-wise feed-forward sublayer: ``fc2(act(fc1(x)))``, ``d_model → d_ff → d_model``."""

    def __init__(self, d_model: int, d_ff: int, *, activation: str = "gelu", dropout: float = 0.0):
        super().__init__()
        _check_positive_int("d_model", d_model)
        _check_positive_int("d_ff", d_ff)
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
        _check_tensor("x", x, 3)
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


# --------------------------------------------------------------------------- positions


def sinusoidal_positions(n: int, d: int, base: float = 10_000.0) -> torch.Tensor:
    """The fixed positional encodings of Vaswani et al. (2017), shape ``(n, d)``.

    ``PE[pos, 2i] = sin(pos / base^(2i/d))`` and ``PE[pos, 2i+1] = cos(...)``:
    sines and cosines interleaved, one frequency per pair of dimensions.
    """
    _check_positive_int("n", n)
    _check_positive_int("d", d)
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
    _check_positive_int("d", d)
    if d % 2:
        raise ValueError(f"d must be even, got d={d}.")
    angle = k * base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,)
    c, s = torch.cos(angle), torch.sin(angle)
    m = torch.zeros(d, d, dtype=torch.float64)
    idx = torch.arange(0, d, 2)
    m[idx, idx], m[idx, idx + 1] = c, -s
    m[idx + 1, idx], m[idx + 1, idx + 1] = s, c
    return m.float()


# --------------------------------------------------------------------------- weight copies


def _copy_linear_or_norm(dst: nn.Module, src: nn.Module, what: str) -> None:
    for name in ("weight", "bias"):
        a, b = getattr(dst, name, None), getattr(src, name, None)
        if (a is None) != (b is None):
            raise ValueError(f"{what}.{name}: one side has it and the other does not.")
        if a is None:
            continue
        if a.shape != b.shape:
            raise ValueError(f"{what}.{name}: shape {tuple(b.shape)} cannot be copied into {tuple(a.shape)}.")
        with torch.no_grad():
            a.copy_(b)


def _bert_pairs(ours: nn.Module, bert) -> list[tuple[nn.Module, nn.Module, str]]:
    """(our module, BERT module, name) for every Linear and LayerNorm of a layer."""
    is_decoder = isinstance(ours, DecoderLayer)
    if not isinstance(ours, (EncoderLayer, DecoderLayer)):
        raise TypeError(f"expected an EncoderLayer or DecoderLayer, got {type(ours).__name__}.")
    if ours.norm_first:
        raise ValueError("BertLayer is post-LN; only a layer built with norm_first=False has the same function.")
    if ours.ffn.activation != "gelu":
        raise ValueError(f"BertLayer uses exact GELU; this layer uses {ours.ffn.activation!r}.")
    if ours.self_attn.n_heads != bert.attention.self.num_attention_heads:
        raise ValueError(
            f"head count differs: ours {ours.self_attn.n_heads}, BertLayer {bert.attention.self.num_attention_heads}."
        )
    bert_cross = hasattr(bert, "crossattention")
    ours_cross = is_decoder and ours.has_cross_attention
    if bert_cross != ours_cross:
        raise ValueError(
            f"cross-attention differs: ours {ours_cross}, BertLayer {bert_cross} "
            "(a BertLayer has it with is_decoder=True, add_cross_attention=True)."
        )
    eps = bert.attention.output.LayerNorm.eps
    if ours.norm1.eps != eps:
        raise ValueError(f"LayerNorm eps differs: ours {ours.norm1.eps}, BertLayer {eps}; build ours with eps={eps}.")

    def attn(m: MultiHeadAttention, b, tag):
        return [
            (m.q_proj, b.self.query, f"{tag}.query"),
            (m.k_proj, b.self.key, f"{tag}.key"),
            (m.v_proj, b.self.value, f"{tag}.value"),
            (m.out_proj, b.output.dense, f"{tag}.output.dense"),
        ]

    pairs = attn(ours.self_attn, bert.attention, "attention") + [
        (ours.norm1, bert.attention.output.LayerNorm, "attention.output.LayerNorm")
    ]
    if ours_cross:
        pairs += attn(ours.cross_attn, bert.crossattention, "crossattention") + [
            (ours.norm2, bert.crossattention.output.LayerNorm, "crossattention.output.LayerNorm")
        ]
    last_norm = ours.norm3 if is_decoder else ours.norm2
    pairs += [
        (ours.ffn.fc1, bert.intermediate.dense, "intermediate.dense"),
        (ours.ffn.fc2, bert.output.dense, "output.dense"),
        (last_norm, bert.output.LayerNorm, "output.LayerNorm"),
    ]
    return pairs


def copy_from_bert_layer(ours: EncoderLayer | DecoderLayer, bert_layer) -> EncoderLayer | DecoderLayer:
    """Copy the weights of a ``transformers`` ``BertLayer`` into our post-LN layer; return ours."""
    for mine, theirs, name in _bert_pairs(ours, bert_layer):
        _copy_linear_or_norm(mine, theirs, name)
    return ours


def copy_to_bert_layer(ours: EncoderLayer | DecoderLayer, bert_layer):
    """Copy our post-LN layer's weights into a ``transformers`` ``BertLayer``; return the BertLayer."""
    for mine, theirs, name in _bert_pairs(ours, bert_layer):
        _copy_linear_or_norm(theirs, mine, name)
    return bert_layer


def copy_from_torch_mha(ours: MultiHeadAttention, mha: nn.MultiheadAttention) -> MultiHeadAttention:
    """Copy an ``nn.MultiheadAttention`` (its packed ``in_proj_weight``) into ours; return ours."""
    if not isinstance(ours, MultiHeadAttention) or not isinstance(mha, nn.MultiheadAttention):
        raise TypeError("expected (MultiHeadAttention, torch.nn.MultiheadAttention).")
    if mha.in_proj_weight is None:
        raise ValueError("the torch module has separate q/k/v projection weights (kdim/vdim set); not supported.")
    if (mha.embed_dim, mha.num_heads) != (ours.d_model, ours.n_heads):
        raise ValueError(
            f"sizes differ: ours (d_model={ours.d_model}, heads={ours.n_heads}), "
            f"torch (embed_dim={mha.embed_dim}, num_heads={mha.num_heads})."
        )
    if (mha.in_proj_bias is None) != (ours.q_proj.bias is None):
        raise ValueError("one module has biases and the other does not.")
    with torch.no_grad():
        for i, proj in enumerate((ours.q_proj, ours.k_proj, ours.v_proj)):
            rows = slice(i * ours.d_model, (i + 1) * ours.d_model)
            proj.weight.copy_(mha.in_proj_weight[rows])
            if proj.bias is not None:
                proj.bias.copy_(mha.in_proj_bias[rows])
    _copy_linear_or_norm(ours.out_proj, mha.out_proj, "out_proj")
    return ours


def bert_config_for(
    d_model: int, n_heads: int, d_ff: int, *, eps: float = 1e-12, decoder: bool = False, cross_attention: bool = False
):
    """A ``BertConfig`` for one layer of these sizes, eager attention, no dropout (for equality tests)."""
    from transformers import BertConfig

    return BertConfig(
        hidden_size=d_model,
        num_attention_heads=n_heads,
        intermediate_size=d_ff,
        num_hidden_layers=1,
        hidden_act="gelu",
        layer_norm_eps=eps,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        is_decoder=decoder,
        add_cross_attention=cross_attention,
        attn_implementation="eager",
    )


__all__ = [
    "ACTIVATIONS",
    "DecoderLayer",
    "EncoderLayer",
    "FeedForward",
    "MultiHeadAttention",
    "bert_config_for",
    "causal_mask",
    "copy_from_bert_layer",
    "copy_from_torch_mha",
    "copy_to_bert_layer",
    "merge_heads",
    "padding_mask",
    "scaled_dot_product_attention",
    "sinusoidal_positions",
    "sinusoidal_shift_matrix",
    "split_heads",
    "to_additive_mask",
]
