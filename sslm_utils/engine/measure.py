"""Measure what a call costs: wall-clock time, bytes allocated, and growth exponents.

Used by chapter 2 to show that attention's cost grows with the square of the
sequence length. On a GPU, memory is the allocator's peak during the call;
on a CPU, where PyTorch keeps no peak statistic, it is the sum of every
allocation made during the call, read from PyTorch's profiler.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from .. import checks


def _sync(device: torch.device | None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def seconds(fn: Callable, *args, repeats: int = 3, device: torch.device | str | None = None) -> float:
    """The best of ``repeats`` timings of ``fn(*args)``, after one warm-up call.

    The minimum is the least noisy estimate of the cost itself; other work on
    the machine only ever adds time. Pass ``device`` to synchronise CUDA.
    """
    checks.positive_int("repeats", repeats)
    fn(*args)
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (the profiler's C++ logging cannot be switched off otherwise)."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (some embedded interpreters): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def allocated_bytes(fn: Callable, *args, device: torch.device | str | None = None) -> int:
    """Bytes of tensor memory that ``fn(*args)`` allocates.

    CUDA: the peak allocated above what was in use before the call. CPU: the
    total of all allocations during the call (an upper bound on the peak).
    """
    if device is not None and torch.device(device).type == "cuda":
        _sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn(*args)
        _sync(device)
        return int(torch.cuda.max_memory_allocated(device) - before)
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn(*args)
    return int(sum(max(event.self_cpu_memory_usage, 0) for event in prof.events()))


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """The slope of the least-squares line through ``(log x, log y)``: the exponent k in y ∝ x^k."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2, got shapes {x.shape} and {y.shape}.")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("x and y must be positive to take logarithms.")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])
