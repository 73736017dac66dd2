"""Step 5: the one training loop, its evaluation, checkpoints that resume exactly, and measurement.

Its modules, in the order the book teaches them (every public name is importable
from the subpackage too):

- ``config``: :class:`TrainConfig`: everything the training loop does, in one immutable, checked record.
- ``optimization``: the optimizer and the learning-rate schedule: AdamW, warm-up, then linear or cosine decay.
- ``batches``: which examples form which batch: the data order is a pure function of ``(seed, epoch)``.
- ``losses``: the loss a training step minimises: the model's own ``.loss`` by default, or a chapter's ``loss_fn``.
- ``eval_loop``: held-out evaluation that never disturbs training: fixed batches, fixed masks, the caller's mode
  restored.
- ``rng_state``: every random generator's state, captured and restored, so a resumed run draws what an uninterrupted
  one would.
- ``checkpoints``: checkpoints that survive a crash and resume a run exactly.
- ``guards``: what ``train`` checks before the first step (arguments, the checkpoint folder, the first batch, a
  resume's compatibility) and while it runs (a loss that turns NaN).
- ``loop``: the book's one training loop, on Accelerate, with exact resume.
- ``measure``: measure what a call costs: wall-clock time, bytes allocated, and growth exponents.
- ``compute``: training compute: the floating-point operations a run cost, counted from the model's shape.
"""

from .batches import (
    check_dataset,
    count_tokens,
    epoch_plan,
    steps_per_epoch,
    to_device,
)
from .checkpoints import (
    LATEST,
    MANIFEST,
    MODEL_DIR,
    STATE_FILE,
    CheckpointError,
    config_changes,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    load_model_weights,
    newest_verified_checkpoint,
    prune_checkpoints,
    read_trainer_state,
    remove_stale_temporaries,
    resolve_checkpoint,
    save_checkpoint,
    save_model_weights,
    step_dir_name,
    verify_checkpoint,
)
from .compute import ModelShape, forward_flops, kaplan_flops, training_flops
from .config import (
    MIXED_PRECISION,
    SCHEDULES,
    TrainConfig,
    cpu_supports_bf16,
    resolve_mixed_precision,
)
from .eval_loop import (
    eval_mode,
    evaluate,
    evaluation_batches,
)
from .guards import (
    CHECKPOINT_SUBDIR,
    TrainingDivergedError,
)
from .loop import (
    TrainResult,
    train,
)
from .losses import (
    as_float,
    default_loss,
    split_loss,
)
from .measure import (
    allocated_bytes,
    loglog_slope,
    seconds,
)
from .optimization import (
    decay_left,
    lr_factor,
    make_optimizer,
    make_scheduler,
)
from .rng_state import (
    capture_rng_state,
    restore_rng_state,
)

__all__ = [
    "ModelShape",
    "forward_flops",
    "kaplan_flops",
    "training_flops",
    "cpu_supports_bf16",
    "SCHEDULES",
    "MIXED_PRECISION",
    "TrainConfig",
    "resolve_mixed_precision",
    "decay_left",
    "lr_factor",
    "make_optimizer",
    "make_scheduler",
    "steps_per_epoch",
    "epoch_plan",
    "check_dataset",
    "count_tokens",
    "to_device",
    "default_loss",
    "split_loss",
    "as_float",
    "eval_mode",
    "evaluation_batches",
    "evaluate",
    "capture_rng_state",
    "restore_rng_state",
    "LATEST",
    "MANIFEST",
    "STATE_FILE",
    "MODEL_DIR",
    "CheckpointError",
    "step_dir_name",
    "list_checkpoints",
    "latest_checkpoint",
    "resolve_checkpoint",
    "save_model_weights",
    "load_model_weights",
    "verify_checkpoint",
    "prune_checkpoints",
    "remove_stale_temporaries",
    "newest_verified_checkpoint",
    "config_changes",
    "save_checkpoint",
    "read_trainer_state",
    "load_checkpoint",
    "CHECKPOINT_SUBDIR",
    "TrainingDivergedError",
    "TrainResult",
    "train",
    "seconds",
    "allocated_bytes",
    "loglog_slope",
]
