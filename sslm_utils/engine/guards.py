"""What :func:`~sslm_utils.engine.train` checks before the first step and while it runs.

Before: every argument, the checkpoint folder (a fresh run never lands on
another run's checkpoints), the first batch against the model's vocabulary
and position table, and, on resume, that the run is really the same run.
During: a loss that turns NaN or infinite stops the run with the likely cause.
"""

from __future__ import annotations

import math
import shutil
import warnings
from pathlib import Path

import torch

from .. import checks
from .batches import check_dataset
from .checkpoints import config_changes, list_checkpoints, remove_stale_temporaries
from .config import TrainConfig

CHECKPOINT_SUBDIR = "checkpoints"


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite: continuing would only train on garbage."""


# Fields that shape the trajectory: a resumed run must use the same values.
_RESUME_FIELDS = (
    "batch_size", "grad_accum_steps", "lr", "weight_decay", "betas", "eps",
    "warmup_steps", "schedule", "max_grad_norm", "seed",
)


def check_resume_compatible(saved: dict, config: TrainConfig, n_train: int, world: int) -> None:
    old = saved.get("config", {})
    diffs = {k: (old.get(k), getattr(config, k)) for k in _RESUME_FIELDS if k in old}
    diffs = {k: v for k, v in diffs.items() if (list(v[0]) if isinstance(v[0], (list, tuple)) else v[0])
             != (list(v[1]) if isinstance(v[1], tuple) else v[1])}
    if diffs:
        pretty = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in diffs.items())
        raise ValueError(
            f"The checkpoint was written with a different config ({pretty}); resuming would not continue "
            "the same run. Pass the original TrainConfig, or start a new run in another output_dir."
        )
    if saved.get("n_train") != n_train:
        raise ValueError(
            f"The checkpoint's run trained on {saved.get('n_train')} examples, this call passes {n_train}; "
            "resume with the same training data."
        )
    if saved.get("num_processes", 1) != world:
        raise ValueError(
            f"The checkpoint was written by {saved.get('num_processes')} processes, this run has {world}; "
            "resume with the same number of processes."
        )
    if old.get("max_steps") not in (None, config.max_steps):
        warnings.warn(
            f"max_steps changed from {old['max_steps']} to {config.max_steps}: the learning-rate schedule "
            "changes with it, so the result will not match an uninterrupted run of either length.",
            stacklevel=3,
        )


def check_arguments(model, train_data, config, eval_data, *functions) -> int:
    """Everything about :func:`train`'s arguments that can be checked before any work; returns ``len(train_data)``."""
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}.")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    names = ("collate_fn", "eval_collate_fn", "loss_fn", "compute_metrics", "on_evaluate")
    for name, fn in zip(names, functions, strict=True):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be a function (or None for the default), got {type(fn).__name__}.")
    n_train = check_dataset(train_data, "train_data")
    if eval_data is not None and check_dataset(eval_data, "eval_data") == 0:
        raise ValueError("eval_data is empty; pass held-out examples, or eval_data=None to skip evaluation.")
    return n_train


def checkpoint_root(output_dir) -> Path | None:
    if output_dir is None:
        return None
    output_dir = Path(output_dir)
    if output_dir.is_file():
        raise ValueError(f"output_dir {output_dir} is a file; pass a folder (it is created if missing).")
    return output_dir / CHECKPOINT_SUBDIR


def claim_checkpoint_root(root: Path | None, start_from, overwrite: bool) -> None:
    """Refuse to start a fresh run on top of another run's checkpoints, unless told to delete them."""
    if root is None or start_from is not None:
        if overwrite and start_from is not None:
            raise ValueError("overwrite=True deletes the checkpoints that resume would continue from; pass one.")
        return
    found = list_checkpoints(root)
    if found and not overwrite:
        raise FileExistsError(
            f"{root} already holds checkpoints up to {found[-1].name} from another run; a fresh run there would "
            "mix with them (and prune them as older). Pass resume='auto' to continue that run, overwrite=True to "
            "delete it and start again, or another output_dir."
        )
    if found:
        shutil.rmtree(root)
    elif root.is_dir():
        remove_stale_temporaries(root)


def check_first_batch(model, train_data, collate, config) -> None:
    """Collate the first micro-batch (without touching the random streams) and check it fits the model, so a
    wrong tokenizer or a too-long sequence fails now with a fix rather than deep inside torch."""
    config_of_model = getattr(model, "config", None)
    if config_of_model is None:
        return
    with torch.random.fork_rng(devices=[]):
        batch = collate([train_data[i] for i in range(min(config.micro_batch_size, len(train_data)))])
    if isinstance(batch, dict) and "input_ids" in batch:
        checks.ids_fit_model("train_data's input_ids", batch["input_ids"], config_of_model)


def warn_about_model_changes(model, folder) -> None:
    changes = config_changes(model, folder)
    if changes:
        pretty = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changes.items())
        warnings.warn(f"The model's config differs from the checkpoint's ({pretty}); the run continues with the new "
                      "values, so it will not match an uninterrupted run.", stacklevel=4)


def check_finite(row: dict, step: int, config: TrainConfig, last_ckpt) -> None:
    if math.isfinite(row["loss"]):
        return
    saved = f"The last checkpoint, {last_ckpt}, is intact." if last_ckpt is not None else "No checkpoint was written."
    raise TrainingDivergedError(
        f"The training loss became {row['loss']} at step {step}. The usual cause is a learning rate too high for "
        f"this model (lr={config.lr:g}; try 3-10x smaller, or a longer warm-up than {config.warmup_steps} steps); "
        f"also check the data for empty or all-padding batches. {saved}"
    )
