"""sslm_utils.models.configs: the transformers configurations of the book's models, sized by the profile."""

from __future__ import annotations

import pytest

from sslm_utils.models.configs import bert_config, gpt_config
from sslm_utils.objectives.causal import EOT


def test_gpt_config_uses_the_books_special_ids(tiny_gpt, bpe_tokenizer):
    eot = bpe_tokenizer.convert_tokens_to_ids(EOT)
    cfg = tiny_gpt.config
    assert cfg.bos_token_id == cfg.eos_token_id == cfg.pad_token_id == eot
    assert (cfg.vocab_size, cfg.n_positions, cfg.n_embd, cfg.n_layer) == (len(bpe_tokenizer), 32, 32, 1)


def test_configs_follow_the_profile(tiny_profile):
    bert = bert_config(tiny_profile, 123)
    shape = tiny_profile.model
    assert (bert.vocab_size, bert.hidden_size, bert.num_hidden_layers, bert.num_attention_heads) == (
        123, shape.d_model, shape.n_layers, shape.n_heads)
    assert (bert.intermediate_size, bert.max_position_embeddings) == (shape.d_ff, shape.seq_len)
    gpt = gpt_config(tiny_profile.replace(gpt={"dropout": 0.25}), 50, bos_id=1, eos_id=2)
    assert gpt.pad_token_id == 2 and gpt.resid_pdrop == gpt.embd_pdrop == gpt.attn_pdrop == 0.25
    assert bert_config(tiny_profile, 123, hidden_dropout_prob=0.0).hidden_dropout_prob == 0.0  # overrides


@pytest.mark.parametrize("vocab_size", [0, -1, 2.5, True])
def test_configs_refuse_a_bad_vocabulary_size(tiny_profile, vocab_size):
    with pytest.raises(ValueError, match="vocab_size must be a positive int.*len\\(tokenizer\\)"):
        bert_config(tiny_profile, vocab_size)
    with pytest.raises(ValueError, match="vocab_size must be a positive int"):
        gpt_config(tiny_profile, vocab_size, bos_id=0, eos_id=0)
