"""Checkers for lesson 4.2, which weights to train (chapters/04_finetuning/02_which_weights.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..feedback import Feedback, answer, check_close, check_shape, run_checker

# --------------------------------------------------------------------------- the LoRA forward pass


def _lora_case():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, generator=gen)  # (batch, seq, in)
    weight, bias = torch.randn(5, 6, generator=gen), torch.randn(5, generator=gen)  # (out, in), (out,)
    a, b = torch.randn(2, 6, generator=gen), torch.randn(5, 2, generator=gen)  # (r, in), (out, r)
    return x, weight, bias, a, b, 8.0


def check_lora_forward(fn) -> Feedback:
    """``fn(x, weight, bias, A, B, alpha)`` must return ``x W^T + b + (alpha / r) x A^T B^T`` with ``r`` the rank,
    ``A`` of shape ``(r, in)`` and ``B`` of shape ``(out, r)``."""

    def body(fb: Feedback):
        x, weight, bias, a, b, alpha = _lora_case()
        r = a.shape[0]
        base = x @ weight.T + bias  # (batch, seq, out)
        update = x @ a.T @ b.T  # (batch, seq, out)
        want = base + alpha / r * update
        got = answer(fn, x.clone(), weight.clone(), bias.clone(), a.clone(), b.clone(), alpha)
        got = torch.as_tensor(got).detach().to(want.dtype)
        if not check_shape(fb, got, tuple(want.shape), "the output"):
            return
        if torch.allclose(got, want, atol=1e-4):
            return
        if torch.allclose(got, base + update, atol=1e-4):
            fb.fail("the update is not scaled: LoRA multiplies B A x by alpha / r.")
        elif torch.allclose(got, base + alpha * update, atol=1e-4):
            fb.fail("the scale is alpha / r, not alpha: dividing by the rank keeps the update's size about the "
                    "same when r changes.")
        elif torch.allclose(got, x @ weight.T + alpha / r * update, atol=1e-4):
            fb.fail("the frozen layer's bias is missing: the base output is x @ weight.T + bias.")
        elif torch.allclose(got, alpha / r * update, atol=1e-4):
            fb.fail("that is the update alone; LoRA adds it to the frozen layer's output, x @ weight.T + bias.")
        else:
            check_close(fb, got, want, "the output", atol=1e-4)

    return run_checker("the LoRA forward pass", body)


# --------------------------------------------------------------------------- counting what trains


class _Tied(nn.Module):
    """An embedding and an output layer that share one weight, a frozen middle layer, and a trainable one."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)  # 40
        self.frozen = nn.Linear(4, 4).requires_grad_(False)  # 20, frozen
        self.trained = nn.Linear(4, 3)  # 15
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight  # tied: the same 40 numbers


def check_count_trainable(fn) -> Feedback:
    """``fn(model)`` must return ``(trainable, total)`` parameter counts, a shared (tied) weight counted once."""

    def body(fb: Feedback):
        model = _Tied()
        got = answer(fn, model)
        if not isinstance(got, tuple | list) or len(got) != 2:
            fb.fail(f"return a pair (trainable, total); got {got!r}.")
            return
        got = (int(got[0]), int(got[1]))
        want = (40 + 15, 40 + 20 + 15)
        if got == want:
            return
        if got == (want[0] + 40, want[1] + 40):
            fb.fail("the tied weight is counted twice (once as the embedding, once as the output layer): it is one "
                    "tensor. model.parameters() yields each parameter once; state_dict() lists it under both "
                    "names.")
        elif got == (want[1], want[1]) or got[0] == got[1]:
            fb.fail("trainable counts only the parameters with requires_grad=True; the frozen layer's 20 do not "
                    "train.")
        elif got == want[::-1]:
            fb.fail("the pair is the wrong way round: return (trainable, total).")
        else:
            fb.fail(f"expected {want} (an embedding of 40 tied to the output layer, a frozen linear layer of 20, a "
                    f"trained one of 15), got {got}.")

    return run_checker("counting trainable parameters", body)


# --------------------------------------------------------------------------- zero-shot cloze predictions


def _cloze_case():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 50, generator=gen)  # (texts, vocab) at the blank
    word_ids = [7, 31]  # the verbalizer's words: label 0, label 1
    logits[0, 3] = 9.0  # a word outside the verbalizer tops the vocabulary for the first text
    return logits, word_ids


def check_cloze_predictions(fn) -> Feedback:
    """``fn(mask_logits (n, vocab), word_ids)`` must return, for each text, the index of the label whose word
    scores highest at the blank (0 .. len(word_ids) - 1), as a ``(n,)`` tensor of integers."""

    def body(fb: Feedback):
        logits, word_ids = _cloze_case()
        want = logits[:, word_ids].argmax(1)  # (n,)
        got = answer(fn, logits.clone(), list(word_ids))
        got = torch.as_tensor(got)
        if not check_shape(fb, got, (6,), "the predicted labels"):
            return
        if torch.equal(got.long(), want):
            return
        if torch.equal(got.long(), logits.argmax(1)):
            fb.fail("that is the best word of the whole vocabulary; compare only the verbalizer's words, "
                    "mask_logits[:, word_ids], so every prediction is a label.")
        elif torch.equal(got.long(), torch.tensor(word_ids)[want]):
            fb.fail("those are the words' vocabulary ids; return the label index (the position in word_ids).")
        else:
            fb.fail(f"expected {want.tolist()}, got {got.tolist()}.")

    return run_checker("zero-shot cloze predictions", body)
