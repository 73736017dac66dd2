import pytest


@pytest.fixture(scope="session")
def sotu():
    from sslm_utils.data import load_sotu

    return load_sotu()


@pytest.fixture(scope="session")
def small_texts(sotu):
    return list(sotu["train"]["text"][:6])
