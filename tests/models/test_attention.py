"""sslm_utils.models.attention against PyTorch and transformers, and its argument checks."""

import pytest
import torch
import torch.nn.functional as F
from transformers.models.bert.modeling_bert import BertSelfAttention

from sslm_utils.models import attention
from sslm_utils.models.interop import bert_config_for, copy_from_torch_mha

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
        "causal": attention.causal_mask(7, 9),
        "padding": attention.padding_mask(ATTENTION_MASK),
        "both": attention.causal_mask(7, 9) & attention.padding_mask(ATTENTION_MASK),
        "float": torch.randn(7, 9),
    }
    mask = masks[kind]
    out, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert out.shape == (2, 4, 7, 8) and weights.shape == (2, 4, 7, 9)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 7))


def test_causal_mask_matches_is_causal(qkv):
    q, k, v = qkv
    k, v = k[:, :, :7], v[:, :, :7]
    out, weights = attention.scaled_dot_product_attention(q, k, v, attention.causal_mask(7))
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=ATOL, rtol=0)
    assert (weights.triu(1) == 0).all()


def test_fully_masked_row_is_zero_like_torch(qkv):
    q, k, v = qkv
    mask = torch.ones(7, 9, dtype=torch.bool)
    mask[2] = False
    out, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    assert not out.isnan().any()
    assert (weights[:, :, 2] == 0).all() and (out[:, :, 2] == 0).all()
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=ATOL, rtol=0)


def test_scale_and_gradients(qkv):
    q, k, v = (t.clone().requires_grad_() for t in qkv)
    out, _ = attention.scaled_dot_product_attention(q, k, v, scale=0.5)
    ref = F.scaled_dot_product_attention(q, k, v, scale=0.5)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    out.sum().backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in (q, k, v))


def test_sdpa_shape_errors_name_shapes(qkv):
    q, k, v = qkv
    with pytest.raises(ValueError, match=r"d_k.*\(2, 4, 7, 16\).*\(2, 4, 9, 15\)"):
        attention.scaled_dot_product_attention(q, k[..., :15], v)
    with pytest.raises(ValueError, match=r"same number of positions.*\(2, 4, 8, 8\)"):
        attention.scaled_dot_product_attention(q, k, v[:, :, :8])
    with pytest.raises(ValueError, match=r"do not broadcast"):
        attention.scaled_dot_product_attention(q, k[:, :3], v[:, :3])
    with pytest.raises(ValueError, match=r"mask of shape \(2, 9\).*\(2, 4, 7, 9\)"):
        attention.scaled_dot_product_attention(q, k, v, ATTENTION_MASK.bool())
    with pytest.raises(TypeError, match="integer mask is ambiguous"):
        attention.scaled_dot_product_attention(q, k, v, ATTENTION_MASK[:, None, None, :])
    with pytest.raises(TypeError, match="torch.Tensor"):
        attention.scaled_dot_product_attention(q.tolist(), k, v)
    with pytest.raises(ValueError, match="dropout_p"):
        attention.scaled_dot_product_attention(q, k, v, dropout_p=1.0)


def test_masks_and_their_errors():
    assert attention.causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert attention.causal_mask(2, 3).shape == (2, 3)
    with pytest.raises(ValueError, match="positive int"):
        attention.causal_mask(0)
    pm = attention.padding_mask(ATTENTION_MASK)
    assert pm.shape == (2, 1, 1, 9) and pm.dtype == torch.bool
    assert pm[1, 0, 0].tolist() == [True] * 5 + [False] * 4
    with pytest.raises(ValueError, match=r"\(batch, seq\).*\(2, 1, 9\)"):
        attention.padding_mask(ATTENTION_MASK[:, None])
    with pytest.raises(ValueError, match=r"only 0.*\[0, 1, 2\]"):
        attention.padding_mask(torch.tensor([[1, 2, 0]]))
    add = attention.to_additive_mask(attention.causal_mask(2))
    assert add[0, 0] == 0 and add[0, 1] == torch.finfo(torch.float32).min
    with pytest.raises(TypeError, match="bool"):
        attention.to_additive_mask(torch.ones(2, 2))


def test_split_and_merge_heads():
    x = torch.arange(2 * 5 * 12.0).reshape(2, 5, 12)
    h = attention.split_heads(x, 3)
    assert h.shape == (2, 3, 5, 4)
    assert torch.equal(h[0, 1, 2], x[0, 2, 4:8])  # head 1 of position 2 = features 4..7
    assert torch.equal(attention.merge_heads(h), x)
    with pytest.raises(ValueError, match=r"d_model=12.*\(2, 5, 12\).*n_heads=5"):
        attention.split_heads(x, 5)
    with pytest.raises(ValueError, match=r"\(batch, heads, seq, d_head\)"):
        attention.merge_heads(torch.zeros(2, 3, 4, 5, 6))


def test_mha_matches_torch_multihead_attention():
    torch.manual_seed(0)
    x = torch.randn(2, 9, 32)
    ctx = torch.randn(2, 6, 32)
    mha = torch.nn.MultiheadAttention(32, 4, batch_first=True).eval()
    ours = copy_from_torch_mha(attention.MultiHeadAttention(32, 4), mha).eval()
    # torch's key_padding_mask uses True = ignore, the opposite of ours
    out, w = ours(x, mask=attention.padding_mask(ATTENTION_MASK))
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
    ours = attention.MultiHeadAttention(32, 4).eval()
    for mine, theirs in ((ours.q_proj, bert.query), (ours.k_proj, bert.key), (ours.v_proj, bert.value)):
        mine.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 9, 32)
    pm = attention.padding_mask(ATTENTION_MASK)
    ref_ctx, ref_w = bert(x, attention_mask=attention.to_additive_mask(pm))
    q = attention.split_heads(ours.q_proj(x), 4)
    k, v = attention.split_heads(ours.k_proj(x), 4), attention.split_heads(ours.v_proj(x), 4)
    ctx, w = attention.scaled_dot_product_attention(q, k, v, pm)
    torch.testing.assert_close(attention.merge_heads(ctx), ref_ctx, atol=ATOL, rtol=0)
    torch.testing.assert_close(w, ref_w, atol=ATOL, rtol=0)


def test_mha_input_errors():
    m = attention.MultiHeadAttention(32, 4)
    with pytest.raises(ValueError, match=r"d_model=32.*\(2, 5, 16\)"):
        m(torch.zeros(2, 5, 16))
    with pytest.raises(ValueError, match="batch sizes"):
        m(torch.zeros(2, 5, 32), torch.zeros(3, 5, 32))
    with pytest.raises(ValueError, match="not divisible"):
        attention.MultiHeadAttention(30, 4)
