"""Exercise checkers that say *what* is wrong, not just that something is.

Every checker returns a :class:`Feedback`: ``passed`` plus a list of
messages such as "shape (4, 8) but expected (4, 16)" or "value at index 3
is 0.21, expected 0.25". In a notebook the feedback renders as a short
report; ``assert_passed()`` turns a failure into an exception (used by the
solution notebooks, so CI proves the solutions pass).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class Feedback:
    """The outcome of one check: ``passed`` and the reasons behind it."""

    exercise: str
    passed: bool = True
    messages: list[str] = field(default_factory=list)

    def fail(self, message: str) -> Feedback:
        self.passed = False
        self.messages.append(message)
        return self

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = f"{'✅ Correct' if self.passed else '❌ Not yet'}: {self.exercise}"
        return "\n".join([head] + [f"  - {m}" for m in self.messages])

    def _repr_markdown_(self) -> str:
        head = f"**{'✅ Correct' if self.passed else '❌ Not yet'}** — {self.exercise}"
        return "\n".join([head, ""] + [f"- {m}" for m in self.messages])

    def __repr__(self) -> str:
        return str(self)

    def assert_passed(self) -> Feedback:
        if not self.passed:
            raise AssertionError(str(self))
        return self


def as_array(value, name: str = "value") -> np.ndarray:
    """Convert a tensor, list or scalar to a float NumPy array for comparison."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        kind = type(value).__name__
        raise TypeError(f"{name} must be numeric (a tensor, array, list or number), got {kind}.") from exc


def check_shape(fb: Feedback, value, expected: tuple, name: str = "result") -> bool:
    """Record a failure unless ``value`` has shape ``expected``."""
    shape = tuple(value.shape) if hasattr(value, "shape") else tuple(np.shape(value))
    if shape != tuple(expected):
        fb.fail(f"{name} has shape {shape}, expected {tuple(expected)}.")
        return False
    return True


def check_close(fb: Feedback, value, expected, name: str = "result", *, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    """Record a failure naming the first differing position unless values match."""
    got, want = as_array(value, name), as_array(expected, "expected")
    if not check_shape(fb, got, want.shape, name):
        return False
    bad = ~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=False)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        at = f" at index {where}" if where else ""
        fb.fail(
            f"{name}{at} is {got[where]:.6g}, expected {want[where]:.6g} "
            f"({int(bad.sum())} of {bad.size} values differ)."
        )
        return False
    return True


class NoAnswer(Exception):
    """The reader's function returned None: the exercise is not attempted yet."""


def answer(fn: Callable, *args, **kwargs):
    """Call the reader's function; a ``None`` result means it has not been written yet."""
    result = fn(*args, **kwargs)
    if result is None:
        raise NoAnswer(getattr(fn, "__name__", "your function"))
    return result


def run_checker(exercise: str, body: Callable[[Feedback], None]) -> Feedback:
    """Run ``body`` and turn an exception in the reader's code into feedback."""
    fb = Feedback(exercise)
    try:
        body(fb)
    except NoAnswer as missing:
        fb.fail(f"{missing} returned None: replace the `...` with your code and return the result.")
    except Exception as exc:  # the reader's function crashed: say how
        fb.fail(f"your code raised {type(exc).__name__}: {exc}")
    if fb.passed and not fb.messages:
        fb.messages.append("all checks passed.")
    return fb
