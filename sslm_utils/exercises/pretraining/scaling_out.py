"""Checkers for lesson 3.5, scaling out: processes, accumulation, precision
(chapters/03_pretraining/05_scaling_out.ipynb)."""

from __future__ import annotations

from unittest import mock

import torch

from ...engine.config import resolve_mixed_precision
from ..feedback import Feedback, answer, run_checker

# --------------------------------------------------------------------------- splitting a global batch

_SPLIT_CASES = [  # (global batch of example indices, world_size, grad_accum_steps)
    ([17, 3, 42, 8, 25, 11, 30, 5], 2, 2),
    ([40, 2, 33, 19, 7, 28, 14, 1, 36, 22, 9, 45], 3, 2),
    (list(range(100, 132)), 4, 4),
    ([6, 2, 9, 4], 1, 1),
]
_UNEVEN = (list(range(10)), 4, 1)  # 10 examples cannot be shared by 4 ranks


def _micro_batches(result, accum: int) -> list[list[int]] | str:
    """The reader's result as a list of lists of ints, or a hint saying why it is not one."""
    if isinstance(result, torch.Tensor):
        result = result.tolist()
    try:
        parts = [[int(i) for i in (mb.tolist() if isinstance(mb, torch.Tensor) else mb)] for mb in result]
    except TypeError:
        return (f"return this rank's micro-batches as a list of {accum} lists of example indices, e.g. "
                "[[17, 3], [42, 8]]; a flat list of indices is one rank's share before it is cut into micro-batches.")
    return parts


def check_split_batch(fn) -> Feedback:
    """``fn(indices, world_size, rank, grad_accum_steps)`` must return rank ``rank``'s share of the global
    batch ``indices``, cut into ``grad_accum_steps`` micro-batches (a list of lists of indices); every example
    must go to exactly one rank, all micro-batches must have the same size, and a batch that does not split
    evenly must raise ``ValueError``."""

    def body(fb: Feedback):
        for indices, world, accum in _SPLIT_CASES:
            size = len(indices) // (world * accum)
            shares = []
            for rank in range(world):
                parts = _micro_batches(answer(fn, list(indices), world, rank, accum), accum)
                if isinstance(parts, str):
                    fb.fail(parts)
                    return
                shares.append(parts)
                where = f"for {len(indices)} examples, world_size={world}, grad_accum_steps={accum}, rank {rank}"
                sizes = [len(p) for p in parts]
                if len(parts) != accum or any(s != size for s in sizes):
                    hint = ""
                    if sum(sizes) == len(indices):
                        hint = (" Those are all the examples of the global batch: each rank takes only its "
                                f"{len(indices) // world}, then cuts them into {accum}.")
                    elif len(parts) == world and accum != world:
                        hint = " It looks like you cut by world_size; the number of micro-batches is grad_accum_steps."
                    fb.fail(f"{where}: got micro-batches of sizes {sizes}, expected {accum} micro-batches of "
                            f"{size} examples ({len(indices)} / ({world} ranks x {accum})).{hint}")
                    return
            seen = [i for share in shares for part in share for i in part]
            if sorted(seen) != sorted(indices):
                repeated = sorted({i for i in seen if seen.count(i) > 1})
                missing = sorted(set(indices) - set(seen))
                if repeated:
                    fb.fail(f"for world_size={world}: examples {repeated[:6]} went to more than one rank (or twice to "
                            "one). Each rank must take a DIFFERENT slice, e.g. indices[rank * n : (rank + 1) * n] "
                            "with n = len(indices) // world_size; otherwise the ranks average copies of the same "
                            "gradient and the global batch is smaller than it looks.")
                else:
                    fb.fail(f"for world_size={world}: examples {missing[:6]} went to no rank, or indices that are not "
                            "in the batch appeared. Return indices taken from `indices`, not positions 0, 1, 2, ...")
                return
        indices, world, accum = _UNEVEN
        try:
            result = answer(fn, list(indices), world, 0, accum)
        except ValueError:
            return
        shown = _micro_batches(result, accum)
        fb.fail(f"{len(indices)} examples cannot be shared evenly by {world} ranks, yet your function returned "
                f"{result if isinstance(shown, str) else shown}. Raise ValueError instead: DDP averages the ranks' "
                "mean gradients with equal weights, which equals the big batch's mean only when every rank has "
                "the same number of examples (the engine's TrainConfig refuses such a split too).")

    return run_checker("splitting a global batch over ranks and micro-batches", body)


# --------------------------------------------------------------------------- accumulation weights

_WEIGHT_CASES = [[3, 45], [10, 10, 10, 10], [7, 1, 30, 2], [12]]


def _grad_gap(weights: torch.Tensor, counts: list[int]) -> float:
    """Relative gap between the accumulated gradient (micro-batch mean losses times ``weights``) and
    the gradient of the per-token mean over the whole batch, on a tiny least-squares problem."""
    gen = torch.Generator().manual_seed(len(counts))
    x = [torch.randn(n, 3, generator=gen) for n in counts]
    y = [torch.randn(n, generator=gen) for n in counts]
    w = torch.zeros(3, requires_grad=True)
    big = ((torch.cat(x) @ w - torch.cat(y)) ** 2).mean()
    (g_big,) = torch.autograd.grad(big, w)
    acc = sum(weights[i] * ((x[i] @ w - y[i]) ** 2).mean() for i in range(len(counts)))
    (g_acc,) = torch.autograd.grad(acc, w)
    return float((g_acc - g_big).norm() / g_big.norm())


def check_accumulation_weights(fn) -> Feedback:
    """``fn(token_counts)`` must return one weight per micro-batch: multiplying each micro-batch's
    per-token MEAN loss by its weight before ``backward`` must give, summed over the micro-batches,
    the gradient of the per-token mean over the whole batch."""

    def body(fb: Feedback):
        for counts in _WEIGHT_CASES:
            got = answer(fn, list(counts))
            try:
                weights = torch.as_tensor(got, dtype=torch.float64).flatten()
            except (TypeError, ValueError, RuntimeError):
                fb.fail(f"return one number per micro-batch (a list or a tensor), got {type(got).__name__}.")
                return
            if weights.numel() != len(counts):
                fb.fail(f"for {len(counts)} micro-batches return {len(counts)} weights, got {weights.numel()}.")
                return
            n = torch.tensor(counts, dtype=torch.float64)
            want = n / n.sum()
            if torch.allclose(weights, want, rtol=1e-6, atol=1e-12):
                continue
            gap = _grad_gap(weights.float(), counts)
            if torch.allclose(weights, torch.full_like(n, 1 / len(counts))):
                hint = ("that is the plain mean of the micro-batch means, what `loss / grad_accum_steps` does: a "
                        f"micro-batch with {min(counts)} target tokens gets as much say as one with {max(counts)}. "
                        "Weight each by its share of the tokens.")
            elif torch.allclose(weights, n):
                hint = ("those weights turn each mean back into a SUM of token losses, so the gradient is "
                        f"{int(n.sum())} times too large; divide by the total number of tokens.")
            elif torch.allclose(weights, 1 / n) or torch.allclose(weights, (1 / n) / (1 / n).sum()):
                hint = "the weights are inverted: a micro-batch with MORE tokens must count MORE."
            elif torch.allclose(weights, n / len(counts)) or torch.allclose(weights / weights.sum(), want):
                hint = ("the proportions are right but the weights must add up to 1 (the big batch's loss is a "
                        "mean, not a multiple of it).")
            else:
                hint = "a micro-batch's mean loss times its token count is its summed loss; the big batch divides " \
                       "the total sum by the total count."
            fb.fail(f"for token counts {counts} you returned weights {[round(float(v), 4) for v in weights]}, "
                    f"expected {[round(float(v), 4) for v in want]}; the accumulated gradient is off by "
                    f"{100 * gap:.1f} %: {hint}")
            return

    return run_checker("weighting micro-batches so accumulation equals the big batch", body)


# --------------------------------------------------------------------------- choosing the precision

_DEVICES = [  # (label, device_type, compute capability)
    ("a CPU", "cpu", None),
    ("a T4 (Colab's free GPU)", "cuda", (7, 5)),
    ("a V100", "cuda", (7, 0)),
    ("a P100", "cuda", (6, 0)),
    ("an A100", "cuda", (8, 0)),
    ("an RTX 3090", "cuda", (8, 6)),
    ("an H100", "cuda", (9, 0)),
    ("a B200", "cuda", (10, 0)),
]


def engine_precision(device_type: str, capability: tuple[int, int] | None) -> str:
    """What the engine's ``resolve_mixed_precision("auto")`` picks on such a device (CUDA faked when absent)."""
    if device_type != "cuda":
        with mock.patch("torch.cuda.is_available", return_value=False):
            return resolve_mixed_precision("auto")
    with mock.patch("torch.cuda.is_available", return_value=True), \
            mock.patch("torch.cuda.get_device_capability", return_value=tuple(capability)):
        return resolve_mixed_precision("auto")


def check_pick_precision(fn) -> Feedback:
    """``fn(device_type, capability)`` must return ``"no"``, ``"fp16"`` or ``"bf16"`` as the engine's
    ``mixed_precision="auto"`` would: ``device_type`` is ``"cpu"`` or ``"cuda"``, ``capability`` the GPU's
    compute capability ``(major, minor)`` (``None`` on the CPU)."""

    def body(fb: Feedback):
        for label, kind, capability in _DEVICES:
            got = answer(fn, kind, capability)
            choice = str(got).strip().lower()
            want = engine_precision(kind, capability)
            if choice == want:
                continue
            if choice not in ("no", "fp16", "bf16"):
                fb.fail(f"for {label} you returned {got!r}; return one of 'no', 'fp16', 'bf16'.")
                return
            if kind == "cpu" and choice == "fp16":
                hint = ("fp16 needs loss scaling, which the engine only does on CUDA GPUs, and a CPU has no fast "
                        "fp16 arithmetic; the engine refuses fp16 on the CPU.")
            elif kind == "cpu":
                hint = ("auto keeps full fp32 on the CPU: bf16 autocast runs there, but whether it is faster "
                        "depends on the CPU (see the timing in the lesson), so it is an explicit choice, not the "
                        "default.")
            elif choice == "no":
                hint = ("a GPU computes in 16 bits on its tensor cores, much faster than in fp32, and stores "
                        "half-size activations; mixed precision is worth it on every CUDA GPU.")
            elif choice == "bf16":
                hint = (f"compute capability {capability[0]}.{capability[1]} is older than Ampere (8.0): no native "
                        "bf16 tensor cores, so use fp16 with loss scaling.")
            else:
                hint = (f"compute capability {capability[0]}.{capability[1]} (Ampere or newer) computes bf16 natively: "
                        "same speed as fp16, fp32's range, and no loss scaling. Compare the MAJOR version: >= 8.")
            fb.fail(f"for {label} (device_type={kind!r}, capability={capability}) you returned {choice!r}, the "
                    f"engine picks {want!r}: {hint}")
            return

    return run_checker("choosing the mixed-precision mode for a device", body)
