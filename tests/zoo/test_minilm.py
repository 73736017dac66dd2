"""sslm_utils.zoo.minilm: the comparison encoder loads only with the published weights
and re-extracts a damaged copy."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.files import IntegrityError
from sslm_utils.zoo import minilm

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def loaded():
    return minilm.load_minilm()


def test_it_is_the_published_encoder(loaded):
    model, tok = loaded.model, loaded.tokenizer
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(22.7e6, rel=0.01)
    assert model.config.num_hidden_layers == 6 and model.config.hidden_size == 384 and len(tok) == 30522
    enc = tok(["the state of the union is strong", "a dull film"], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state  # (2, seq, 384)
    assert torch.isfinite(hidden).all() and hidden.shape[-1] == 384


def test_a_damaged_cached_copy_is_extracted_again(loaded):
    weights = minilm.minilm_dir() / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    again = minilm.load_minilm()
    assert minilm._weights_ok(minilm.minilm_dir()) and again.info["weights_sha256"] == minilm.MINILM_WEIGHTS_SHA256


def test_weights_without_the_published_hash_are_refused(monkeypatch, loaded):
    monkeypatch.setattr(minilm, "MINILM_WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(IntegrityError, match="do not have the SHA-256 published"):
        minilm.load_minilm()
