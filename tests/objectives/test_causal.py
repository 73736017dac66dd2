"""sslm_utils.objectives.causal: packing without padding, labels, and the next-token loss of a tiny GPT."""

from __future__ import annotations

import math

import pytest
import torch

from sslm_utils.objectives.causal import (
    BlockDataset,
    causal_lm_loss,
    causal_lm_metrics,
    pack_documents,
    shift_for_next_token,
)
from sslm_utils.text.documents import encode_documents

pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------------------- packing


def test_packing_has_no_padding_and_full_blocks():
    docs = [[1, 2, 3], [4, 5], [6, 7, 8, 9]]
    blocks = pack_documents(docs, 4, eos_id=0)
    # stream: 1 2 3 0 4 5 0 6 7 8 9 0 -> three full blocks, nothing dropped
    assert blocks.tolist() == [[1, 2, 3, 0], [4, 5, 0, 6], [7, 8, 9, 0]]
    assert blocks.dtype == torch.long
    blocks = pack_documents(docs, 5, eos_id=0)  # 12 tokens -> 2 blocks of 5, the tail of 2 dropped
    assert blocks.shape == (2, 5)
    assert blocks.flatten().tolist() == [1, 2, 3, 0, 4, 5, 0, 6, 7, 8]


def test_packing_real_speeches_respects_block_size(bpe_tokenizer, small_texts):
    docs = encode_documents(small_texts, bpe_tokenizer)
    eos = bpe_tokenizer.eos_token_id
    blocks = pack_documents(docs, 64, eos)
    n_stream = sum(len(d) + 1 for d in docs)
    assert blocks.shape == (n_stream // 64, 64)
    assert int((blocks == eos).sum()) in (len(docs), len(docs) - 1)  # one separator per speech (the last may be cut)
    assert blocks.flatten().tolist() == [t for d in docs for t in (*d, eos)][: blocks.numel()]


@pytest.mark.parametrize(
    ("docs", "block", "error", "message"),
    [
        ([[1, 2]], 1, ValueError, "block_size must be an int >= 2"),
        ([[1, 2]], 2.5, ValueError, "block_size must be a positive int, got 2.5"),
        ("some text", 4, TypeError, "list of documents"),
        (["abc"], 4, TypeError, "not a string"),
        ([[1, 2]], 8, ValueError, "fewer than one block"),
    ],
)
def test_packing_bad_inputs(docs, block, error, message):
    with pytest.raises(error, match=message):
        pack_documents(docs, block, eos_id=0)


# --------------------------------------------------------------------------- labels and losses


def test_labels_are_the_inputs_and_the_loss_matches_the_library(bpe_tokenizer, tiny_gpt):
    blocks = torch.randint(0, len(bpe_tokenizer), (3, 32), generator=torch.Generator().manual_seed(0))
    data = BlockDataset(blocks)
    item = data[1]
    assert torch.equal(item["labels"], item["input_ids"])  # the model shifts them itself
    model = tiny_gpt.eval()
    batch = {k: torch.stack([data[i][k] for i in range(3)]) for k in ("input_ids", "labels")}
    with torch.no_grad():
        library = model(**batch).loss
        ours = causal_lm_loss(model, batch)
        logits = model(input_ids=batch["input_ids"]).logits
        by_hand = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                                    batch["input_ids"][:, 1:].reshape(-1))
        metrics = causal_lm_metrics(model, batch)
    torch.testing.assert_close(ours, library)
    torch.testing.assert_close(ours, by_hand)
    total, count = metrics["loss"]
    assert float(count) == 3 * 31  # every position but the last of each block predicts a token
    assert math.isclose(float(total / count), float(ours), rel_tol=1e-5)


def test_shift_checks_shapes():
    with pytest.raises(ValueError, match="logits must be"):
        shift_for_next_token(torch.zeros(2, 5, 7), torch.zeros(2, 4, dtype=torch.long))
