"""Span corruption and replaced-token detection: exact transformations, and a tiny ELECTRA that trains."""

from __future__ import annotations

import random

import pytest
import torch

from sslm_utils import objectives as ob
from sslm_utils.pretraining import IGNORE_INDEX

pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------------------- span corruption


def test_random_partition_is_a_composition():
    rng = random.Random(0)
    for _ in range(200):
        total = rng.randint(1, 50)
        parts = rng.randint(1, total)
        lengths = ob.random_partition(total, parts, rng)
        assert len(lengths) == parts and sum(lengths) == total and min(lengths) >= 1
    with pytest.raises(ValueError, match="non-empty parts"):
        ob.random_partition(3, 4, rng)


@pytest.mark.parametrize("length", [2, 3, 10, 57, 128, 512])
def test_span_noise_mask_counts(length):
    rng = random.Random(length)
    mask = ob.span_noise_mask(length, rng=rng)
    n_noise = sum(mask)
    assert len(mask) == length
    assert n_noise == min(max(round(length * 0.15), 1), length - 1)
    assert not mask[0]  # the text starts with kept tokens
    n_spans = sum(1 for i, m in enumerate(mask) if m and not mask[i - 1])
    assert n_spans == min(max(round(n_noise / 3), 1), length - n_noise)


def test_span_noise_mask_statistics():
    rng = random.Random(0)
    masks = [ob.span_noise_mask(128, rng=rng) for _ in range(300)]
    starts = sum(sum(1 for i, m in enumerate(mask) if m and not mask[i - 1]) for mask in masks)
    noise = sum(sum(mask) for mask in masks)
    assert noise / (128 * 300) == pytest.approx(0.148, abs=0.003)  # round(19.2) = 19 of 128
    assert noise / starts == pytest.approx(19 / 6, abs=0.01)  # round(19 / 3) = 6 spans
    # the spans land everywhere, not always in the same place
    assert len({tuple(m) for m in masks}) == 300


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"length": 1}, "length must be an int >= 2"), ({"length": 10, "noise_density": 0.0}, "noise_density"),
     ({"length": 10, "mean_span_length": 0.5}, "mean_span_length")],
)
def test_span_noise_mask_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ob.span_noise_mask(**kwargs)


def test_span_corrupt_example_and_round_trip():
    assert ob.span_corrupt([10, 11, 12, 13, 14], [False, True, True, False, True], sentinel_ids=[99, 98, 97]) == (
        [10, 99, 13, 98], [99, 11, 12, 98, 14, 97])
    inputs, targets = ob.span_corrupt([10, 11, 12], [False, True, False], sentinel_ids=[99, 98], eos_id=1)
    assert inputs == [10, 99, 12, 1] and targets == [99, 11, 98, 1]
    # the inputs and targets together give back the text: fill each sentinel with its span
    rng = random.Random(2)
    sentinels = list(range(1000, 1100))
    for _ in range(100):
        ids = [rng.randrange(5, 500) for _ in range(rng.randint(2, 80))]
        inputs, targets = ob.span_corrupt(ids, ob.span_noise_mask(len(ids), rng=rng), sentinel_ids=sentinels)
        spans, current = {}, None
        for t in targets:
            if t in sentinels:
                current = t
                spans[current] = []
            else:
                spans[current].append(t)
        rebuilt = [t for x in inputs for t in (spans[x] if x in sentinels else [x])]
        assert rebuilt == ids


def test_span_corrupt_errors():
    with pytest.raises(ValueError, match="same length"):
        ob.span_corrupt([1, 2, 3], [True, False], sentinel_ids=[9, 8])
    with pytest.raises(ValueError, match="sentinel ids"):
        ob.span_corrupt([1, 2, 3, 4], [True, False, True, False], sentinel_ids=[9, 8])


# --------------------------------------------------------------------------- replaced-token detection


def test_replace_tokens_labels_a_correct_guess_as_original():
    ids = torch.tensor([[5, 6, 7, 8]])
    masked = torch.tensor([[False, True, True, False]])
    sampled = torch.tensor([[0, 6, 30, 0]])  # position 1 sampled the original
    corrupted, labels = ob.replace_tokens(ids, masked, sampled)
    assert corrupted.tolist() == [[5, 6, 30, 8]]
    assert labels.tolist() == [[ob.ORIGINAL, ob.ORIGINAL, ob.REPLACED, ob.ORIGINAL]]
    with pytest.raises(ValueError, match="same shape"):
        ob.replace_tokens(ids, masked[:, :2], sampled)
    with pytest.raises(TypeError, match="boolean"):
        ob.replace_tokens(ids, masked.long(), sampled)


def test_sample_from_logits():
    logits = torch.full((3, 4, 10), -1e4)
    logits[..., 7] = 0.0  # all mass on token 7
    assert (ob.sample_from_logits(logits) == 7).all()
    flat = torch.zeros(2000, 5)
    counts = torch.bincount(ob.sample_from_logits(flat, generator=torch.Generator().manual_seed(0)), minlength=5)
    assert counts.min() > 320  # about 400 each
    one = ob.sample_from_logits(flat, generator=torch.Generator().manual_seed(1))
    two = ob.sample_from_logits(flat, generator=torch.Generator().manual_seed(1))
    assert torch.equal(one, two)
    with pytest.raises(ValueError, match="temperature"):
        ob.sample_from_logits(flat, temperature=0)
    # the draws follow the softmax, also after a temperature
    probs = torch.tensor([0.1, 0.2, 0.0, 0.7])
    draws = ob.sample_from_logits(probs.log().expand(20000, 4), generator=torch.Generator().manual_seed(2))
    freq = torch.bincount(draws, minlength=4) / 20000
    assert torch.allclose(freq, probs, atol=0.012) and freq[2] == 0
    hot = ob.sample_from_logits(probs.log().expand(20000, 4), temperature=0.5,
                                generator=torch.Generator().manual_seed(3))
    sharp = probs**2 / (probs**2).sum()
    assert torch.allclose(torch.bincount(hot, minlength=4) / 20000, sharp, atol=0.012)


class _Profile:
    d_model, n_layers, n_heads, d_ff, seq_len = 32, 1, 4, 64, 16


def _mlm_batch(vocab: int = 60, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (4, _Profile.seq_len), generator=gen)
    chosen = torch.rand(ids.shape, generator=gen) < 0.3
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE_INDEX))
    inputs = ids.masked_fill(chosen, 4)  # [MASK]
    return {"input_ids": inputs, "labels": labels, "attention_mask": torch.ones_like(ids)}


def test_electra_shares_embeddings_and_sizes_the_generator():
    model = ob.new_electra(_Profile, 60)
    shared = model.discriminator.electra.embeddings.word_embeddings.weight
    assert model.generator.electra.embeddings.word_embeddings.weight is shared
    assert model.generator.generator_lm_head.weight is shared
    assert model.generator.config.hidden_size == 8 and model.generator.config.num_attention_heads == 1
    assert model.discriminator.config.hidden_size == 32
    with pytest.raises(ValueError, match="generator_fraction"):
        ob.electra_configs(_Profile, 60, generator_fraction=0)
    with pytest.raises(NotImplementedError, match="electra_loss"):
        model(input_ids=torch.zeros(1, 3, dtype=torch.long))


def test_electra_forward_builds_the_discriminator_task():
    model = ob.new_electra(_Profile, 60)
    batch = _mlm_batch()
    torch.manual_seed(0)
    out = ob.electra_forward(model, batch)
    masked = batch["labels"] != IGNORE_INDEX
    original = torch.where(masked, batch["labels"], batch["input_ids"])
    assert torch.equal(out["corrupted"][~masked], original[~masked])  # untouched outside the mask
    assert torch.equal(out["disc_labels"], (out["corrupted"] != original).long().flatten())
    assert out["gen_logits"].shape == (int(masked.sum()), 60)


def test_electra_forward_rejects_batches_it_cannot_use():
    model = ob.new_electra(_Profile, 60)
    batch = _mlm_batch()
    with pytest.raises(KeyError, match="MLMCollator"):
        ob.electra_forward(model, {"input_ids": batch["input_ids"]})
    with pytest.raises(ValueError, match="No position is masked"):
        ob.electra_forward(model, {**batch, "labels": torch.full_like(batch["labels"], IGNORE_INDEX)})


def test_discriminator_loss_does_not_reach_the_generator():
    model = ob.new_electra(_Profile, 60)
    out = ob.electra_forward(model, _mlm_batch())
    disc = torch.nn.functional.binary_cross_entropy_with_logits(out["disc_logits"], out["disc_labels"].float())
    disc.backward()
    assert all(p.grad is None for p in model.generator.electra.encoder.parameters())
    assert any(p.grad is not None for p in model.discriminator.electra.encoder.parameters())


def test_electra_trains_with_the_engine():
    from sslm_utils.training import TrainConfig, train

    model = ob.new_electra(_Profile, 60)
    data = [{k: v[i] for k, v in _mlm_batch(seed=s).items()} for s in range(8) for i in range(4)]
    result = train(model, data, config=TrainConfig(max_steps=30, batch_size=8, lr=3e-3, progress=False),
                   loss_fn=ob.electra_loss, eval_data=data[:8], compute_metrics=ob.electra_metrics)
    frame = result.frame("train")
    assert frame["disc_loss"].tail(5).mean() < frame["disc_loss"].head(5).mean()
    scores = result.last_eval
    assert 0.0 <= scores["disc_accuracy"] <= 1.0 and scores["replaced_fraction"] > 0
