"""sslm_utils.objectives.electra: replaced-token detection as exact transformations, and a tiny ELECTRA that trains."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.engine import TrainConfig, train
from sslm_utils.models.configs import electra_configs
from sslm_utils.objectives import electra
from sslm_utils.objectives.labels import IGNORE_INDEX

pytestmark = pytest.mark.usefixtures("one_thread")


def test_replace_tokens_labels_a_correct_guess_as_original():
    ids = torch.tensor([[5, 6, 7, 8]])
    masked = torch.tensor([[False, True, True, False]])
    sampled = torch.tensor([[0, 6, 30, 0]])  # position 1 sampled the original
    corrupted, labels = electra.replace_tokens(ids, masked, sampled)
    assert corrupted.tolist() == [[5, 6, 30, 8]]
    assert labels.tolist() == [[electra.ORIGINAL, electra.ORIGINAL, electra.REPLACED, electra.ORIGINAL]]
    with pytest.raises(ValueError, match="same shape"):
        electra.replace_tokens(ids, masked[:, :2], sampled)
    with pytest.raises(TypeError, match="boolean"):
        electra.replace_tokens(ids, masked.long(), sampled)


def test_sample_from_logits():
    logits = torch.full((3, 4, 10), -1e4)
    logits[..., 7] = 0.0  # all mass on token 7
    assert (electra.sample_from_logits(logits) == 7).all()
    flat = torch.zeros(2000, 5)
    counts = torch.bincount(electra.sample_from_logits(flat, generator=torch.Generator().manual_seed(0)), minlength=5)
    assert counts.min() > 320  # about 400 each
    one = electra.sample_from_logits(flat, generator=torch.Generator().manual_seed(1))
    two = electra.sample_from_logits(flat, generator=torch.Generator().manual_seed(1))
    assert torch.equal(one, two)
    with pytest.raises(ValueError, match="temperature"):
        electra.sample_from_logits(flat, temperature=0)
    # the draws follow the softmax, also after a temperature
    probs = torch.tensor([0.1, 0.2, 0.0, 0.7])
    draws = electra.sample_from_logits(probs.log().expand(20000, 4), generator=torch.Generator().manual_seed(2))
    freq = torch.bincount(draws, minlength=4) / 20000
    assert torch.allclose(freq, probs, atol=0.012) and freq[2] == 0
    hot = electra.sample_from_logits(probs.log().expand(20000, 4), temperature=0.5,
                                generator=torch.Generator().manual_seed(3))
    sharp = probs**2 / (probs**2).sum()
    assert torch.allclose(torch.bincount(hot, minlength=4) / 20000, sharp, atol=0.012)


@pytest.fixture(scope="module")
def electra_profile(tiny_profile):
    """The tiny profile with 4 heads and 16 positions: a generator a quarter as wide has 8 dimensions and 1 head."""
    return tiny_profile.replace(model={"n_heads": 4, "seq_len": 16})


LENGTH = 16


def _mlm_batch(vocab: int = 60, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (4, LENGTH), generator=gen)
    chosen = torch.rand(ids.shape, generator=gen) < 0.3
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE_INDEX))
    inputs = ids.masked_fill(chosen, 4)  # [MASK]
    return {"input_ids": inputs, "labels": labels, "attention_mask": torch.ones_like(ids)}


def test_electra_shares_embeddings_and_sizes_the_generator(electra_profile):
    model = electra.new_electra(electra_profile, 60)
    shared = model.discriminator.electra.embeddings.word_embeddings.weight
    assert model.generator.electra.embeddings.word_embeddings.weight is shared
    assert model.generator.generator_lm_head.weight is shared
    assert model.generator.config.hidden_size == 8 and model.generator.config.num_attention_heads == 1
    assert model.discriminator.config.hidden_size == 32
    with pytest.raises(ValueError, match="generator_fraction"):
        electra_configs(electra_profile, 60, generator_fraction=0)
    with pytest.raises(NotImplementedError, match="electra_loss"):
        model(input_ids=torch.zeros(1, 3, dtype=torch.long))


def test_electra_forward_builds_the_discriminator_task(electra_profile):
    model = electra.new_electra(electra_profile, 60)
    batch = _mlm_batch()
    torch.manual_seed(0)
    out = electra.electra_forward(model, batch)
    masked = batch["labels"] != IGNORE_INDEX
    original = torch.where(masked, batch["labels"], batch["input_ids"])
    assert torch.equal(out["corrupted"][~masked], original[~masked])  # untouched outside the mask
    assert torch.equal(out["disc_labels"], (out["corrupted"] != original).long().flatten())
    assert out["gen_logits"].shape == (int(masked.sum()), 60)


def test_electra_forward_rejects_batches_it_cannot_use(electra_profile):
    model = electra.new_electra(electra_profile, 60)
    batch = _mlm_batch()
    with pytest.raises(KeyError, match="MLMCollator"):
        electra.electra_forward(model, {"input_ids": batch["input_ids"]})
    with pytest.raises(ValueError, match="No position is masked"):
        electra.electra_forward(model, {**batch, "labels": torch.full_like(batch["labels"], IGNORE_INDEX)})


def test_discriminator_loss_does_not_reach_the_generator(electra_profile):
    model = electra.new_electra(electra_profile, 60)
    out = electra.electra_forward(model, _mlm_batch())
    disc = torch.nn.functional.binary_cross_entropy_with_logits(out["disc_logits"], out["disc_labels"].float())
    disc.backward()
    assert all(p.grad is None for p in model.generator.electra.encoder.parameters())
    assert any(p.grad is not None for p in model.discriminator.electra.encoder.parameters())


def test_electra_trains_with_the_engine(electra_profile):
    model = electra.new_electra(electra_profile, 60)
    data = [{k: v[i] for k, v in _mlm_batch(seed=s).items()} for s in range(8) for i in range(4)]
    result = train(model, data, config=TrainConfig(max_steps=30, batch_size=8, lr=3e-3, progress=False),
                   loss_fn=electra.electra_loss, eval_data=data[:8], compute_metrics=electra.electra_metrics)
    frame = result.frame("train")
    assert frame["disc_loss"].tail(5).mean() < frame["disc_loss"].head(5).mean()
    scores = result.last_eval
    assert 0.0 <= scores["disc_accuracy"] <= 1.0 and scores["replaced_fraction"] > 0
