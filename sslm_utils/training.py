"""The book's one training loop, on Accelerate, with exact resume.

Every chapter that trains something calls :func:`train`. It does the
ordinary things — AdamW, warm-up then linear or cosine decay, gradient
clipping, gradient accumulation, mixed precision when the hardware has it,
evaluation every few steps, a metrics history for plots, a ``tqdm`` bar —
and one unusual thing: a run that is interrupted and resumed from its last
checkpoint ends with *bit-identical* weights to a run that never stopped
(on the CPU; GPU kernels are not all deterministic).

Exact resume needs four things restored, and a missing one shows up as a
small, silent difference: the weights; the optimizer's moments and the
scheduler's position; every random generator (dropout, dynamic masking);
and the data position. The data order here is a pure function of
``(seed, epoch)`` — a fresh ``torch.Generator`` per epoch shuffles the
indices — so resuming at step ``s`` only has to skip the batches already
consumed in the current epoch, without replaying anything.

The :class:`~accelerate.Accelerator` is created *inside* :func:`train` and
its global state is cleared again afterwards, so a notebook can call
``train`` many times and later still hand a function that calls it to
``accelerate.notebook_launcher`` (which refuses to start once an
Accelerator exists in the kernel).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import default_collate

from . import checkpoint as ckpt
from .repro import set_seed

SCHEDULES = ("linear", "cosine", "constant")
MIXED_PRECISION = ("auto", "no", "fp16", "bf16")
CHECKPOINT_SUBDIR = "checkpoints"
# Fields that shape the trajectory: a resumed run must use the same values.
_RESUME_FIELDS = (
    "batch_size", "grad_accum_steps", "lr", "weight_decay", "betas", "eps",
    "warmup_steps", "schedule", "max_grad_norm", "seed",
)


# --------------------------------------------------------------------------- configuration


def _positive_int(name: str, value, hint: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}. {hint}")


@dataclass(frozen=True)
class TrainConfig:
    """What :func:`train` does, in one immutable record.

    ``batch_size`` is the number of examples behind one optimizer step on one
    process; ``grad_accum_steps`` splits it into that many micro-batches
    (so it must divide ``batch_size``). Each micro-batch's loss is divided by
    ``grad_accum_steps``, so the step follows the *mean of the micro-batch
    means*: 1 × 32 and 4 × 8 give the same update up to rounding when every
    micro-batch's loss averages over the same number of targets (packed GPT
    blocks), and only approximately when counts vary (MLM's random masks);
    lesson 3.5 measures both cases.
    """

    max_steps: int
    batch_size: int = 32
    grad_accum_steps: int = 1
    lr: float = 5e-4
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    warmup_steps: int = 0
    schedule: str = "linear"
    max_grad_norm: float | None = 1.0
    eval_every: int | None = None  # None: evaluate once, at the end
    eval_batch_size: int | None = None  # None: batch_size
    log_every: int = 1
    checkpoint_every: int | None = None  # None: one checkpoint, at the end
    keep_checkpoints: int = 2
    seed: int = 0
    mixed_precision: str = "auto"  # auto: bf16 on Ampere+, fp16 on older CUDA GPUs, no on CPU
    cpu: bool = False  # force the CPU even when a GPU is present
    trackers: tuple = ()  # off by default; e.g. ("tensorboard",) or Accelerate GeneralTracker objects
    project_name: str = "sslm"
    progress: bool = True

    def __post_init__(self):
        _positive_int("max_steps", self.max_steps, "It counts optimizer steps; use e.g. max_steps=100.")
        _positive_int("batch_size", self.batch_size, "It counts examples per optimizer step.")
        _positive_int("grad_accum_steps", self.grad_accum_steps, "Use 1 for no accumulation.")
        if self.batch_size % self.grad_accum_steps:
            divisors = [d for d in range(1, self.batch_size + 1) if self.batch_size % d == 0]
            raise ValueError(
                f"grad_accum_steps={self.grad_accum_steps} does not divide batch_size={self.batch_size}, so "
                f"micro-batches would differ in size. Choose grad_accum_steps from {divisors}, "
                "or change batch_size."
            )
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}.")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}.")
        if isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be an int >= 0, got {self.warmup_steps!r}.")
        if self.warmup_steps >= self.max_steps:
            raise ValueError(
                f"warmup_steps={self.warmup_steps} must be smaller than max_steps={self.max_steps}; "
                "a common choice is 5-10 % of max_steps."
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}.")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(
                f"max_grad_norm must be positive, or None to turn clipping off; got {self.max_grad_norm!r}."
            )
        hints = {
            "eval_every": "Use None to evaluate only at the end.",
            "checkpoint_every": "Use None to checkpoint only at the end.",
            "eval_batch_size": "Use None to evaluate with batch_size.",
        }
        for name, hint in hints.items():
            if getattr(self, name) is not None:
                _positive_int(name, getattr(self, name), hint)
        _positive_int("log_every", self.log_every, "Use 1 to log every step.")
        _positive_int("keep_checkpoints", self.keep_checkpoints, "Keep at least the latest one.")
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(f"mixed_precision must be one of {MIXED_PRECISION}, got {self.mixed_precision!r}.")
        if isinstance(self.trackers, str):
            object.__setattr__(self, "trackers", (self.trackers,))
        object.__setattr__(self, "trackers", tuple(self.trackers))
        object.__setattr__(self, "betas", tuple(self.betas))

    @property
    def micro_batch_size(self) -> int:
        """Examples per forward pass."""
        return self.batch_size // self.grad_accum_steps

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        """The fields as JSON-friendly values (trackers by name), as stored in checkpoints."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["betas"] = list(self.betas)
        values["trackers"] = [t if isinstance(t, str) else getattr(t, "name", type(t).__name__) for t in self.trackers]
        return values


def resolve_mixed_precision(choice: str = "auto", *, cpu: bool = False) -> str:
    """``auto`` → bf16 on GPUs that compute in it natively (compute capability ≥ 8),
    fp16 with loss scaling on older ones (a Colab T4), and full fp32 on the CPU."""
    if choice not in MIXED_PRECISION:
        raise ValueError(f"mixed_precision must be one of {MIXED_PRECISION}, got {choice!r}.")
    cuda = torch.cuda.is_available() and not cpu
    if choice == "auto":
        if not cuda:
            return "no"
        return "bf16" if torch.cuda.get_device_capability()[0] >= 8 else "fp16"
    if choice == "fp16" and not cuda:
        raise ValueError(
            "mixed_precision='fp16' needs a CUDA GPU; on the CPU use 'no' (or 'bf16' if your CPU supports it), "
            "or leave it at 'auto'."
        )
    return choice


# --------------------------------------------------------------------------- optimizer and schedule


def lr_factor(step: int, *, warmup_steps: int, max_steps: int, schedule: str = "linear") -> float:
    """The multiplier of the peak learning rate at optimizer step ``step`` (0-based).

    A linear warm-up from ~0 over ``warmup_steps`` keeps Adam's first,
    poorly-estimated updates small; then a decay to 0 at ``max_steps``
    (linear as in BERT, or half a cosine).
    """
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
    if schedule == "linear":
        return 1.0 - progress
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}.")


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only: decaying biases and LayerNorm
    gains towards zero has no regularising purpose and only hurts."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.ndim >= 2 else no_decay).append(param)
    if not decay and not no_decay:
        raise ValueError("The model has no trainable parameters (all have requires_grad=False).")
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, eps=config.eps)


def make_scheduler(optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        return lr_factor(step, warmup_steps=config.warmup_steps, max_steps=config.max_steps, schedule=config.schedule)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# --------------------------------------------------------------------------- data order


def steps_per_epoch(n_examples: int, batch_size: int, num_processes: int = 1) -> int:
    """Optimizer steps in one pass; the incomplete last global batch is dropped
    so that every step sees the same number of examples."""
    return n_examples // (batch_size * num_processes)


def epoch_plan(
    n_examples: int, config: TrainConfig, epoch: int, *, num_processes: int = 1, rank: int = 0
) -> list[list[list[int]]]:
    """This process's batches for one epoch: ``plan[step][micro_batch] -> indices``.

    The permutation depends only on ``(seed, epoch)``, so any process, in any
    run, computes the same order; each global batch of
    ``batch_size * num_processes`` examples is cut into one slice per process,
    and each slice into ``grad_accum_steps`` micro-batches.
    """
    gen = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
    order = torch.randperm(n_examples, generator=gen).tolist()
    per_step, micro = config.batch_size * num_processes, config.micro_batch_size
    plan = []
    for s in range(steps_per_epoch(n_examples, config.batch_size, num_processes)):
        mine = order[s * per_step + rank * config.batch_size : s * per_step + (rank + 1) * config.batch_size]
        plan.append([mine[i : i + micro] for i in range(0, config.batch_size, micro)])
    return plan


def _check_dataset(data, name: str) -> int:
    if not (hasattr(data, "__len__") and hasattr(data, "__getitem__")):
        raise TypeError(
            f"{name} must support len() and indexing (a list, a torch Dataset, a datasets.Dataset), "
            f"got {type(data).__name__}. Wrap an iterable in list(...) first."
        )
    return len(data)


# --------------------------------------------------------------------------- losses and metrics


def default_loss(model, batch):
    """Call the model on the batch and return its ``.loss`` (the transformers convention)."""
    out = model(**batch) if isinstance(batch, Mapping) else model(batch)
    loss = getattr(out, "loss", None)
    if loss is None and isinstance(out, Mapping):
        loss = out.get("loss")
    if loss is None:
        raise TypeError(
            f"The model returned {type(out).__name__} without a 'loss'. Put labels in the batch, or pass "
            "loss_fn=lambda model, batch: ... returning a scalar loss."
        )
    return loss


def _split_loss(value) -> tuple[torch.Tensor, dict]:
    """``loss_fn`` returns a scalar loss, or ``(loss, {name: scalar})`` to log parts of it."""
    loss, extras = (value if isinstance(value, tuple) else (value, {}))
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn must return a scalar tensor (e.g. a mean), got {shape}.")
    if not isinstance(extras, Mapping):
        raise TypeError("loss_fn may return (loss, dict of scalars); the second item was not a dict.")
    return loss, dict(extras)


def _scalar(value) -> float:
    return float(value.detach().float().mean()) if isinstance(value, torch.Tensor) else float(value)


def count_tokens(batch) -> int:
    """Real tokens in a batch: the attention mask's ones, else every input id."""
    if isinstance(batch, Mapping):
        if "attention_mask" in batch:
            return int(batch["attention_mask"].sum())
        if "input_ids" in batch:
            return int(batch["input_ids"].numel())
    return 0


def _to_device(batch, device):
    from accelerate.utils import send_to_device

    return send_to_device(batch, device)


@torch.no_grad()
def evaluate(
    model,
    eval_data,
    *,
    batch_size: int = 32,
    collate_fn: Callable | None = None,
    loss_fn: Callable | None = None,
    compute_metrics: Callable | None = None,
    seed: int = 0,
    accelerator=None,
) -> dict[str, float]:
    """Average metrics over ``eval_data`` without disturbing training.

    ``compute_metrics(model, batch)`` (if given; otherwise ``loss_fn``) returns
    ``{name: value}`` where a value is either a number, averaged over examples,
    or a pair ``(total, count)``, summed over batches and divided at the end
    (e.g. correct predictions over masked tokens — exact, unlike an average of
    per-batch ratios). The random generators are forked and seeded with
    ``seed``, so a collator that masks at random masks the same positions at
    every evaluation, and the training run's random stream is untouched.
    """
    n = _check_dataset(eval_data, "eval_data")
    if n == 0:
        raise ValueError("eval_data is empty.")
    collate = collate_fn or default_collate
    rank = accelerator.process_index if accelerator is not None else 0
    world = accelerator.num_processes if accelerator is not None else 1
    device = accelerator.device if accelerator is not None else next(model.parameters()).device
    autocast = accelerator.autocast if accelerator is not None else contextlib.nullcontext
    mine = list(range(rank, n, world))
    totals: dict[str, list[float]] = {}
    was_training = model.training
    model.eval()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() and device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            for start in range(0, len(mine), batch_size):
                idx = mine[start : start + batch_size]
                batch = _to_device(collate([eval_data[i] for i in idx]), device)
                with autocast():
                    if compute_metrics is not None:
                        values = dict(compute_metrics(model, batch))
                    else:
                        loss, extras = _split_loss((loss_fn or default_loss)(model, batch))
                        values = {"loss": loss, **extras}
                for name, value in values.items():
                    num, den = (
                        (_scalar(value[0]), _scalar(value[1])) if isinstance(value, tuple)
                        else (_scalar(value) * len(idx), len(idx))
                    )
                    acc = totals.setdefault(name, [0.0, 0.0])
                    acc[0] += num
                    acc[1] += den
    finally:
        model.train(was_training)
    names = sorted(totals)
    sums = torch.tensor([totals[k] for k in names], dtype=torch.float64, device=device)
    if accelerator is not None and world > 1:
        sums = accelerator.reduce(sums, reduction="sum")
    return {k: float(s[0] / s[1]) if s[1] else float("nan") for k, s in zip(names, sums.cpu(), strict=True)}


# --------------------------------------------------------------------------- result


@dataclass
class TrainResult:
    """What :func:`train` hands back: the model, the history, where the last checkpoint is."""

    model: torch.nn.Module
    history: list[dict] = field(default_factory=list)
    steps: int = 0
    checkpoint: Path | None = None
    train_time_s: float = 0.0
    tokens_seen: int = 0
    examples_seen: int = 0
    resumed_from: Path | None = None

    def frame(self, split: str = "train"):
        """The history of one split (``train`` or ``eval``) as a DataFrame, one row a step."""
        import pandas as pd

        if split not in ("train", "eval"):
            raise ValueError(f"split must be 'train' or 'eval', got {split!r}.")
        rows = [{k: v for k, v in r.items() if k != "split"} for r in self.history if r["split"] == split]
        return pd.DataFrame(rows)

    @property
    def tokens_per_second(self) -> float:
        """Training throughput (forward, backward and update; evaluation excluded)."""
        return self.tokens_seen / self.train_time_s if self.train_time_s else float("nan")

    @property
    def last_eval(self) -> dict:
        evals = [r for r in self.history if r["split"] == "eval"]
        return evals[-1] if evals else {}


# --------------------------------------------------------------------------- accelerator


def _make_accelerator(config: TrainConfig, output_dir: Path | None):
    from accelerate import Accelerator

    kwargs = {}
    if config.trackers:
        kwargs = {"log_with": list(config.trackers), "project_dir": str(output_dir or Path("runs"))}
    # Without a GPU, Accelerate forms a multi-process (gloo) group only when told
    # cpu=True; otherwise every process of a torchrun launch thinks it is alone.
    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
    cpu = config.cpu or (launched and not torch.cuda.is_available())
    return Accelerator(
        gradient_accumulation_steps=config.grad_accum_steps,
        mixed_precision=resolve_mixed_precision(config.mixed_precision, cpu=cpu),
        cpu=cpu,
        **kwargs,
    )


def _release_accelerator(accelerator) -> None:
    """Forget the global Accelerate state we created, so the kernel stays clean.

    Accelerate keeps its state in class-level singletons; left behind, they
    make a second ``train`` with another precision fail and block
    ``notebook_launcher``. In a launched multi-process run the launcher owns
    that state, so it is left alone.
    """
    from accelerate.state import AcceleratorState, GradientState

    if accelerator.device.type != "cpu":
        accelerator.free_memory()  # drops references and empties the GPU cache
    if accelerator.num_processes == 1:
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()


# --------------------------------------------------------------------------- the loop


def _check_resume_compatible(saved: dict, config: TrainConfig, n_train: int, world: int) -> None:
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


def _train_step(model, optimizer, scheduler, accelerator, data, micro_batches, collate, loss_fn, config):
    """One optimizer step over ``grad_accum_steps`` micro-batches; returns the numbers to log."""
    losses, extras, tokens, grad_norm = [], {}, 0, float("nan")
    lr = scheduler.get_last_lr()[0]
    for idx in micro_batches:
        batch = _to_device(collate([data[i] for i in idx]), accelerator.device)
        tokens += count_tokens(batch)
        with accelerator.accumulate(model):
            with accelerator.autocast():  # also covers a loss_fn that calls submodules directly
                loss, parts = _split_loss(loss_fn(model, batch))
            accelerator.backward(loss)  # divides by grad_accum_steps itself
            if accelerator.sync_gradients:
                max_norm = config.max_grad_norm if config.max_grad_norm is not None else float("inf")
                grad_norm = _scalar(accelerator.clip_grad_norm_(model.parameters(), max_norm))
            optimizer.step()  # a no-op until the last micro-batch
            optimizer.zero_grad(set_to_none=True)
        losses.append(loss.detach().float())
        for k, v in parts.items():
            extras.setdefault(k, []).append(_scalar(v))
    if not accelerator.sync_gradients:  # pragma: no cover - guards our own bookkeeping
        raise RuntimeError("Internal error: the accumulation window did not end on an optimizer step.")
    # The scheduler is stepped by hand, once per optimizer step: Accelerate's
    # wrapper would step it once per *process*, which changes the schedule with
    # the number of processes.
    if not accelerator.optimizer_step_was_skipped:  # fp16 loss scaling may skip a step
        scheduler.step()
    loss = accelerator.reduce(torch.stack(losses).mean(), reduction="mean")
    row = {"lr": lr, "loss": float(loss), "grad_norm": grad_norm}
    row.update({k: sum(v) / len(v) for k, v in extras.items()})
    return row, tokens * accelerator.num_processes


def train(
    model: torch.nn.Module,
    train_data,
    *,
    config: TrainConfig,
    eval_data=None,
    collate_fn: Callable | None = None,
    eval_collate_fn: Callable | None = None,
    loss_fn: Callable | None = None,
    compute_metrics: Callable | None = None,
    output_dir: str | Path | None = None,
    resume=False,
    tokenizer=None,
    accelerator=None,
) -> TrainResult:
    """Train ``model`` on ``train_data`` for ``config.max_steps`` optimizer steps.

    ``train_data`` is anything indexable (a list, a torch or 🤗 Dataset);
    ``collate_fn`` turns a list of its items into a batch (default:
    ``default_collate``); ``loss_fn(model, batch)`` returns a scalar loss or
    ``(loss, {name: scalar})`` (default: ``model(**batch).loss``).
    ``eval_data`` is evaluated every ``config.eval_every`` steps and at the
    end with :func:`evaluate` (``eval_collate_fn`` defaults to ``collate_fn``).

    With ``output_dir``, checkpoints go to ``output_dir/checkpoints`` every
    ``config.checkpoint_every`` steps and at the end; ``resume`` is ``False``,
    ``"latest"`` (or ``True``), ``"auto"`` (resume if a checkpoint exists) or
    a checkpoint path. ``tokenizer`` is saved beside the weights.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}.")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    n_train = _check_dataset(train_data, "train_data")
    if eval_data is not None:
        _check_dataset(eval_data, "eval_data")
    output_dir = Path(output_dir) if output_dir is not None else None
    root = output_dir / CHECKPOINT_SUBDIR if output_dir is not None else None
    start_from = ckpt.resolve_checkpoint(root, resume)  # fails fast, before any work

    created = accelerator is None
    if created:
        accelerator = _make_accelerator(config, output_dir)
    try:
        world = accelerator.num_processes
        if steps_per_epoch(n_train, config.batch_size, world) == 0:
            raise ValueError(
                f"train_data has {n_train} examples, fewer than one step's {config.batch_size * world} "
                f"(batch_size {config.batch_size} x {world} processes). Use a smaller batch_size or more data."
            )
        return _run(
            model, train_data, config, accelerator, eval_data=eval_data, collate=collate_fn or default_collate,
            eval_collate=eval_collate_fn or collate_fn or default_collate, loss_fn=loss_fn or default_loss,
            compute_metrics=compute_metrics, root=root, start_from=start_from, tokenizer=tokenizer,
            n_train=n_train,
        )
    finally:
        if created:
            _release_accelerator(accelerator)


def _run(model, data, config, accelerator, *, eval_data, collate, eval_collate, loss_fn, compute_metrics,
         root, start_from, tokenizer, n_train) -> TrainResult:
    from tqdm.auto import tqdm

    world, rank = accelerator.num_processes, accelerator.process_index
    model = accelerator.prepare(model)  # moves to the device (and wraps for DDP) before the optimizer sees it
    raw_optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(raw_optimizer, config)
    optimizer = accelerator.prepare(raw_optimizer)
    bare = accelerator.unwrap_model(model)

    state = {"step": 0, "history": [], "tokens_seen": 0, "examples_seen": 0, "train_time_s": 0.0}
    if start_from is not None:
        saved = ckpt.read_trainer_state(start_from)
        _check_resume_compatible(saved, config, n_train, world)
        state.update(ckpt.load_checkpoint(start_from, model=bare, optimizer=raw_optimizer,
                                          scheduler=scheduler, rank=rank))
    else:
        set_seed(config.seed + rank, deterministic=False)  # dropout and masking start from the seed
    if config.trackers:
        accelerator.init_trackers(config.project_name, config={k: str(v) for k, v in config.as_dict().items()})

    per_epoch = steps_per_epoch(n_train, config.batch_size, world)
    step, history = state["step"], state["history"]
    eval_kwargs = dict(batch_size=config.eval_batch_size or config.batch_size, collate_fn=eval_collate,
                       loss_fn=loss_fn, compute_metrics=compute_metrics, seed=config.seed, accelerator=accelerator)
    last_ckpt = start_from
    bar = tqdm(total=config.max_steps, initial=step, desc="train", disable=not (config.progress and
                                                                               accelerator.is_main_process))
    model.train()
    plan, plan_epoch = None, None
    while step < config.max_steps:
        epoch, position = divmod(step, per_epoch)
        if plan_epoch != epoch:
            plan, plan_epoch = epoch_plan(n_train, config, epoch, num_processes=world, rank=rank), epoch
        tic = time.perf_counter()
        row, tokens = _train_step(model, optimizer, scheduler, accelerator, data, plan[position], collate,
                                  loss_fn, config)
        elapsed = time.perf_counter() - tic
        step += 1
        state["tokens_seen"] += tokens
        state["examples_seen"] += config.batch_size * world
        state["train_time_s"] += elapsed
        if step % config.log_every == 0 or step == config.max_steps:
            row = {"split": "train", "step": step, "epoch": epoch, **row, "tokens_per_s": tokens / elapsed}
            history.append(row)
            accelerator.log({f"train/{k}": v for k, v in row.items() if k != "split"}, step=step)
            bar.set_postfix(loss=f"{row['loss']:.3f}", refresh=False)
        bar.update(1)
        final = step == config.max_steps
        if eval_data is not None and (final or (config.eval_every and step % config.eval_every == 0)):
            scores = evaluate(model, eval_data, **eval_kwargs)
            history.append({"split": "eval", "step": step, **scores})
            accelerator.log({f"eval/{k}": v for k, v in scores.items()}, step=step)
        if root is not None and (final or (config.checkpoint_every and step % config.checkpoint_every == 0)):
            state.update(step=step, epoch=divmod(step, per_epoch)[0], batch_in_epoch=step % per_epoch,
                         n_train=n_train, num_processes=world, config=config.as_dict())
            last_ckpt = ckpt.save_checkpoint(root, step, model=bare, optimizer=raw_optimizer, scheduler=scheduler,
                                             trainer_state=state, tokenizer=tokenizer,
                                             keep_last=config.keep_checkpoints, accelerator=accelerator)
    bar.close()
    if config.trackers:
        accelerator.end_training()
    return TrainResult(
        model=accelerator.unwrap_model(model, keep_fp32_wrapper=False),
        history=history, steps=step, checkpoint=last_ckpt, train_time_s=state["train_time_s"],
        tokens_seen=state["tokens_seen"], examples_seen=state["examples_seen"],
        resumed_from=start_from,
    )
