"""Checkers for lesson 3.2, GPT: causal language modelling (chapters/03_pretraining/02_gpt_causal_lm.ipynb).

Its perplexity exercise reuses lesson 1.1's perplexity machinery
(:mod:`sslm_utils.exercises.concepts.language_modelling`); only the inputs and the typical mistakes differ.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from ...objectives.causal import pack_documents
from ..concepts.language_modelling import PerplexityCase, mean_nll, perplexity_from_nll, run_perplexity_cases
from ..feedback import Feedback, answer, check_close, run_checker

# --------------------------------------------------------------------------- packing

_PACK_CASES = [
    ([[5, 6, 7], [8, 9], [10, 11, 12, 13]], 4),  # 12 tokens with separators: exactly 3 blocks
    ([[5, 6, 7, 8, 9, 10, 11], [12, 13]], 3),  # a document longer than a block; a tail to drop
    ([[5], [6], [7], [8], [9]], 4),
]
_EOS = 0


def check_pack(fn) -> Feedback:
    """``fn(docs, block_size, eos_id)`` must return the ``(n_blocks, block_size)`` blocks of the stream
    ``doc_1 + [eos] + doc_2 + [eos] + ...``, with the incomplete tail dropped."""

    def body(fb: Feedback):
        for docs, block in _PACK_CASES:
            want = pack_documents(docs, block, _EOS)
            got = answer(fn, [list(d) for d in docs], block, _EOS)
            try:
                got = torch.as_tensor(got)
            except (TypeError, ValueError):
                fb.fail("return a tensor (or a list of equal-length lists) of shape (n_blocks, block_size); "
                        "blocks of different lengths mean some are not full.")
                return
            if got.ndim != 2 or got.shape[1] != block:
                fb.fail(f"for block_size={block} the result must have shape (n_blocks, {block}), got "
                        f"{tuple(got.shape)}.")
                return
            if torch.equal(got.long(), want):
                continue
            fb.fail(f"for docs={docs} and block_size={block}: got {got.tolist()}, expected {want.tolist()}. "
                    f"{_pack_hint(got, want, docs, block)}")
            return

    return run_checker("packing documents into full blocks", body)


def _pack_hint(got: torch.Tensor, want: torch.Tensor, docs, block: int) -> str:
    flat = got.flatten().tolist()
    if _EOS not in flat:
        return "Put eos_id after every document: it tells the model where one speech ends and the next begins."
    if len(got) > len(want):
        return ("There are more blocks than full ones fit: drop the incomplete tail instead of padding it, "
                "and let a block run from one document into the next.")
    no_sep = [t for d in docs for t in d]
    if flat == no_sep[: len(flat)]:
        return "The separators are missing."
    if flat and flat[0] == _EOS:
        return "The separator goes AFTER each document, not before it."
    return "Concatenate doc + [eos_id] for every document into one stream, then cut it every block_size tokens."


# --------------------------------------------------------------------------- the causal-LM loss


def _loss_case(seed: int):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(3, 9, 13, generator=gen) * 2  # (B, L, V)
    ids = torch.randint(0, 13, (3, 9), generator=gen)
    return logits, ids


def check_causal_lm_loss(fn) -> Feedback:
    """``fn(logits, input_ids)`` must return the mean next-token cross-entropy: the logits at position t
    score token t + 1, over every position that has a next token."""

    def body(fb: Feedback):
        for seed in (0, 1):
            logits, ids = _loss_case(seed)
            v = logits.shape[-1]
            want = F.cross_entropy(logits[:, :-1].reshape(-1, v), ids[:, 1:].reshape(-1))
            got = answer(fn, logits.clone(), ids.clone())
            if check_close(Feedback("probe"), got, want, rtol=1e-4, atol=1e-5):
                continue
            value = float(torch.as_tensor(got).float().mean())
            unshifted = F.cross_entropy(logits.reshape(-1, v), ids.reshape(-1))
            backwards = F.cross_entropy(logits[:, 1:].reshape(-1, v), ids[:, :-1].reshape(-1))
            summed = F.cross_entropy(logits[:, :-1].reshape(-1, v), ids[:, 1:].reshape(-1), reduction="sum")
            if math.isclose(value, float(unshifted), rel_tol=1e-4):
                hint = ("the logits at t were scored against token t itself, which the model can see: drop the "
                        "last logit and the first label (logits[:, :-1] against input_ids[:, 1:]).")
            elif math.isclose(value, float(backwards), rel_tol=1e-4):
                hint = ("the shift goes the wrong way: the logits at t predict the NEXT token, so pair "
                        "logits[:, :-1] with input_ids[:, 1:].")
            elif math.isclose(value, float(summed), rel_tol=1e-4):
                hint = "you summed over the positions; take the mean."
            else:
                hint = "flatten logits[:, :-1] to (N, V) and input_ids[:, 1:] to (N,) and call F.cross_entropy."
            fb.fail(f"the loss came out {value:.5g}, expected {float(want):.5g}: {hint}")
            return

    return run_checker("the next-token (causal-LM) loss", body)


# --------------------------------------------------------------------------- perplexity from batch losses

_PPL_CASES = [
    ([3.2, 4.1, 2.7], [4096, 1024, 512]),
    ([5.0, 1.0], [10, 1000]),
]
_AVERAGED_PERPLEXITIES = ("you averaged perplexities; perplexity is exp of the AVERAGE loss, and exp of an average "
                          "is not the average of exps.")


def _batch_case(losses: list[float], tokens: list[int]) -> PerplexityCase:
    return PerplexityCase(
        args=(list(losses), list(tokens)),
        want=perplexity_from_nll(losses, tokens),
        mistakes=(
            (perplexity_from_nll(losses),
             "every batch counted the same; a batch with more tokens holds more of the evidence, so "
             "weight each mean loss by its token count (sum of losses = loss x tokens)."),
            (sum(math.exp(x) for x in losses) / len(losses), _AVERAGED_PERPLEXITIES),
            (sum(math.exp(x) * n for x, n in zip(losses, tokens, strict=True)) / sum(tokens), _AVERAGED_PERPLEXITIES),
            (2 ** mean_nll(losses, tokens), "the losses are in nats (natural logarithms), so use exp, not 2 ** loss."),
        ),
        fallback="total loss = sum(loss_b x tokens_b); perplexity = exp(total loss / total tokens).",
    )


def _report_batches(case: PerplexityCase, got: float, hint: str) -> str:
    losses, tokens = case.args
    return f"for losses {losses} over {tokens} tokens: got {got:.6g}, expected {case.want:.6g}; {hint}"


def check_perplexity(fn) -> Feedback:
    """``fn(batch_losses, batch_tokens)`` must return the perplexity of the whole set, from the mean loss (nats)
    of each batch and the number of tokens it predicted."""

    def body(fb: Feedback):
        run_perplexity_cases(fb, fn, [_batch_case(losses, tokens) for losses, tokens in _PPL_CASES], _report_batches)

    return run_checker("perplexity from per-batch mean losses", body)
