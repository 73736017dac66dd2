"""The shipped reference models came from the recipe their cards name: replay the first steps and compare.

For each reference model in the package, the profile sections that made it
(tokenizer, model shape and its own run) must be the package's ``reference``
profile's, so ``sslm pretrain --profile reference`` is the recipe; and its first
:data:`STEPS` optimizer steps, re-run from scratch with that recipe and the
shipped tokenizer, must give the logged training losses to :data:`RTOL`. Float
sums in another order (another CPU, another thread count: the GPT was trained on
one thread and this test runs on however many the machine has) stay well inside
that tolerance; a changed recipe, data pipeline or initialisation moves the very
first losses by far more.
"""

from __future__ import annotations

import json

import pytest
import torch

from sslm_utils.engine import TrainConfig
from sslm_utils.files import read_json
from sslm_utils.profiles import get_profile
from sslm_utils.text.tokenizers import load_tokenizer
from sslm_utils.zoo import REFERENCE_ROOT, causal_lm_data, pretraining_data, reference_names, train_bert, train_gpt
from sslm_utils.zoo.reference import LOG_FILE, RUN_INFO_FILE

STEPS = 20
RTOL = 1e-4
NAMES = reference_names()


def _shipped(name: str):
    folder = REFERENCE_ROOT / name
    info = read_json(folder / RUN_INFO_FILE, AssertionError)
    log = [json.loads(line) for line in (folder / LOG_FILE).read_text(encoding="utf-8").splitlines() if line]
    return folder, info, log


def test_the_package_ships_both_reference_models():
    assert {"bert", "gpt"} <= set(NAMES), f"shipped reference models: {NAMES}"


@pytest.mark.parametrize("name", NAMES)
def test_the_recorded_recipe_is_the_packages_reference_profile(name):
    _, info, _ = _shipped(name)
    recipe = get_profile("reference").as_dict()
    for section in ("tokenizer", "model", info["model"]):  # what made this model
        assert info["profile"][section] == recipe[section], section
    assert info["steps"] == info["profile"][info["model"]]["steps"], "the shipped weights are the run's last step"


@pytest.mark.parametrize("name", NAMES)
def test_the_first_steps_replay_the_shipped_log(name):
    folder, info, log = _shipped(name)
    logged = [row for row in log if row["split"] == "train"][:STEPS]
    assert [row["step"] for row in logged] == list(range(1, STEPS + 1)), "the log must hold every early step"
    # a smaller held-out set only: evaluation runs on its own random stream and changes no training step
    profile = get_profile("reference", **{info["model"]: {"eval_examples" if info["model"] == "bert" else
                                                          "eval_blocks": 8}})
    tokenizer = load_tokenizer(folder / "model")
    saved = dict(info["config"])
    config = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()})
    config = config.replace(stop_after=STEPS, progress=False)
    threads = torch.get_num_threads()
    try:
        if info["model"] == "bert":
            data = pretraining_data(profile, tokenizer=tokenizer, seed=config.seed)
            _, result, _ = train_bert(profile, seed=config.seed, data=data, config=config, progress=False)
        else:
            data = causal_lm_data(profile, tokenizer=tokenizer)
            _, result, _ = train_gpt(profile, seed=config.seed, data=data, config=config, progress=False)
    finally:
        torch.set_num_threads(threads)
    replayed = [row for row in result.history if row["split"] == "train"]
    for want, got in zip(logged, replayed, strict=True):
        for key in ("loss", "lr"):
            assert got[key] == pytest.approx(want[key], rel=RTOL), f"step {want['step']}: {key}"
