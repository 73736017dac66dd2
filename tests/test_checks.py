"""sslm_utils.checks: every validator accepts good values and refuses bad ones with a message naming the argument."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from sslm_utils import checks

NAMED = [  # (validator, keyword arguments besides the value, good values, bad values)
    (checks.positive_int, {}, [1, 7, 2**40, np.int64(3)], [0, -1, True, False, 1.0, 2.5, math.nan, "3", None]),
    (checks.non_negative_int, {}, [0, 1, np.int32(5)], [-1, True, 0.0, math.nan, "0", None]),
    (checks.optional_positive_int, {}, [None, 1, 12], [0, -3, True, 1.5, math.nan, "all"]),
    (checks.positive_float, {}, [1e-3, 2, 0.5, np.float64(0.1)],
     [0, 0.0, -1e-3, math.nan, math.inf, -math.inf, True, "1e-3", None]),
    (checks.fraction, {}, [0, 0.0, 0.5, 1, 1.0], [-0.1, 1.1, math.nan, math.inf, True, "0.5", None]),
    (checks.fraction, {"open_low": True}, [1e-9, 0.5, 1.0], [0, 0.0, -0.5, 1.5]),
    (checks.fraction, {"open_high": True}, [0.0, 0.5, 0.999], [1, 1.0, -0.1]),
    (checks.fraction, {"open_low": True, "open_high": True}, [0.1, 0.9], [0.0, 1.0]),
]


def _cases(which: str):
    for validator, kwargs, good, bad in NAMED:
        for value in good if which == "good" else bad:
            label = f"{validator.__name__}{kwargs or ''}-{value!r}"
            yield pytest.param(validator, kwargs, value, id=label)


@pytest.mark.parametrize(("validator", "kwargs", "value"), list(_cases("good")))
def test_named_validators_accept_good_values(validator, kwargs, value):
    result = validator("my_arg", value, **kwargs)
    assert result == value
    if value is not None:
        expected = float if validator in (checks.positive_float, checks.fraction) else int
        assert type(result) is expected  # plain Python numbers, whatever came in


@pytest.mark.parametrize(("validator", "kwargs", "value"), list(_cases("bad")))
def test_named_validators_refuse_bad_values_naming_the_argument(validator, kwargs, value):
    with pytest.raises((TypeError, ValueError), match="my_arg") as err:
        validator("my_arg", value, **kwargs)
    assert repr(value) in str(err.value) or str(value) in str(err.value)  # and what was given


@pytest.mark.parametrize(
    ("kwargs", "value", "interval"),
    [({}, 1.5, "[0, 1]"), ({}, -1.0, "[0, 1]"), ({"open_low": True}, 0.0, "(0, 1]"),
     ({"open_high": True}, 1.0, "[0, 1)"), ({"open_low": True, "open_high": True}, 0.0, "(0, 1)")],
)
def test_fraction_names_its_interval(kwargs, value, interval):
    with pytest.raises(ValueError, match=re.escape(f"p must be in {interval}, got {value!r}")):
        checks.fraction("p", value, **kwargs)


def test_hints_are_appended():
    with pytest.raises(ValueError, match=r"steps must be a positive int, got 0\. Use e\.g\. 100\.$"):
        checks.positive_int("steps", 0, "Use e.g. 100.")
    assert checks.positive_int("steps", 5, "unused hint") == 5


@pytest.mark.parametrize("value", [0, 1, 2**32 - 1, np.int64(42), np.uint32(7)])
def test_seed_accepts_ints_in_range(value):
    assert checks.seed(value) == value and type(checks.seed(value)) is int


@pytest.mark.parametrize("value", [-1, 2**32, 1.5, 3.0, "7", True, False, None, math.nan])
def test_seed_refuses_everything_else(value):
    with pytest.raises((TypeError, ValueError), match="seed must be"):
        checks.seed(value)


def test_one_of_lists_the_choices():
    assert checks.one_of("pooling", "mean", ("mean", "cls")) == "mean"
    with pytest.raises(ValueError, match=r"pooling must be one of \('mean', 'cls'\), got 'max'"):
        checks.one_of("pooling", "max", ("mean", "cls"))
    with pytest.raises(ValueError, match="pooling"):
        checks.one_of("pooling", None, ("mean", "cls"))


def test_tensor_checks_type_and_dimensions():
    x = torch.zeros(2, 3)
    assert checks.tensor("blocks", x) is x and checks.tensor("blocks", x, min_dim=2) is x
    with pytest.raises(TypeError, match=r"blocks must be a torch\.Tensor, got list"):
        checks.tensor("blocks", [[1, 2]])
    with pytest.raises(TypeError, match="blocks must be a torch.Tensor, got ndarray"):
        checks.tensor("blocks", np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"blocks must have at least 2 dimensions, got shape \(3,\)"):
        checks.tensor("blocks", torch.zeros(3), min_dim=2)


def test_token_sequences_accepts_documents_of_ids():
    assert checks.token_sequences([[1, 2], (3,), []]) == [[1, 2], [3], []]
    assert checks.token_sequences([[0, 4]], vocab_size=5) == [[0, 4]]


@pytest.mark.parametrize(
    ("sequences", "vocab_size", "error", "message"),
    [
        ([], None, ValueError, "non-empty list of token-id sequences"),
        ("a text", None, TypeError, "not a string"),
        (["a text"], None, TypeError, "not a string"),
        (None, None, ValueError, "non-empty list"),
        ([[0, 5]], 5, ValueError, "Token id 5 is outside the vocabulary of size 5"),
    ],
)
def test_token_sequences_refuses_bad_input(sequences, vocab_size, error, message):
    with pytest.raises(error, match=message):
        checks.token_sequences(sequences, vocab_size)


# --------------------------------------------------------------------------- negative ids, NumPy floats


@pytest.mark.parametrize("sequences", [[[0, -1, 2]], [[-5]]])
def test_token_sequences_refuses_negative_ids(sequences):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        checks.token_sequences(sequences, vocab_size=3)


@pytest.mark.parametrize("validator", [checks.positive_float, checks.fraction])
def test_float_validators_accept_numpy_float32(validator):
    assert validator("p", np.float32(0.5)) == 0.5
