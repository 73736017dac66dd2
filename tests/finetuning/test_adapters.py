"""sslm_utils.finetuning.adapters: adapters start as the identity, sit where Houlsby et al. put them, train alone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sslm_utils.finetuning.adapters import AdapterSlot, HoulsbyAdapter, adapter_parameter_count, add_adapters
from sslm_utils.finetuning.heads import SentenceClassifier

pytestmark = pytest.mark.usefixtures("one_thread")


def _slots(model) -> list[AdapterSlot]:
    return [m for m in model.modules() if isinstance(m, AdapterSlot)]


@pytest.mark.parametrize("kind", ["model", "pretraining"])
def test_the_adapted_model_starts_as_the_original(small_bert, labelled_batch, kind):
    batch = labelled_batch()
    del batch["labels"]
    model = small_bert(kind, dropout=0.1).eval()
    with torch.no_grad():
        before = model(**batch)
        add_adapters(model, 4)
        after = model(**batch)
    assert len(_slots(model)) == 4
    key = "last_hidden_state" if kind == "model" else "prediction_logits"
    assert torch.equal(before[key], after[key])  # exactly: the up-projection is zero


def test_adapters_sit_after_the_projection_before_the_residual_layernorm(small_bert):
    model = add_adapters(small_bert("model"), 4).eval()
    for out in (model.encoder.layer[0].attention.output, model.encoder.layer[1].output):
        with torch.no_grad():
            out.dropout.adapter.up.weight.normal_()  # a non-trivial adapter
            h, residual = torch.randn(2, 5, out.dense.in_features), torch.randn(2, 5, 16)
            adapter = out.dropout.adapter
            expected = out.LayerNorm(adapter(out.dense(h)) + residual)
            torch.testing.assert_close(out(h, residual), expected)
            manual = out.dense(h) + adapter.up(torch.nn.functional.gelu(adapter.down(out.dense(h))))
            torch.testing.assert_close(adapter(out.dense(h)), manual)  # x + up(gelu(down(x)))


def test_both_adapters_of_every_layer_are_used(small_bert, labelled_batch):
    model = add_adapters(small_bert("model"), 4)
    calls = []
    for slot in _slots(model):
        slot.adapter.register_forward_hook(lambda *_: calls.append(1))
    batch = labelled_batch()
    model(batch["input_ids"], batch["attention_mask"])
    assert len(calls) == 2 * 2


def test_only_adapters_layernorms_and_the_head_train(small_bert):
    model = add_adapters(SentenceClassifier(small_bert("pretraining"), 3), 4)
    training = {n for n, p in model.named_parameters() if p.requires_grad}
    assert training == {n for n, _ in model.named_parameters() if ".adapter." in n or "LayerNorm" in n
                        or n.startswith("head.")}
    d, m, layers = 16, 4, 2
    adapters = layers * 2 * adapter_parameter_count(d, m)
    layernorms = (2 * layers + 1) * 2 * d  # two a layer and the embeddings', a gain and a bias each
    head = d * 3 + 3
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == adapters + layernorms + head
    assert adapter_parameter_count(d, m) == sum(p.numel() for p in HoulsbyAdapter(d, m).parameters())


def test_a_gradient_reaches_the_up_projection(small_bert, labelled_batch):
    model = add_adapters(SentenceClassifier(small_bert("pretraining"), 2), 4)
    model(**labelled_batch()).loss.backward()
    up = [slot.adapter.up.weight.grad for slot in _slots(model)]
    down = [slot.adapter.down.weight.grad for slot in _slots(model)]
    assert all(g is not None and g.abs().sum() > 0 for g in up)  # down's output is not zero
    assert all(g is not None and g.abs().sum() == 0 for g in down)  # up is zero, so down waits one step


def test_bad_adapters_are_explained(small_bert):
    with pytest.raises(ValueError, match="bottleneck must be a positive int"):
        add_adapters(small_bert("model"), 0)
    model = add_adapters(small_bert("model"), 2)
    with pytest.raises(ValueError, match="already has adapters"):
        add_adapters(model, 2)
    with pytest.raises(TypeError, match="not a BERT-style encoder"):
        add_adapters(nn.Sequential(nn.Linear(2, 2)), 2)
