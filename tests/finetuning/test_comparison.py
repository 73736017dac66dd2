"""sslm_utils.finetuning.comparison: every strategy of lesson 4.2 builds, and a run measures every column."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.finetuning import (
    STRATEGIES_COMPARED,
    ClozeTexts,
    FineTuneConfig,
    LabelledTexts,
    Strategy,
    inputs_for,
    run_strategy,
    strategy_named,
    trainable_report,
)

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.filterwarnings("ignore::FutureWarning")]


def _texts(n: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    words = ["the", "nation", "people", "law", "year"]
    texts, labels = [], []
    for i in range(n):
        chosen = [words[j] for j in torch.randint(0, 5, (6,), generator=gen).tolist()]
        chosen[int(torch.randint(0, 6, (1,), generator=gen))] = "peace" if i % 2 else "war"
        texts.append(" ".join(chosen))
        labels.append(i % 2)
    return texts, labels


def test_the_strategies_have_distinct_names_and_are_found_by_name():
    names = [s.name for s in STRATEGIES_COMPARED]
    assert len(set(names)) == len(names) >= 9
    assert strategy_named("BitFit") is STRATEGIES_COMPARED[names.index("BitFit")]
    with pytest.raises(ValueError, match="No strategy is called 'bitfit'; the strategies compared are"):
        strategy_named("bitfit")
    with pytest.raises(ValueError, match="inputs must be one of"):
        Strategy("x", lambda *a: None, inputs="images")


@pytest.fixture(scope="module")
def four_layer_bert(wordpiece_tokenizer):
    from transformers import BertConfig, BertForPreTraining

    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(wordpiece_tokenizer), hidden_size=16, num_hidden_layers=4,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=32)
    return BertForPreTraining(config)


def test_each_strategy_trains_what_it_says(four_layer_bert, wordpiece_tokenizer):
    tiny_bert = four_layer_bert
    shares = {}
    for strategy in STRATEGIES_COMPARED:
        if strategy.inputs == "cloze":  # 'bad' is two pieces for the tiny tokenizer: a clear error
            with pytest.raises(ValueError, match="not one known token"):
                strategy.build(tiny_bert, wordpiece_tokenizer, 2)
            continue
        shares[strategy.name] = trainable_report(strategy.build(tiny_bert, wordpiece_tokenizer, 2)).trainable
    assert shares["full fine-tuning"] > shares["top 2 layers"] > shares["LoRA (r = 8)"] > shares["BitFit"]
    assert shares["BitFit"] > shares["head only (frozen encoder)"] == 2 * tiny_bert.config.hidden_size + 2
    assert shares["top 2 layers"] == shares["bottom 2 layers"]  # every layer has the same size


def test_inputs_follow_the_strategy(wordpiece_tokenizer):
    texts, labels = ["the state of the union " * 10], [1]
    kinds = {s.inputs: s for s in STRATEGIES_COMPARED}
    plain = inputs_for(kinds["text"], wordpiece_tokenizer, texts, labels, max_length=32)
    prompt = inputs_for(kinds["prompt"], wordpiece_tokenizer, texts, labels, max_length=32)
    assert type(plain) is LabelledTexts and len(plain[0]["input_ids"]) == 32
    assert len(prompt[0]["input_ids"]) == 32 - 16  # room for the prompt's vectors
    assert isinstance(inputs_for(kinds["cloze"], wordpiece_tokenizer, texts, labels, max_length=32), ClozeTexts)


def test_a_run_measures_every_column(tiny_bert, wordpiece_tokenizer):
    strategy = strategy_named("LoRA (r = 8)")
    torch.manual_seed(0)
    classifier = strategy.build(tiny_bert, wordpiece_tokenizer, 2)
    train = LabelledTexts(wordpiece_tokenizer, *_texts(64, 0))
    test = LabelledTexts(wordpiece_tokenizer, *_texts(40, 1))
    config = FineTuneConfig(epochs=8, batch_size=16, lr=3e-2, evals_per_epoch=1, metric="loss")
    report = trainable_report(classifier)
    run = run_strategy(strategy, classifier, train, test, test, config)
    assert (run.trainable, run.total) == (report.trainable, report.total)
    assert run.steps == 32 and 0 < run.best_step <= 32 and run.lr == 3e-2 and run.train_time_s > 0
    assert run.accuracy > 0.9 and run.correct.shape == (40,) and run.correct.float().mean() == run.accuracy
    assert 4 * run.trainable <= run.checkpoint_bytes < 4 * run.trainable + 8192  # float32, plus the names
    assert run.step_peak_mib > 4 * report.total / 2**20  # at least the weights themselves
    row = run.as_row()
    assert "correct" not in row and row["trainable_percent"] == pytest.approx(100 * run.trainable / run.total)
