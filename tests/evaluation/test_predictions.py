"""sslm_utils.evaluation.predictions: masked words, per-token losses, next-token probabilities, continuations."""

from __future__ import annotations

import math

import pytest
import torch

from sslm_utils.evaluation.perplexity import perplexity
from sslm_utils.evaluation.predictions import fill_mask, generate_text, masked_token_nll, token_log_probs
from sslm_utils.objectives.bert import pretraining_metrics
from sslm_utils.objectives.causal import causal_lm_metrics

pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------------------- fill_mask


def test_fill_mask_returns_probabilities(tiny_bert, wordpiece_tokenizer):
    model, tokenizer = tiny_bert.eval(), wordpiece_tokenizer
    guesses = fill_mask(model, tokenizer, "our [MASK] is strong.", top_k=3)
    assert len(guesses) == 1 and len(guesses[0]) == 3
    probs = [p for _, p in guesses[0]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1
    with pytest.raises(ValueError, match="must contain"):
        fill_mask(model, tokenizer, "no mask here")


def test_fill_mask_one_list_per_mask_and_the_mode_restored(tiny_bert, wordpiece_tokenizer):
    assert tiny_bert.training
    guesses = fill_mask(tiny_bert, wordpiece_tokenizer, "the [MASK] of the [MASK].", top_k=2)
    assert [len(g) for g in guesses] == [2, 2]
    assert tiny_bert.training  # handed back in train mode
    again = fill_mask(tiny_bert, wordpiece_tokenizer, "the [MASK] of the [MASK].", top_k=2)
    assert again == guesses  # eval mode inside: no dropout, the same answer twice
    full = fill_mask(tiny_bert, wordpiece_tokenizer, "the [MASK] of the union.", top_k=len(wordpiece_tokenizer))
    assert math.isclose(sum(p for _, p in full[0]), 1.0, rel_tol=1e-4)  # every token: the whole distribution


@pytest.mark.parametrize("top_k", [0, -1, 1001, 2.5])
def test_fill_mask_refuses_a_bad_top_k(tiny_bert, wordpiece_tokenizer, top_k):
    assert len(wordpiece_tokenizer) == 1000
    with pytest.raises(ValueError, match="top_k"):
        fill_mask(tiny_bert, wordpiece_tokenizer, "our [MASK] is strong.", top_k=top_k)


def test_fill_mask_refuses_text_longer_than_the_model_reads(tiny_bert, wordpiece_tokenizer):
    limit = tiny_bert.config.max_position_embeddings  # 32
    text = "our [MASK] is strong. " + "the union endures. " * limit
    with pytest.raises(ValueError, match=rf"has only {limit} \(its position table\)"):
        fill_mask(tiny_bert, wordpiece_tokenizer, text)
    assert tiny_bert.training


# --------------------------------------------------------------------------- masked_token_nll


def test_masked_token_nll_scores_every_masked_token(tiny_bert, mlm_batch):
    n_masked = int((mlm_batch["labels"] != -100).sum())
    assert n_masked > 0
    nll = masked_token_nll(tiny_bert, mlm_batch)
    assert nll.shape == (n_masked,) and (nll > 0).all()
    assert tiny_bert.training  # the mode is restored
    with torch.no_grad():
        metrics = pretraining_metrics(tiny_bert.eval(), mlm_batch)
    total, count = metrics["mlm_loss"]
    assert float(count) == n_masked
    assert float(nll.mean()) == pytest.approx(float(total / count), rel=1e-5)


def test_masked_token_nll_does_not_depend_on_the_chunk(tiny_bert, mlm_batch):
    whole = masked_token_nll(tiny_bert, mlm_batch)
    torch.testing.assert_close(masked_token_nll(tiny_bert, mlm_batch, chunk=1), whole, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(masked_token_nll(tiny_bert, mlm_batch, chunk=3), whole, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="chunk must be a positive int"):
        masked_token_nll(tiny_bert, mlm_batch, chunk=0)


# --------------------------------------------------------------------------- token_log_probs and generation


def test_token_log_probs_match_the_causal_loss(tiny_gpt, bpe_tokenizer):
    blocks = torch.randint(0, len(bpe_tokenizer), (5, 32), generator=torch.Generator().manual_seed(0))
    lp = token_log_probs(tiny_gpt, blocks, batch_size=2)
    assert lp.shape == (5, 31) and lp.dtype == torch.float64 and (lp < 0).all()
    with torch.no_grad():
        total, count = causal_lm_metrics(tiny_gpt.eval(), {"input_ids": blocks, "labels": blocks})["loss"]
    assert float(-lp.mean()) == pytest.approx(float(total / count), rel=1e-5)
    assert perplexity(lp) == pytest.approx(math.exp(float(total / count)), rel=1e-4)
    with pytest.raises(ValueError, match=r"has only 32 \(its position table\)"):
        token_log_probs(tiny_gpt, torch.zeros(1, 33, dtype=torch.long))


def test_token_log_probs_restore_the_mode(tiny_gpt):
    tiny_gpt.train()
    token_log_probs(tiny_gpt, torch.zeros(2, 8, dtype=torch.long))
    assert tiny_gpt.training


def test_generate_is_reproducible_and_validates(tiny_gpt, bpe_tokenizer):
    model, bpe = tiny_gpt, bpe_tokenizer
    greedy = generate_text(model, bpe, "The Union", max_new_tokens=5)
    assert greedy == generate_text(model, bpe, "The Union", max_new_tokens=5)
    sampled = [generate_text(model, bpe, "The Union", max_new_tokens=5, do_sample=True, top_k=50, seed=s)
               for s in (3, 3)]
    assert sampled[0] == sampled[1]
    with pytest.raises(ValueError, match="temperature"):
        generate_text(model, bpe, "The Union", do_sample=True, temperature=0)
    with pytest.raises(ValueError, match="non-empty"):
        generate_text(model, bpe, "")
