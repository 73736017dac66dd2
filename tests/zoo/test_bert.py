"""sslm_utils.zoo.bert: the chapter's BERT recipe: one seed for pairs, weights, order and masks; a cache entry each."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.objectives.pairs import OBJECTIVES
from sslm_utils.profiles import get_profile
from sslm_utils.zoo.bert import (
    PretrainingData,
    bert_cache_dir,
    bert_tokenizer,
    pretrained_bert,
    pretraining_data,
    pretraining_documents,
    train_bert,
)

pytestmark = pytest.mark.usefixtures("one_thread")

# the quick profile cut to 2 steps on 3 speeches and 8 held-out pairs (what `sslm pretrain --steps 2 ...` makes)
SMALL = {"steps": 2, "warmup_steps": 0, "train_docs": 3, "eval_examples": 8}


def test_train_bert_refuses_data_of_another_objective(tiny_profile, wordpiece_tokenizer):
    data = PretrainingData(wordpiece_tokenizer, None, None, {"objective": "nsp", "seed": 0})
    with pytest.raises(ValueError, match="built with objective='nsp'"):
        train_bert(tiny_profile, data=data, objective="sop")


def test_hub_bert_fails_fast_offline(monkeypatch):
    from sslm_utils.data import HubUnavailableError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnavailableError, match="offline alternative"):
        pretrained_bert(get_profile("quick"), source="hub")
    with pytest.raises(ValueError, match="source must be"):
        pretrained_bert(get_profile("quick"), source="somewhere")


def test_cache_key_follows_the_profile():
    quick = get_profile("quick")
    assert bert_cache_dir(quick) == bert_cache_dir(quick.replace(lm={"steps": 1}))  # not a chapter-3 field
    assert bert_cache_dir(quick) != bert_cache_dir(quick.replace(bert={"steps": quick.bert.steps + 1}))
    assert bert_cache_dir(quick) != bert_cache_dir(quick.replace(model={"n_layers": 3}))
    assert bert_cache_dir(quick) != bert_cache_dir(quick.replace(tokenizer={"vocab_size": 4000}))
    dirs = {bert_cache_dir(quick, objective) for objective in OBJECTIVES}
    assert len(dirs) == 3  # one cache entry per objective
    assert bert_cache_dir(quick, "mlm", seed=1) not in dirs  # and per training seed
    assert bert_cache_dir(quick, "nsp", seed=0) == bert_cache_dir(quick)
    with pytest.raises(ValueError, match="seed must be"):
        bert_cache_dir(quick, "mlm", seed=-1)
    with pytest.raises(ValueError, match="objective must be one of"):
        bert_cache_dir(quick, "nsp+mlm")


# --------------------------------------------------------------------------- one seed decides everything


@pytest.fixture
def small_profile(isolated_cache):
    return get_profile("quick", bert=SMALL)


def test_another_seed_gives_other_pairs_and_other_weights(small_profile):
    tokenizer = bert_tokenizer(small_profile)
    documents = pretraining_documents(small_profile, tokenizer)
    data = {seed: pretraining_data(small_profile, tokenizer=tokenizer, seed=seed, documents=documents)
            for seed in (3, 4)}
    assert data[3].stats["seed"] == 3 and data[4].stats["seed"] == 4
    three, four = data[3].train.input_ids, data[4].train.input_ids
    assert three.shape != four.shape or not torch.equal(three, four)  # other training pairs
    assert torch.equal(data[3].validation.input_ids, data[4].validation.input_ids)  # the same held-out pairs
    again = pretraining_data(small_profile, tokenizer=tokenizer, seed=3, documents=documents)
    assert torch.equal(again.train.input_ids, three)

    models = {seed: train_bert(small_profile, seed=seed, data=data[seed], progress=False)[0] for seed in (3, 4)}
    repeat, _, _ = train_bert(small_profile, seed=3, data=again, progress=False)
    a, b, c = (m.state_dict() for m in (models[3], models[4], repeat))
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], c[k]) for k in a)  # the same seed: the same weights
    assert not all(torch.equal(a[k], b[k]) for k in a)  # another seed: other weights


def test_data_of_another_seed_is_refused(small_profile):
    data = pretraining_data(small_profile, seed=0)
    assert data.stats["seed"] == 0
    with pytest.raises(ValueError, match=r"data was built with seed=0, not 1.*pretraining_data\(profile"):
        train_bert(small_profile, seed=1, data=data)


def test_the_bert_section_sets_the_pair_length_and_the_sentence_task_start(small_profile):
    profile = small_profile.replace(bert={"seq_len": 48, "steps": 3, "sentence_task_from": 2})
    data = pretraining_data(profile)
    assert data.train.input_ids.shape[1] == data.validation.input_ids.shape[1] == 48
    model, result, _ = train_bert(profile, data=data, progress=False)
    assert model.config.max_position_embeddings == 48
    rows = [row for row in result.history if row["split"] == "train"]
    for row in rows:  # the sentence loss is logged from the first step but counts only from step 3 (1-based)
        counted = row["mlm_loss"] + (row["nsp_loss"] if row["step"] >= 3 else 0.0)
        assert row["loss"] == pytest.approx(counted, rel=1e-5), row["step"]
