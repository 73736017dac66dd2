"""Progress bars: ``tqdm.auto`` without its noise.

Without ipywidgets, ``tqdm.auto`` warns once (printing a file path into the
notebook) and falls back to text bars. Importing it here, with that warning
silenced, keeps the fallback and drops the noise. Set ``TQDM_DISABLE=1`` to
switch every bar off, or ``TQDM_MININTERVAL=60`` to redraw rarely.
"""

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from tqdm.auto import tqdm, trange

__all__ = ["tqdm", "trange"]
