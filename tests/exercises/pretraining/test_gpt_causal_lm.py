"""Each lesson-3.2 checker accepts the solution and rejects typical wrong answers, saying why."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from sslm_utils.exercises.pretraining.gpt_causal_lm import check_causal_lm_loss, check_pack, check_perplexity
from sslm_utils.objectives.causal import pack_documents

# --------------------------------------------------------------------------- packing


def solution_pack(docs, block_size, eos_id):
    stream = [t for d in docs for t in d + [eos_id]]
    n = len(stream) // block_size
    return torch.tensor(stream[: n * block_size]).view(n, block_size)


def pads_the_tail(docs, block_size, eos_id):
    stream = [t for d in docs for t in d + [eos_id]]
    stream += [eos_id] * (-len(stream) % block_size)
    return torch.tensor(stream).view(-1, block_size)


def no_separator(docs, block_size, eos_id):
    stream = [t for d in docs for t in d]
    n = len(stream) // block_size
    return torch.tensor(stream[: n * block_size]).view(n, block_size)


def separator_first(docs, block_size, eos_id):
    stream = [t for d in docs for t in [eos_id] + d]
    n = len(stream) // block_size
    return torch.tensor(stream[: n * block_size]).view(n, block_size)


def ragged_blocks(docs, block_size, eos_id):
    stream = [t for d in docs for t in d + [eos_id]]
    return [stream[i : i + block_size] for i in range(0, len(stream), block_size)]


def test_pack_checker():
    assert check_pack(solution_pack).passed
    assert check_pack(lambda docs, b, e: pack_documents(docs, b, e)).passed
    for wrong, phrase in [
        (pads_the_tail, "drop the incomplete tail"),
        (no_separator, "Put eos_id after every document"),
        (separator_first, "AFTER each document"),
        (ragged_blocks, "not full"),
        (lambda *a: None, "returned None"),
    ]:
        feedback = check_pack(wrong)
        assert not feedback.passed, wrong
        assert any(phrase in m for m in feedback.messages), (wrong, feedback.messages)


# --------------------------------------------------------------------------- the loss


def solution_loss(logits, input_ids):
    v = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, v), input_ids[:, 1:].reshape(-1))


def unshifted(logits, input_ids):
    return F.cross_entropy(logits.flatten(0, 1), input_ids.flatten())


def backwards(logits, input_ids):
    v = logits.shape[-1]
    return F.cross_entropy(logits[:, 1:].reshape(-1, v), input_ids[:, :-1].reshape(-1))


def summed(logits, input_ids):
    return solution_loss(logits, input_ids) * logits[:, :-1].shape[:2].numel()


def crashes(logits, input_ids):
    return F.cross_entropy(logits, input_ids)


def test_loss_checker():
    assert check_causal_lm_loss(solution_loss).passed
    for wrong, phrase in [
        (unshifted, "which the model can see"),
        (backwards, "the wrong way"),
        (summed, "take the mean"),
        (crashes, "your code raised"),
    ]:
        feedback = check_causal_lm_loss(wrong)
        assert not feedback.passed, wrong
        assert any(phrase in m for m in feedback.messages), (wrong, feedback.messages)


# --------------------------------------------------------------------------- perplexity


def solution_ppl(batch_losses, batch_tokens):
    total = sum(loss * n for loss, n in zip(batch_losses, batch_tokens, strict=True))
    return math.exp(total / sum(batch_tokens))


def test_perplexity_checker():
    assert check_perplexity(solution_ppl).passed
    assert check_perplexity(lambda ls, n: torch.tensor(solution_ppl(ls, n))).passed
    for wrong, phrase in [
        (lambda ls, n: math.exp(sum(ls) / len(ls)), "weight each mean loss"),
        (lambda ls, n: sum(math.exp(x) for x in ls) / len(ls), "you averaged perplexities"),
        (lambda ls, n: 2 ** (sum(x * k for x, k in zip(ls, n)) / sum(n)), "use exp, not 2 ** loss"),
        (lambda ls, n: sum(ls), "perplexity = exp"),
    ]:
        feedback = check_perplexity(wrong)
        assert not feedback.passed
        assert any(phrase in m for m in feedback.messages), feedback.messages
