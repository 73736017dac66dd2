import dataclasses

import pytest
import torch

from sslm_utils import profiles
from sslm_utils.profiles import PROFILES, compare_profiles, get_profile, pick_device


def test_named_profiles():
    assert get_profile("quick").name == "quick"
    assert get_profile(" FULL ").name == "full"


def test_quick_is_smaller_than_full():
    quick, full = get_profile("quick"), get_profile("full")
    assert quick.d_model < full.d_model and quick.train_steps < full.train_steps
    assert quick.tokenizer_vocab_size < full.tokenizer_vocab_size


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


def test_overrides_and_bad_field():
    assert get_profile("quick", train_steps=3).train_steps == 3
    with pytest.raises(TypeError, match="no field"):
        get_profile("quick", trian_steps=3)


def test_profiles_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_profile("quick").train_steps = 1


def test_compare_profiles_lists_only_differences():
    table = compare_profiles()
    assert set(table.columns) == set(PROFILES)
    assert "d_model" in table.index and "name" not in table.index


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
