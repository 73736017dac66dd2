"""sslm_utils.finetuning.lora: the hand-built LoRA computes what peft's does, and merges without changing outputs."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from sslm_utils.finetuning.heads import SentenceClassifier
from sslm_utils.finetuning.lora import LoRALinear, add_lora, lora_parameter_count, merge_lora

pytestmark = pytest.mark.usefixtures("one_thread")


def _inputs(labelled_batch) -> dict:
    batch = labelled_batch()
    return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}


def test_a_new_lora_layer_is_the_base_layer():
    torch.manual_seed(0)
    base = nn.Linear(32, 8)
    lora = LoRALinear(base, r=4, alpha=8)
    x = torch.randn(3, 5, 32)
    assert torch.equal(lora(x), base(x))  # B = 0
    assert lora.scaling == 2.0 and lora.lora_A.weight.shape == (4, 32) and lora.lora_B.weight.shape == (8, 4)
    bound = 1 / math.sqrt(32)  # Kaiming-uniform with a = sqrt(5), as nn.Linear and peft initialise A
    assert lora.lora_A.weight.abs().max() <= bound and lora.lora_A.weight.abs().max() > bound / 2
    assert not base.weight.requires_grad and lora.lora_A.weight.requires_grad and lora.lora_B.weight.requires_grad
    with torch.no_grad():
        lora.lora_B.weight.normal_()
    expected = base(x) + 2.0 * x @ lora.lora_A.weight.T @ lora.lora_B.weight.T
    torch.testing.assert_close(lora(x), expected)


def test_dropout_acts_on_the_update_only_in_training():
    torch.manual_seed(0)
    lora = LoRALinear(nn.Linear(16, 4), r=2, alpha=2, dropout=0.5)
    with torch.no_grad():
        lora.lora_B.weight.normal_()
    x = torch.randn(8, 16)
    with torch.no_grad():
        assert not torch.equal(lora(x), lora(x))  # a fresh dropout mask each call
        lora.eval()
        torch.testing.assert_close(lora(x), lora.base(x) + lora.lora_B(lora.lora_A(x)))


@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")  # peft calls it
def test_equal_to_peft(small_bert, labelled_batch):
    from peft import LoraConfig, get_peft_model
    from peft.tuners.lora import LoraLayer

    r, alpha = 4, 8
    ours = small_bert("model")
    theirs = get_peft_model(copy.deepcopy(ours), LoraConfig(r=r, lora_alpha=alpha, target_modules=["query", "value"],
                                                            lora_dropout=0.0))
    add_lora(ours, r, alpha, targets=("query", "value"))
    peft_layers = {name.removeprefix("base_model.model."): m for name, m in theirs.named_modules()
                   if isinstance(m, LoraLayer)}
    our_layers = {name: m for name, m in ours.named_modules() if isinstance(m, LoRALinear)}
    assert set(peft_layers) == set(our_layers) and len(our_layers) == 4
    torch.manual_seed(1)
    with torch.no_grad():
        for name, layer in peft_layers.items():
            layer.lora_B["default"].weight.normal_()  # not zero, or the test would compare the base models only
            our_layers[name].lora_A.weight.copy_(layer.lora_A["default"].weight)
            our_layers[name].lora_B.weight.copy_(layer.lora_B["default"].weight)
            assert our_layers[name].scaling == layer.scaling["default"]
    inputs = _inputs(labelled_batch)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        a, b = ours(**inputs).last_hidden_state, theirs(**inputs).last_hidden_state
        untouched = small_bert("model").eval()(**inputs).last_hidden_state
    assert (a - b).abs().max() < 1e-6
    assert (a - untouched).abs().max() > 1e-3  # the update really changed the outputs
    assert sum(p.numel() for p in ours.parameters() if p.requires_grad) == \
        sum(p.numel() for p in theirs.parameters() if p.requires_grad)


def test_merging_keeps_the_outputs(small_bert, labelled_batch):
    model = add_lora(SentenceClassifier(small_bert("pretraining"), 2), r=2, alpha=6)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, LoRALinear):
                m.lora_B.weight.normal_()
    model.eval()
    inputs = _inputs(labelled_batch)
    with torch.no_grad():
        before = model(**inputs).logits
        merge_lora(model)
        after = model(**inputs).logits
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    assert type(model.bert.encoder.layer[0].attention.self.query) is nn.Linear
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)


def test_only_lora_and_the_head_train(small_bert):
    model = add_lora(SentenceClassifier(small_bert("pretraining"), 3), r=2, alpha=2, targets=("query", "value"))
    training = {n for n, p in model.named_parameters() if p.requires_grad}
    assert training == {n for n, _ in model.named_parameters() if ".lora_" in n or n.startswith("head.")}
    d, layers = 16, 2
    expected = layers * 2 * lora_parameter_count(d, d, 2) + d * 3 + 3
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == expected


def test_bad_lora_is_explained(small_bert):
    with pytest.raises(ValueError, match="r must be a positive int"):
        add_lora(small_bert("model"), r=0, alpha=8)
    with pytest.raises(ValueError, match="alpha must be a positive"):
        add_lora(small_bert("model"), r=4, alpha=0)
    with pytest.raises(ValueError, match=r"No module is named 'qeury'.*named: dense, key, query, value"):
        add_lora(small_bert("model"), r=4, alpha=8, targets=("qeury", "value"))
    with pytest.raises(TypeError, match="adapts linear layers, but .* is a BertAttention"):
        add_lora(small_bert("model"), r=4, alpha=8, targets=("attention",))
    untouched = small_bert("model")
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        add_lora(untouched, r=4, alpha=8, dropout=1.0)
    assert all(p.requires_grad for p in untouched.parameters())  # refused before anything was frozen
    model = add_lora(small_bert("model"), r=4, alpha=8)
    with pytest.raises(ValueError, match="already has LoRA layers"):
        add_lora(model, r=4, alpha=8)
    with pytest.raises(ValueError, match="no LoRA layers to merge"):
        merge_lora(small_bert("model"))
    with pytest.raises(TypeError, match="wraps an nn.Linear"):
        LoRALinear(nn.Conv1d(2, 2, 1), r=1, alpha=1)
