import pytest
import torch


@pytest.fixture(scope="session")
def sotu():
    from sslm_utils.data import load_sotu

    return load_sotu()


@pytest.fixture(scope="session")
def small_texts(sotu):
    return list(sotu["train"]["text"][:6])


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run faster on one thread (as each torchrun rank does), and CI has only two cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
