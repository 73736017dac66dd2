"""sslm_utils.cli.arguments: the ``sslm`` parser and its argument types, which reuse sslm_utils.checks."""

from __future__ import annotations

import argparse

import pytest

from sslm_utils.cli import main
from sslm_utils.cli.arguments import MODELS, NON_NEGATIVE_INT, POSITIVE_FLOAT, POSITIVE_INT, SEED, build_parser


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [(POSITIVE_INT, "3", 3), (NON_NEGATIVE_INT, "0", 0), (SEED, "4294967295", 2**32 - 1), (SEED, "0", 0),
     (POSITIVE_FLOAT, "1e-3", 1e-3), (POSITIVE_FLOAT, "2", 2.0)],
)
def test_argument_types_convert_good_text(kind, text, value):
    assert kind(text) == value


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (POSITIVE_INT, "0", "must be a positive int, got 0"),
        (POSITIVE_INT, "-2", "must be a positive int, got -2"),
        (POSITIVE_INT, "ten", "expected a number such as 100, got 'ten'"),
        (POSITIVE_INT, "2.5", "expected a number such as 100, got '2.5'"),
        (NON_NEGATIVE_INT, "-1", "must be an int >= 0, got -1"),
        (SEED, "-3", "seed must be in [0, 2**32), got -3"),
        (SEED, str(2**32), "seed must be in [0, 2**32)"),
        (POSITIVE_FLOAT, "-1", "must be a positive finite number, got -1.0"),
        (POSITIVE_FLOAT, "nan", "must be a positive finite number, got nan"),
        (POSITIVE_FLOAT, "inf", "must be a positive finite number, got inf"),
        (POSITIVE_FLOAT, "fast", "expected a number such as 1e-3, got 'fast'"),
    ],
)
def test_argument_types_refuse_bad_text(kind, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as err:
        kind(text)
    assert message in str(err.value) and not str(err.value).startswith("value ")


def test_the_parser_defaults():
    args = build_parser().parse_args(["pretrain", "--output-dir", "runs/x"])
    assert args.command == "pretrain" and args.model == "bert" and args.profile is None and args.seed == 0
    assert args.steps is args.batch_size is args.lr is args.warmup_steps is args.resume is None
    assert args.grad_accum == 1 and args.mixed_precision == "auto" and not args.cpu and args.progress is None
    assert build_parser().parse_args(["pretrain", "--output-dir", "x", "--resume"]).resume == "latest"
    assert build_parser().parse_args(["pretrain", "--output-dir", "x", "--no-progress"]).progress is False
    assert set(MODELS) == {"bert", "gpt"}
    assert build_parser().parse_args(["pretrain", "--output-dir", "x", "--lr", "0.1"]).lr == 0.1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "the following arguments are required: --output-dir"),
        (["--steps", "0"], "argument --steps: must be a positive int, got 0"),
        (["--steps", "ten"], "argument --steps: expected a number such as 100, got 'ten'"),
        (["--profile", "huge"], "invalid choice: 'huge'"),
        (["--model", "t5"], "invalid choice: 't5'"),
        (["--lr", "-1"], "must be a positive finite number"),
        (["--seed", "-3"], "argument --seed: seed must be in [0, 2**32), got -3"),
        (["--warmup-steps", "-1"], "argument --warmup-steps: must be an int >= 0, got -1"),
        (["--grad-accum", "0"], "argument --grad-accum: must be a positive int, got 0"),
    ],
)
def test_bad_arguments_exit_with_status_2_and_say_how_to_fix(args, message, tmp_path, capsys, isolated_cache):
    output = [] if not args else ["--output-dir", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", *args, *output])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before any work


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2 and "COMMAND" in capsys.readouterr().err
