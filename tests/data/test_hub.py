"""sslm_utils.data.hub: hub datasets fail within seconds, with a pointer to the offline data, without internet."""

import time

import pytest

from sslm_utils.data.hub import HubUnavailableError, load_hub_dataset


def test_hub_fails_fast_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(HubUnavailableError, match="load_rotten_tomatoes"):
        load_hub_dataset("sst2")
    assert time.monotonic() - start < 5


def test_unknown_hub_dataset():
    with pytest.raises(ValueError, match="choose one of"):
        load_hub_dataset("not-a-dataset")


def test_a_stalled_dns_lookup_is_bounded(monkeypatch):
    """The socket timeout does not cover name resolution; the probe as a whole must still end on time."""
    from sslm_utils.data import hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    def resolver_that_hangs(*args, **kwargs):
        time.sleep(3)
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(hub.socket, "create_connection", resolver_that_hangs)
    start = time.monotonic()
    assert hub.hub_reachable(timeout=0.3) is False
    assert time.monotonic() - start < 2


@pytest.mark.parametrize("name", ["squad", "conll2003"])
def test_a_dataset_without_an_offline_alternative_says_so(monkeypatch, name):
    # no pointer to a chapter that does not exist
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnavailableError, match="no offline alternative") as caught:
        load_hub_dataset(name)
    assert "chapter" not in str(caught.value)
