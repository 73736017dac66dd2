"""Sentence pairs for BERT's sentence-level task (lesson 3.1) and its variants (lesson 3.3).

``[CLS] A [SEP] B [SEP]`` pairs for next sentence prediction (NSP, Devlin
et al., 2019) or, one flag away, sentence order prediction (SOP, Lan et al.,
2020), or plain contiguous text for MLM alone (RoBERTa's choice, Liu et al.,
2019). One ``random.Random(seed)`` makes every choice, so the same seed gives
the same pairs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch

from .. import checks

IS_NEXT, NOT_NEXT = 0, 1  # the transformers convention for next_sentence_label


OBJECTIVES = ("nsp", "sop", "mlm")  # MLM + a sentence task, or MLM alone (RoBERTa's choice)


def check_objective(objective: str) -> str:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}.")
    return objective


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
    checks.positive_int("max_tokens", max_tokens, "It is the room left for both segments together.")
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
    check_objective(objective)
    if checks.positive_int("seq_len", seq_len) < 5:
        raise ValueError(f"seq_len must be an int >= 5 ([CLS] a [SEP] b [SEP]), got {seq_len!r}.")
    checks.positive_int("dupe_factor", dupe_factor)
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
