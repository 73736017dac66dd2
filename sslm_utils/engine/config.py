""":class:`TrainConfig`: everything the training loop does, in one immutable, checked record.

Also the choice of mixed precision for the hardware at hand
(:func:`resolve_mixed_precision`), which the command line checks before any
data is built.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from .. import checks

SCHEDULES = ("linear", "cosine", "constant")


MIXED_PRECISION = ("auto", "no", "fp16", "bf16")


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
    stop_after: int | None = None  # end this call at that step (checkpointed); the schedule still plans max_steps
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
    keep_checkpoints: int = 2  # the newest N stay on disk; never fewer than 2, so a damaged newest has a fallback
    seed: int = 0
    mixed_precision: str = "auto"  # auto: bf16 on Ampere+, fp16 on older CUDA GPUs, no on CPU
    cpu: bool = False  # force the CPU even when a GPU is present
    trackers: tuple = ()  # off by default; e.g. ("tensorboard",) or Accelerate GeneralTracker objects
    project_name: str = "sslm"
    progress: bool = True

    def __post_init__(self):
        checks.positive_int("max_steps", self.max_steps, "It counts optimizer steps; use e.g. max_steps=100.")
        if self.stop_after is not None:
            checks.positive_int("stop_after", self.stop_after, "Use None to train to max_steps.")
            if self.stop_after > self.max_steps:
                raise ValueError(f"stop_after={self.stop_after} is beyond max_steps={self.max_steps}; use None to "
                                 "train to the end.")
        checks.positive_int("batch_size", self.batch_size, "It counts examples per optimizer step.")
        checks.positive_int("grad_accum_steps", self.grad_accum_steps, "Use 1 for no accumulation.")
        if self.batch_size % self.grad_accum_steps:
            divisors = [d for d in range(1, self.batch_size + 1) if self.batch_size % d == 0]
            raise ValueError(
                f"grad_accum_steps={self.grad_accum_steps} does not divide batch_size={self.batch_size}, so "
                f"micro-batches would differ in size. Choose grad_accum_steps from {divisors}, "
                "or change batch_size."
            )
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}.")
        if not checks.is_real(self.weight_decay) or self.weight_decay < 0:
            raise ValueError(f"weight_decay must be a number >= 0, got {self.weight_decay!r}.")
        checks.positive_float("eps", self.eps, "Adam's eps keeps the update finite; 1e-8 is the usual value.")
        if (not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2
                or not all(checks.is_real(b) and 0 <= b < 1 for b in self.betas)):
            raise ValueError(f"betas must be two numbers in [0, 1) (Adam's decay rates), e.g. (0.9, 0.999); "
                             f"got {self.betas!r}.")
        checks.non_negative_int("warmup_steps", self.warmup_steps)
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
                checks.positive_int(name, getattr(self, name), hint)
        checks.positive_int("log_every", self.log_every, "Use 1 to log every step.")
        checks.positive_int("keep_checkpoints", self.keep_checkpoints, "Keep at least the latest one.")
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

    def summary(self) -> str:
        """The settings that shape the run, a few short lines (the repr lists every field on one)."""
        size = f"{self.max_steps:,} steps of {self.batch_size} examples"
        if self.grad_accum_steps > 1:
            size += f" ({self.grad_accum_steps} micro-batches of {self.micro_batch_size})"
        if self.stop_after is not None:
            size += f", stopping after step {self.stop_after:,}"
        beta1, beta2 = self.betas
        optimizer = (f"AdamW: lr {self.lr:g}, betas ({beta1:g}, {beta2:g}), eps {self.eps:g}, "
                     f"weight decay {self.weight_decay:g}")
        decay = {"linear": "linear decay", "cosine": "cosine decay", "constant": "constant"}[self.schedule]
        warmup = f"{self.warmup_steps:,} warm-up steps, then {decay}" if self.warmup_steps else decay
        clipping = ("no gradient clipping" if self.max_grad_norm is None
                    else f"gradients clipped at norm {self.max_grad_norm:g}")
        evaluation = ("evaluation at the end" if self.eval_every is None
                      else f"evaluation every {self.eval_every:,} steps")
        checkpoints = ("one checkpoint, at the end" if self.checkpoint_every is None
                       else f"a checkpoint every {self.checkpoint_every:,}")
        precision = f"mixed precision: {self.mixed_precision}" + (", CPU only" if self.cpu else "")
        return "\n".join([size, optimizer, f"schedule: {warmup}; {clipping}",
                          f"{evaluation}, {checkpoints}; {precision}"])

    def as_dict(self) -> dict:
        """The fields as JSON-friendly values (trackers by name), as stored in checkpoints."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["betas"] = list(self.betas)
        values["trackers"] = [t if isinstance(t, str) else getattr(t, "name", type(t).__name__) for t in self.trackers]
        return values


def cpu_supports_bf16() -> bool:
    """Whether this CPU computes bf16 matmuls natively (AMX tiles or AVX-512 BF16); elsewhere bf16 is
    emulated and slower than fp32."""
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


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
    if choice == "bf16" and not cuda and not cpu_supports_bf16():
        import warnings

        warnings.warn("mixed_precision='bf16' on a CPU without native bf16 (no AMX or AVX-512 BF16): the matmuls are "
                      "emulated, slower than fp32 and less precise; use 'no' (or 'auto') here.", stacklevel=2)
    if choice == "fp16" and not cuda:
        raise ValueError(
            "mixed_precision='fp16' needs a CUDA GPU; on the CPU use 'no' (or 'bf16' if your CPU supports it), "
            "or leave it at 'auto'."
        )
    return choice
