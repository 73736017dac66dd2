"""sslm_utils.zoo.gpt: the chapter's GPT: causal, trained by the engine, one seed for weights and data order."""

from __future__ import annotations

import math

import pytest
import torch

from sslm_utils.engine import TrainConfig, evaluate, train
from sslm_utils.objectives.causal import BlockDataset, causal_lm_loss, causal_lm_metrics, pack_documents
from sslm_utils.profiles import get_profile
from sslm_utils.text.documents import encode_documents
from sslm_utils.zoo.gpt import causal_lm_data, gpt_cache_dir, new_gpt, train_gpt

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"steps": 2, "warmup_steps": 0, "train_docs": 3, "eval_blocks": 8}


def test_logits_at_t_ignore_every_later_token(tiny_gpt, bpe_tokenizer):
    model = tiny_gpt.eval()
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(0, len(bpe_tokenizer), (2, 32), generator=gen)
    t = 11
    changed = ids.clone()
    changed[:, t + 1 :] = torch.randint(0, len(bpe_tokenizer), (2, 32 - t - 1), generator=gen)
    with torch.no_grad():
        a, b = model(input_ids=ids).logits, model(input_ids=changed).logits
    torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1])
    assert not torch.allclose(a[:, t + 1 :], b[:, t + 1 :])


def test_new_gpt_is_seeded(tiny_profile, bpe_tokenizer):
    one, two, other = (new_gpt(tiny_profile, bpe_tokenizer, seed) for seed in (0, 0, 1))
    assert all(torch.equal(p, q) for p, q in zip(one.parameters(), two.parameters(), strict=True))
    assert not all(torch.equal(p, q) for p, q in zip(one.parameters(), other.parameters(), strict=True))


def test_a_few_steps_lower_the_held_out_loss(tiny_gpt, bpe_tokenizer, small_texts):
    docs = encode_documents(small_texts, bpe_tokenizer)
    blocks = pack_documents(docs, 32, bpe_tokenizer.eos_token_id)
    train_set, val_set = BlockDataset(blocks[:-16]), BlockDataset(blocks[-16:])
    model = tiny_gpt
    before = evaluate(model, val_set, batch_size=16, compute_metrics=causal_lm_metrics)["loss"]
    config = TrainConfig(max_steps=30, batch_size=16, lr=3e-3, warmup_steps=3, progress=False, schedule="cosine")
    result = train(model, train_set, config=config, eval_data=val_set, loss_fn=causal_lm_loss,
                   compute_metrics=causal_lm_metrics)
    after = result.last_eval["loss"]
    assert math.isclose(before, math.log(len(bpe_tokenizer)), rel_tol=0.05)
    assert after < before - 0.5
    assert result.tokens_seen == 30 * 16 * 32  # packed: every token is a real one


def test_cache_dir_follows_the_profile_and_the_seed():
    quick = get_profile("quick")
    assert gpt_cache_dir(quick) == gpt_cache_dir(quick.replace(bert={"steps": 10, "warmup_steps": 1}))
    assert gpt_cache_dir(quick) != gpt_cache_dir(quick.replace(gpt={"steps": 601}))
    assert gpt_cache_dir(quick) != gpt_cache_dir(quick, seed=1) and gpt_cache_dir(quick, seed=0) == gpt_cache_dir(quick)
    with pytest.raises(ValueError, match="seed must be"):
        gpt_cache_dir(quick, seed=-1)


def test_the_seed_sets_weights_and_data_order(isolated_cache):
    profile = get_profile("quick", gpt=SMALL)
    data = causal_lm_data(profile)
    assert len(data.validation) == 8 and data.stats["train_speeches"] == 3
    runs = {seed: train_gpt(profile, seed=seed, data=data, progress=False) for seed in (3, 4)}
    repeat, _, _ = train_gpt(profile, seed=3, data=data, progress=False)
    a, b, c = (m.state_dict() for m in (runs[3][0], runs[4][0], repeat))
    assert all(torch.equal(a[k], c[k]) for k in a)
    assert not all(torch.equal(a[k], b[k]) for k in a)
    assert runs[3][1].history[0]["loss"] != runs[4][1].history[0]["loss"]  # another first batch, other weights
