"""sslm_utils.finetuning.training: labelled texts, dynamic padding, fine-tuning with model selection, scoring."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.files import IntegrityError
from sslm_utils.finetuning import SentenceClassifier
from sslm_utils.finetuning.training import (
    FineTuneConfig,
    LabelledTexts,
    PadCollator,
    _KeepBest,
    by_length,
    fine_tune,
    score_classifier,
    stratified_subset,
)

pytestmark = pytest.mark.usefixtures("one_thread")

WORDS = ["the", "nation", "people", "congress", "year", "war", "peace", "law", "trade", "land"]


def keyword_texts(n: int, seed: int) -> tuple[list[str], list[int]]:
    """Random sentences of common words; label 1 when "peace" occurs, which a small model learns fast."""
    gen = torch.Generator().manual_seed(seed)
    texts, labels = [], []
    for i in range(n):
        words = [WORDS[j] for j in torch.randint(0, 6, (8,), generator=gen).tolist()]
        if i % 2:
            words[int(torch.randint(0, 8, (1,), generator=gen))] = "peace"
        texts.append(" ".join(words))
        labels.append(i % 2)
    return texts, labels


@pytest.fixture(scope="module")
def encoder(wordpiece_tokenizer):
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(wordpiece_tokenizer), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=32, pad_token_id=0)
    return BertModel(config)


def splits(tokenizer, n_train=96):
    return (LabelledTexts(tokenizer, *keyword_texts(n_train, seed=0)),
            LabelledTexts(tokenizer, *keyword_texts(64, seed=1)))


def test_labelled_texts_truncate_and_pad_per_batch(wordpiece_tokenizer):
    data = LabelledTexts(wordpiece_tokenizer, ["peace", "the nation " * 40], [1, 0], max_length=16)
    assert len(data[1]["input_ids"]) == 16 and data[0]["labels"] == 1
    batch = PadCollator(data.pad_id)([data[0], data[1]])
    short = len(data[0]["input_ids"])
    assert batch["input_ids"].shape == (2, 16) and batch["attention_mask"][0].sum() == short
    assert (batch["input_ids"][0, short:] == data.pad_id).all() and batch["labels"].tolist() == [1, 0]


@pytest.mark.parametrize(("texts", "labels", "message"), [
    ([], [], "No labelled texts"),
    (["a", "b"], [0], "2 texts but 1 labels"),
    (["a"], [-1], "label -1 is negative"),
])
def test_bad_labelled_texts_say_how_to_fix_them(wordpiece_tokenizer, texts, labels, message):
    with pytest.raises(ValueError, match=message):
        LabelledTexts(wordpiece_tokenizer, texts, labels)


def test_fine_tuning_learns_a_keyword_and_keeps_the_best_validation_weights(encoder, wordpiece_tokenizer):
    train, validation = splits(wordpiece_tokenizer)
    config = FineTuneConfig(epochs=6, batch_size=16, lr=3e-3, evals_per_epoch=1)
    result = fine_tune(SentenceClassifier(encoder, 2), train, validation, config)
    evals = [r for r in result.history if r["split"] == "eval"]
    best = max(evals, key=lambda r: r["accuracy"])  # max keeps the first of equal scores
    assert result.best_step == best["step"] and result.validation["accuracy"] == best["accuracy"]
    assert result.validation["accuracy"] > 0.9  # "peace" decides the label
    again = score_classifier(result.model, validation)  # the returned weights are the chosen ones
    assert again.accuracy == pytest.approx(best["accuracy"])
    assert again.correct.shape == (len(validation),) and 0 <= again.standard_error < 0.05
    assert next(encoder.parameters()).grad is None  # the pretrained encoder itself was never trained


def test_select_last_returns_the_final_weights(encoder, wordpiece_tokenizer):
    train, validation = splits(wordpiece_tokenizer)
    result = fine_tune(SentenceClassifier(encoder, 2), train, validation,
                       FineTuneConfig(epochs=2, batch_size=16, lr=3e-3, select="last"))
    assert result.best_step == result.steps == 12


def test_patience_stops_where_early_stopping_point_says(encoder, wordpiece_tokenizer):
    from sslm_utils.finetuning import early_stopping_point

    train, validation = splits(wordpiece_tokenizer)
    config = FineTuneConfig(epochs=12, batch_size=16, lr=3e-3, evals_per_epoch=2, metric="loss", patience=1)
    result = fine_tune(SentenceClassifier(encoder, 2), train, validation, config)
    rule = early_stopping_point(result.history, metric="loss", patience=1)
    assert result.steps == rule.stop_step and result.best_step == rule.best_step
    assert result.stopped_early == (result.steps < config.train_config(len(train)).max_steps)


def test_the_best_weights_survive_a_restart_and_are_verified(tmp_path, encoder):
    keep = _KeepBest(tmp_path)
    model = SentenceClassifier(encoder, 2)
    keep(4, {"accuracy": 0.75}, model)
    keep(8, {"accuracy": 0.70}, model)  # worse: not kept
    again = _KeepBest(tmp_path)
    assert again.step == 4 and again.scores == {"accuracy": 0.75}
    assert all(torch.equal(again.state[k], v) for k, v in model.state_dict().items())
    (tmp_path / "weights.pt").write_bytes(b"damaged")
    with pytest.raises(IntegrityError, match="does not match best.json"):
        _KeepBest(tmp_path)


def test_bad_fine_tuning_input_says_how_to_fix_it(encoder, wordpiece_tokenizer):
    train, validation = splits(wordpiece_tokenizer)
    one_class = LabelledTexts(wordpiece_tokenizer, ["peace"] * 40, [1] * 40)
    with pytest.raises(ValueError, match="one class only"):
        fine_tune(SentenceClassifier(encoder, 2), one_class, validation)
    three = LabelledTexts(wordpiece_tokenizer, ["a", "b", "c"] * 12, [0, 1, 2] * 12)
    with pytest.raises(ValueError, match="label 2 does not fit a classifier of 2 labels"):
        fine_tune(SentenceClassifier(encoder, 2), three, validation)
    with pytest.raises(ValueError, match="fewer than one batch of 32"):
        fine_tune(SentenceClassifier(encoder, 2), stratified_subset(train, 10), validation)
    with pytest.raises(TypeError, match="LabelledTexts"):
        fine_tune(SentenceClassifier(encoder, 2), [("peace", 1)], validation)
    with pytest.raises(ValueError, match="select must be one of"):
        FineTuneConfig(select="first")
    with pytest.raises(ValueError, match="metric must be one of"):
        FineTuneConfig(metric="f1")


def test_selecting_on_loss_keeps_the_lowest_validation_loss(encoder, wordpiece_tokenizer):
    train, validation = splits(wordpiece_tokenizer)
    config = FineTuneConfig(epochs=4, batch_size=16, lr=3e-3, evals_per_epoch=2, metric="loss")
    result = fine_tune(SentenceClassifier(encoder, 2), train, validation, config)
    evals = [r for r in result.history if r["split"] == "eval"]
    best = min(evals, key=lambda r: r["loss"])
    assert result.best_step == best["step"] and result.validation["loss"] == best["loss"]
    assert best["loss"] < max(r["loss"] for r in evals)  # a real choice among different losses


def test_the_loss_keeper_keeps_lower_not_higher(tmp_path, encoder):
    keep = _KeepBest(None, "loss")
    model = SentenceClassifier(encoder, 2)
    keep(4, {"loss": 0.5, "accuracy": 0.6}, model)
    keep(8, {"loss": 0.6, "accuracy": 0.9}, model)  # higher accuracy, but a worse loss: not kept
    keep(12, {"loss": 0.4, "accuracy": 0.5}, model)
    assert keep.step == 12


def test_scoring_in_length_order_keeps_each_examples_place(encoder, wordpiece_tokenizer):
    texts = ["peace", "the nation the people " * 5, "war", "the law " * 3, "peace peace land"]
    data = LabelledTexts(wordpiece_tokenizer, texts, [1, 0, 0, 0, 1])
    model = SentenceClassifier(encoder, 2).eval()
    one_by_one = []
    with torch.no_grad():
        for i in range(len(data)):
            ids = torch.tensor([data[i]["input_ids"]])
            one_by_one.append(int(model(input_ids=ids).logits.argmax(-1)) == data.labels[i])
    score = score_classifier(model, data, batch_size=2)  # batches of the shortest texts first
    assert score.correct.tolist() == one_by_one
    ordered = by_length(data)
    lengths = [len(ids) for ids in ordered.input_ids]
    assert lengths == sorted(lengths) and sorted(ordered.texts) == sorted(texts)
    assert all(data.labels[data.texts.index(t)] == y for t, y in zip(ordered.texts, ordered.labels, strict=True))


def test_stratified_subsets_keep_the_class_shares_and_follow_the_seed(wordpiece_tokenizer):
    texts = [f"text {i}" for i in range(100)]
    data = LabelledTexts(wordpiece_tokenizer, texts, [int(i < 20) for i in range(100)])  # 20 % class 1
    subset = stratified_subset(data, 10, seed=3)
    assert len(subset) == 10 and sum(subset.labels) == 2
    assert all(data.texts.index(t) >= 0 for t in subset.texts)  # texts travel with their ids and labels
    assert subset.texts == stratified_subset(data, 10, seed=3).texts != stratified_subset(data, 10, seed=4).texts
    assert len(set(subset.texts)) == 10  # without replacement
    with pytest.raises(ValueError, match="more than the 100"):
        stratified_subset(data, 101)
    with pytest.raises(ValueError, match="one example of each of the 2 classes"):
        stratified_subset(data, 1)


def test_min_steps_trains_a_small_subset_longer_with_as_many_evaluations():
    plain = FineTuneConfig(epochs=4, batch_size=32, evals_per_epoch=2).train_config(32)
    assert (plain.max_steps, plain.eval_every) == (4, 1)  # one step per epoch: four steps in all
    longer = FineTuneConfig(epochs=4, batch_size=32, evals_per_epoch=2, min_steps=80).train_config(32)
    assert (longer.max_steps, longer.eval_every) == (80, 10)  # 8 evaluations, as 4 epochs x 2 would have
    large = FineTuneConfig(epochs=4, batch_size=32, min_steps=80).train_config(1000)
    assert large == FineTuneConfig(epochs=4, batch_size=32).train_config(1000)  # 124 steps > 80: unchanged
    with pytest.raises(ValueError, match="min_steps"):
        FineTuneConfig(min_steps=-1)


def test_layer_decay_slows_the_lower_layers(encoder, wordpiece_tokenizer):
    train, validation = splits(wordpiece_tokenizer)

    def embedding_change(decay):
        start = SentenceClassifier(encoder, 2)
        before = start.bert.embeddings.word_embeddings.weight.detach().clone()
        config = FineTuneConfig(epochs=1, batch_size=16, lr=3e-3, layer_decay=decay, select="last")
        tuned = fine_tune(start, train, validation, config).model
        return (tuned.bert.embeddings.word_embeddings.weight - before).abs().max().item()

    assert embedding_change(0.01) < 0.05 * embedding_change(1.0)  # 0.01**2 of the rate: barely moves
    with pytest.raises(ValueError, match="layer_decay"):
        FineTuneConfig(layer_decay=0.0)


def _evals(losses, accuracies=None):
    accuracies = accuracies or [0.5] * len(losses)
    return [{"split": "train", "step": 1, "loss": 9.0}] + [
        {"split": "eval", "step": 10 * (i + 1), "loss": loss, "accuracy": acc}
        for i, (loss, acc) in enumerate(zip(losses, accuracies))]


def test_early_stopping_point_stops_after_patience_evaluations_without_a_new_best():
    from sslm_utils.finetuning import early_stopping_point

    history = _evals([0.9, 0.7, 0.72, 0.71, 0.6, 0.8])
    stop = early_stopping_point(history, patience=2)
    assert (stop.best_step, stop.stop_step, stop.stopped, stop.evaluations, stop.of) == (20, 40, True, 4, 6)
    late = early_stopping_point(history, patience=3)  # waits long enough to see the later best, 0.6
    assert (late.best_step, late.stop_step, late.stopped) == (50, 60, False)
    tie = early_stopping_point(_evals([0.5, 0.5, 0.5]), patience=2)  # a tie is no improvement
    assert (tie.best_step, tie.stop_step, tie.stopped) == (10, 30, False)
    by_accuracy = early_stopping_point(_evals([0.9, 0.8, 0.7], [0.5, 0.6, 0.55]), metric="accuracy", patience=1)
    assert (by_accuracy.best_step, by_accuracy.stop_step, by_accuracy.stopped) == (20, 30, False)


@pytest.mark.parametrize("kwargs, match", [
    ({"patience": 0}, "patience"),
    ({"metric": "f1"}, "metric"),
])
def test_early_stopping_point_refuses_bad_settings(kwargs, match):
    from sslm_utils.finetuning import early_stopping_point

    with pytest.raises(ValueError, match=match):
        early_stopping_point(_evals([0.9, 0.8]), **kwargs)


def test_early_stopping_point_needs_evaluations():
    from sslm_utils.finetuning import early_stopping_point

    with pytest.raises(ValueError, match="no evaluations"):
        early_stopping_point([{"split": "train", "step": 1, "loss": 1.0}])


def test_keep_best_asks_to_stop_after_patience_evaluations_without_a_new_best():
    model = torch.nn.Linear(2, 2)
    keep = _KeepBest(None, "loss", patience=2, every=5)
    answers = [keep(step, {"loss": loss}, model)
               for step, loss in ((5, 0.9), (10, 0.7), (15, 0.8), (20, 0.75))]
    assert answers == [False, False, False, True] and keep.step == 10  # two evaluations past the best
    assert keep(25, {"loss": 0.6}, model) is False and keep.step == 25  # a new best resets the count
    never = _KeepBest(None, "loss", patience=None, every=5)
    assert not any(never(s, {"loss": 1.0}, model) for s in (5, 10, 15, 20))
    with pytest.raises(ValueError, match="patience"):
        FineTuneConfig(patience=0)
