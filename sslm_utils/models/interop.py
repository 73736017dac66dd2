"""Our layers and the libraries' layers, made equal: copy weights across and compare outputs (chapter 2).

A layer built from scratch is only trusted once it reproduces
``torch.nn.MultiheadAttention`` or a ``transformers`` BERT layer given the
same weights; these functions do the copying in both directions.
"""

from __future__ import annotations

import torch
from torch import nn

from .attention import MultiHeadAttention
from .transformer import DecoderLayer, EncoderLayer


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
