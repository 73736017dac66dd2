"""sslm_utils.finetuning.heads: a classifier on a copy of the encoder that pools honestly and trains with the engine."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sslm_utils.finetuning.heads import SentenceClassifier, pool

pytestmark = pytest.mark.usefixtures("one_thread")


def test_logits_and_loss(small_bert, labelled_batch):
    batch = labelled_batch(n_labels=3)
    model = SentenceClassifier(small_bert("pretraining"), 3).eval()
    out = model(**batch)
    assert out.logits.shape == (4, 3)
    assert torch.allclose(out.loss, F.cross_entropy(out.logits, batch["labels"]))
    assert model(batch["input_ids"], batch["attention_mask"]).loss is None


def test_cls_reads_the_first_position_and_mean_skips_padding():
    hidden = torch.arange(24.0).reshape(2, 3, 4)  # (batch, seq, d_model)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert torch.equal(pool(hidden, mask, "cls"), hidden[:, 0])
    expected = torch.stack([hidden[0, :2].mean(0), hidden[1].mean(0)])
    assert torch.equal(pool(hidden, mask, "mean"), expected)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_padding_does_not_change_a_text_score(small_bert, pooling):
    model = SentenceClassifier(small_bert("model"), 2, pooling=pooling).eval()
    ids = torch.tensor([[2, 7, 9, 11, 3]])
    padded = torch.cat([ids, torch.zeros(1, 3, dtype=torch.long)], 1)
    mask = torch.cat([torch.ones(1, 5), torch.zeros(1, 3)], 1).long()
    with torch.no_grad():
        alone = model(ids, torch.ones_like(ids)).logits
        with_padding = model(padded, mask).logits
    torch.testing.assert_close(alone, with_padding, atol=1e-5, rtol=1e-5)


def test_the_classifier_trains_a_copy_without_the_pooler(small_bert, labelled_batch):
    pretrained = small_bert("pretraining")
    before = {k: v.clone() for k, v in pretrained.state_dict().items()}
    model = SentenceClassifier(pretrained, 2)
    assert model.bert is not pretrained.bert and model.bert.pooler is None
    assert pretrained.bert.pooler is not None
    assert model.config is model.bert.config
    loss = model(**labelled_batch()).loss
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=1.0).step()
    assert not torch.equal(model.bert.embeddings.word_embeddings.weight,
                           pretrained.bert.embeddings.word_embeddings.weight)  # the copy moved
    assert all(torch.equal(v, pretrained.state_dict()[k]) for k, v in before.items())  # the original did not
    assert all(p.grad is not None for p in model.parameters())  # nothing dead weight: every parameter is used


def test_it_trains_with_the_engine(small_bert, labelled_batch, toy_config):
    from sslm_utils.engine import evaluate, train

    batch = labelled_batch(n=8)
    data = [{k: v[i] for k, v in batch.items()} for i in range(8)]
    model = SentenceClassifier(small_bert("pretraining"), 2)
    head_before = model.head.weight.detach().clone()
    config = toy_config(max_steps=2, batch_size=4, grad_accum_steps=1, warmup_steps=0, eval_every=None,
                        checkpoint_every=None)
    result = train(model, data, config=config, eval_data=data)  # the engine's default loss: model(**batch).loss
    assert list(result.frame()["step"]) == [1, 2]
    assert "loss" in result.last_eval and not torch.equal(result.model.head.weight, head_before)
    assert evaluate(result.model, data, batch_size=4)["loss"] == pytest.approx(result.last_eval["loss"])


@pytest.mark.parametrize("n_labels", [1, 0, 2.0, True])
def test_a_classifier_needs_two_classes(small_bert, n_labels):
    with pytest.raises(ValueError, match="at least two"):
        SentenceClassifier(small_bert("model"), n_labels)


def test_bad_labels_and_pooling_are_explained(small_bert, labelled_batch):
    model = SentenceClassifier(small_bert("model"), 2)
    batch = labelled_batch()
    with pytest.raises(ValueError, match="label 2 is outside 0..1"):
        model(**(batch | {"labels": torch.tensor([0, 1, 2, 0])}))
    with pytest.raises(ValueError, match="1-D LongTensor"):
        model(**(batch | {"labels": batch["labels"].float()}))
    with pytest.raises(ValueError, match="pooling"):
        SentenceClassifier(small_bert("model"), 2, pooling="max")
