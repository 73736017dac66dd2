"""Chapter 3's pipeline: sentences, NSP/SOP pairs, masking, losses, the cached model."""

from __future__ import annotations

import math
import random

import pytest
import torch

from sslm_utils import pretraining as pt
from sslm_utils.tokenization import train_wordpiece

CORPUS = [
    "Mr. Smith went to Washington. He met Gen. Grant at 4 p.m. on Monday. The U.S. Government paid $3.5 million. "
    "John F. Kennedy spoke next! Did anyone listen? Yes.",
    "The economy grew by 2.5 percent. Jobs returned to the cities.\n\nA new paragraph starts here. It ends here.",
    "Our navy is strong. Our army is ready. Our people are free. We will not fail. The union endures.",
]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tokenizer():
    return train_wordpiece(CORPUS * 3, 120, min_frequency=1)


# --------------------------------------------------------------------------- sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Smith went to Washington. He arrived.", ["Mr. Smith went to Washington.", "He arrived."]),
        ("The U.S. Government is strong. We agree.", ["The U.S. Government is strong.", "We agree."]),
        ("John F. Kennedy spoke. Then he left.", ["John F. Kennedy spoke.", "Then he left."]),
        ("It grew 3.5 percent. Then it fell.", ["It grew 3.5 percent.", "Then it fell."]),
        ("Gen. Grant won! Did he? Yes.", ["Gen. Grant won!", "Did he?", "Yes."]),
        ('He said, "Stop." Then he left.', ['He said, "Stop."', "Then he left."]),
        ("We met at 4 p.m. Monday. Mrs. Jones and Dr. Lee came.", ["We met at 4 p.m. Monday.",
                                                                    "Mrs. Jones and Dr. Lee came."]),
        ("Is it? yes it is.", ["Is it? yes it is."]),  # no capital after the mark: no boundary
        ("Line one\nstill one. Two.\n\nThree", ["Line one still one.", "Two.", "Three"]),
        ("So did I. Then we went.", ["So did I.", "Then we went."]),
        ("", []),
    ],
)
def test_split_sentences(text, expected):
    assert pt.split_sentences(text) == expected


def test_split_sentences_rejects_non_strings():
    with pytest.raises(TypeError, match="must be a str"):
        pt.split_sentences(["a list"])


def test_tokenize_documents(tokenizer):
    docs = pt.tokenize_documents(CORPUS, tokenizer)
    assert len(docs) == 3 and len(docs[0]) == 6 and len(docs[1]) == 4
    assert docs[0][0] == tokenizer("Mr. Smith went to Washington.", add_special_tokens=False)["input_ids"]
    special = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    assert not special & {i for d in docs for s in d for i in s}
    with pytest.raises(TypeError, match="not one string"):
        pt.tokenize_documents("one string", tokenizer)
    # a padded call leaves padding switched on inside the fast tokenizer; it must not leak into sentences
    tokenizer("Our navy is strong.", "Our army is ready.", padding="max_length", max_length=40)
    assert pt.tokenize_documents(CORPUS, tokenizer) == docs


# --------------------------------------------------------------------------- pairs


def test_encode_pair_matches_the_tokenizer(tokenizer):
    a_text, b_text = "Our navy is strong.", "Our army is ready."
    a = tokenizer(a_text, add_special_tokens=False)["input_ids"]
    b = tokenizer(b_text, add_special_tokens=False)["input_ids"]
    ours = pt.encode_pair(a, b, seq_len=24, cls_id=tokenizer.cls_token_id, sep_id=tokenizer.sep_token_id,
                          pad_id=tokenizer.pad_token_id)
    theirs = tokenizer(a_text, b_text, padding="max_length", max_length=24)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert ours[key] == theirs[key], key
    with pytest.raises(ValueError, match="exceed seq_len"):
        pt.encode_pair(a, b, seq_len=len(a) + len(b) + 2, cls_id=2, sep_id=3, pad_id=0)
    with pytest.raises(ValueError, match="at least one token"):
        pt.encode_pair([], b, seq_len=24, cls_id=2, sep_id=3, pad_id=0)


def test_truncate_pair_keeps_the_junction():
    a, b = pt.truncate_pair(list(range(10)), list(range(100, 104)), 8)
    assert a == [6, 7, 8, 9] and b == [100, 101, 102, 103]
    a, b = pt.truncate_pair([1, 2], list(range(100, 110)), 5)
    assert a == [1, 2] and b == [100, 101, 102]


def synthetic_docs(n_docs=40, n_sents=30, seed=0):
    """Documents whose sentences are numbered, so continuity can be checked: doc d, sentence s
    is [1000 d + s] * length."""
    rng = random.Random(seed)
    return [[[1000 * d + s + 10] * rng.randint(3, 9) for s in range(n_sents)] for d in range(n_docs)]


def _decode_pairs(ds):
    """Back to (A, B, label) token lists from the padded rows."""
    out = []
    for row, types, mask, label in zip(ds.input_ids, ds.token_type_ids, ds.attention_mask, ds.next_sentence_label,
                                       strict=True):
        real = row[mask.bool()].tolist()
        t = types[mask.bool()].tolist()
        a = [x for x, s in zip(real[1:], t[1:], strict=True) if s == 0][:-1]
        b = [x for x, s in zip(real, t, strict=True) if s == 1][:-1]
        out.append((a, b, int(label)))
    return out


@pytest.mark.parametrize("objective", ["nsp", "sop", "mlm"])
def test_pair_examples_layout_and_labels(objective):
    docs = synthetic_docs()
    ds = pt.build_pair_examples(docs, seq_len=32, cls_id=2, sep_id=3, pad_id=0, objective=objective, seed=1)
    n = len(ds)
    assert ds.input_ids.shape == ds.token_type_ids.shape == ds.attention_mask.shape == (n, 32)
    assert (ds.input_ids[:, 0] == 2).all()
    assert ((ds.input_ids == 3).sum(1) == 2).all()  # exactly two [SEP]
    assert ((ds.input_ids == 0) == (ds.attention_mask == 0)).all()  # pads exactly where the mask is 0
    share = float((ds.next_sentence_label == pt.IS_NEXT).float().mean())
    if objective == "mlm":
        assert share == 1.0  # contiguous text only
    else:
        assert abs(share - 0.5) < 4 * math.sqrt(0.25 / n), share  # a fair coin, within 4 standard errors
    for a, b, label in _decode_pairs(ds):
        doc_a, doc_b = a[-1] // 1000, b[0] // 1000
        junction = b[0] - a[-1]  # +1 (or 0 inside a cut sentence) when B continues A
        if label == pt.IS_NEXT:
            assert doc_a == doc_b and junction in (0, 1)
        elif objective == "nsp":
            assert doc_a != doc_b  # a random segment from another document
        else:
            assert doc_a == doc_b and b[-1] <= a[0]  # same document, order swapped


def test_pairs_are_deterministic_and_fill_the_length():
    docs = synthetic_docs()
    one = pt.build_pair_examples(docs, seq_len=32, cls_id=2, sep_id=3, pad_id=0, seed=5)
    two = pt.build_pair_examples(docs, seq_len=32, cls_id=2, sep_id=3, pad_id=0, seed=5)
    assert torch.equal(one.input_ids, two.input_ids)
    assert one.attention_mask.float().mean() > 0.8  # chunks fill the sequence, little padding
    more = pt.build_pair_examples(docs, seq_len=32, cls_id=2, sep_id=3, pad_id=0, seed=5, dupe_factor=2)
    assert len(more) > 1.8 * len(one)
    assert len(one.subset(7)) == 7 and set(one[0]) == {"input_ids", "token_type_ids", "attention_mask",
                                                      "next_sentence_label"}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"objective": "clm"}, ValueError, "objective must be one of"),
        ({"seq_len": 4}, ValueError, "seq_len must be an int >= 5"),
        ({"dupe_factor": 0}, ValueError, "dupe_factor must be a positive int"),
        ({"docs": [[[5, 6]]]}, ValueError, "at least 2 documents"),
        ({"docs": [[[5]], []]}, ValueError, "non-empty documents"),
    ],
)
def test_bad_pair_arguments(kwargs, error, message):
    args = dict(docs=synthetic_docs(3, 4), seq_len=32, cls_id=2, sep_id=3, pad_id=0) | kwargs
    with pytest.raises(error, match=message):
        pt.build_pair_examples(**args)


# --------------------------------------------------------------------------- masking


def test_mask_tokens_proportions_and_specials():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 1000, (400, 128), generator=gen)
    ids[:, 0], ids[:, 64], ids[:, 100:] = 2, 3, 0  # [CLS], [SEP], padding
    specials = [0, 1, 2, 3, 4]
    inputs, labels = pt.mask_tokens(ids, mask_id=4, special_ids=specials, candidate_ids=range(5, 1000),
                                    generator=gen)
    assert inputs.shape == labels.shape == ids.shape
    chosen = labels != pt.IGNORE_INDEX
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
    one = pt.mask_tokens(ids, generator=torch.Generator().manual_seed(3), **kw)
    two = pt.mask_tokens(ids, generator=torch.Generator().manual_seed(3), **kw)
    assert all(torch.equal(x, y) for x, y in zip(one, two, strict=True))
    none_masked = pt.mask_tokens(ids, mlm_probability=0.0, **kw)
    assert torch.equal(none_masked[0], ids) and (none_masked[1] == pt.IGNORE_INDEX).all()


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
        pt.mask_tokens(**args)


def test_collator_masks_dynamically(tokenizer):
    docs = pt.tokenize_documents(CORPUS, tokenizer)
    ds = pt.build_pair_examples(docs, seq_len=24, cls_id=tokenizer.cls_token_id, sep_id=tokenizer.sep_token_id,
                                pad_id=tokenizer.pad_token_id)
    collate = pt.MLMCollator(tokenizer, mlm_probability=0.5)
    items = [ds[i] for i in range(len(ds))]
    one, two = collate(items), collate(items)
    assert set(one) == {"input_ids", "token_type_ids", "attention_mask", "next_sentence_label", "labels"}
    assert one["input_ids"].shape == (len(ds), 24) and one["next_sentence_label"].shape == (len(ds),)
    assert not torch.equal(one["labels"], two["labels"])  # fresh masks every call
    assert torch.equal(one["token_type_ids"], ds.token_type_ids)


# --------------------------------------------------------------------------- losses


def tiny_pretraining_batch(tokenizer, seed=0):
    from transformers import BertForPreTraining

    torch.manual_seed(seed)
    config = pt.bert_config(_Profile(), len(tokenizer))
    model = BertForPreTraining(config).eval()
    docs = pt.tokenize_documents(CORPUS, tokenizer)
    ds = pt.build_pair_examples(docs, seq_len=24, cls_id=tokenizer.cls_token_id, sep_id=tokenizer.sep_token_id,
                                pad_id=tokenizer.pad_token_id)
    batch = pt.MLMCollator(tokenizer, mlm_probability=0.3)([ds[i] for i in range(len(ds))])
    return model, batch


class _Profile:
    d_model, n_layers, n_heads, d_ff, seq_len = 16, 1, 2, 32, 24


def test_loss_equals_the_library_loss(tokenizer):
    model, batch = tiny_pretraining_batch(tokenizer)
    loss, parts = pt.pretraining_loss(model, batch)
    library = model(**batch).loss
    torch.testing.assert_close(loss, library, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(parts["mlm_loss"] + parts["nsp_loss"], library, rtol=1e-5, atol=1e-6)
    # an untrained model guesses: about ln V for MLM and ln 2 for NSP
    assert abs(parts["mlm_loss"].item() - math.log(len(tokenizer))) < 0.5
    assert abs(parts["nsp_loss"].item() - math.log(2)) < 0.3


def test_wrapped_model_takes_the_full_forward(tokenizer):
    model, batch = tiny_pretraining_batch(tokenizer)

    class Wrapper(torch.nn.Module):  # stands in for DistributedDataParallel
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, **kw):
            return self.module(**kw)

    torch.testing.assert_close(pt.pretraining_loss(Wrapper(model), batch)[0], pt.pretraining_loss(model, batch)[0])


def test_metrics_are_exact_ratios(tokenizer):
    model, batch = tiny_pretraining_batch(tokenizer)
    metrics = pt.pretraining_metrics(model, batch)
    n_masked = (batch["labels"] != -100).sum().item()
    assert metrics["mlm_loss"][1].item() == n_masked
    assert metrics["nsp_accuracy"][1].item() == len(batch["next_sentence_label"])
    loss, parts = pt.pretraining_loss(model, batch)
    assert metrics["mlm_loss"][0].item() / n_masked == pytest.approx(parts["mlm_loss"].item(), rel=1e-5)


def test_objectives_cut_the_same_chunks():
    """Same seed, same cuts: the objectives differ only in what happens to B (fair comparison)."""
    docs = synthetic_docs()
    kw = dict(seq_len=32, cls_id=2, sep_id=3, pad_id=0, seed=3)
    rows = {o: _decode_pairs(pt.build_pair_examples(docs, objective=o, **kw)) for o in pt.OBJECTIVES}
    assert len(rows["mlm"]) == len(rows["sop"])
    for (a, b, _), (sa, sb, label) in zip(rows["mlm"], rows["sop"], strict=True):
        if label == pt.IS_NEXT:
            assert (sa, sb) == (a, b)
        else:  # the same chunk swapped (truncation then trims other ends, so compare sentence ids)
            assert set(sa) & set(b) and set(sb) & set(a) and max(sb) <= min(sa)


def test_mlm_only_loss_leaves_the_sentence_head_alone(tokenizer):
    model, batch = tiny_pretraining_batch(tokenizer)
    loss, parts = pt.mlm_only_loss(model, batch)
    full, full_parts = pt.pretraining_loss(model, batch)
    torch.testing.assert_close(loss, full_parts["mlm_loss"])
    loss.backward()
    assert model.cls.seq_relationship.weight.grad is None  # no gradient reaches the NSP head
    assert set(pt.mlm_only_metrics(model, batch)) == {"mlm_loss", "mlm_accuracy", "loss"}
    assert pt.objective_functions("mlm") == (pt.mlm_only_loss, pt.mlm_only_metrics)
    assert pt.objective_functions("sop") == (pt.pretraining_loss, pt.pretraining_metrics)
    with pytest.raises(ValueError, match="objective must be one of"):
        pt.objective_functions("nsp+sop")


def test_train_bert_refuses_data_of_another_objective(tokenizer):
    data = pt.PretrainingData(tokenizer, None, None, {"objective": "nsp"})
    with pytest.raises(ValueError, match="built for objective 'nsp'"):
        pt.train_bert(_Profile, data=data, objective="sop")


def test_unigram_cross_entropy():
    train_ids = torch.tensor([5, 5, 5, 6])
    # add-one counts 4, 2 (ids 5, 6) and 1 for the other non-special id 7: p(5) = 4/7
    ce = pt.unigram_cross_entropy(train_ids, torch.tensor([5]), vocab_size=8, special_ids=[0, 1, 2, 3, 4])
    assert ce == pytest.approx(-math.log(4 / 7))


def test_fill_mask_returns_probabilities(tokenizer):
    model, _ = tiny_pretraining_batch(tokenizer)
    guesses = pt.fill_mask(model, tokenizer, "our [MASK] is strong.", top_k=3)
    assert len(guesses) == 1 and len(guesses[0]) == 3
    probs = [p for _, p in guesses[0]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1
    with pytest.raises(ValueError, match="must contain"):
        pt.fill_mask(model, tokenizer, "no mask here")


def test_hub_bert_fails_fast_offline(monkeypatch):
    from sslm_utils.data import HubUnavailableError
    from sslm_utils.profiles import get_profile

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnavailableError, match="offline alternative"):
        pt.pretrained_bert(get_profile("quick"), source="hub")
    with pytest.raises(ValueError, match="source must be"):
        pt.pretrained_bert(get_profile("quick"), source="somewhere")


def test_cache_key_follows_the_profile():
    from sslm_utils.profiles import get_profile

    quick = get_profile("quick")
    assert pt.bert_cache_dir(quick) == pt.bert_cache_dir(quick.replace(lm_steps=1))  # not a ch3 field
    assert pt.bert_cache_dir(quick) != pt.bert_cache_dir(quick.replace(bert_steps=quick.bert_steps + 1))
    dirs = {pt.bert_cache_dir(quick, objective) for objective in pt.OBJECTIVES}
    assert len(dirs) == 3  # one cache entry per objective
    assert pt.bert_cache_dir(quick, "mlm", seed=1) not in dirs  # and per training seed
    assert pt.bert_cache_dir(quick, "nsp", seed=0) == pt.bert_cache_dir(quick)
    with pytest.raises(ValueError, match="seed must be an int"):
        pt.bert_cache_dir(quick, "mlm", seed=-1)
    with pytest.raises(ValueError, match="objective must be one of"):
        pt.bert_cache_dir(quick, "nsp+mlm")
