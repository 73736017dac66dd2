"""The ``sslm`` command line's parser: sub-commands, flags, and argument types that reuse the package's checks."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import checks
from ..profiles import PROFILES

MODELS = ("bert", "gpt")  # the pretraining recipes of lessons 3.1 and 3.2 (sslm_utils.zoo)
PROFILE_NAMES = tuple(PROFILES)  # quick, full, and reference (the shipped models)


def _argument(check, parse=int, example: str = "100"):
    """An argparse type: parse the text, then apply one of :mod:`sslm_utils.checks` to it."""

    def convert(text: str):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number such as {example}, got {text!r}") from None
        try:
            return check(value)
        except (TypeError, ValueError) as err:
            raise argparse.ArgumentTypeError(str(err).replace("value ", "", 1)) from None

    return convert


POSITIVE_INT = _argument(lambda v: checks.positive_int("value", v))
NON_NEGATIVE_INT = _argument(lambda v: checks.non_negative_int("value", v))
SEED = _argument(checks.seed)
POSITIVE_FLOAT = _argument(lambda v: checks.positive_float("value", v), parse=float, example="1e-3")


def build_parser() -> argparse.ArgumentParser:
    """The ``sslm`` parser; one sub-command per job so that later chapters can add theirs."""
    parser = argparse.ArgumentParser(
        prog="sslm", description="Command-line jobs of the SSLM book (run any of them under torchrun or "
        "accelerate launch to use several processes).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    _add_pretrain(commands)
    from .export import add_export  # the export's imports load pretrain's, so it is imported here

    add_export(commands)
    return parser


def _add_pretrain(commands) -> None:
    p = commands.add_parser(
        "pretrain", help="pretrain a model with the book's data pipeline and training engine",
        description="Pretrain the book's model with the pipeline and engine of its chapter, and write a "
        "transformers folder (model + tokenizer) into --output-dir. Defaults come from --profile.",
    )
    p.add_argument("--model", choices=MODELS, default="bert", help="which model to pretrain (default: bert)")
    p.add_argument("--profile", choices=PROFILE_NAMES, default=None,
                   help="sizes of model, data and run (default: $SSLM_PROFILE, else full with a GPU, quick without)")
    p.add_argument("--output-dir", required=True, type=Path,
                   help="folder for the final model, its tokenizer, training_info.json and checkpoints/")
    p.add_argument("--steps", type=POSITIVE_INT, default=None, help="optimizer steps (default: the profile's)")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=None,
                   help="GLOBAL batch: examples per optimizer step summed over all processes (default: the "
                   "profile's); must be divisible by the number of processes x --grad-accum")
    p.add_argument("--grad-accum", type=POSITIVE_INT, default=1,
                   help="micro-batches per optimizer step on each process: less memory, same optimization (default: 1)")
    p.add_argument("--lr", type=POSITIVE_FLOAT, default=None, help="peak learning rate (default: the profile's)")
    p.add_argument("--warmup-steps", type=NON_NEGATIVE_INT, default=None,
                   help="warm-up steps (default: the profile's share of the steps; with --resume, the run's own, "
                   "so --resume --steps N extends a finished run to N steps)")
    p.add_argument("--stop-after", type=POSITIVE_INT, default=None,
                   help="end this call at step N (checkpointed and saved) without changing the schedule planned for "
                   "--steps; run the same command with --resume to continue: a long run in slices")
    p.add_argument("--eval-every", type=POSITIVE_INT, default=None,
                   help="evaluate every N steps, and at the end (default: the profile's)")
    p.add_argument("--checkpoint-every", type=POSITIVE_INT, default=None,
                   help="checkpoint every N steps, and at the end (default: the profile's eval interval)")
    p.add_argument("--seed", type=SEED, default=0,
                   help="seeds everything random: the pairs (bert), the initial weights, the data order, the masks "
                   "(default: 0); the same seed gives the same weights as the notebook function")
    p.add_argument("--resume", nargs="?", const="latest", default=None, metavar="auto|latest|PATH",
                   help="continue the run in --output-dir: 'latest' (the default when the flag has no value) "
                   "needs a checkpoint, 'auto' starts fresh when there is none, or give a checkpoint folder")
    p.add_argument("--train-docs", type=POSITIVE_INT, default=None,
                   help="training speeches turned into pairs (gpt: packed into blocks) (default: the profile's); "
                   "small values make smoke tests")
    p.add_argument("--eval-examples", type=POSITIVE_INT, default=None,
                   help="held-out pairs (gpt: blocks) to evaluate on (default: the profile's)")
    p.add_argument("--mixed-precision", choices=("auto", "no", "fp16", "bf16"), default="auto",
                   help="auto (the default): bf16 on recent GPUs, fp16 on older ones, none on the CPU")
    p.add_argument("--cpu", action="store_true", help="train on the CPU even when a GPU is present")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: only when writing to a terminal)")
