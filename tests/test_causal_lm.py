"""Chapter 3b's causal-LM pipeline: packing, labels, the causal mask, the losses, a short training run."""

from __future__ import annotations

import math

import pytest
import torch

from sslm_utils import causal_lm as cl
from sslm_utils.lm import KneserNeyLM
from sslm_utils.profiles import get_profile
from sslm_utils.training import TrainConfig, evaluate, train

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(seq_len=32, d_model=32, n_layers=1, n_heads=2, d_ff=64, gpt_dropout=0.0)


@pytest.fixture(scope="module")
def bpe(small_texts):
    from sslm_utils.tokenization import train_bpe

    return train_bpe(small_texts[:3], 400)


@pytest.fixture(scope="module")
def tiny_profile():
    return get_profile("quick", **TINY)


# --------------------------------------------------------------------------- packing


def test_packing_has_no_padding_and_full_blocks():
    docs = [[1, 2, 3], [4, 5], [6, 7, 8, 9]]
    blocks = cl.pack_documents(docs, 4, eos_id=0)
    # stream: 1 2 3 0 4 5 0 6 7 8 9 0 -> three full blocks, nothing dropped
    assert blocks.tolist() == [[1, 2, 3, 0], [4, 5, 0, 6], [7, 8, 9, 0]]
    assert blocks.dtype == torch.long
    blocks = cl.pack_documents(docs, 5, eos_id=0)  # 12 tokens -> 2 blocks of 5, the tail of 2 dropped
    assert blocks.shape == (2, 5)
    assert blocks.flatten().tolist() == [1, 2, 3, 0, 4, 5, 0, 6, 7, 8]


def test_packing_real_speeches_respects_block_size(bpe, small_texts):
    docs = cl.encode_documents(small_texts, bpe)
    eos = bpe.eos_token_id
    blocks = cl.pack_documents(docs, 64, eos)
    n_stream = sum(len(d) + 1 for d in docs)
    assert blocks.shape == (n_stream // 64, 64)
    assert int((blocks == eos).sum()) in (len(docs), len(docs) - 1)  # one separator per speech (the last may be cut)
    assert blocks.flatten().tolist() == [t for d in docs for t in (*d, eos)][: blocks.numel()]


@pytest.mark.parametrize(
    ("docs", "block", "error", "message"),
    [
        ([[1, 2]], 1, ValueError, "block_size must be an int >= 2"),
        ([[1, 2]], 2.5, ValueError, "block_size must be an int >= 2"),
        ("some text", 4, TypeError, "list of documents"),
        (["abc"], 4, TypeError, "not a string"),
        ([[1, 2]], 8, ValueError, "fewer than one block"),
    ],
)
def test_packing_bad_inputs(docs, block, error, message):
    with pytest.raises(error, match=message):
        cl.pack_documents(docs, block, eos_id=0)


def test_encode_documents_refuses_one_string(bpe):
    with pytest.raises(TypeError, match="not one string"):
        cl.encode_documents("one speech", bpe)


# --------------------------------------------------------------------------- labels and losses


def test_labels_are_the_inputs_and_the_loss_matches_the_library(bpe, tiny_profile):
    blocks = torch.randint(0, len(bpe), (3, 32), generator=torch.Generator().manual_seed(0))
    data = cl.BlockDataset(blocks)
    item = data[1]
    assert torch.equal(item["labels"], item["input_ids"])  # the model shifts them itself
    model = cl.new_gpt(tiny_profile, bpe).eval()
    batch = {k: torch.stack([data[i][k] for i in range(3)]) for k in ("input_ids", "labels")}
    with torch.no_grad():
        library = model(**batch).loss
        ours = cl.causal_lm_loss(model, batch)
        logits = model(input_ids=batch["input_ids"]).logits
        by_hand = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                                    batch["input_ids"][:, 1:].reshape(-1))
        metrics = cl.causal_lm_metrics(model, batch)
    torch.testing.assert_close(ours, library)
    torch.testing.assert_close(ours, by_hand)
    total, count = metrics["loss"]
    assert float(count) == 3 * 31  # every position but the last of each block predicts a token
    assert math.isclose(float(total / count), float(ours), rel_tol=1e-5)


def test_shift_checks_shapes():
    with pytest.raises(ValueError, match="logits must be"):
        cl.shift_for_next_token(torch.zeros(2, 5, 7), torch.zeros(2, 4, dtype=torch.long))


def test_gpt_config_uses_the_books_special_ids(bpe, tiny_profile):
    model = cl.new_gpt(tiny_profile, bpe)
    eot = bpe.convert_tokens_to_ids(cl.EOT)
    cfg = model.config
    assert cfg.bos_token_id == cfg.eos_token_id == cfg.pad_token_id == eot
    assert (cfg.vocab_size, cfg.n_positions, cfg.n_embd, cfg.n_layer) == (len(bpe), 32, 32, 1)


# --------------------------------------------------------------------------- the causal mask


def test_logits_at_t_ignore_every_later_token(bpe, tiny_profile):
    model = cl.new_gpt(tiny_profile, bpe).eval()
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(0, len(bpe), (2, 32), generator=gen)
    t = 11
    changed = ids.clone()
    changed[:, t + 1 :] = torch.randint(0, len(bpe), (2, 32 - t - 1), generator=gen)
    with torch.no_grad():
        a, b = model(input_ids=ids).logits, model(input_ids=changed).logits
    torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1])
    assert not torch.allclose(a[:, t + 1 :], b[:, t + 1 :])


# --------------------------------------------------------------------------- baselines and generation


def test_baselines_score_the_same_targets(bpe):
    blocks = torch.tensor([[1, 2, 3, 1, 2], [3, 1, 2, 3, 1]])
    kn = KneserNeyLM(2, len(bpe)).fit([[1, 2, 3] * 20])
    kn_lp = cl.ngram_log_probs(kn, blocks)
    assert kn_lp.shape == (2, 4)
    assert math.isclose(float(kn_lp[0, 0]), math.log(kn.prob([1], 2)))
    uni = cl.unigram_log_probs(blocks, blocks[:, 1:], len(bpe))
    assert uni.shape == (2, 4) and (uni < 0).all()


def test_generate_is_reproducible_and_validates(bpe, tiny_profile):
    model = cl.new_gpt(tiny_profile, bpe)
    greedy = cl.generate_text(model, bpe, "The Union", max_new_tokens=5)
    assert greedy == cl.generate_text(model, bpe, "The Union", max_new_tokens=5)
    sampled = [cl.generate_text(model, bpe, "The Union", max_new_tokens=5, do_sample=True, top_k=50, seed=s)
               for s in (3, 3)]
    assert sampled[0] == sampled[1]
    with pytest.raises(ValueError, match="temperature"):
        cl.generate_text(model, bpe, "The Union", do_sample=True, temperature=0)
    with pytest.raises(ValueError, match="non-empty"):
        cl.generate_text(model, bpe, "")


# --------------------------------------------------------------------------- training


def test_a_few_steps_lower_the_held_out_loss(bpe, small_texts, tiny_profile):
    docs = cl.encode_documents(small_texts, bpe)
    blocks = cl.pack_documents(docs, 32, bpe.eos_token_id)
    train_set, val_set = cl.BlockDataset(blocks[:-16]), cl.BlockDataset(blocks[-16:])
    model = cl.new_gpt(tiny_profile, bpe)
    before = evaluate(model, val_set, batch_size=16, compute_metrics=cl.causal_lm_metrics)["loss"]
    config = TrainConfig(max_steps=30, batch_size=16, lr=3e-3, warmup_steps=3, progress=False, schedule="cosine")
    result = train(model, train_set, config=config, eval_data=val_set, loss_fn=cl.causal_lm_loss,
                   compute_metrics=cl.causal_lm_metrics)
    after = result.last_eval["loss"]
    assert math.isclose(before, math.log(len(bpe)), rel_tol=0.05)
    assert after < before - 0.5
    assert result.tokens_seen == 30 * 16 * 32  # packed: every token is a real one
