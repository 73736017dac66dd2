"""Put computed numbers into the book's prose.

``glue`` records a value under a name so the text can say
``{glue:text}`name:.1f```; the number in the sentence is then the one the
cell computed, never one typed by hand. Where myst-nb is absent (a plain
Colab kernel) the value is only returned.
"""

from __future__ import annotations


def glue(name: str, value, display: bool = False):
    """Record ``value`` for the book under ``name`` and return it."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue names must be identifiers such as 'ppl_trigram', got {name!r}.")
    value = _plain(value)
    try:
        from myst_nb import glue as _glue
    except ImportError:  # outside the book build: nothing to record into
        return value
    _glue(name, value, display=display)
    return value


def _plain(value):
    """NumPy and PyTorch scalars as Python numbers, so ``{glue:text}`x:.2f``` can format them."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    return value
