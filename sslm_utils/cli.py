"""The book's command line: pretrain a model from a terminal, on one device or many, with the same code.

::

    python -m sslm_utils.cli pretrain --model bert --profile quick --output-dir runs/bert
    sslm pretrain --model bert --profile full --output-dir runs/bert-full      # the installed script
    torchrun --nproc_per_node 2 -m sslm_utils.cli pretrain --output-dir runs/bert-2ranks
    accelerate launch --config_file configs/accelerate/multi_gpu_ddp.yaml -m sslm_utils.cli pretrain ...

Why a command line at all: a notebook is the place to learn, but a run that
spreads over several GPUs or machines is started by a launcher
(``torchrun``, ``accelerate launch``, a cluster scheduler), and a launcher
starts a *program*. This module is that program. It calls exactly what the
chapter calls — :func:`~sslm_utils.pretraining.pretraining_data`,
``BertForPreTraining`` and :func:`~sslm_utils.training.train` — so the
notebook's run and a cluster's run differ only in the launcher.

``--batch-size`` is the *global* batch: the examples behind one optimizer
step summed over every process. The command divides it by the number of
processes the launcher started, so the same command optimizes the same way
on 1 process or 8 (only the random draws of dropout and masking differ, since
each process has its own stream). The output folder ends up holding a
``transformers`` model (``from_pretrained`` reads it) with its tokenizer,
``training_info.json`` (written last: its presence means the run finished),
and ``checkpoints/`` for ``--resume``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

MODELS = ("bert", "gpt")  # gpt: chapter 3b's causal LM (sslm_utils.causal_lm)
PROFILE_NAMES = ("quick", "full")
RESUME_CHOICES = ("auto", "latest")
INFO_FILE = "training_info.json"


# --------------------------------------------------------------------------- argument types


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number such as 100, got {text!r}") from None


def _positive_int(text: str) -> int:
    """argparse type: an int >= 1, with a message that names the problem."""
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    """argparse type: an int >= 0 (warm-up steps may be zero)."""
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _seed(text: str) -> int:
    """argparse type: a seed that :func:`~sslm_utils.repro.set_seed` accepts."""
    value = _non_negative_int(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"must be below 2**32, got {value}")
    return value


def _positive_float(text: str) -> float:
    """argparse type: a positive, finite float (a learning rate)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 1e-3, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


# --------------------------------------------------------------------------- the parser


def build_parser() -> argparse.ArgumentParser:
    """The ``sslm`` parser; one sub-command per job so that later chapters can add theirs."""
    parser = argparse.ArgumentParser(
        prog="sslm", description="Command-line jobs of the SSLM book (run any of them under torchrun or "
        "accelerate launch to use several processes).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    _add_pretrain(commands)
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
    p.add_argument("--steps", type=_positive_int, default=None, help="optimizer steps (default: the profile's)")
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help="GLOBAL batch: examples per optimizer step summed over all processes (default: the "
                   "profile's); must be divisible by the number of processes x --grad-accum")
    p.add_argument("--grad-accum", type=_positive_int, default=1,
                   help="micro-batches per optimizer step on each process: less memory, same optimization (default: 1)")
    p.add_argument("--lr", type=_positive_float, default=None, help="peak learning rate (default: the profile's)")
    p.add_argument("--warmup-steps", type=_non_negative_int, default=None,
                   help="warm-up steps (default: the profile's share of the steps)")
    p.add_argument("--eval-every", type=_positive_int, default=None,
                   help="evaluate every N steps, and at the end (default: the profile's)")
    p.add_argument("--checkpoint-every", type=_positive_int, default=None,
                   help="checkpoint every N steps, and at the end (default: the profile's eval interval)")
    p.add_argument("--seed", type=_seed, default=0,
                   help="seeds the pairs, the initial weights and the run (default: 0)")
    p.add_argument("--resume", nargs="?", const="latest", default=None, metavar="auto|latest|PATH",
                   help="continue the run in --output-dir: 'latest' (the default when the flag has no value) "
                   "needs a checkpoint, 'auto' starts fresh when there is none, or give a checkpoint folder")
    p.add_argument("--train-docs", type=_positive_int, default=None,
                   help="training speeches turned into pairs (gpt: packed into blocks) (default: the profile's); "
                   "small values make smoke tests")
    p.add_argument("--eval-examples", type=_positive_int, default=None,
                   help="held-out pairs (gpt: blocks) to evaluate on (default: the profile's)")
    p.add_argument("--mixed-precision", choices=("auto", "no", "fp16", "bf16"), default="auto",
                   help="auto (the default): bf16 on recent GPUs, fp16 on older ones, none on the CPU")
    p.add_argument("--cpu", action="store_true", help="train on the CPU even when a GPU is present")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: only when writing to a terminal)")


# --------------------------------------------------------------------------- checks that need more than one argument


def world_size() -> int:
    """Processes started by the launcher (``torchrun`` and ``accelerate launch`` set ``WORLD_SIZE``)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """Rank 0 of a launched run, or the only process: the one that writes shared files."""
    return int(os.environ.get("RANK", "0")) == 0


def _check_args(args, parser: argparse.ArgumentParser, profile) -> None:
    """Refuse combinations argparse cannot see, before any data is built, with the fix in the message."""
    if args.output_dir.exists() and not args.output_dir.is_dir():
        parser.error(f"--output-dir {args.output_dir} is a file; give a folder (it is created if missing).")
    world, batch = world_size(), _global_batch(args, profile)
    unit = world * args.grad_accum
    if batch % unit:
        parser.error(
            f"--batch-size {batch} (the global batch) must be divisible by {world} process(es) x --grad-accum "
            f"{args.grad_accum} = {unit}; try --batch-size {_round_up(batch, unit)}."
        )
    steps, warmup = _steps(args, profile), _warmup(args, profile)
    if warmup >= steps:
        parser.error(f"--warmup-steps {warmup} must be smaller than the {steps} steps; try --warmup-steps "
                     f"{max(0, steps // 10)}.")
    _check_precision(args, parser)
    _check_resume(args, parser)


def _check_precision(args, parser: argparse.ArgumentParser) -> None:
    """fp16 without a GPU would only fail inside the engine, after the data is built; say so at once."""
    from .training import resolve_mixed_precision

    try:
        resolve_mixed_precision(args.mixed_precision, cpu=args.cpu)
    except ValueError:
        parser.error(f"--mixed-precision {args.mixed_precision} needs a CUDA GPU; on the CPU use --mixed-precision "
                     "no (or bf16 if the CPU supports it), or leave it at auto.")


def _check_resume(args, parser: argparse.ArgumentParser) -> None:
    """A fresh run must not silently mix its checkpoints with an earlier run's."""
    from .checkpoint import latest_checkpoint
    from .training import CHECKPOINT_SUBDIR

    resume, found = args.resume, latest_checkpoint(args.output_dir / CHECKPOINT_SUBDIR)
    if resume is not None and resume not in RESUME_CHOICES and not Path(resume).exists():
        parser.error(f"--resume {resume}: no such checkpoint folder; use --resume latest to continue the run "
                     "in --output-dir, or --resume auto.")
    if resume == "latest" and found is None:
        parser.error(f"--resume: there is no checkpoint under {args.output_dir / CHECKPOINT_SUBDIR} to continue; "
                     "drop --resume to start a fresh run, or use --resume auto (resume only if there is one).")
    if resume is None and found is not None:
        parser.error(f"--output-dir {args.output_dir} already holds checkpoints of a run; add --resume to continue "
                     "it, or choose another --output-dir.")


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


# --------------------------------------------------------------------------- from arguments to a run


def _prefix(args) -> str:
    """The profile fields of the chosen model: ``bert_*`` or ``gpt_*``."""
    return "gpt" if getattr(args, "model", "bert") == "gpt" else "bert"


def _steps(args, profile) -> int:
    return args.steps if args.steps is not None else getattr(profile, f"{_prefix(args)}_steps")


def _global_batch(args, profile) -> int:
    if args.batch_size is not None:
        return args.batch_size
    return profile.gpt_batch_size if _prefix(args) == "gpt" else profile.batch_size


def _warmup(args, profile) -> int:
    """The profile's warm-up share of the run (45 of 450 steps in quick), unless given."""
    if args.warmup_steps is not None:
        return args.warmup_steps
    warmup, steps = (getattr(profile, f"{_prefix(args)}_{name}") for name in ("warmup_steps", "steps"))
    return round(warmup * _steps(args, profile) / steps)


def resolve_profile(args):
    """The profile named on the command line, with the data-size flags applied to it."""
    from .profiles import get_profile

    overrides, gpt = {}, _prefix(args) == "gpt"
    if args.train_docs is not None:
        overrides["gpt_train_docs" if gpt else "bert_train_docs"] = args.train_docs
    if args.eval_examples is not None:
        overrides["gpt_eval_blocks" if gpt else "bert_eval_examples"] = args.eval_examples
    return get_profile(args.profile, **overrides)


def train_config(args, profile):
    """The chapter's :func:`~sslm_utils.pretraining.pretrain_config` with the command-line changes.

    ``TrainConfig.batch_size`` counts examples on one process, so the global
    ``--batch-size`` is divided by the number of processes here; everything
    else that shapes the run (steps, schedule, seed) is the same on any number
    of processes.
    """
    from .causal_lm import gpt_train_config
    from .pretraining import pretrain_config

    gpt = _prefix(args) == "gpt"
    eval_every = args.eval_every or (profile.gpt_eval_every if gpt else profile.eval_every)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    base = gpt_train_config(profile) if gpt else pretrain_config(profile)
    return base.replace(
        max_steps=_steps(args, profile), batch_size=_global_batch(args, profile) // world_size(),
        grad_accum_steps=args.grad_accum, lr=args.lr or (profile.gpt_lr if gpt else profile.bert_lr),
        warmup_steps=_warmup(args, profile),
        eval_every=eval_every, checkpoint_every=args.checkpoint_every or eval_every, seed=args.seed,
        mixed_precision=args.mixed_precision, cpu=args.cpu, progress=progress,
    )


def pretrain_bert(args, profile, config):
    """Build the chapter's data and model and train them: the same calls as ``train_bert`` in the chapter."""
    from transformers import BertForPreTraining

    from .pretraining import (
        MLMCollator,
        bert_config,
        pretraining_data,
        pretraining_loss,
        pretraining_metrics,
    )
    from .repro import set_seed
    from .training import train

    data = pretraining_data(profile, seed=args.seed)
    set_seed(args.seed)  # the same initial weights on every process
    model = BertForPreTraining(bert_config(profile, len(data.tokenizer)))
    result = train(
        model, data.train, config=config, eval_data=data.validation, collate_fn=MLMCollator(data.tokenizer),
        loss_fn=pretraining_loss, compute_metrics=pretraining_metrics, output_dir=args.output_dir,
        resume=args.resume or False, tokenizer=data.tokenizer,
    )
    return result, data


def pretrain_gpt(args, profile, config):
    """Build chapter 3b's packed blocks and GPT and train them: the same calls as ``train_gpt`` in the chapter."""
    from .causal_lm import causal_lm_data, train_gpt

    data = causal_lm_data(profile)
    _, result, data = train_gpt(profile, data=data, output_dir=args.output_dir, config=config,
                                progress=config.progress, resume=args.resume or False, seed=args.seed)
    return result, data


def save_final(result, data, args, profile, config) -> None:
    """Write the model and tokenizer (``from_pretrained`` format), then ``training_info.json`` last."""
    from .checkpoint import save_model_weights

    save_model_weights(result.model, args.output_dir, data.tokenizer)
    info = {
        "model": args.model, "profile": profile.name, "steps": result.steps, "num_processes": world_size(),
        "global_batch_size": config.batch_size * world_size(), "train_time_s": result.train_time_s,
        "tokens_seen": result.tokens_seen, "tokens_per_second": result.tokens_per_second,
        "resumed_from": str(result.resumed_from) if result.resumed_from else None,
        "last_eval": result.last_eval, "data": data.stats, "config": config.as_dict(),
        "history": result.history,
    }
    (args.output_dir / INFO_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")


def _describe(args, profile, config) -> str:
    world = world_size()
    return (f"sslm pretrain: {args.model}, profile {profile.name}, {config.max_steps} steps, global batch "
            f"{config.batch_size * world} = {world} process(es) x {config.batch_size} "
            f"({config.grad_accum_steps} micro-batch(es) each), output {args.output_dir}")


def _finish_distributed() -> None:
    """Wait for rank 0's final save, then leave the process group cleanly (no warning at exit)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def run_pretrain(args, parser: argparse.ArgumentParser) -> int:
    profile = resolve_profile(args)
    _check_args(args, parser, profile)
    config = train_config(args, profile)
    if is_main_process():
        print(_describe(args, profile, config), flush=True)
    result, data = (pretrain_gpt if args.model == "gpt" else pretrain_bert)(args, profile, config)
    if is_main_process():
        save_final(result, data, args, profile, config)
        summary = ", ".join(f"{k} {v:.4g}" for k, v in result.last_eval.items() if k not in ("split", "step"))
        print(f"sslm pretrain: done, {result.steps} steps; held-out {summary}; model in {args.output_dir}",
              flush=True)
    _finish_distributed()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``sslm`` and ``python -m sslm_utils.cli``; returns the exit status.

    Usage errors exit with status 2 (argparse's); errors the engine reports
    with a fix in the message (a resume with a different config, fp16 on a
    CPU, too little data for one step) print that message and exit with 1
    instead of a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    from .checkpoint import CheckpointError

    try:
        return run_pretrain(args, parser)
    except (ValueError, FileNotFoundError, CheckpointError) as err:
        print(f"sslm {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
