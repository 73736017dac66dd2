"""sslm_utils: the shared code of the SSLM book.

Each piece is built step by step in a chapter and then imported from here by
later chapters, so there is one tested version of everything.
"""

from . import progress as _progress  # noqa: F401  (silences tqdm.auto first)
from .profiles import Profile, compare_profiles, get_profile, pick_device
from .repro import set_seed

__version__ = "0.1.0"

__all__ = ["Profile", "compare_profiles", "get_profile", "pick_device", "set_seed", "__version__"]
