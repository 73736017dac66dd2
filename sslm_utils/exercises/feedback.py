"""The shared feedback module: what every lesson's checker reports, and how.

A checker returns a :class:`Feedback`: ``passed`` plus a list of messages
such as "shape (4, 8) but expected (4, 16)" or "value at index 3 is 0.21,
expected 0.25". In a notebook the feedback renders as a short report;
``assert_passed()`` turns a failure into an exception (used by the solution
notebooks, so CI proves the solutions pass).

Every checker runs its cases through :func:`run_checker` and calls the
reader's function through :func:`answer`, so an unattempted starter (one that
returns ``None`` or ``...``, or raises ``NotImplementedError``) gets the same
"not attempted yet" feedback in every lesson, and a crash is reported, never
raised.
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


NOT_ATTEMPTED = (
    "the exercise is not attempted yet (replace `raise NotImplementedError` / `...` with your code "
    "and return the result)."
)


class NoAnswer(Exception):
    """The reader's function returned ``None`` or ``...``: the exercise is not attempted yet."""

    def __init__(self, name: str, returned: str = "None"):
        super().__init__(name)
        self.name, self.returned = name, returned

    def __str__(self) -> str:
        return self.name


def answer(fn: Callable, *args, **kwargs):
    """Call the reader's function; a ``None`` or ``...`` result means it has not been written yet."""
    result = fn(*args, **kwargs)
    if result is None or result is Ellipsis:
        raise NoAnswer(getattr(fn, "__name__", "your function"), "None" if result is None else "Ellipsis (`...`)")
    return result


def describe_exception(exc: BaseException) -> str:
    """The feedback for an exception out of the reader's code; never a bare "raised X:" with nothing after it."""
    name, text = type(exc).__name__, str(exc).strip()
    if isinstance(exc, NotImplementedError) and not text:  # the starter's `raise NotImplementedError`
        return f"your code raised {name}: {NOT_ATTEMPTED}"
    return f"your code raised {name}: {text}" if text else f"your code raised {name} (with no message)."


def run_checker(exercise: str, body: Callable[[Feedback], None]) -> Feedback:
    """Run ``body`` and turn an unattempted starter or an exception in the reader's code into feedback."""
    fb = Feedback(exercise)
    try:
        body(fb)
    except NoAnswer as missing:
        fb.fail(f"{missing.name} returned {missing.returned}: replace the `...` with your code and return the result.")
    except Exception as exc:  # the reader's function crashed (or is a starter): say how
        fb.fail(describe_exception(exc))
    if fb.passed and not fb.messages:
        fb.messages.append("all checks passed.")
    return fb
