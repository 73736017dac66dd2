"""Continued pretraining (TAPT/DAPT): the masking collator, the loss, the run, the held-out score, bad input."""

from __future__ import annotations

import copy

import pytest
import torch

from sslm_utils.engine import TrainConfig
from sslm_utils.finetuning import (
    MaskedTextCollator,
    UnlabelledTexts,
    continue_pretraining,
    held_out_masked_lm,
    masked_lm_loss,
)
from sslm_utils.objectives import IGNORE_INDEX

# a tiny "domain": two word orders, so a masked word is predictable from its neighbours
TRAIN = [f"the people of {place} and the nation of {place}" for place in ("ohio", "texas", "iowa", "maine")] * 8
HELD_OUT = [f"the people of {place} and the nation of {place}" for place in ("utah", "idaho")] * 8


@pytest.fixture()
def bert(wordpiece_tokenizer):
    from transformers import BertConfig, BertForPreTraining

    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(wordpiece_tokenizer), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=32, pad_token_id=0)
    return BertForPreTraining(config)


def config(steps=40, **changes):
    return TrainConfig(max_steps=steps, batch_size=8, lr=3e-3, warmup_steps=4, progress=False, **changes)


def test_the_collator_pads_and_never_masks_padding_or_special_tokens(wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    data = UnlabelledTexts(tok, ["peace", "the nation " * 40], max_length=16)
    assert len(data[1]["input_ids"]) == 16 and len(data) == 2
    torch.manual_seed(0)
    batch = MaskedTextCollator(tok, mlm_probability=0.9)([data[0], data[1]] * 8)
    n_short = len(data[0]["input_ids"])
    assert batch["input_ids"].shape == (16, 16) and int(batch["attention_mask"][0].sum()) == n_short
    chosen = batch["labels"] != IGNORE_INDEX
    original = torch.stack([torch.tensor(data[i % 2]["input_ids"] + [tok.pad_token_id] * (16 - len(data[i % 2][
        "input_ids"]))) for i in range(16)])
    special = torch.isin(original, torch.tensor(tok.all_special_ids))
    assert chosen.any() and not (chosen & special).any()  # padding, [CLS], [SEP] never chosen
    assert torch.equal(batch["labels"][chosen], original[chosen])  # the label is the word that was there
    assert (batch["input_ids"][chosen] == tok.mask_token_id).float().mean() > 0.6  # about 80 % show [MASK]


def test_the_loss_is_the_masked_lm_cross_entropy_of_the_full_forward(bert, wordpiece_tokenizer):
    torch.manual_seed(1)
    batch = MaskedTextCollator(wordpiece_tokenizer)([{"input_ids": x} for x in
                                                    UnlabelledTexts(wordpiece_tokenizer, TRAIN[:8]).input_ids])
    bert.eval()  # no dropout: the two forwards must see the same network
    loss, parts = masked_lm_loss(bert, batch)
    logits = bert(**{k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}).prediction_logits
    expected = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(),
                                                 ignore_index=IGNORE_INDEX)
    assert torch.allclose(loss, expected, atol=1e-5) and torch.equal(parts["mlm_loss"], loss.detach())


def test_continued_pretraining_lowers_held_out_loss_and_leaves_the_model_alone(bert, wordpiece_tokenizer):
    before = {k: v.clone() for k, v in bert.state_dict().items()}
    start = held_out_masked_lm(bert, wordpiece_tokenizer, HELD_OUT)
    result = continue_pretraining(bert, wordpiece_tokenizer, TRAIN, config(eval_every=20), eval_texts=HELD_OUT)
    after = held_out_masked_lm(result.model, wordpiece_tokenizer, HELD_OUT)
    assert after["positions"] == start["positions"] > 10  # the same blanks for both models
    gain = start["per_position"] - after["per_position"]
    assert gain.mean() > 5 * gain.std() / len(gain) ** 0.5  # lower loss, far beyond chance
    assert all(torch.equal(before[k], v) for k, v in bert.state_dict().items())  # a copy was trained
    evals = [row for row in result.history if row["split"] == "eval"]
    assert [row["step"] for row in evals] == [20, 40] and "mlm_loss_at_mask" in evals[0]


def test_the_held_out_score_draws_the_same_blanks_and_leaves_the_random_stream_alone(bert, wordpiece_tokenizer):
    torch.manual_seed(7)
    expected_next = torch.rand(1)
    torch.manual_seed(7)
    first = held_out_masked_lm(bert, wordpiece_tokenizer, HELD_OUT, seed=3)
    assert torch.equal(torch.rand(1), expected_next)
    again = held_out_masked_lm(bert, wordpiece_tokenizer, HELD_OUT, seed=3)
    other = held_out_masked_lm(bert, wordpiece_tokenizer, HELD_OUT, seed=4)
    assert torch.equal(first["per_position"], again["per_position"])
    assert not torch.equal(first["per_position"], other["per_position"])
    assert 0 <= first["accuracy_at_mask"] <= 1 and first["loss_at_mask_se"] > 0


def test_an_interrupted_run_resumes_to_the_same_weights(bert, wordpiece_tokenizer, tmp_path):
    whole = continue_pretraining(bert, wordpiece_tokenizer, TRAIN, config(12))
    continue_pretraining(bert, wordpiece_tokenizer, TRAIN, config(12, stop_after=6, checkpoint_every=6),
                         output_dir=tmp_path)
    resumed = continue_pretraining(bert, wordpiece_tokenizer, TRAIN, config(12, checkpoint_every=6),
                                   output_dir=tmp_path, resume=True)
    for (name, a), b in zip(whole.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_bad_input_says_how_to_fix_it(bert, wordpiece_tokenizer):
    from sslm_utils.finetuning import SentenceClassifier

    tok = wordpiece_tokenizer
    with pytest.raises(TypeError, match="BertForPreTraining"):
        continue_pretraining(SentenceClassifier(bert.bert, 2), tok, TRAIN, config())
    with pytest.raises(ValueError, match="texts is empty; pass at least one text"):
        continue_pretraining(bert, tok, [], config())
    with pytest.raises(TypeError, match="list of strings"):
        continue_pretraining(bert, tok, "one long string", config())
    with pytest.raises(TypeError, match="strings only"):
        continue_pretraining(bert, tok, [[5, 6, 7]], config())
    with pytest.raises(ValueError, match="eval_texts is empty"):
        continue_pretraining(bert, tok, TRAIN, config(), eval_texts=[])
    with pytest.raises(TypeError, match="TrainConfig"):
        continue_pretraining(bert, tok, TRAIN, {"max_steps": 10})
    with pytest.raises(ValueError, match="mlm_probability"):
        MaskedTextCollator(tok, mlm_probability=0.0)
    with pytest.raises(TypeError, match="BertForPreTraining"):
        held_out_masked_lm(bert.bert, tok, HELD_OUT)
    with pytest.raises(ValueError, match="No \\[MASK\\] position"):
        held_out_masked_lm(bert, tok, [""])
    with pytest.raises(ValueError, match="do not belong together"):
        held_out_masked_lm(bert, _big_tokenizer(tok), HELD_OUT)
    with pytest.raises(ValueError, match="max_length"):
        held_out_masked_lm(bert, tok, HELD_OUT, max_length=0)


def _big_tokenizer(tok):
    big = copy.deepcopy(tok)
    big.add_tokens([f"newword{i}" for i in range(len(tok))])  # twice the vocabulary the model has
    return big


def test_any_iterable_of_texts_is_accepted(bert, wordpiece_tokenizer):
    import pandas as pd

    from_series = held_out_masked_lm(bert, wordpiece_tokenizer, pd.Series(HELD_OUT))
    from_list = held_out_masked_lm(bert, wordpiece_tokenizer, HELD_OUT)
    assert torch.equal(from_series["per_position"], from_list["per_position"])


def test_an_encoder_goes_back_under_the_masked_lm_head(bert, wordpiece_tokenizer):
    from sslm_utils.finetuning import SentenceClassifier, masked_lm_with_encoder

    classifier = SentenceClassifier(bert, 2)  # a copy of the encoder, before any training
    same = masked_lm_with_encoder(bert, classifier)
    assert torch.equal(held_out_masked_lm(same, wordpiece_tokenizer, HELD_OUT)["per_position"],
                       held_out_masked_lm(bert, wordpiece_tokenizer, HELD_OUT)["per_position"])
    with torch.no_grad():
        classifier.bert.encoder.layer[0].output.dense.weight.add_(0.5)  # as if fine-tuned
    changed = masked_lm_with_encoder(bert, classifier)
    assert not torch.equal(changed.bert.encoder.layer[0].output.dense.weight,
                           bert.bert.encoder.layer[0].output.dense.weight)
    assert torch.equal(changed.cls.predictions.transform.dense.weight, bert.cls.predictions.transform.dense.weight)
    from transformers import BertConfig, BertModel

    other = BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=32))
    with pytest.raises(ValueError, match="does not match"):
        masked_lm_with_encoder(bert, other)
