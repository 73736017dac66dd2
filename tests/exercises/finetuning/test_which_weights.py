"""Each checker of lesson 4.2 accepts the solution and rejects typical wrong answers, saying why."""

from __future__ import annotations

from sslm_utils.exercises.finetuning.which_weights import (
    check_cloze_predictions,
    check_count_trainable,
    check_lora_forward,
)

from .. import rejects


def _lora(x, weight, bias, a, b, alpha):
    return x @ weight.T + bias + alpha / a.shape[0] * (x @ a.T @ b.T)


def test_lora_forward():
    check_lora_forward(_lora).assert_passed()
    rejects(check_lora_forward(lambda x, w, b, a, bb, alpha: _lora(x, w, b, a, bb, a.shape[0])), "not scaled")
    rejects(check_lora_forward(lambda x, w, b, a, bb, alpha: _lora(x, w, b, a, bb, alpha * a.shape[0])),
            "not alpha")
    rejects(check_lora_forward(lambda x, w, b, a, bb, alpha: _lora(x, w, 0 * b, a, bb, alpha)), "bias is missing")
    rejects(check_lora_forward(lambda x, w, b, a, bb, alpha: _lora(x, 0 * w, 0 * b, a, bb, alpha)), "update alone")
    rejects(check_lora_forward(lambda x, w, b, a, bb, alpha: x @ w.T), "output")


def test_count_trainable():
    def solution(model):
        params = list(model.parameters())
        return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)

    def by_state_dict(model):
        named = dict(model.named_parameters())
        sizes = {k: v.numel() for k, v in model.state_dict().items()}
        trained = sum(n for k, n in sizes.items() if k in named and named[k].requires_grad)
        return trained + 40, sum(sizes.values())

    check_count_trainable(solution).assert_passed()
    rejects(check_count_trainable(by_state_dict), "counted twice")
    rejects(check_count_trainable(lambda m: (solution(m)[1], solution(m)[1])), "requires_grad")
    rejects(check_count_trainable(lambda m: solution(m)[::-1]), "wrong way round")
    rejects(check_count_trainable(lambda m: 5), "pair")
    rejects(check_count_trainable(lambda m: (1, 2)), "expected")


def test_cloze_predictions():
    import torch

    check_cloze_predictions(lambda logits, ids: logits[:, ids].argmax(1)).assert_passed()
    rejects(check_cloze_predictions(lambda logits, ids: logits.argmax(1)), "whole vocabulary")
    rejects(check_cloze_predictions(lambda logits, ids: torch.tensor(ids)[logits[:, ids].argmax(1)]),
            "vocabulary ids")
    rejects(check_cloze_predictions(lambda logits, ids: torch.zeros(6, dtype=torch.long)), "expected")
    rejects(check_cloze_predictions(lambda logits, ids: logits[:, ids]), "predicted labels")
