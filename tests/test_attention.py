"""sslm_utils.attention against PyTorch and transformers, and its argument checks."""

import math

import pytest
import torch
import torch.nn.functional as F
from transformers.models.bert.modeling_bert import BertLayer, BertSelfAttention

from sslm_utils.attention import (
    DecoderLayer,
    EncoderLayer,
    FeedForward,
    MultiHeadAttention,
    bert_config_for,
    causal_mask,
    copy_from_bert_layer,
    copy_from_torch_mha,
    copy_to_bert_layer,
    merge_heads,
    padding_mask,
    scaled_dot_product_attention,
    sinusoidal_positions,
    sinusoidal_shift_matrix,
    split_heads,
    to_additive_mask,
)

ATOL = 1e-5


@pytest.fixture
def qkv():
    g = torch.Generator().manual_seed(0)
    return (
        torch.randn(2, 4, 7, 16, generator=g),
        torch.randn(2, 4, 9, 16, generator=g),
        torch.randn(2, 4, 9, 8, generator=g),
    )


ATTENTION_MASK = torch.tensor([[1] * 9, [1] * 5 + [0] * 4])


@pytest.mark.parametrize("kind", ["none", "causal", "padding", "both", "float"])
def test_sdpa_matches_torch(qkv, kind):
    q, k, v = qkv
    masks = {
        "none": None,
        "causal": causal_mask(7, 9),
        "padding": padding_mask(ATTENTION_MASK),
        "both": causal_mask(7, 9) & padding_mask(ATTENTION_MASK),
        "float": torch.randn(7, 9),
    }
    mask = masks[kind]
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert out.shape == (2, 4, 7, 8) and weights.shape == (2, 4, 7, 9)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 7))


def test_causal_mask_matches_is_causal(qkv):
    q, k, v = qkv
    k, v = k[:, :, :7], v[:, :, :7]
    out, weights = scaled_dot_product_attention(q, k, v, causal_mask(7))
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=ATOL, rtol=0)
    assert (weights.triu(1) == 0).all()


def test_fully_masked_row_is_zero_like_torch(qkv):
    q, k, v = qkv
    mask = torch.ones(7, 9, dtype=torch.bool)
    mask[2] = False
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    assert not out.isnan().any()
    assert (weights[:, :, 2] == 0).all() and (out[:, :, 2] == 0).all()
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=ATOL, rtol=0)


def test_scale_and_gradients(qkv):
    q, k, v = (t.clone().requires_grad_() for t in qkv)
    out, _ = scaled_dot_product_attention(q, k, v, scale=0.5)
    ref = F.scaled_dot_product_attention(q, k, v, scale=0.5)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    out.sum().backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in (q, k, v))


def test_sdpa_shape_errors_name_shapes(qkv):
    q, k, v = qkv
    with pytest.raises(ValueError, match=r"d_k.*\(2, 4, 7, 16\).*\(2, 4, 9, 15\)"):
        scaled_dot_product_attention(q, k[..., :15], v)
    with pytest.raises(ValueError, match=r"same number of positions.*\(2, 4, 8, 8\)"):
        scaled_dot_product_attention(q, k, v[:, :, :8])
    with pytest.raises(ValueError, match=r"do not broadcast"):
        scaled_dot_product_attention(q, k[:, :3], v[:, :3])
    with pytest.raises(ValueError, match=r"mask of shape \(2, 9\).*\(2, 4, 7, 9\)"):
        scaled_dot_product_attention(q, k, v, ATTENTION_MASK.bool())
    with pytest.raises(TypeError, match="integer mask is ambiguous"):
        scaled_dot_product_attention(q, k, v, ATTENTION_MASK[:, None, None, :])
    with pytest.raises(TypeError, match="torch.Tensor"):
        scaled_dot_product_attention(q.tolist(), k, v)
    with pytest.raises(ValueError, match="dropout_p"):
        scaled_dot_product_attention(q, k, v, dropout_p=1.0)


def test_masks_and_their_errors():
    assert causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert causal_mask(2, 3).shape == (2, 3)
    with pytest.raises(ValueError, match="positive int"):
        causal_mask(0)
    pm = padding_mask(ATTENTION_MASK)
    assert pm.shape == (2, 1, 1, 9) and pm.dtype == torch.bool
    assert pm[1, 0, 0].tolist() == [True] * 5 + [False] * 4
    with pytest.raises(ValueError, match=r"\(batch, seq\).*\(2, 1, 9\)"):
        padding_mask(ATTENTION_MASK[:, None])
    with pytest.raises(ValueError, match=r"only 0.*\[0, 1, 2\]"):
        padding_mask(torch.tensor([[1, 2, 0]]))
    add = to_additive_mask(causal_mask(2))
    assert add[0, 0] == 0 and add[0, 1] == torch.finfo(torch.float32).min
    with pytest.raises(TypeError, match="bool"):
        to_additive_mask(torch.ones(2, 2))


def test_split_and_merge_heads():
    x = torch.arange(2 * 5 * 12.0).reshape(2, 5, 12)
    h = split_heads(x, 3)
    assert h.shape == (2, 3, 5, 4)
    assert torch.equal(h[0, 1, 2], x[0, 2, 4:8])  # head 1 of position 2 = features 4..7
    assert torch.equal(merge_heads(h), x)
    with pytest.raises(ValueError, match=r"d_model=12.*\(2, 5, 12\).*n_heads=5"):
        split_heads(x, 5)
    with pytest.raises(ValueError, match=r"\(batch, heads, seq, d_head\)"):
        merge_heads(torch.zeros(2, 3, 4, 5, 6))


def test_mha_matches_torch_multihead_attention():
    torch.manual_seed(0)
    x = torch.randn(2, 9, 32)
    ctx = torch.randn(2, 6, 32)
    mha = torch.nn.MultiheadAttention(32, 4, batch_first=True).eval()
    ours = copy_from_torch_mha(MultiHeadAttention(32, 4), mha).eval()
    # torch's key_padding_mask uses True = ignore, the opposite of ours
    out, w = ours(x, mask=padding_mask(ATTENTION_MASK))
    ref, ref_w = mha(x, x, x, key_padding_mask=~ATTENTION_MASK.bool(), average_attn_weights=False)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(w, ref_w, atol=ATOL, rtol=0)
    out, _ = ours(x, ctx)
    ref, _ = mha(x, ctx, ctx)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)


def test_mha_matches_bert_self_attention():
    torch.manual_seed(0)
    cfg = bert_config_for(32, 4, 64)
    bert = BertSelfAttention(cfg).eval()
    ours = MultiHeadAttention(32, 4).eval()
    for mine, theirs in ((ours.q_proj, bert.query), (ours.k_proj, bert.key), (ours.v_proj, bert.value)):
        mine.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 9, 32)
    pm = padding_mask(ATTENTION_MASK)
    ref_ctx, ref_w = bert(x, attention_mask=to_additive_mask(pm))
    q = split_heads(ours.q_proj(x), 4)
    k, v = split_heads(ours.k_proj(x), 4), split_heads(ours.v_proj(x), 4)
    ctx, w = scaled_dot_product_attention(q, k, v, pm)
    torch.testing.assert_close(merge_heads(ctx), ref_ctx, atol=ATOL, rtol=0)
    torch.testing.assert_close(w, ref_w, atol=ATOL, rtol=0)


def test_mha_input_errors():
    m = MultiHeadAttention(32, 4)
    with pytest.raises(ValueError, match=r"d_model=32.*\(2, 5, 16\)"):
        m(torch.zeros(2, 5, 16))
    with pytest.raises(ValueError, match="batch sizes"):
        m(torch.zeros(2, 5, 32), torch.zeros(3, 5, 32))
    with pytest.raises(ValueError, match="not divisible"):
        MultiHeadAttention(30, 4)


@pytest.mark.parametrize("masked", [False, True])
def test_encoder_layer_equals_bert_layer(masked):
    torch.manual_seed(0)
    cfg = bert_config_for(32, 4, 64)
    bert = BertLayer(cfg).eval()
    ours = copy_from_bert_layer(EncoderLayer(32, 4, 64, eps=cfg.layer_norm_eps), bert).eval()
    x = torch.randn(2, 9, 32)
    pm = padding_mask(ATTENTION_MASK) if masked else None
    ref = bert(x, to_additive_mask(pm) if masked else None)
    torch.testing.assert_close(ours(x, pm), ref, atol=ATOL, rtol=0)
    # and the other way round
    fresh = EncoderLayer(32, 4, 64, eps=cfg.layer_norm_eps).eval()
    bert2 = copy_to_bert_layer(fresh, BertLayer(cfg).eval())
    torch.testing.assert_close(fresh(x), bert2(x), atol=ATOL, rtol=0)


def test_decoder_layer_equals_bert_decoder_layer():
    torch.manual_seed(0)
    cfg = bert_config_for(32, 4, 64, decoder=True, cross_attention=True)
    bert = BertLayer(cfg).eval()
    ours = copy_from_bert_layer(DecoderLayer(32, 4, 64, eps=cfg.layer_norm_eps), bert).eval()
    x, memory = torch.randn(2, 7, 32), torch.randn(2, 5, 32)
    causal = to_additive_mask(causal_mask(7))[None, None]
    ref = bert(x, causal, encoder_hidden_states=memory)
    torch.testing.assert_close(ours(x, memory), ref, atol=ATOL, rtol=0)


def test_decoder_is_causal_and_checks_memory():
    torch.manual_seed(0)
    gpt_block = DecoderLayer(16, 2, 32, cross_attention=False, norm_first=True).eval()
    x = torch.randn(1, 6, 16)
    y = gpt_block(x)
    x2 = x.clone()
    x2[:, 4:] = torch.randn(1, 2, 16)  # change the future
    torch.testing.assert_close(gpt_block(x2)[:, :4], y[:, :4])
    with pytest.raises(ValueError, match="no cross-attention"):
        gpt_block(x, torch.randn(1, 3, 16))
    with pytest.raises(ValueError, match="pass memory"):
        DecoderLayer(16, 2, 32)(x)


def test_pre_ln_layer_is_pre_ln():
    torch.manual_seed(0)
    layer = EncoderLayer(16, 2, 32, norm_first=True).eval()
    x = torch.randn(2, 5, 16)
    h = x + layer.self_attn(layer.norm1(x))[0]
    torch.testing.assert_close(layer(x), h + layer.ffn(layer.norm2(h)))


def test_copy_errors():
    cfg = bert_config_for(32, 4, 64)
    bert = BertLayer(cfg)
    with pytest.raises(ValueError, match="post-LN"):
        copy_from_bert_layer(EncoderLayer(32, 4, 64, norm_first=True, eps=1e-12), bert)
    with pytest.raises(ValueError, match="eps"):
        copy_from_bert_layer(EncoderLayer(32, 4, 64), bert)
    with pytest.raises(ValueError, match=r"shape \(64, 32\) cannot be copied into \(128, 32\)"):
        copy_from_bert_layer(EncoderLayer(32, 4, 128, eps=1e-12), bert)
    with pytest.raises(ValueError, match="head count"):
        copy_from_bert_layer(EncoderLayer(32, 2, 64, eps=1e-12), bert)
    with pytest.raises(ValueError, match="cross-attention differs"):
        copy_from_bert_layer(DecoderLayer(32, 4, 64, eps=1e-12), bert)
    with pytest.raises(ValueError, match="GELU"):
        copy_from_bert_layer(EncoderLayer(32, 4, 64, eps=1e-12, activation="relu"), bert)
    with pytest.raises(ValueError, match="sizes differ"):
        copy_from_torch_mha(MultiHeadAttention(32, 4), torch.nn.MultiheadAttention(32, 2))


def test_feed_forward():
    ffn = FeedForward(8, 32, activation="relu")
    assert ffn(torch.randn(2, 3, 8)).shape == (2, 3, 8)
    with pytest.raises(ValueError, match="Unknown activation"):
        FeedForward(8, 32, activation="swish")


def test_sinusoidal_positions_and_shift():
    pe = sinusoidal_positions(50, 16)
    assert pe.shape == (50, 16)
    pos, i = 7, 3
    assert math.isclose(pe[pos, 2 * i].item(), math.sin(pos / 10_000 ** (2 * i / 16)), abs_tol=1e-6)
    assert math.isclose(pe[pos, 2 * i + 1].item(), math.cos(pos / 10_000 ** (2 * i / 16)), abs_tol=1e-6)
    for k in (1, 5, -3):
        m = sinusoidal_shift_matrix(k, 16)
        lo, hi = max(0, -k), 50 - max(0, k)
        torch.testing.assert_close(pe[lo:hi] @ m, pe[lo + k : hi + k], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="even"):
        sinusoidal_positions(4, 7)
    with pytest.raises(ValueError, match="positive int"):
        sinusoidal_positions(0, 8)


# --------------------------------------------------------------------------- measuring cost


def test_measure_helpers():
    from sslm_utils.measure import allocated_bytes, loglog_slope, seconds

    x = torch.randn(64, 64)
    assert seconds(torch.matmul, x, x, repeats=2) > 0
    # one (256, 256) float32 result is 256 KiB; the profiler must see at least that
    assert allocated_bytes(torch.matmul, torch.randn(256, 64), torch.randn(64, 256)) >= 256 * 256 * 4
    assert math.isclose(loglog_slope([1, 2, 4, 8], [3, 12, 48, 192]), 2.0)
    with pytest.raises(ValueError, match="positive"):
        loglog_slope([0, 1], [1, 2])
    with pytest.raises(ValueError, match="repeats"):
        seconds(torch.matmul, x, x, repeats=0)
