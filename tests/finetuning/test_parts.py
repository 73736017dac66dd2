"""sslm_utils.finetuning.parts: one way to name the encoder, its layers and the task head of every BERT wrapper."""

from __future__ import annotations

import pytest
from torch import nn

from sslm_utils.finetuning.heads import SentenceClassifier
from sslm_utils.finetuning.parts import encoder_layers, encoder_of, head_parameters


def test_the_encoder_of_every_wrapper(small_bert):
    bare, pretraining = small_bert("model"), small_bert("pretraining")
    assert encoder_of(bare) is bare and head_parameters(bare) == []
    assert encoder_of(pretraining) is pretraining.bert
    assert len(encoder_layers(pretraining)) == 2
    classifier = SentenceClassifier(pretraining, 3)
    assert encoder_of(classifier) is classifier.bert
    assert {id(p) for p in head_parameters(classifier)} == {id(p) for p in classifier.head.parameters()}


def test_a_weight_tied_to_the_encoder_is_not_head(small_bert):
    model = small_bert("pretraining")
    decoder = model.cls.predictions.decoder.weight
    assert decoder is model.bert.embeddings.word_embeddings.weight  # tied
    head = {id(p) for p in head_parameters(model)}
    assert id(decoder) not in head
    assert id(model.cls.seq_relationship.weight) in head


def test_a_model_without_an_encoder_is_refused():
    with pytest.raises(TypeError, match="not a BERT-style encoder"):
        encoder_of(nn.Linear(2, 2))


def test_layerwise_lr_scales_decay_from_the_head_down(small_bert):
    from sslm_utils.finetuning import SentenceClassifier, layerwise_lr_scales

    classifier = SentenceClassifier(small_bert("model", layers=3), 2)
    scales = layerwise_lr_scales(classifier, 0.5)
    assert scales["head.weight"] == scales["head.bias"] == 1.0
    assert scales["bert.encoder.layer.2.attention.self.query.weight"] == 0.5  # the top layer
    assert scales["bert.encoder.layer.0.output.dense.bias"] == 0.125
    assert scales["bert.embeddings.word_embeddings.weight"] == 0.0625  # below the bottom layer
    assert set(scales) == {n for n, p in classifier.named_parameters() if p.requires_grad}
    assert set(layerwise_lr_scales(classifier, 1.0).values()) == {1.0}
    for bad in (0, 1.5, -0.1, float("nan"), True):
        with pytest.raises(ValueError, match="decay must be in"):
            layerwise_lr_scales(classifier, bad)
