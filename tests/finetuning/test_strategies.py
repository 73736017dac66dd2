"""sslm_utils.finetuning.strategies: each strategy trains exactly the parameters it names, and counts them."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.finetuning.adapters import AdapterSlot
from sslm_utils.finetuning.heads import SentenceClassifier
from sslm_utils.finetuning.lora import LoRALinear
from sslm_utils.finetuning.strategies import (
    STRATEGIES,
    apply_strategy,
    bitfit,
    count_parameters,
    feature_extraction,
    freeze,
    train_layers,
    trainable_report,
)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def classifier(small_bert):
    return SentenceClassifier(small_bert("pretraining"), 2)


def _training(model) -> set[str]:
    return {name for name, p in model.named_parameters() if p.requires_grad}


def _names(model, prefix: str) -> set[str]:
    return {name for name, _ in model.named_parameters() if name.startswith(prefix)}


def test_counts(classifier):
    total = sum(p.numel() for p in classifier.parameters())
    assert count_parameters(classifier) == (total, total)
    freeze(classifier)
    assert count_parameters(classifier) == (0, total)
    classifier.head.requires_grad_(True)
    report = trainable_report(classifier)
    assert (report.trainable, report.total) == (2 * 16 + 2, total)
    assert report.percent == pytest.approx(100 * 34 / total)
    assert str(report) == f"34 of {total:,} parameters train ({100 * 34 / total:.2f} %)"


def test_a_tied_weight_counts_once(small_bert):
    model = small_bert("pretraining")
    by_name = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
    vocab, width = model.config.vocab_size, model.config.hidden_size
    # the decoder's weight is the word embedding, its bias is cls.predictions.bias: each listed twice by name
    assert count_parameters(model)[1] == by_name - vocab * width - vocab


def test_feature_extraction_trains_only_the_head(classifier):
    assert _training(feature_extraction(classifier)) == {"head.weight", "head.bias"}


@pytest.mark.parametrize(("where", "layer"), [("top", 1), ("bottom", 0)])
def test_train_layers(classifier, where, layer):
    train_layers(classifier, 1, where)
    assert _training(classifier) == _names(classifier, f"bert.encoder.layer.{layer}.") | {"head.weight", "head.bias"}
    train_layers(classifier, 2, where)
    assert _training(classifier) == _names(classifier, "bert.encoder.") | {"head.weight", "head.bias"}


def test_bitfit_trains_biases_and_the_head(classifier):
    bitfit(classifier)
    biases = {n for n in _names(classifier, "bert.") if n.endswith("bias")}
    assert _training(classifier) == biases | {"head.weight", "head.bias"}
    assert any("LayerNorm.bias" in n for n in biases) and any("query.bias" in n for n in biases)


def test_gradients_reach_exactly_the_trainable_parameters(classifier, labelled_batch):
    train_layers(classifier, 1, "bottom")  # the gradient crosses the frozen top layer on its way down
    classifier(**labelled_batch()).loss.backward()
    with_grad = {n for n, p in classifier.named_parameters() if p.grad is not None}
    assert with_grad == _training(classifier)


def test_every_strategy_in_the_registry(small_bert):
    kwargs = {"top_k": {"k": 1}, "bottom_k": {"k": 1}, "adapters": {"bottleneck": 4}, "lora": {"r": 2, "alpha": 4}}
    assert {"feature_extraction", "full", "top_k", "bottom_k", "bitfit", "adapters", "lora"} <= set(STRATEGIES)
    counts = {}
    for name in STRATEGIES:
        model = apply_strategy(SentenceClassifier(small_bert("pretraining"), 2), name, **kwargs.get(name, {}))
        counts[name] = count_parameters(model)[0]
        assert counts[name] > 0
    assert counts["full"] > counts["top_k"] > counts["adapters"] > counts["feature_extraction"]
    assert counts["lora"] > counts["feature_extraction"] and counts["bitfit"] > counts["feature_extraction"]


def test_a_second_strategy_replaces_the_first(classifier):
    apply_strategy(classifier, "full")
    apply_strategy(classifier, "feature_extraction")
    assert _training(classifier) == {"head.weight", "head.bias"}


def test_adapters_and_lora_insert_their_modules(classifier, small_bert):
    apply_strategy(classifier, "adapters", bottleneck=3)
    assert sum(isinstance(m, AdapterSlot) for m in classifier.modules()) == 4  # 2 layers x 2 sublayers
    other = apply_strategy(SentenceClassifier(small_bert("pretraining"), 2), "lora", r=2, alpha=4.0)
    assert sum(isinstance(m, LoRALinear) for m in other.modules()) == 4  # query and value in 2 layers


def test_bad_strategies_are_explained(classifier, small_bert):
    with pytest.raises(ValueError, match="Unknown strategy 'lorra'; the strategies are full, top_k"):
        apply_strategy(classifier, "lorra")
    with pytest.raises(TypeError, match=r"takes \(k\).*apply_strategy\(model, 'top_k', k=...\)"):
        apply_strategy(classifier, "top_k")
    with pytest.raises(TypeError, match=r"'full' takes \(\)"):
        apply_strategy(classifier, "full", k=2)
    with pytest.raises(ValueError, match="only 2 layers; pass k between 1 and 2"):
        train_layers(classifier, 3)
    with pytest.raises(ValueError, match="k must be a positive int, got 0"):
        train_layers(classifier, 0)
    with pytest.raises(ValueError, match="where must be one of"):
        train_layers(classifier, 1, "middle")
    with pytest.raises(ValueError, match="no task head"):
        feature_extraction(small_bert("model"))


def test_bitfit_needs_biases(small_bert):
    from transformers import BertConfig, BertModel

    config = small_bert("model").config
    no_bias = BertModel(BertConfig(**{**config.to_dict(), "vocab_size": config.vocab_size}))
    for module in no_bias.modules():
        if getattr(module, "bias", None) is not None:
            module.bias = None
    with pytest.raises(ValueError, match="no bias terms"):
        bitfit(SentenceClassifier(no_bias, 2))
    assert torch.is_tensor(SentenceClassifier(no_bias, 2).head.bias)  # the head is not the encoder
