"""The label value every loss in the book skips: positions that are not predicted."""

from __future__ import annotations

IGNORE_INDEX = -100  # label of positions that are not predicted (PyTorch's cross-entropy skips it)
