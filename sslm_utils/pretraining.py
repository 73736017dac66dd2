"""Chapter 3's BERT pretraining: from raw speeches to a model that fills in blanks.

The pipeline, in the order the data flows:

1. :func:`split_sentences` — a rule-based splitter (no downloads) that knows
   that "Mr.", "U.S." and "John F. Kennedy" do not end sentences;
2. :func:`tokenize_documents` — WordPiece ids per sentence per document;
3. :func:`build_pair_examples` — ``[CLS] A [SEP] B [SEP]`` pairs for next
   sentence prediction (NSP, Devlin et al., 2019) or, one flag away, sentence
   order prediction (SOP, Lan et al., 2020);
4. :func:`mask_tokens` / :class:`MLMCollator` — BERT's 15 % masking with the
   80/10/10 rule, drawn afresh for every batch (dynamic masking, Liu et al., 2019);
5. :func:`pretraining_loss` — masked-LM cross-entropy plus the NSP loss, fed to
   :func:`sslm_utils.training.train`;
6. :func:`pretrained_bert` — the chapter's model for the active profile: from
   the cache, or trained deterministically, or (explicitly) a published one.
"""

from __future__ import annotations

import math
import random
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn import functional as F

from .model_cache import (
    PretrainedModel,
    cache_key,
    cached_tokenizer,
    load_cached,
    model_dir,
    run_info,
    store_trained,
)

IGNORE_INDEX = -100  # label of positions that are not predicted (PyTorch's cross-entropy skips it)
IS_NEXT, NOT_NEXT = 0, 1  # the transformers convention for next_sentence_label
OBJECTIVES = ("nsp", "sop", "mlm")  # MLM + a sentence task, or MLM alone (RoBERTa's choice)

# --------------------------------------------------------------------------- sentences

# Words whose trailing period is part of the word, not the end of a sentence.
ABBREVIATIONS = frozenset(
    "mr mrs ms messrs mme dr prof gen col lt capt maj sgt adm cmdr gov sen rep hon rev st jr sr esq "
    "pres supt vs v".split()
)
# A sentence may end at . ! ? (possibly repeated, possibly followed by closing
# quotes or brackets) when whitespace and an upper-case letter (possibly after
# an opening quote or bracket) follow.
_BOUNDARY = re.compile(r"""([.!?]+)(["'\u201d\u2019)\]]*)\s+(?=["'\u201c\u2018(\[]*[A-Z])""")
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")  # U.S, D.C, e.g (its last period is the candidate)


def _period_is_abbreviation(before: str) -> bool:
    """Is the period that follows ``before`` part of an abbreviation?"""
    words = before.split()
    if not words:
        return False
    word = words[-1].lstrip("\"'\u201c\u2018([")
    if word.lower() in ABBREVIATIONS:  # Mr. Smith, Gen. Grant
        return True
    if len(word) == 1 and word.isupper() and word != "I":  # John F. Kennedy (but not "...did I.")
        return True
    return bool(_DOTTED.fullmatch(word))  # the U.S. Government, 4 p.m. Monday


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences with a few rules instead of a trained model.

    Paragraphs (blank-line separated) never share a sentence. Inside one, a
    boundary is ``.``, ``!`` or ``?`` followed by whitespace and a capital,
    unless the period belongs to a title ("Mr."), an initial ("F."), or a
    dotted abbreviation ("U.S."). Decimals ("3.5") never match since no space
    follows their period. The price of the dotted rule: a sentence that really
    ends in "U.S." is merged with the next one, a rare and harmless error here.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}.")
    sentences = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        start = 0
        for match in _BOUNDARY.finditer(paragraph):
            if match.group(1) == "." and _period_is_abbreviation(paragraph[start : match.start()]):
                continue
            sentences.append(paragraph[start : match.end()].strip())
            start = match.end()
        if paragraph[start:].strip():
            sentences.append(paragraph[start:].strip())
    return sentences


def tokenize_documents(texts: Sequence[str], tokenizer) -> list[list[list[int]]]:
    """Documents → sentences → WordPiece ids, without special tokens: ``docs[d][s] = [ids]``.

    Sentences that tokenize to nothing are dropped, and so are documents left
    empty.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of documents, not one string; wrap it in a list.")
    per_doc = [split_sentences(t) for t in texts]
    flat = [s for doc in per_doc for s in doc]
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and flat:  # the Rust tokenizer directly: half the time of the Python wrapper
        # a copy, without the padding/truncation state an earlier tokenizer(..., padding=...) call left on it
        from tokenizers import Tokenizer

        backend = Tokenizer.from_str(backend.to_str())
        backend.no_padding()
        backend.no_truncation()
        ids = [e.ids for e in backend.encode_batch(flat, add_special_tokens=False)]
    else:
        ids = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
    docs, i = [], 0
    for doc in per_doc:
        encoded = [x for x in ids[i : i + len(doc)] if x]
        i += len(doc)
        if encoded:
            docs.append(encoded)
    return docs


# --------------------------------------------------------------------------- NSP / SOP pairs


def encode_pair(a: Sequence[int], b: Sequence[int], *, seq_len: int, cls_id: int, sep_id: int,
                pad_id: int) -> dict[str, list[int]]:
    """``[CLS] A [SEP] B [SEP]`` padded to ``seq_len``, with segment ids 0 for A and 1 for B.

    The same layout a BERT tokenizer gives for ``tokenizer(text_a, text_b)``;
    padding gets segment 0 and attention 0.
    """
    if len(a) + len(b) + 3 > seq_len:
        raise ValueError(
            f"A ({len(a)}) + B ({len(b)}) + 3 special tokens exceed seq_len={seq_len}; truncate the pair first "
            "(see truncate_pair)."
        )
    if not a or not b:
        raise ValueError("Both segments need at least one token.")
    ids = [cls_id, *a, sep_id, *b, sep_id]
    types = [0] * (len(a) + 2) + [1] * (len(b) + 1)
    pad = seq_len - len(ids)
    return {
        "input_ids": ids + [pad_id] * pad,
        "token_type_ids": types + [0] * pad,
        "attention_mask": [1] * len(ids) + [0] * pad,
    }


def truncate_pair(a: list[int], b: list[int], max_tokens: int) -> tuple[list[int], list[int]]:
    """Shorten the longer segment until ``len(a) + len(b) <= max_tokens``.

    A loses tokens at its *start* and B at its *end*, so the junction between
    them — the very thing NSP and SOP ask about — stays intact.
    """
    a, b = list(a), list(b)
    while len(a) + len(b) > max_tokens:
        if len(a) > len(b):
            a.pop(0)
        else:
            b.pop()
    return a, b


def _split_chunk(chunk: list[list[int]], rng: random.Random) -> tuple[list[int], list[int]]:
    """Cut a run of sentences into A and B at a random sentence boundary.

    A chunk of one (long) sentence is cut in the middle instead, so every
    chunk yields a true continuation and the IsNext/NotNext coin stays fair.
    """
    if len(chunk) == 1:
        tokens = chunk[0]
        cut = max(1, len(tokens) // 2)
        return tokens[:cut], tokens[cut:]
    cut = rng.randint(1, len(chunk) - 1)
    return [t for s in chunk[:cut] for t in s], [t for s in chunk[cut:] for t in s]


def _random_segment(docs, skip: int, length: int, rng: random.Random) -> list[int]:
    """About ``length`` tokens from a random position in a random *other* document."""
    other = rng.randrange(len(docs) - 1)
    other += other >= skip  # uniform over every document except ``skip``
    start = rng.randrange(len(docs[other]))
    segment = []
    for sentence in docs[other][start:]:
        segment.extend(sentence)
        if len(segment) >= length:
            break
    return segment


def document_pairs(docs: Sequence[Sequence[Sequence[int]]], d: int, *, max_tokens: int, rng: random.Random,
                   objective: str = "nsp") -> list[tuple[list[int], list[int], int]]:
    """``(A, B, label)`` triples from document ``d``, chunk by chunk.

    Sentences are gathered until they fill ``max_tokens``; the chunk is cut
    into A and B. A fair coin decides the label. NSP: heads keeps the true B
    (IsNext = 0), tails swaps in a segment of another document (NotNext = 1).
    SOP: tails swaps A and B instead (1 = wrong order), so both classes share
    topic and style and only coherence tells them apart. ``"mlm"``: the coin
    is still drawn (so the cuts match the other objectives) but every pair is
    the true continuation — contiguous text, as RoBERTa trained without NSP.
    """
    document, pairs, chunk, length = docs[d], [], [], 0
    for i, sentence in enumerate(document):
        chunk.append(list(sentence))
        length += len(sentence)
        if length < max_tokens and i < len(document) - 1:
            continue
        a, b = _split_chunk(chunk, rng)
        chunk, length = [], 0
        label = IS_NEXT if rng.random() < 0.5 else NOT_NEXT
        if objective == "mlm":
            label = IS_NEXT
        elif label == NOT_NEXT and objective == "nsp":
            b = _random_segment(docs, d, max(1, max_tokens - len(a)), rng)
        elif label == NOT_NEXT:  # sop
            a, b = b, a
        a, b = truncate_pair(a, b, max_tokens)
        if a and b:
            pairs.append((a, b, label))
    return pairs


class PairDataset(torch.utils.data.Dataset):
    """Fixed-length pretraining examples held as four tensors of ``N`` rows.

    ``dataset[i]`` is a dict of ``input_ids, token_type_ids, attention_mask``
    (each ``(seq_len,)``) and ``next_sentence_label`` (a scalar); masking
    happens later, in the collator, so that it can differ every epoch.
    """

    def __init__(self, input_ids, token_type_ids, attention_mask, next_sentence_label):
        self.input_ids = torch.as_tensor(input_ids, dtype=torch.long)  # (N, L)
        self.token_type_ids = torch.as_tensor(token_type_ids, dtype=torch.long)  # (N, L)
        self.attention_mask = torch.as_tensor(attention_mask, dtype=torch.long)  # (N, L)
        self.next_sentence_label = torch.as_tensor(next_sentence_label, dtype=torch.long)  # (N,)
        n = len(self.input_ids)
        if not (len(self.token_type_ids) == len(self.attention_mask) == len(self.next_sentence_label) == n):
            raise ValueError("All four tensors must have the same number of rows.")

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {
            "input_ids": self.input_ids[i],
            "token_type_ids": self.token_type_ids[i],
            "attention_mask": self.attention_mask[i],
            "next_sentence_label": self.next_sentence_label[i],
        }

    def subset(self, n: int) -> PairDataset:
        """The first ``n`` examples (pairs are already in a random order)."""
        return PairDataset(self.input_ids[:n], self.token_type_ids[:n], self.attention_mask[:n],
                           self.next_sentence_label[:n])

    @property
    def n_tokens(self) -> int:
        return int(self.attention_mask.sum())


def build_pair_examples(
    docs: Sequence[Sequence[Sequence[int]]],
    *,
    seq_len: int,
    cls_id: int,
    sep_id: int,
    pad_id: int,
    objective: str = "nsp",
    seed: int = 0,
    dupe_factor: int = 1,
) -> PairDataset:
    """Every document's pairs (``dupe_factor`` times, with fresh cuts and coins), shuffled.

    Deterministic: one ``random.Random(seed)`` makes every choice.
    """
    _check_objective(objective)
    if not isinstance(seq_len, int) or seq_len < 5:
        raise ValueError(f"seq_len must be an int >= 5 ([CLS] a [SEP] b [SEP]), got {seq_len!r}.")
    if not isinstance(dupe_factor, int) or dupe_factor < 1:
        raise ValueError(f"dupe_factor must be a positive int, got {dupe_factor!r}.")
    if objective == "nsp" and len(docs) < 2:
        raise ValueError("NSP needs at least 2 documents to draw random (NotNext) segments from.")
    if not docs or not all(doc for doc in docs):
        raise ValueError("docs must be a non-empty list of non-empty documents (lists of token-id lists).")
    rng = random.Random(seed)
    pairs = [
        pair
        for _ in range(dupe_factor)
        for d in range(len(docs))
        for pair in document_pairs(docs, d, max_tokens=seq_len - 3, rng=rng, objective=objective)
    ]
    rng.shuffle(pairs)
    rows = [encode_pair(a, b, seq_len=seq_len, cls_id=cls_id, sep_id=sep_id, pad_id=pad_id) for a, b, _ in pairs]
    if not rows:
        raise ValueError("No pairs could be built; the documents are too short.")
    return PairDataset(
        [r["input_ids"] for r in rows], [r["token_type_ids"] for r in rows], [r["attention_mask"] for r in rows],
        [label for _, _, label in pairs],
    )


# --------------------------------------------------------------------------- masking


def mask_tokens(
    input_ids: torch.Tensor,
    *,
    mask_id: int,
    special_ids: Sequence[int] | torch.Tensor,
    candidate_ids: Sequence[int] | torch.Tensor,
    mlm_probability: float = 0.15,
    mask_ratio: float = 0.8,
    random_ratio: float = 0.1,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: returns ``(inputs, labels)``, both shaped like ``input_ids``.

    Each position that is not a special token (padding included) is chosen
    with probability ``mlm_probability``; its label is the original id, every
    other label is -100. Of the chosen, ``mask_ratio`` become ``[MASK]``,
    ``random_ratio`` a random id from ``candidate_ids``, and the rest stay
    unchanged — so the model cannot learn that only ``[MASK]`` positions
    matter, and its representation of every real token must stay useful.
    """
    if not isinstance(input_ids, torch.Tensor) or input_ids.dtype not in (torch.long, torch.int):
        raise TypeError("input_ids must be an integer tensor of token ids.")
    for name, value in (("mlm_probability", mlm_probability), ("mask_ratio", mask_ratio),
                        ("random_ratio", random_ratio)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value!r}.")
    if mask_ratio + random_ratio > 1.0 + 1e-9:
        raise ValueError(f"mask_ratio + random_ratio must be at most 1, got {mask_ratio} + {random_ratio}.")
    candidates = torch.as_tensor(candidate_ids, dtype=torch.long, device=input_ids.device)
    if candidates.numel() == 0:
        raise ValueError("candidate_ids is empty: there is no token to draw random replacements from.")
    special = torch.isin(input_ids, torch.as_tensor(special_ids, dtype=input_ids.dtype, device=input_ids.device))
    # 1. choose positions
    probs = torch.full(input_ids.shape, float(mlm_probability), device=input_ids.device)
    probs.masked_fill_(special, 0.0)
    chosen = torch.bernoulli(probs, generator=generator).bool()
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    # 2. one uniform draw per position splits the chosen into [MASK] / random / unchanged
    u = torch.rand(input_ids.shape, generator=generator, device=input_ids.device)
    to_mask = chosen & (u < mask_ratio)
    to_random = chosen & (u >= mask_ratio) & (u < mask_ratio + random_ratio)
    picks = torch.randint(len(candidates), input_ids.shape, generator=generator, device=input_ids.device)
    inputs = torch.where(to_mask, torch.full_like(input_ids, mask_id), input_ids)
    inputs = torch.where(to_random, candidates[picks], inputs)
    return inputs, labels


def special_and_candidate_ids(tokenizer) -> tuple[list[int], list[int]]:
    """The tokenizer's special ids, and every other id (the pool for random replacements)."""
    special = sorted(set(tokenizer.all_special_ids))
    candidates = [i for i in range(len(tokenizer)) if i not in set(special)]
    return special, candidates


class MLMCollator:
    """Stack :class:`PairDataset` items and mask them afresh (dynamic masking).

    By default the masks come from PyTorch's global generator, which the
    training engine checkpoints, so a resumed run masks exactly as an
    uninterrupted one. Pass ``generator`` for a private stream.
    """

    def __init__(self, tokenizer, *, mlm_probability: float = 0.15, mask_ratio: float = 0.8,
                 random_ratio: float = 0.1, generator: torch.Generator | None = None):
        if tokenizer.mask_token_id is None:
            raise ValueError("The tokenizer has no [MASK] token; masked language modelling needs one.")
        self.mask_id = tokenizer.mask_token_id
        self.special_ids, self.candidate_ids = special_and_candidate_ids(tokenizer)
        self.mlm_probability, self.mask_ratio, self.random_ratio = mlm_probability, mask_ratio, random_ratio
        self.generator = generator

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        batch = {k: torch.stack([torch.as_tensor(item[k]) for item in items]) for k in items[0]}
        batch["input_ids"], batch["labels"] = mask_tokens(
            batch["input_ids"], mask_id=self.mask_id, special_ids=self.special_ids,
            candidate_ids=self.candidate_ids, mlm_probability=self.mlm_probability,
            mask_ratio=self.mask_ratio, random_ratio=self.random_ratio, generator=self.generator,
        )
        return batch


# --------------------------------------------------------------------------- model and losses


def bert_config(profile, vocab_size: int, **overrides):
    """A ``BertConfig`` sized by the profile (width, depth, heads, feed-forward, length)."""
    from transformers import BertConfig

    kwargs = dict(
        vocab_size=vocab_size, hidden_size=profile.d_model, num_hidden_layers=profile.n_layers,
        num_attention_heads=profile.n_heads, intermediate_size=profile.d_ff,
        max_position_embeddings=profile.seq_len, type_vocab_size=2, pad_token_id=0,
    )
    kwargs.update(overrides)
    return BertConfig(**kwargs)


def pretraining_logits(model, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(mlm_logits (M, V), mlm_targets (M,), nsp_logits (B, 2))`` for the M masked positions.

    A bare ``BertForPreTraining`` is run encoder-first and its vocabulary
    head applied only at the masked positions, as the original BERT code did:
    on a small model that head over all positions costs more than the
    encoder. A wrapped model (DistributedDataParallel) must be called as a
    whole for its gradients to synchronise, so it takes the library's full
    forward and the masked rows are picked afterwards — the same numbers.
    """
    from transformers import BertForPreTraining

    labels = batch["labels"]
    selected = labels != IGNORE_INDEX  # (B, L)
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
    if isinstance(model, BertForPreTraining):
        encoded = model.bert(**inputs)
        hidden, pooled = encoded.last_hidden_state, encoded.pooler_output  # (B, L, H), (B, H)
        mlm_logits = model.cls.predictions(hidden[selected])  # (M, V)
        nsp_logits = model.cls.seq_relationship(pooled)  # (B, 2)
    else:
        out = model(**inputs)
        mlm_logits, nsp_logits = out.prediction_logits[selected], out.seq_relationship_logits
    return mlm_logits, labels[selected], nsp_logits


def pretraining_loss(model, batch):
    """MLM cross-entropy (over the vocabulary, at masked positions) + NSP cross-entropy (two classes).

    Returns ``(total, {"mlm_loss", "nsp_loss"})`` for :func:`~sslm_utils.training.train`;
    ``total`` equals ``BertForPreTraining(...)(**batch).loss``.
    """
    mlm_logits, targets, nsp_logits = pretraining_logits(model, batch)
    mlm = F.cross_entropy(mlm_logits.float(), targets) if len(targets) else mlm_logits.sum() * 0.0
    nsp = F.cross_entropy(nsp_logits.float(), batch["next_sentence_label"])
    return mlm + nsp, {"mlm_loss": mlm.detach(), "nsp_loss": nsp.detach()}


def mlm_only_loss(model, batch):
    """The masked-LM cross-entropy alone (objective ``"mlm"``): the sentence head gets no gradient."""
    mlm_logits, targets, _ = pretraining_logits(model, batch)
    mlm = F.cross_entropy(mlm_logits.float(), targets) if len(targets) else mlm_logits.sum() * 0.0
    return mlm, {"mlm_loss": mlm.detach()}


def mlm_only_metrics(model, batch) -> dict:
    """:func:`pretraining_metrics` without the sentence task (objective ``"mlm"``)."""
    scores = pretraining_metrics(model, batch)
    return {"mlm_loss": scores["mlm_loss"], "mlm_accuracy": scores["mlm_accuracy"],
            "loss": float(scores["mlm_loss"][0] / scores["mlm_loss"][1].clamp(min=1))}


def objective_functions(objective: str = "nsp"):
    """``(loss_fn, compute_metrics)`` for :func:`~sslm_utils.training.train` under ``objective``."""
    _check_objective(objective)
    if objective == "mlm":
        return mlm_only_loss, mlm_only_metrics
    return pretraining_loss, pretraining_metrics


def _check_objective(objective: str) -> str:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}.")
    return objective


def pretraining_metrics(model, batch) -> dict:
    """Held-out numbers as ``(total, count)`` pairs, so they are exact over the whole set:
    MLM loss and accuracy per masked token, NSP loss and accuracy per pair."""
    mlm_logits, targets, nsp_logits = pretraining_logits(model, batch)
    nsp_labels = batch["next_sentence_label"]
    n_masked, n_pairs = torch.tensor(float(len(targets))), torch.tensor(float(len(nsp_labels)))
    mlm_sum = F.cross_entropy(mlm_logits.float(), targets, reduction="sum")
    nsp_sum = F.cross_entropy(nsp_logits.float(), nsp_labels, reduction="sum")
    return {
        "mlm_loss": (mlm_sum, n_masked),
        "mlm_accuracy": ((mlm_logits.argmax(-1) == targets).sum(), n_masked),
        "nsp_loss": (nsp_sum, n_pairs),
        "nsp_accuracy": ((nsp_logits.argmax(-1) == nsp_labels).sum(), n_pairs),
        "loss": float((mlm_sum / n_masked.clamp(min=1) + nsp_sum / n_pairs).detach()),
    }


def unigram_cross_entropy(train_ids: torch.Tensor, eval_targets: torch.Tensor, vocab_size: int,
                          special_ids: Sequence[int] = ()) -> float:
    """Cross-entropy (nats) of guessing each masked token from training-set frequencies alone.

    The floor a model must beat to show it uses context. Add-one smoothing
    keeps unseen tokens finite; special tokens are never targets, so they
    get no mass.
    """
    counts = torch.bincount(train_ids.flatten(), minlength=vocab_size).double() + 1.0
    counts[list(special_ids)] = 0.0
    log_p = torch.log(counts / counts.sum())
    return float(-log_p[eval_targets].mean())


# --------------------------------------------------------------------------- the chapter's data and model


@dataclass
class PretrainingData:
    """The tokenizer and the train / validation pair datasets of one profile."""

    tokenizer: object
    train: PairDataset
    validation: PairDataset
    stats: dict = field(default_factory=dict)


def bert_tokenizer(profile, corpus=None):
    """The chapter's WordPiece tokenizer for ``profile``, trained on training speeches only, cached
    (see :func:`~sslm_utils.model_cache.cached_tokenizer` for why it must be)."""
    from .tokenization import train_wordpiece

    return cached_tokenizer(profile, "wordpiece", train_wordpiece, bert_cache_dir(profile) / "model", corpus)


def pretraining_documents(profile, tokenizer, corpus=None) -> tuple[list, list]:
    """``(train_docs, validation_docs)``: the profile's speeches as WordPiece ids per sentence.

    Tokenizing is the slow part of building pairs; compute this once and pass
    it to :func:`pretraining_data` to build the pairs of several objectives.
    """
    from .data import load_sotu

    corpus = corpus or load_sotu()
    train_texts = corpus["train"]["text"]
    if profile.bert_train_docs is not None:
        train_texts = train_texts[: profile.bert_train_docs]
    return tokenize_documents(train_texts, tokenizer), tokenize_documents(corpus["validation"]["text"], tokenizer)


def pretraining_data(profile, *, tokenizer=None, objective: str = "nsp", seed: int = 0,
                     documents: tuple[list, list] | None = None) -> PretrainingData:
    """SOTU speeches → sentences → WordPiece → NSP, SOP or plain (``"mlm"``) pairs, for ``profile``.

    The tokenizer (default: :func:`bert_tokenizer`) learns from training
    speeches only; the validation pairs come from held-out speeches (whole
    speeches, so no held-out sentence has a neighbour in training).
    ``documents`` (from :func:`pretraining_documents`, same tokenizer) skips tokenizing.
    """
    tokenizer = tokenizer or bert_tokenizer(profile)
    ids = dict(cls_id=tokenizer.cls_token_id, sep_id=tokenizer.sep_token_id, pad_id=tokenizer.pad_token_id)
    train_docs, val_docs = documents or pretraining_documents(profile, tokenizer)
    kw = dict(seq_len=profile.seq_len, objective=objective, **ids)
    train = build_pair_examples(train_docs, seed=seed, dupe_factor=profile.bert_dupe_factor, **kw)
    validation = build_pair_examples(val_docs, seed=seed + 1, **kw).subset(profile.bert_eval_examples)
    stats = {
        "train_speeches": len(train_docs), "validation_speeches": len(val_docs),
        "train_sentences": sum(len(d) for d in train_docs), "train_pairs": len(train),
        "train_tokens": train.n_tokens, "validation_pairs": len(validation), "vocab_size": len(tokenizer),
        "objective": objective,
    }
    return PretrainingData(tokenizer, train, validation, stats)


def pretrain_config(profile):
    """The :class:`~sslm_utils.training.TrainConfig` of the chapter's BERT for ``profile``."""
    from .training import TrainConfig

    return TrainConfig(
        max_steps=profile.bert_steps, batch_size=profile.batch_size, lr=profile.bert_lr,
        warmup_steps=profile.bert_warmup_steps, weight_decay=0.01, eps=1e-6, schedule="linear",
        max_grad_norm=1.0, eval_every=profile.eval_every, checkpoint_every=profile.eval_every,
        keep_checkpoints=1, seed=0,
    )


HUB_BERTS = {  # Turc et al. (2019): published BERTs of the same shapes as the profiles
    "quick": "google/bert_uncased_L-2_H-128_A-2",
    "full": "google/bert_uncased_L-4_H-256_A-4",
}
PIPELINE_VERSION = 1  # bump when the data or training code changes what gets trained


class PretrainedBert(PretrainedModel):
    """A pretrained ``BertForPreTraining`` with its tokenizer and how it came to be."""


def _cache_key(profile, objective: str = "nsp", seed: int = 0) -> str:
    shared = ("tokenizer_vocab_size", "tokenizer_train_docs", "seq_len", "d_model", "n_layers", "n_heads", "d_ff",
              "batch_size", "eval_every")
    name = "ch03-bert" if objective == "nsp" else f"ch03-bert-{objective}"
    name += f"-seed{seed}" if seed else ""
    return cache_key(name, profile, shared, "bert_", PIPELINE_VERSION)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}.")
    return seed


def bert_cache_dir(profile=None, objective: str = "nsp", seed: int = 0) -> Path:
    """Where :func:`pretrained_bert` keeps the model of ``profile`` (under ``sslm_utils.data.cache_dir()``)."""
    from .profiles import get_profile

    return model_dir(_cache_key(profile or get_profile(), _check_objective(objective), _check_seed(seed)))


def _from_hub(profile) -> PretrainedBert:
    from .data import require_hub

    hub_id = HUB_BERTS[profile.name]
    require_hub(f"The published BERT {hub_id!r}", "pretrained_bert(profile), the book's own BERT, trained offline")
    from transformers import AutoTokenizer, BertForPreTraining

    return PretrainedBert(BertForPreTraining.from_pretrained(hub_id), AutoTokenizer.from_pretrained(hub_id),
                          info={"source": "hub", "hub_id": hub_id})


def train_bert(profile, *, data: PretrainingData | None = None, output_dir=None, progress: bool = True,
               objective: str = "nsp", seed: int = 0):
    """Pretrain the chapter's BERT from scratch, deterministically; return ``(model, result, data)``.

    ``objective`` is ``"nsp"`` (BERT), ``"sop"`` (ALBERT's sentence order) or
    ``"mlm"`` (no sentence task, RoBERTa); ``data`` must have been built for
    the same objective. ``seed`` sets the initial weights, the data order and
    the masks (another seed measures how much a result owes to chance). With
    ``output_dir`` the run checkpoints there and resumes from it when
    interrupted (``resume="auto"``).
    """
    from transformers import BertForPreTraining

    from .repro import set_seed
    from .training import train

    loss_fn, metrics_fn = objective_functions(objective)
    data = data or pretraining_data(profile, objective=objective)
    if data.stats.get("objective", "nsp") != objective:
        raise ValueError(f"data was built for objective {data.stats['objective']!r}, not {objective!r}; "
                         f"build it with pretraining_data(profile, objective={objective!r}).")
    set_seed(_check_seed(seed))
    model = BertForPreTraining(bert_config(profile, len(data.tokenizer)))
    config = pretrain_config(profile).replace(progress=progress, seed=seed)
    result = train(
        model, data.train, config=config, eval_data=data.validation, collate_fn=MLMCollator(data.tokenizer),
        loss_fn=loss_fn, compute_metrics=metrics_fn, output_dir=output_dir, resume="auto",
        tokenizer=data.tokenizer,
    )
    return result.model, result, data


def pretrained_bert(profile=None, *, source: str = "book", retrain: bool = False, progress: bool = True,
                    data: PretrainingData | None = None, objective: str = "nsp", seed: int = 0) -> PretrainedBert:
    """The chapter's pretrained BERT for ``profile`` (default: the active profile).

    ``source="book"``: load it from the cache, or — the first time, or with
    ``retrain=True`` — pretrain it on the offline corpus (deterministically,
    resuming if a previous attempt was interrupted) and cache it, so any later
    notebook runs on its own. ``source="hub"``: the published BERT of the same
    shape (Turc et al., 2019); needs internet and fails fast without it.
    ``data`` (from :func:`pretraining_data`) saves rebuilding it when training is needed.
    ``objective`` (``"nsp"``, ``"sop"`` or ``"mlm"``) picks the sentence task;
    each objective has its own cache entry, and so does each training ``seed``.
    """
    from .profiles import get_profile

    profile = profile or get_profile()
    _check_objective(objective)
    if source == "hub":
        return _from_hub(profile)
    if source != "book":
        raise ValueError(f"source must be 'book' or 'hub', got {source!r}.")
    folder = bert_cache_dir(profile, objective, seed)
    if folder.is_dir() and not retrain:
        from transformers import BertForPreTraining

        return load_cached(folder, BertForPreTraining, PretrainedBert)
    run_dir = folder.parent / f".run-{folder.name}"
    if retrain:
        shutil.rmtree(run_dir, ignore_errors=True)
    model, result, data = train_bert(profile, data=data, output_dir=run_dir, progress=progress, objective=objective,
                                     seed=seed)
    info = run_info(profile, result, data.stats)
    store_trained(folder, model, data.tokenizer, result.history, info)
    shutil.rmtree(run_dir, ignore_errors=True)
    return PretrainedBert(model, data.tokenizer, result.history, info, from_cache=False)


# --------------------------------------------------------------------------- using the model


@torch.no_grad()
def fill_mask(model, tokenizer, text: str, top_k: int = 5) -> list[list[tuple[str, float]]]:
    """The ``top_k`` guesses (token, probability) for every ``[MASK]`` in ``text``."""
    if tokenizer.mask_token not in text:
        raise ValueError(f"text must contain {tokenizer.mask_token}, e.g. 'the {tokenizer.mask_token} of the union'.")
    device = next(model.parameters()).device
    enc = tokenizer(text, return_tensors="pt").to(device)
    was_training = model.training
    model.eval()
    try:
        logits = model(**enc).prediction_logits[0]  # (L, V)
    finally:
        model.train(was_training)
    where = (enc["input_ids"][0] == tokenizer.mask_token_id).nonzero().flatten()
    out = []
    for pos in where:
        probs = logits[pos].float().softmax(-1)
        top = probs.topk(top_k)
        out.append([(tokenizer.convert_ids_to_tokens(int(i)), float(p)) for p, i in zip(top.values, top.indices,
                                                                                      strict=True)])
    return out


def log_vocab(vocab_size: int) -> float:
    """The loss of a uniform guess over the vocabulary: ln V nats."""
    return math.log(vocab_size)
