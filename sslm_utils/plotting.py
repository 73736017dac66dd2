"""One plotting style for every figure in the book, and small display helpers."""

from __future__ import annotations

import matplotlib as mpl

BOOK_STYLE = {
    "figure.figsize": (6.4, 3.8),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": "medium",
    "axes.titleweight": "bold",
    "legend.frameon": False,
    "font.size": 10,
    "axes.prop_cycle": mpl.cycler(
        color=["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]
    ),
    "svg.hashsalt": "sslm",  # identical figures give identical files
}


def use_book_style() -> None:
    """Apply the book's matplotlib style to every later figure in this session."""
    mpl.rcParams.update(BOOK_STYLE)


def round_frame(frame, digits: int = 3):
    """Round the numeric columns of a DataFrame for display (values stay exact elsewhere)."""
    if digits < 0:
        raise ValueError(f"digits must be non-negative, got {digits}.")
    return frame.round(digits)
