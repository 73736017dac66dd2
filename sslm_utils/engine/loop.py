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

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import default_collate

from ..repro import set_seed
from .batches import count_tokens, epoch_plan, steps_per_epoch, to_device
from .checkpoints import load_checkpoint, read_trainer_state, resolve_checkpoint, save_checkpoint, verify_checkpoint
from .config import TrainConfig, resolve_mixed_precision
from .eval_loop import evaluate
from .guards import (
    check_arguments,
    check_finite,
    check_first_batch,
    check_resume_compatible,
    checkpoint_root,
    claim_checkpoint_root,
    warn_about_model_changes,
)
from .losses import as_float, default_loss, split_loss
from .optimization import check_lr_scales, make_optimizer, make_scheduler


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
    stopped_early: bool = False  # ``on_evaluate`` asked to stop before the last step

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


def _train_step(model, optimizer, scheduler, accelerator, data, micro_batches, collate, loss_fn, config):
    """One optimizer step over ``grad_accum_steps`` micro-batches; returns the numbers to log."""
    losses, extras, tokens, grad_norm = [], {}, 0, float("nan")
    lr = scheduler.get_last_lr()[0]
    for idx in micro_batches:
        batch = to_device(collate([data[i] for i in idx]), accelerator.device)
        tokens += count_tokens(batch)
        with accelerator.accumulate(model):
            with accelerator.autocast():  # also covers a loss_fn that calls submodules directly
                loss, parts = split_loss(loss_fn(model, batch))
            accelerator.backward(loss)  # divides by grad_accum_steps itself
            if accelerator.sync_gradients:
                max_norm = config.max_grad_norm if config.max_grad_norm is not None else float("inf")
                grad_norm = as_float(accelerator.clip_grad_norm_(model.parameters(), max_norm))
            optimizer.step()  # a no-op until the last micro-batch
            optimizer.zero_grad(set_to_none=True)
        losses.append(loss.detach().float())
        for k, v in parts.items():
            extras.setdefault(k, []).append(as_float(v))
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
    overwrite: bool = False,
    tokenizer=None,
    accelerator=None,
    on_evaluate: Callable | None = None,
    lr_scales: dict | None = None,
) -> TrainResult:
    """Train ``model`` on ``train_data`` for ``config.max_steps`` optimizer steps (or up to ``config.stop_after``:
    a slice of the run, evaluated and checkpointed at its end, that a later call with ``resume`` continues).

    ``train_data`` is anything indexable (a list, a torch or 🤗 Dataset);
    ``collate_fn`` turns a list of its items into a batch (default:
    ``default_collate``); ``loss_fn(model, batch)`` returns a scalar loss or
    ``(loss, {name: scalar})`` (default: ``model(**batch).loss``).
    ``eval_data`` is evaluated every ``config.eval_every`` steps and at the
    end with :func:`evaluate` (``eval_collate_fn`` defaults to ``collate_fn``).

    With ``output_dir``, checkpoints go to ``output_dir/checkpoints`` every
    ``config.checkpoint_every`` steps and at the end; ``resume`` is ``False``,
    ``"latest"`` (or ``True``), ``"auto"`` (resume if a checkpoint exists) or
    a checkpoint path. A fresh run refuses an ``output_dir`` that already holds
    checkpoints (they would be mixed with, and pruned by, the new ones) unless
    ``overwrite=True``, which deletes them first. ``tokenizer`` is saved beside
    the weights. ``on_evaluate(step, scores, model)``, if given, is called
    after every evaluation with the unwrapped model (e.g. to keep the weights
    that score best on validation); if it returns ``True`` the run stops after
    that step (early stopping), with a checkpoint that remembers the stop, so
    resuming it trains no further. ``lr_scales`` maps parameter names to
    multipliers of the learning rate (e.g. layer-wise decay; see
    :func:`make_optimizer`). Every argument is checked before the first step.
    """
    n_train = check_arguments(model, train_data, config, eval_data, collate_fn, eval_collate_fn, loss_fn,
                               compute_metrics, on_evaluate)
    if lr_scales is not None:
        check_lr_scales(model, lr_scales)
    root = checkpoint_root(output_dir)
    start_from = resolve_checkpoint(root, resume)  # fails fast, before any work
    claim_checkpoint_root(root, start_from, overwrite)
    check_first_batch(model, train_data, collate_fn or default_collate, config)

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
            n_train=n_train, on_evaluate=on_evaluate, lr_scales=lr_scales,
        )
    finally:
        if created:
            _release_accelerator(accelerator)


def _start_state(start_from, bare, optimizer, scheduler, config, n_train: int, world: int, rank: int) -> dict:
    """A fresh run's counters (and its seeded generators), or everything a checkpoint restores."""
    state = {"step": 0, "history": [], "tokens_seen": 0, "examples_seen": 0, "train_time_s": 0.0}
    if start_from is not None:
        verify_checkpoint(start_from)  # before reading anything from it
        saved = read_trainer_state(start_from)
        check_resume_compatible(saved, config, n_train, world)
        warn_about_model_changes(bare, start_from)
        state.update(load_checkpoint(start_from, model=bare, optimizer=optimizer, scheduler=scheduler, rank=rank,
                                     verify=False))
    else:
        set_seed(config.seed + rank, deterministic=False)  # dropout and masking start from the seed
    return state


def _last_step(config: TrainConfig) -> int:
    """Where this call ends: ``stop_after`` (a slice of a longer run) or ``max_steps``."""
    return config.stop_after or config.max_steps


def _record(state: dict, row: dict, *, step: int, epoch: int, tokens: int, elapsed: float, config, accelerator,
            bar) -> None:
    """Count the step's examples, tokens and time; log its row every ``log_every`` steps (and at the last)."""
    state["tokens_seen"] += tokens
    state["examples_seen"] += config.batch_size * accelerator.num_processes
    state["train_time_s"] += elapsed
    if step % config.log_every == 0 or step == _last_step(config):
        row = {"split": "train", "step": step, "epoch": epoch, **row, "tokens_per_s": tokens / elapsed}
        state["history"].append(row)
        accelerator.log({f"train/{k}": v for k, v in row.items() if k != "split"}, step=step)
        bar.set_postfix(loss=f"{row['loss']:.3f}", refresh=False)
    bar.update(1)


def _run(model, data, config, accelerator, *, eval_data, collate, eval_collate, loss_fn, compute_metrics,
         root, start_from, tokenizer, n_train, on_evaluate=None, lr_scales=None) -> TrainResult:
    from tqdm.auto import tqdm

    world, rank = accelerator.num_processes, accelerator.process_index
    model = accelerator.prepare(model)  # moves to the device (and wraps for DDP) before the optimizer sees it
    raw_optimizer = make_optimizer(model, config, lr_scales)
    scheduler = make_scheduler(raw_optimizer, config)
    optimizer = accelerator.prepare(raw_optimizer)
    bare = accelerator.unwrap_model(model)

    state = _start_state(start_from, bare, raw_optimizer, scheduler, config, n_train, world, rank)
    if config.trackers:
        accelerator.init_trackers(config.project_name, config={k: str(v) for k, v in config.as_dict().items()})

    per_epoch = steps_per_epoch(n_train, config.batch_size, world)
    step, history = state["step"], state["history"]
    eval_kwargs = dict(batch_size=config.eval_batch_size or config.batch_size, collate_fn=eval_collate,
                       loss_fn=loss_fn, compute_metrics=compute_metrics, seed=config.seed, accelerator=accelerator)
    last_ckpt = start_from
    bar = tqdm(total=_last_step(config), initial=step, desc="train", disable=not (config.progress and
                                                                               accelerator.is_main_process))
    model.train()
    plan, plan_epoch = None, None
    last = _last_step(config)
    stopped = bool(state.get("stopped_early", False))  # a resumed run that had stopped stays stopped
    while step < last and not stopped:
        epoch, position = divmod(step, per_epoch)
        if plan_epoch != epoch:
            plan, plan_epoch = epoch_plan(n_train, config, epoch, num_processes=world, rank=rank), epoch
        if hasattr(loss_fn, "set_step"):  # a curriculum: the objective may change with the step
            loss_fn.set_step(step)
        tic = time.perf_counter()
        row, tokens = _train_step(model, optimizer, scheduler, accelerator, data, plan[position], collate,
                                  loss_fn, config)
        elapsed = time.perf_counter() - tic
        step += 1
        if not accelerator.optimizer_step_was_skipped:  # fp16 loss scaling skips overflowing steps by design
            check_finite(row, step, config, last_ckpt)
        _record(state, row, step=step, epoch=epoch, tokens=tokens, elapsed=elapsed, config=config,
                accelerator=accelerator, bar=bar)
        final = step == last
        if eval_data is not None and (final or (config.eval_every and step % config.eval_every == 0)):
            scores = evaluate(model, eval_data, **eval_kwargs)
            history.append({"split": "eval", "step": step, **scores})
            accelerator.log({f"eval/{k}": v for k, v in scores.items()}, step=step)
            if on_evaluate is not None:
                stopped = on_evaluate(step, scores, bare) is True
        if root is not None and (final or stopped or (config.checkpoint_every
                                                      and step % config.checkpoint_every == 0)):
            state.update(step=step, epoch=divmod(step, per_epoch)[0], batch_in_epoch=step % per_epoch,
                         n_train=n_train, num_processes=world, config=config.as_dict(), stopped_early=stopped)
            last_ckpt = save_checkpoint(root, step, model=bare, optimizer=raw_optimizer, scheduler=scheduler,
                                        trainer_state=state, tokenizer=tokenizer, keep_last=config.keep_checkpoints,
                                        accelerator=accelerator)
    bar.close()
    if config.trackers:
        accelerator.end_training()
    return TrainResult(
        model=accelerator.unwrap_model(model, keep_fp32_wrapper=False),
        history=history, steps=step, checkpoint=last_ckpt, train_time_s=state["train_time_s"],
        tokens_seen=state["tokens_seen"], examples_seen=state["examples_seen"],
        resumed_from=start_from, stopped_early=stopped,
    )
