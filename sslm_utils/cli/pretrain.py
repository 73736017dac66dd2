"""``sslm pretrain``: the chapter's recipe for a BERT or a GPT, started from a terminal or a launcher.

The command only turns flags into a profile and a
:class:`~sslm_utils.engine.TrainConfig`, then calls the same
:func:`~sslm_utils.zoo.train_bert` / :func:`~sslm_utils.zoo.train_gpt` the
notebooks call, so one seed gives the same weights either way.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..engine.checkpoints import (
    CheckpointError,
    latest_checkpoint,
    read_trainer_state,
    resolve_checkpoint,
    save_model_weights,
)
from ..engine.config import resolve_mixed_precision
from ..engine.guards import CHECKPOINT_SUBDIR
from ..profiles import get_profile
from ..zoo.bert import pretrain_config, train_bert
from ..zoo.gpt import gpt_train_config, train_gpt

RESUME_CHOICES = ("auto", "latest")
INFO_FILE = "training_info.json"


def world_size() -> int:
    """Processes started by the launcher (``torchrun`` and ``accelerate launch`` set ``WORLD_SIZE``)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """Rank 0 of a launched run, or the only process: the one that writes shared files."""
    return int(os.environ.get("RANK", "0")) == 0


# --------------------------------------------------------------------------- from arguments to a run


def resolve_profile(args):
    """The profile named on the command line, with the data-size and run-length flags applied to its section.

    The warm-up keeps the profile's share of the run (45 of 450 steps in
    quick) unless ``--warmup-steps`` is given.
    """
    profile = get_profile(args.profile)
    run = getattr(profile, args.model)
    changes = {}
    if args.steps is not None:
        changes["steps"] = args.steps
        changes["warmup_steps"] = round(run.warmup_steps * args.steps / run.steps)
    if args.warmup_steps is not None:
        changes["warmup_steps"] = args.warmup_steps
    steps, warmup = changes.get("steps", run.steps), changes.get("warmup_steps", run.warmup_steps)
    if warmup >= steps:
        raise ValueError(f"--warmup-steps {warmup} must be smaller than the {steps} steps; try --warmup-steps "
                         f"{steps // 10}.")
    if args.train_docs is not None:
        changes["train_docs"] = args.train_docs
    if args.eval_examples is not None:
        changes["eval_blocks" if args.model == "gpt" else "eval_examples"] = args.eval_examples
    if args.batch_size is not None:
        changes["batch_size"] = args.batch_size
    if args.eval_every is not None:
        changes["eval_every"] = args.eval_every
    return profile.replace(**{args.model: changes}) if changes else profile


def train_config(args, profile):
    """The chapter's training configuration with the command-line changes.

    ``TrainConfig.batch_size`` counts examples on one process, so the global
    batch is divided by the number of processes here; everything else that
    shapes the run (steps, schedule, seed) is the same on any number of
    processes.
    """
    run = getattr(profile, args.model)
    base = gpt_train_config(profile) if args.model == "gpt" else pretrain_config(profile)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    return base.replace(
        batch_size=run.batch_size // world_size(), grad_accum_steps=args.grad_accum, lr=args.lr or run.lr,
        checkpoint_every=args.checkpoint_every or run.eval_every, seed=args.seed,
        mixed_precision=args.mixed_precision, cpu=args.cpu, progress=progress, stop_after=args.stop_after,
    )


# --------------------------------------------------------------------------- checks that need more than one argument


def _check_args(args, parser: argparse.ArgumentParser, profile) -> None:
    """Refuse combinations argparse cannot see, before any data is built, with the fix in the message."""
    if args.output_dir.exists() and not args.output_dir.is_dir():
        parser.error(f"--output-dir {args.output_dir} is a file; give a folder (it is created if missing).")
    run = getattr(profile, args.model)
    if args.stop_after is not None and args.stop_after > run.steps:
        parser.error(f"--stop-after {args.stop_after} is beyond the run's {run.steps} steps; drop it to train to the "
                     "end, or raise --steps.")
    world, batch = world_size(), run.batch_size
    unit = world * args.grad_accum
    if batch % unit:
        parser.error(
            f"--batch-size {batch} (the global batch) must be divisible by {world} process(es) x --grad-accum "
            f"{args.grad_accum} = {unit}; try --batch-size {-(-batch // unit) * unit}."
        )
    try:
        resolve_mixed_precision(args.mixed_precision, cpu=args.cpu)
    except ValueError:
        parser.error(f"--mixed-precision {args.mixed_precision} needs a CUDA GPU; on the CPU use --mixed-precision "
                     "no (or bf16 if the CPU supports it), or leave it at auto.")
    _check_resume(args, parser)


def _check_resume(args, parser: argparse.ArgumentParser) -> None:
    """A fresh run must not silently mix its checkpoints with an earlier run's."""
    resume, found = args.resume, latest_checkpoint(args.output_dir / CHECKPOINT_SUBDIR)
    if resume is not None and resume not in RESUME_CHOICES and not os.path.exists(resume):
        parser.error(f"--resume {resume}: no such checkpoint folder; use --resume latest to continue the run "
                     "in --output-dir, or --resume auto.")
    if resume == "latest" and found is None:
        parser.error(f"--resume: there is no checkpoint under {args.output_dir / CHECKPOINT_SUBDIR} to continue; "
                     "drop --resume to start a fresh run, or use --resume auto (resume only if there is one).")
    if resume is None and found is not None:
        parser.error(f"--output-dir {args.output_dir} already holds checkpoints of a run; add --resume to continue "
                     "it, or choose another --output-dir.")


# --------------------------------------------------------------------------- the run


def _device_name(config) -> str:
    """What trained the model, for the record: the GPU's name, or the CPU and its thread count."""
    import platform

    import torch

    if torch.cuda.is_available() and not config.cpu:
        return torch.cuda.get_device_name(0)
    threads = torch.get_num_threads()
    return f"CPU {platform.processor() or platform.machine()}, {threads} thread{'s' if threads != 1 else ''}"


def save_final(result, data, args, profile, config) -> None:
    """Write the model and tokenizer (``from_pretrained`` format), then ``training_info.json`` last."""
    save_model_weights(result.model, args.output_dir, data.tokenizer)
    info = {
        "model": args.model, "profile": profile.as_dict(), "steps": result.steps, "num_processes": world_size(),
        "global_batch_size": config.batch_size * world_size(), "precision": precision(config),
        "device": _device_name(config), "train_time_s": result.train_time_s,
        "tokens_seen": result.tokens_seen, "tokens_per_second": result.tokens_per_second,
        "resumed_from": str(result.resumed_from) if result.resumed_from else None,
        "last_eval": result.last_eval, "data": data.stats, "config": config.as_dict(),
        "history": result.history,
    }
    (args.output_dir / INFO_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")


def precision(config) -> str:
    """The arithmetic the run uses, as the engine resolves ``config.mixed_precision``: fp32, bf16 or fp16."""
    import warnings

    with warnings.catch_warnings():  # the engine warns once, when it starts
        warnings.simplefilter("ignore")
        resolved = resolve_mixed_precision(config.mixed_precision, cpu=config.cpu)
    return "fp32" if resolved == "no" else resolved


def _describe(args, profile, config) -> str:
    world = world_size()
    return (f"sslm pretrain: {args.model}, profile {profile.name}, {config.max_steps} steps, global batch "
            f"{config.batch_size * world} = {world} process(es) x {config.batch_size} "
            f"({config.grad_accum_steps} micro-batch(es) each), {precision(config)}, output {args.output_dir}")


def _finish_distributed() -> None:
    """Wait for rank 0's final save, then leave the process group cleanly (no warning at exit)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def keep_warmup_when_extending(args) -> None:
    """``--resume --steps N`` continues a run for longer: keep the warm-up the run was started with.

    The warm-up is otherwise derived from ``--steps``, and a resumed run must
    keep its schedule's settings; so without ``--warmup-steps`` the saved one
    is used. The decay then stretches to the new last step (the learning rate
    jumps up a little at the resume), which the engine warns about.
    """
    if args.resume is None or args.steps is None or args.warmup_steps is not None:
        return
    try:
        found = resolve_checkpoint(args.output_dir / CHECKPOINT_SUBDIR, args.resume)
        saved = read_trainer_state(found) if found is not None else {}
    except (CheckpointError, FileNotFoundError):
        return  # _check_resume and train() explain, with the fix
    args.warmup_steps = saved.get("config", {}).get("warmup_steps")


def run_pretrain(args, parser: argparse.ArgumentParser) -> int:
    """Check the flags, train with the chapter's function, save the final model; returns the exit status."""
    keep_warmup_when_extending(args)
    try:
        profile = resolve_profile(args)
    except ValueError as err:  # e.g. --warmup-steps not below --steps
        parser.error(str(err))
    _check_args(args, parser, profile)
    config = train_config(args, profile)
    if is_main_process():
        print(_describe(args, profile, config), flush=True)
    train_fn = train_gpt if args.model == "gpt" else train_bert
    _, result, data = train_fn(profile, seed=args.seed, config=config, output_dir=args.output_dir,
                               resume=args.resume or False, progress=config.progress)
    if is_main_process():
        save_final(result, data, args, profile, config)
        summary = ", ".join(f"{k} {v:.4g}" for k, v in result.last_eval.items() if k not in ("split", "step"))
        print(f"sslm pretrain: done, {result.steps} steps; held-out {summary}; model in {args.output_dir}",
              flush=True)
    _finish_distributed()
    return 0
