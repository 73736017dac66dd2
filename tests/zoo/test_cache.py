"""sslm_utils.zoo.cache: train once, then load; retrain on request; keys that follow the profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import BertForPreTraining

from sslm_utils.engine.loop import TrainResult
from sslm_utils.zoo.bert import PretrainedBert
from sslm_utils.zoo.cache import cache_key, train_or_load

HISTORY = [{"split": "train", "step": 1, "loss": 6.5, "lr": 1e-3}, {"split": "eval", "step": 1, "loss": 6.4}]


class FakeTraining:
    """A stand-in for train_bert: hands back a tiny model (other weights each call), records its run folders."""

    def __init__(self, tokenizer, make_model):
        self.tokenizer, self.make_model, self.run_dirs, self.models = tokenizer, make_model, [], []

    def __call__(self, run_dir: Path):
        self.run_dirs.append(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "checkpoint-debris").write_text("a checkpoint of the run")
        torch.manual_seed(len(self.models))
        model = self.make_model()
        self.models.append(model)
        result = TrainResult(model, history=list(HISTORY), steps=1, train_time_s=0.5, tokens_seen=100)
        data = type("Data", (), {"tokenizer": self.tokenizer, "stats": {"train_pairs": 5, "seed": 0}})()
        return model, result, data


@pytest.fixture
def fake_training(wordpiece_tokenizer, tiny_profile):
    from sslm_utils.models import bert_config

    return FakeTraining(wordpiece_tokenizer,
                        lambda: BertForPreTraining(bert_config(tiny_profile, len(wordpiece_tokenizer))))


def _same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_first_call_trains_and_stores_then_the_cache_is_loaded(tmp_path, tiny_profile, fake_training):
    folder = tmp_path / "models" / "ch03-bert-tiny-abc"
    first = train_or_load(folder, tiny_profile, fake_training, BertForPreTraining, PretrainedBert)
    assert len(fake_training.run_dirs) == 1 and isinstance(first, PretrainedBert) and not first.from_cache
    assert first.model is fake_training.models[0] and first.history == HISTORY
    assert first.info["profile"] == "tiny" and first.info["steps"] == 1 and first.info["train_pairs"] == 5
    assert (folder / "model" / "model.safetensors").is_file() and (folder / "meta.json").is_file()
    assert json.loads((folder / "meta.json").read_text())["history"] == HISTORY
    assert not fake_training.run_dirs[0].exists()  # the run's checkpoints are removed once stored
    left = sorted(p.name for p in folder.parent.iterdir())
    assert left == [f".{folder.name}.lock", folder.name]  # no temporary folder left; the lock file stays

    second = train_or_load(folder, tiny_profile, fake_training, BertForPreTraining, PretrainedBert)
    assert len(fake_training.run_dirs) == 1  # not trained again
    assert second.from_cache and isinstance(second, PretrainedBert) and isinstance(second.model, BertForPreTraining)
    assert _same_weights(second.model, first.model)
    assert second.history == HISTORY and second.info == first.info
    assert second.tokenizer.get_vocab() == fake_training.tokenizer.get_vocab()
    assert second.frame("eval")["loss"].tolist() == [6.4]


def test_retrain_trains_again_and_replaces_the_entry(tmp_path, tiny_profile, fake_training):
    folder = tmp_path / "entry"
    first = train_or_load(folder, tiny_profile, fake_training, BertForPreTraining)
    again = train_or_load(folder, tiny_profile, fake_training, BertForPreTraining, retrain=True)
    assert len(fake_training.run_dirs) == 2 and not again.from_cache
    assert not _same_weights(again.model, first.model)  # the fake training gives other weights each time
    loaded = train_or_load(folder, tiny_profile, fake_training, BertForPreTraining)
    assert len(fake_training.run_dirs) == 2 and loaded.from_cache
    assert _same_weights(loaded.model, again.model)  # the new entry replaced the old one


def test_a_failed_training_leaves_no_entry(tmp_path, tiny_profile):
    def crashing(run_dir):
        raise RuntimeError("power cut")

    folder = tmp_path / "entry"
    with pytest.raises(RuntimeError, match="power cut"):
        train_or_load(folder, tiny_profile, crashing, BertForPreTraining)
    assert not folder.exists()


def test_cache_key_covers_the_named_sections_version_and_recipe(tiny_profile):
    key = cache_key("ch03-bert", tiny_profile, ("model", "bert"), 1)
    assert key.startswith("ch03-bert-tiny-") and key == cache_key("ch03-bert", tiny_profile, ("model", "bert"), 1)
    unrelated = tiny_profile.replace(gpt={"steps": 7, "warmup_steps": 1})  # a section the key does not cover
    assert key == cache_key("ch03-bert", unrelated, ("model", "bert"), 1)
    others = {
        cache_key("ch03-bert", tiny_profile.replace(bert={"lr": 1e-4}), ("model", "bert"), 1),
        cache_key("ch03-bert", tiny_profile.replace(model={"d_ff": 128}), ("model", "bert"), 1),
        cache_key("ch03-bert", tiny_profile, ("model", "bert"), 2),
        cache_key("ch03-bert", tiny_profile, ("model", "bert"), 1, objective="sop"),
        cache_key("ch03-bert", tiny_profile, ("model", "bert", "tokenizer"), 1),
    }
    assert key not in others and len(others) == 5


def test_a_damaged_tokenizer_cache_is_rebuilt(tmp_path, tiny_profile, wordpiece_tokenizer, isolated_cache,
                                              monkeypatch):
    from sslm_utils.zoo.cache import cached_tokenizer

    monkeypatch.setenv("SSLM_CACHE", str(tmp_path))
    calls = []

    def train_fn(texts, vocab_size):
        calls.append(vocab_size)
        return wordpiece_tokenizer

    corpus = {"train": {"text": ["a tiny corpus"]}}
    first = cached_tokenizer(tiny_profile, "test", train_fn, tmp_path / "no-model", corpus)
    again = cached_tokenizer(tiny_profile, "test", train_fn, tmp_path / "no-model", corpus)
    assert len(calls) == 1 and again.get_vocab() == first.get_vocab()
    [folder] = (tmp_path / "tokenizers").iterdir()
    (folder / "tokenizer.json").write_text("{")  # truncated
    with pytest.warns(UserWarning, match="tokenizer.json does not match the SHA-256.*rebuilt now"):
        rebuilt = cached_tokenizer(tiny_profile, "test", train_fn, tmp_path / "no-model", corpus)
    assert len(calls) == 2 and rebuilt.get_vocab() == first.get_vocab()
    cached_tokenizer(tiny_profile, "test", train_fn, tmp_path / "no-model", corpus)
    assert len(calls) == 2  # the rebuilt entry verifies


def _locked_by_another_process(folder: Path) -> bool:
    """Whether a fresh process fails to take ``folder``'s cache lock without waiting."""
    import subprocess
    import sys

    probe = ("import fcntl, sys; f = open(sys.argv[1], 'a+b')\n"
             "try:\n    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept OSError:\n    sys.exit(3)")
    lock = folder.parent / f".{folder.name}.lock"
    return subprocess.run([sys.executable, "-c", probe, str(lock)]).returncode == 3


def test_training_holds_the_cache_lock_so_a_second_process_waits(tmp_path, tiny_profile, fake_training):
    pytest.importorskip("fcntl")
    folder = tmp_path / "models" / "ch03-bert-tiny-abc"
    seen = []

    def training_that_probes(run_dir):
        seen.append(_locked_by_another_process(folder))
        return fake_training(run_dir)

    train_or_load(folder, tiny_profile, training_that_probes, BertForPreTraining)
    assert seen == [True]  # while training, another process could not take the entry
    assert not _locked_by_another_process(folder)  # released afterwards
