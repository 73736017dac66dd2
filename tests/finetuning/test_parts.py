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
