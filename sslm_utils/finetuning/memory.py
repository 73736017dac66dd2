"""What a training step costs in memory: the state a model keeps between steps, and the peak during one.

Memory is the column of chapter 4's comparison that a reader's hardware
turns into a yes or a no, so it is measured, not estimated — and what is
measured is said precisely. Two numbers make up a training step's peak:

- the **state** kept between steps: the parameters (frozen ones included)
  and the optimizer's moments (AdamW keeps two per *trainable* number), counted
  from the tensors themselves;
- the **rise** during one step above that state: the gradients, the
  activations saved for the backward pass, and every temporary, at their
  highest simultaneous total.

On a GPU the rise is the CUDA allocator's peak (``torch.cuda.max_memory_allocated``)
above what was allocated when the step began. On a CPU PyTorch keeps no peak
statistic, so the step runs under ``torch.profiler`` with ``profile_memory=True``:
every allocation event carries the allocator's running total of the bytes
allocated while profiling, and the rise is the largest of those totals. This
counts every tensor allocated through PyTorch's CPU allocator, exactly (no
sampling, no page rounding). It does *not* count memory outside it: Python
objects, oneDNN/MKL scratch buffers, the allocator's own fragmentation, or
the libraries themselves — which is why it is not the process's RSS, and why
the CPU and GPU numbers of one step can differ by a few percent. (The peak
resident set size of a process, from ``resource.getrusage``, counts all of
that plus the few hundred MB of the interpreter and libraries, and never
goes down: too coarse to tell two tiny models apart.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .. import checks
from ..engine.batches import to_device
from ..engine.losses import default_loss, split_loss
from ..engine.measure import _quiet_stderr


def _profiler_rise(fn: Callable, *args) -> int:
    """The highest total of bytes allocated (and not yet freed) while ``fn(*args)`` ran, on the CPU."""
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn(*args)
    events, stack = [], list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:  # allocations may sit anywhere in the tree of operator calls
        event = stack.pop()
        stack.extend(event.children)
        if event.tag == _EventType.Allocation and event.extra_fields.device.type == "cpu":
            events.append(event)
    if not events:
        return 0
    events.sort(key=lambda e: e.start_time_ns)
    first = events[0].extra_fields
    # The allocator's total includes blocks from earlier profiled calls still alive: measure from where it stood.
    start = first.total_allocated - first.alloc_size
    return max(0, max(e.extra_fields.total_allocated for e in events) - start)


def peak_bytes(fn: Callable, *args, device: torch.device | str | None = None) -> int:
    """The highest rise in allocated tensor memory while ``fn(*args)`` runs, in bytes.

    ``device`` (default: the CPU) says which memory: on ``cuda``, the CUDA
    allocator's peak above what was allocated before the call; on the CPU,
    the peak of the bytes allocated during the call and not yet freed, from
    the profiler's allocation events. A tensor freed during the call that was
    allocated *before* it is not subtracted on the CPU (the profiler never saw
    its size), so free such tensors before the call, as
    :func:`training_step_memory` does with the gradients.
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn(*args)
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - before)
    if device.type != "cpu":
        raise ValueError(f"peak_bytes measures 'cpu' or 'cuda' memory, got {device.type!r}; run the step on one of "
                         "those (MPS has no peak statistic).")
    return _profiler_rise(fn, *args)


def _tensor_bytes(tensors) -> int:
    """Bytes of the distinct storages behind ``tensors`` (a tied weight counts once)."""
    seen = {}
    for t in tensors:
        if isinstance(t, torch.Tensor):
            storage = t.untyped_storage()
            seen[(t.device, storage.data_ptr())] = storage.nbytes()
    return sum(seen.values())


def state_bytes(model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None) -> int:
    """Bytes a model keeps between training steps: its parameters and buffers, and the optimizer's state."""
    tensors = [*model.parameters(), *model.buffers()]
    if optimizer is not None:
        tensors += [v for state in optimizer.state.values() for v in state.values()]
    return _tensor_bytes(tensors)


@dataclass(frozen=True)
class StepMemory:
    """The memory of one training step, in bytes: the state between steps and the rise above it."""

    state_bytes: int
    rise_bytes: int
    device: str

    @property
    def peak_bytes(self) -> int:
        """State plus rise: the most tensor memory the step needs at once."""
        return self.state_bytes + self.rise_bytes

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / 2**20


def _model_device(model: torch.nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        raise ValueError("The model has no parameters, so a training step has nothing to measure.") from None


def training_step_memory(model: torch.nn.Module, batch, *, loss_fn: Callable | None = None,
                         optimizer: torch.optim.Optimizer | None = None, warmup_steps: int = 1) -> StepMemory:
    """Measure one training step of ``model`` on ``batch``: forward, backward, optimizer step.

    ``loss_fn(model, batch)`` defaults to the engine's (``model(**batch).loss``).
    Without an ``optimizer``, AdamW over the trainable parameters with a
    learning rate of 0 does the step: it allocates and computes what a real
    AdamW step does but leaves every weight unchanged. ``warmup_steps``
    unmeasured steps come first, so the optimizer's moments exist (AdamW
    creates them at its first step) and count as state, not as rise. The
    model's gradients are freed before the measured step, which allocates them
    again, and after it; the caller's random generators and train/eval mode are
    restored. A passed ``optimizer`` really updates the weights.
    """
    checks.non_negative_int("warmup_steps", warmup_steps)
    device = _model_device(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("No parameter of the model requires a gradient, so a training step would do nothing; apply "
                         "a fine-tuning strategy first (apply_strategy(model, 'full')).")
    if optimizer is None:
        optimizer = torch.optim.AdamW(trainable, lr=0.0)
    batch = to_device(batch, device)
    loss_fn = loss_fn or default_loss

    def step():
        loss, _ = split_loss(loss_fn(model, batch))
        loss.backward()
        optimizer.step()

    was_training = model.training
    devices = [device.index or 0] if device.type == "cuda" else []
    model.train()
    try:
        with torch.random.fork_rng(devices=devices):
            for _ in range(warmup_steps):
                step()
            model.zero_grad(set_to_none=True)  # freed here, not inside the measured step (see peak_bytes)
            state = state_bytes(model, optimizer)
            rise = peak_bytes(step, device=device)
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return StepMemory(state_bytes=state, rise_bytes=rise, device=device.type)

