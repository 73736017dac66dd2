"""sslm_utils.models.interop: our layers equal transformers' BERT layers once the weights are copied across."""

import pytest
import torch
from transformers.models.bert.modeling_bert import BertLayer

from sslm_utils.models.attention import MultiHeadAttention, causal_mask, padding_mask, to_additive_mask
from sslm_utils.models.interop import bert_config_for, copy_from_bert_layer, copy_from_torch_mha, copy_to_bert_layer
from sslm_utils.models.transformer import DecoderLayer, EncoderLayer

ATOL = 1e-5
ATTENTION_MASK = torch.tensor([[1] * 9, [1] * 5 + [0] * 4])


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
