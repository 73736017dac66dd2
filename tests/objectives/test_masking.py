"""sslm_utils.objectives.masking: BERT's 15 % masking with the 80/10/10 rule, and the dynamic-masking collator."""

from __future__ import annotations

import math

import pytest
import torch

from sslm_utils.objectives.labels import IGNORE_INDEX
from sslm_utils.objectives.masking import MLMCollator, mask_tokens


def test_mask_tokens_proportions_and_specials():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 1000, (400, 128), generator=gen)
    ids[:, 0], ids[:, 64], ids[:, 100:] = 2, 3, 0  # [CLS], [SEP], padding
    specials = [0, 1, 2, 3, 4]
    inputs, labels = mask_tokens(ids, mask_id=4, special_ids=specials, candidate_ids=range(5, 1000), generator=gen)
    assert inputs.shape == labels.shape == ids.shape
    chosen = labels != IGNORE_INDEX
    assert not chosen[torch.isin(ids, torch.tensor(specials))].any()  # specials and padding never chosen
    assert torch.equal(labels[chosen], ids[chosen]) and torch.equal(inputs[~chosen], ids[~chosen])
    eligible = (~torch.isin(ids, torch.tensor(specials))).sum().item()
    n = chosen.sum().item()
    assert abs(n / eligible - 0.15) < 4 * math.sqrt(0.15 * 0.85 / eligible)
    masked = (inputs[chosen] == 4).float().mean().item()
    kept = (inputs[chosen] == ids[chosen]).float().mean().item()
    swapped = 1 - masked - kept
    tol = 4 * math.sqrt(0.8 * 0.2 / n)
    assert abs(masked - 0.8) < tol and abs(kept - 0.1) < tol + 0.002 and abs(swapped - 0.1) < tol
    assert not torch.isin(inputs[chosen & (inputs != 4)], torch.tensor(specials)).any()  # no special drawn


def test_mask_tokens_is_seeded():
    ids = torch.randint(5, 50, (4, 16))
    kw = dict(mask_id=4, special_ids=[0, 1, 2, 3, 4], candidate_ids=range(5, 50))
    one = mask_tokens(ids, generator=torch.Generator().manual_seed(3), **kw)
    two = mask_tokens(ids, generator=torch.Generator().manual_seed(3), **kw)
    assert all(torch.equal(x, y) for x, y in zip(one, two, strict=True))
    none_masked = mask_tokens(ids, mlm_probability=0.0, **kw)
    assert torch.equal(none_masked[0], ids) and (none_masked[1] == IGNORE_INDEX).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"input_ids": torch.zeros(2, 3)}, TypeError, "integer tensor"),
        ({"input_ids": [[5, 6]]}, TypeError, "integer tensor"),
        ({"mlm_probability": 1.5}, ValueError, "mlm_probability must be in"),
        ({"mask_ratio": 0.9, "random_ratio": 0.2}, ValueError, "at most 1"),
        ({"candidate_ids": []}, ValueError, "candidate_ids is empty"),
    ],
)
def test_bad_masking_arguments(kwargs, error, message):
    args = dict(input_ids=torch.randint(5, 50, (2, 8)), mask_id=4, special_ids=[0, 1, 2, 3, 4],
                candidate_ids=range(5, 50)) | kwargs
    with pytest.raises(error, match=message):
        mask_tokens(**args)


def test_collator_masks_dynamically(wordpiece_tokenizer, corpus_pairs):
    ds = corpus_pairs  # NSP pairs of 24 tokens
    collate = MLMCollator(wordpiece_tokenizer, mlm_probability=0.5)
    items = [ds[i] for i in range(len(ds))]
    one, two = collate(items), collate(items)
    assert set(one) == {"input_ids", "token_type_ids", "attention_mask", "next_sentence_label", "labels"}
    assert one["input_ids"].shape == (len(ds), 24) and one["next_sentence_label"].shape == (len(ds),)
    assert not torch.equal(one["labels"], two["labels"])  # fresh masks every call
    assert torch.equal(one["token_type_ids"], ds.token_type_ids)


def test_chosen_position_kinds_tell_mask_random_and_kept_apart():
    from sslm_utils.objectives.masking import chosen_position_kinds

    original = torch.tensor([[5, 6, 7, 8, 9, 10]])
    shown = torch.tensor([[5, 4, 7, 11, 9, 4]])  # 4 is [MASK]; 8 -> 11 is a random replacement
    labels = torch.tensor([[IGNORE_INDEX, 6, 7, 8, IGNORE_INDEX, 10]])  # positions 1, 2, 3, 5 were chosen
    kinds = chosen_position_kinds(shown, labels, mask_id=4)
    assert kinds["mask"].tolist() == [True, False, False, True]
    assert kinds["random"].tolist() == [False, False, True, False]
    assert kinds["kept"].tolist() == [False, True, False, False]
    assert original[labels != IGNORE_INDEX].tolist() == labels[labels != IGNORE_INDEX].tolist()


def test_the_collator_shows_mask_random_and_kept_in_80_10_10(wordpiece_tokenizer):
    from sslm_utils.objectives.masking import chosen_position_kinds

    collate = MLMCollator(wordpiece_tokenizer, generator=torch.Generator().manual_seed(0))
    ids = torch.randint(10, len(wordpiece_tokenizer), (64, 128), generator=torch.Generator().manual_seed(1))
    batch = collate([{"input_ids": row} for row in ids])
    counts = {kind: int(where.sum()) for kind, where in
              chosen_position_kinds(batch["input_ids"], batch["labels"], wordpiece_tokenizer.mask_token_id).items()}
    n = sum(counts.values())
    assert n > 1000
    for kind, share in (("mask", 0.8), ("random", 0.1), ("kept", 0.1)):
        # a random replacement that draws the original token counts as kept: 1/V of the 10 %, negligible here
        assert abs(counts[kind] / n - share) < 4 * math.sqrt(share * (1 - share) / n), (kind, counts)
