"""sslm_utils.profiles: named profiles of frozen, checked sections; overrides that fail early with the fix."""

import dataclasses
import json
import math
import re

import pytest
import torch

from sslm_utils import profiles
from sslm_utils.profiles import (
    PROFILES,
    SECTIONS,
    BertRun,
    Profile,
    TransformerShape,
    compare_profiles,
    format_size,
    get_profile,
    pick_device,
)


def test_named_profiles():
    assert get_profile("quick").name == "quick"
    assert get_profile(" FULL ").name == "full"


def test_quick_is_smaller_than_full():
    quick, full = get_profile("quick"), get_profile("full")
    assert quick.model.d_model < full.model.d_model and quick.attention.steps < full.attention.steps
    assert quick.tokenizer.vocab_size < full.tokenizer.vocab_size
    assert quick.bert.steps < full.bert.steps and quick.gpt.steps < full.gpt.steps


def test_unknown_profile_lists_valid_names():
    with pytest.raises(ValueError) as err:
        get_profile("fast")
    for name in PROFILES:
        assert repr(name) in str(err.value)


def test_env_override(monkeypatch):
    monkeypatch.setenv("SSLM_PROFILE", "full")
    assert get_profile().name == "full"
    monkeypatch.setenv("SSLM_PROFILE", "tiny")
    with pytest.raises(ValueError, match="SSLM_PROFILE"):
        get_profile()


def test_default_depends_on_cuda(monkeypatch):
    monkeypatch.delenv("SSLM_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_profile().name == "full"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_profile().name == "quick"


# --------------------------------------------------------------------------- nested sections and overrides


def test_sections_are_nested():
    quick = get_profile("quick")
    assert set(quick.sections()) == set(SECTIONS) == {"lm", "tokenizer", "model", "attention", "bert", "gpt",
                                                      "objectives", "finetune"}
    for key, section in quick.sections().items():
        assert isinstance(section, SECTIONS[key]) and getattr(quick, key) is section
    assert quick.model.d_model % quick.model.n_heads == 0
    assert quick.bert.warmup_steps < quick.bert.steps and quick.gpt.warmup_steps < quick.gpt.steps


def test_overrides_change_one_section_only():
    quick = get_profile("quick")
    changed = get_profile("quick", attention={"steps": 3}, model={"d_model": 32})
    assert changed.attention.steps == 3 and changed.attention.batch_size == quick.attention.batch_size
    assert changed.model.d_model == 32 and changed.model.n_layers == quick.model.n_layers
    assert changed.bert == quick.bert and changed.name == "quick"
    assert quick.attention.steps != 3  # the registered profile itself is untouched
    assert get_profile("quick", bert={"steps": 3, "warmup_steps": 0}).bert.steps == 3
    renamed = quick.replace(bert={"steps": 10, "warmup_steps": 1}, name="tiny")
    assert (renamed.name, renamed.bert.steps, renamed.bert.warmup_steps) == ("tiny", 10, 1)
    whole = quick.replace(model=TransformerShape(seq_len=16, d_model=8, n_layers=1, n_heads=2, d_ff=16))
    assert whole.model.seq_len == 16  # a section may also be given whole


def test_steps_below_the_warmup_name_the_fix():
    with pytest.raises(ValueError, match=r"warmup") as err:
        get_profile("quick", bert={"steps": 10})
    message = str(err.value)
    assert "bert.warmup_steps=45" in message and "bert.steps=10" in message  # 45 >= 10
    assert "bert={'steps': 10, 'warmup_steps': 1}" in message  # the suggested fix, which works:
    assert get_profile("quick", bert={"steps": 10, "warmup_steps": 1}).bert.steps == 10
    with pytest.raises(ValueError, match=r"gpt\.warmup_steps=45 must be smaller than gpt\.steps=45"):
        get_profile("quick", gpt={"steps": 45})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model": {"d_model": 100, "n_heads": 3}}, r"d_model=100 is not divisible by n_heads=3.*choose n_heads"),
        ({"model": {"seq_len": -5}}, r"seq_len must be a positive int, got -5"),
        ({"model": {"n_layers": 0}}, r"n_layers must be a positive int, got 0"),
        ({"bert": {"steps": True}}, r"steps must be a positive int, got True"),
        ({"bert": {"batch_size": 8.0}}, r"batch_size must be a positive int, got 8\.0"),
        ({"bert": {"lr": -1e-3}}, r"lr must be a positive finite number"),
        ({"gpt": {"lr": math.nan}}, r"lr must be a positive finite number"),
        ({"bert": {"warmup_steps": -1}}, r"warmup_steps must be an int >= 0, got -1"),
        ({"gpt": {"dropout": 1.0}}, r"dropout must be in \[0, 1\)"),
        ({"tokenizer": {"train_docs": 0}}, r"train_docs must be a positive int, got 0"),
        ({"lm": {"vocab_size": "big"}}, r"vocab_size must be a positive int, got 'big'"),
        ({"bert": {"seq_len": 0}}, r"BertRun\.seq_len must be a positive int, got 0"),
        ({"bert": {"sentence_task_from": 450}}, r"sentence_task_from \(450\) must be below steps \(450\); use 0"),
        ({"bert": {"sentence_task_from": -1}}, r"sentence_task_from must be an int >= 0, got -1"),
    ],
)
def test_bad_values_fail_at_construction(overrides, message):
    with pytest.raises(ValueError, match=message):
        get_profile("quick", **overrides)


def test_sections_check_themselves_when_made_directly():
    with pytest.raises(ValueError, match="seq_len must be a positive int"):
        TransformerShape(seq_len=-5, d_model=32, n_layers=1, n_heads=2, d_ff=64)
    with pytest.raises(ValueError, match="not divisible"):
        TransformerShape(seq_len=8, d_model=100, n_layers=1, n_heads=3, d_ff=64)
    with pytest.raises(TypeError, match=r"Profile\.bert must be a BertRun"):
        Profile(**{**get_profile("quick").sections(), "name": "x", "bert": get_profile("quick").gpt})
    assert BertRun(**get_profile("quick").bert.as_dict()) == get_profile("quick").bert


def test_unknown_section_or_field_lists_the_valid_names():
    with pytest.raises(TypeError, match="no section") as err:
        get_profile("quick", trian_steps=3)
    for key in SECTIONS:
        assert repr(key) in str(err.value)
    with pytest.raises(TypeError, match="no field") as err:
        get_profile("quick", bert={"stpes": 3})
    assert "'stpes'" in str(err.value)
    for field in ("steps", "batch_size", "lr", "warmup_steps", "train_docs", "dupe_factor", "eval_examples"):
        assert repr(field) in str(err.value)


def test_profiles_are_immutable():
    quick = get_profile("quick")
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.attention.steps = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.bert = quick.bert.replace(steps=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.name = "fast"


def test_compare_profiles_lists_only_differences():
    table = compare_profiles()
    assert list(table.columns) == ["quick", "full"]
    assert {"model.d_model", "bert.steps", "gpt.steps", "tokenizer.vocab_size"} <= set(table.index)
    assert "name" not in table.index and "d_model" not in table.index
    assert all("." in row for row in table.index)
    assert table.loc["bert.steps", "quick"] == "450" and table.loc["bert.steps", "full"] == "6,000"
    assert table.loc["tokenizer.train_docs", "full"] == "all"  # None means all of it
    assert (table.nunique(axis=1) > 1).all()
    quick, full = get_profile("quick"), get_profile("full")
    same = [f"{k}.{f}" for k in SECTIONS for f, v in getattr(quick, k).as_dict().items()
            if getattr(full, k).as_dict()[f] == v]
    assert not set(same) & set(table.index)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(8000, "8,000"), (30000.0, "30,000"), (None, "all"), (0.0005, "0.0005"), (1e-5, "1e-5"), (0.1, "0.1"),
     (0.0, "0"), (2.5e-4, "0.00025"), (True, "yes"), ("sop", "sop"), (float("nan"), "—"),
     ((32, 100, 1000), "32, 100, 1,000")],
)
def test_format_size_gives_clean_strings(value, shown):
    assert format_size(value) == shown


def test_compare_profiles_shows_clean_strings_only():
    table = compare_profiles()
    cells = [cell for row in table.itertuples(index=False) for cell in row]
    assert all(isinstance(cell, str) for cell in cells)
    assert not [c for c in cells if c.lower() == "nan" or re.fullmatch(r"[\d,]+\.0+", c)]  # no 8000.000, no NaN
    assert table.loc["tokenizer.vocab_size"].tolist() == ["8,000", "30,000"]
    assert table.loc["gpt.dropout"].tolist() == ["0", "0.1"] and table.loc["bert.lr"].tolist() == ["0.002", "0.0005"]


def test_compare_profiles_can_show_the_reference_recipe():
    table = compare_profiles("model", "bert", profiles=("quick", "full", "reference"))
    assert list(table.columns) == ["quick", "full", "reference"]
    assert table.loc["model.d_model", "reference"] == f"{get_profile('reference').model.d_model:,}"
    with pytest.raises(ValueError, match="Unknown profile 'huge'"):
        compare_profiles(profiles=("quick", "huge"))


def test_compare_profiles_keeps_the_sections_asked_for():
    table = compare_profiles("model", "bert")
    assert {row.split(".")[0] for row in table.index} == {"model", "bert"}
    assert list(table.index) == [row for row in compare_profiles().index if row.split(".")[0] in ("model", "bert")]
    with pytest.raises(ValueError, match="sections are"):
        compare_profiles("bertt")


def test_compare_profiles_keeps_single_fields_asked_for():
    table = compare_profiles("finetune.seeds", "model")
    assert "finetune.seeds" in table.index and "finetune.train_examples" not in table.index
    assert {row.split(".")[0] for row in table.index} == {"finetune", "model"}
    assert table.loc["finetune.seeds"].tolist() == ["1", "3"]
    assert compare_profiles("finetune.epochs").empty  # the same in both profiles: no row
    with pytest.raises(ValueError, match="section.field"):
        compare_profiles("finetune.seed")


def test_as_dict_is_nested_and_json_serialisable():
    quick = get_profile("quick")
    values = quick.as_dict()
    assert values["name"] == "quick" and set(values) == {"name", *SECTIONS}
    assert values["bert"]["steps"] == quick.bert.steps and values["model"]["d_model"] == quick.model.d_model
    assert values["tokenizer"] == {"vocab_size": quick.tokenizer.vocab_size, "train_docs": quick.tokenizer.train_docs}
    assert json.loads(json.dumps(values)) == values
    rebuilt = Profile(name=values["name"], **{k: SECTIONS[k](**values[k]) for k in SECTIONS})
    assert rebuilt == quick


# --------------------------------------------------------------------------- devices


def test_pick_device_cpu_and_errors(monkeypatch):
    monkeypatch.delenv("SSLM_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(profiles, "_mps_available", lambda: False)
    assert pick_device().type == "cpu"
    assert pick_device("cpu").type == "cpu"
    with pytest.raises(RuntimeError, match="not available"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="Unknown device"):
        pick_device("tpu")


def test_pick_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.delenv("SSLM_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(profiles, "_mps_available", lambda: True)
    assert pick_device().type == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device().type == "cuda"


def test_the_bert_pair_length_defaults_to_the_model_shape():
    from sslm_utils.models import bert_config
    from sslm_utils.profiles import bert_seq_len

    quick, reference = get_profile("quick"), get_profile("reference")
    assert quick.bert.seq_len is None and bert_seq_len(quick) == quick.model.seq_len
    assert bert_seq_len(reference) == reference.bert.seq_len < reference.model.seq_len  # the GPT's blocks are longer
    assert bert_config(reference, 100).max_position_embeddings == reference.bert.seq_len


@pytest.mark.parametrize("sizes", [(), (100, 32), (32, 32), (0, 10), "32", (32, 1.5)])
def test_curve_sizes_must_be_increasing_positive_ints(sizes):
    with pytest.raises(ValueError, match="curve_sizes must be a tuple of increasing positive ints"):
        get_profile("quick").replace(finetune={"curve_sizes": sizes})
