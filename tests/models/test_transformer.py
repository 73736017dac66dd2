"""sslm_utils.models.transformer: positions, the feed-forward sublayer, encoder and decoder layers."""

import math

import pytest
import torch

from sslm_utils.models.transformer import (
    DecoderLayer,
    EncoderLayer,
    FeedForward,
    sinusoidal_positions,
    sinusoidal_shift_matrix,
)


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
