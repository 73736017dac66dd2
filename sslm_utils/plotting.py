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
    """Apply the book's matplotlib style to every later figure in this session.

    In a Jupyter kernel it also selects the inline backend, so figures land in
    the notebook even when ``MPLBACKEND=Agg`` is set in the environment (with
    Agg alone, ``plt.show()`` silently shows nothing).
    """
    _inline_in_notebooks()
    mpl.rcParams.update(BOOK_STYLE)


def _inline_in_notebooks() -> None:
    import sys

    if "ipykernel" not in sys.modules:
        return
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipykernel always brings IPython
        return
    shell = get_ipython()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        shell.run_line_magic("matplotlib", "inline")


def round_frame(frame, digits: int = 3):
    """Round the numeric columns of a DataFrame for display (values stay exact elsewhere)."""
    if digits < 0:
        raise ValueError(f"digits must be non-negative, got {digits}.")
    return frame.round(digits)
