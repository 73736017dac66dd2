"""Honest MLM scores: at [MASK] positions, beside the unigram on exactly the same positions."""

import pytest
import torch

from sslm_utils.evaluation.masked_lm import (
    held_out_mlm_batches,
    masked_lm_report,
    mlm_position_scores,
    real_token_ids,
)


def test_the_held_out_masks_are_the_same_at_every_call_and_leave_the_global_stream_alone(
        corpus_pairs, wordpiece_tokenizer):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = held_out_mlm_batches(corpus_pairs, wordpiece_tokenizer, batch_size=4)
    after = torch.rand(1)
    second = held_out_mlm_batches(corpus_pairs, wordpiece_tokenizer, batch_size=4)
    assert torch.equal(before, after)
    assert all(torch.equal(a["labels"], b["labels"]) and torch.equal(a["input_ids"], b["input_ids"])
               for a, b in zip(first, second, strict=True))
    other = held_out_mlm_batches(corpus_pairs, wordpiece_tokenizer, batch_size=4, seed=1)
    assert not all(torch.equal(a["labels"], b["labels"]) for a, b in zip(first, other, strict=True))


def test_position_kinds_split_the_chosen_positions(tiny_bert, corpus_pairs, wordpiece_tokenizer):
    batches = held_out_mlm_batches(corpus_pairs, wordpiece_tokenizer, batch_size=4)
    scores = mlm_position_scores(tiny_bert, batches, wordpiece_tokenizer)
    kinds = scores["kind_mask"].int() + scores["kind_random"].int() + scores["kind_kept"].int()
    assert (kinds == 1).all()  # every chosen position is exactly one kind
    n_chosen = sum(int((b["labels"] != -100).sum()) for b in batches)
    assert len(scores["nll"]) == len(scores["target"]) == n_chosen
    assert len(scores["nsp_hit"]) == len(corpus_pairs)


def test_the_unigram_columns_score_the_same_positions_as_the_model(tiny_bert, corpus_pairs, wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    batches = held_out_mlm_batches(corpus_pairs, tok, batch_size=4)
    train_ids = real_token_ids(corpus_pairs)
    report = masked_lm_report(tiny_bert, batches, tok, train_ids)
    scores = mlm_position_scores(tiny_bert, batches, tok)
    targets = scores["target"][scores["kind_mask"]]
    assert report["positions_at_mask"] == len(targets)
    counts = torch.bincount(train_ids, minlength=len(tok)).double() + 1
    counts[tok.all_special_ids] = 0
    expected = float(-(counts / counts.sum()).log()[targets].mean())
    assert report["unigram_loss_at_mask"] == pytest.approx(expected, rel=1e-9)
    assert report["unigram_accuracy_at_mask"] == pytest.approx(float((targets == counts.argmax()).float().mean()))
    assert 0 <= report["accuracy_at_mask"] <= 1 and report["accuracy_at_mask_se"] >= 0
    gap = -(counts / counts.sum()).log()[targets] - scores["nll"][scores["kind_mask"]].double()
    assert report["loss_gap_at_mask"] == pytest.approx(report["unigram_loss_at_mask"] - report["loss_at_mask"])
    assert report["loss_gap_at_mask_se"] == pytest.approx(float(gap.std() / len(gap) ** 0.5), rel=1e-6)


def test_a_model_that_copies_scores_at_kept_positions_but_not_at_mask(tiny_bert, corpus_pairs, wordpiece_tokenizer):
    """An identity-like model (its input embedding tied to a sharp output) gets the kept positions right and
    the [MASK] ones wrong: the split is what tells copying from context."""
    tok = wordpiece_tokenizer
    with torch.no_grad():  # every sublayer adds nothing, so each position carries its own normalised input
        for module in tiny_bert.bert.encoder.modules():
            if isinstance(module, torch.nn.Linear):
                module.weight.zero_()
                module.bias.zero_()
        tiny_bert.bert.embeddings.position_embeddings.weight.zero_()
        tiny_bert.bert.embeddings.token_type_embeddings.weight.zero_()
        tiny_bert.bert.embeddings.word_embeddings.weight.normal_(0, 1)
        head = tiny_bert.cls.predictions
        head.transform.dense.weight.copy_(torch.eye(tiny_bert.config.hidden_size))
        head.transform.dense.bias.zero_()
        head.transform.transform_act_fn = torch.nn.Identity()  # read the input back through the tied decoder
    batches = held_out_mlm_batches(corpus_pairs, tok, batch_size=4)
    report = masked_lm_report(tiny_bert, batches, tok, real_token_ids(corpus_pairs))
    assert report["accuracy_at_kept"] > 0.9
    assert report["accuracy_at_mask"] < 0.1


def test_batches_without_a_mask_are_refused(tiny_bert, corpus_pairs, wordpiece_tokenizer):
    batches = held_out_mlm_batches(corpus_pairs, wordpiece_tokenizer, batch_size=4)
    for b in batches:
        b["input_ids"] = torch.where(b["labels"] != -100, b["labels"], b["input_ids"])  # every blank unmasked
    with pytest.raises(ValueError, match="no \\[MASK\\]"):
        masked_lm_report(tiny_bert, batches, wordpiece_tokenizer, real_token_ids(corpus_pairs))
