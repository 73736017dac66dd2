"""sslm_utils.evaluation.probes: pooled features that ignore padding, and a probe that separates what is separable."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sslm_utils.evaluation.probes import layer_features, linear_probe, sentence_features

pytestmark = pytest.mark.usefixtures("one_thread")
TEXTS = ["a good film", "a bad film", "the plot was good and the acting was good too", "bad", "good good"]


def test_features_do_not_depend_on_the_batch(tiny_bert, wordpiece_tokenizer):
    model, tokenizer = tiny_bert, wordpiece_tokenizer
    together = sentence_features(model, tokenizer, TEXTS, batch_size=5)
    alone = np.concatenate([sentence_features(model, tokenizer, [t]) for t in TEXTS])
    assert together.shape == (5, model.config.hidden_size)
    np.testing.assert_allclose(together, alone, atol=1e-5)  # padding is excluded from the mean
    cls = sentence_features(model, tokenizer, TEXTS, pooling="cls")
    assert not np.allclose(cls, together)
    assert model.training  # the mode is restored


def test_features_read_the_layer_asked_for(tiny_bert, wordpiece_tokenizer):
    model, tokenizer = tiny_bert, wordpiece_tokenizer
    n = model.config.num_hidden_layers
    last = sentence_features(model, tokenizer, TEXTS)
    np.testing.assert_allclose(sentence_features(model, tokenizer, TEXTS, layer=n), last, atol=1e-6)
    # layer 0 is the embeddings: a text's mean embedding, whatever the layers above do
    embedded = sentence_features(model, tokenizer, TEXTS, layer=0, pooling="cls")
    ids = tokenizer(TEXTS[:1], return_tensors="pt")
    model.eval()
    expected = model.bert.embeddings(input_ids=ids["input_ids"])[0, 0].detach().numpy()
    model.train()
    np.testing.assert_allclose(embedded[0], expected, atol=1e-5)
    assert not np.allclose(sentence_features(model, tokenizer, TEXTS, layer=0), last)


def test_every_layer_in_one_pass_equals_one_layer_at_a_time(wordpiece_tokenizer):
    from transformers import BertConfig, BertForPreTraining

    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(wordpiece_tokenizer), hidden_size=16, num_hidden_layers=3,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=32)
    model = BertForPreTraining(config)
    for pooling in ("mean", "cls"):
        every = layer_features(model, wordpiece_tokenizer, TEXTS, pooling=pooling, batch_size=2)
        assert every.shape == (4, len(TEXTS), 16)
        for layer in range(4):
            one = sentence_features(model, wordpiece_tokenizer, TEXTS, layer=layer, pooling=pooling, batch_size=2)
            np.testing.assert_allclose(every[layer], one, atol=1e-6)
        assert not np.allclose(every[1], every[3])


def test_features_reject_bad_input(tiny_bert, wordpiece_tokenizer):
    model, tokenizer = tiny_bert, wordpiece_tokenizer
    with pytest.raises(TypeError, match="not one string"):
        sentence_features(model, tokenizer, "one text")
    with pytest.raises(ValueError, match="pooling"):
        sentence_features(model, tokenizer, TEXTS, pooling="max")
    with pytest.raises(ValueError, match="non-empty list"):
        sentence_features(model, tokenizer, [])
    with pytest.raises(ValueError, match="layer must be an int from"):
        sentence_features(model, tokenizer, TEXTS, layer=model.config.num_hidden_layers + 1)


def test_probe_separates_separable_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 600)
    x = rng.normal(size=(600, 5))
    x[:, 0] += 3 * (2 * y - 1)  # one informative direction
    result = linear_probe(x[:400], y[:400], x[400:], y[400:])
    assert result.accuracy > 0.95 and result.n_test == 200
    noise = linear_probe(rng.normal(size=(400, 5)), y[:400], rng.normal(size=(200, 5)), y[400:])
    assert abs(noise.accuracy - 0.5) < 4 * noise.standard_error + 0.02
    assert result.standard_error == pytest.approx(np.sqrt(result.accuracy * (1 - result.accuracy) / 200))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((np.zeros(4), [0, 1, 0, 1], np.zeros((2, 1)), [0, 1]), "must be 2-D"),
        ((np.zeros((4, 2)), [0, 1, 0], np.zeros((2, 2)), [0, 1]), "has 4 rows"),
        ((np.zeros((4, 2)), [0, 1, 0, 1], np.zeros((2, 3)), [0, 1]), "differ in width"),
        ((np.zeros((4, 2)), [1, 1, 1, 1], np.zeros((2, 2)), [0, 1]), "single class"),
    ],
)
def test_probe_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        linear_probe(*args)


def test_probe_reports_which_test_examples_it_got_right():
    gen = np.random.default_rng(0)
    x = gen.normal(size=(60, 3))
    y = (x[:, 0] > 0).astype(int)
    result = linear_probe(x[:40], y[:40], x[40:], y[40:])
    assert result.correct.shape == (20,) and result.correct.dtype == bool
    assert result.correct.mean() == pytest.approx(result.accuracy)
