"""What a trained model predicts: masked words, next-token probabilities, continuations.

Every function here runs the model in eval mode (no dropout) and hands it
back in the mode it came in; none of them draws from the caller's random
stream.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .. import checks
from ..engine.eval_loop import eval_mode
from ..objectives.bert import pretraining_logits


@torch.no_grad()
def fill_mask(model, tokenizer, text: str, top_k: int = 5) -> list[list[tuple[str, float]]]:
    """The ``top_k`` guesses (token, probability) for every ``[MASK]`` in ``text``."""
    if not isinstance(text, str) or tokenizer.mask_token not in text:
        raise ValueError(f"text must contain {tokenizer.mask_token}, e.g. 'the {tokenizer.mask_token} of the union'.")
    checks.positive_int("top_k", top_k)
    if top_k > len(tokenizer):
        raise ValueError(f"top_k={top_k} exceeds the vocabulary of {len(tokenizer)} tokens; ask for fewer.")
    device = next(model.parameters()).device
    enc = tokenizer(text, return_tensors="pt").to(device)
    checks.ids_fit_model("text", enc["input_ids"], model.config)
    with eval_mode(model):
        logits = model(**enc).prediction_logits[0]  # (L, V)
    where = (enc["input_ids"][0] == tokenizer.mask_token_id).nonzero().flatten()
    out = []
    for pos in where:
        top = logits[pos].float().softmax(-1).topk(top_k)
        out.append([(tokenizer.convert_ids_to_tokens(int(i)), float(p))
                    for p, i in zip(top.values, top.indices, strict=True)])
    return out


@torch.no_grad()
def masked_token_nll(model, batch: dict, chunk: int = 64) -> torch.Tensor:
    """The loss (nats) of every masked token of an MLM ``batch``, in a fixed order: shape ``(n_masked,)``.

    Per-token losses, not their mean, so two models scored on the same batch
    can be compared token by token (:func:`~sslm_utils.evaluation.statistics.paired_difference`).
    """
    checks.positive_int("chunk", chunk)
    checks.ids_fit_model("batch['input_ids']", batch["input_ids"], model.config)
    device = next(model.parameters()).device
    losses = []
    with eval_mode(model):
        for start in range(0, len(batch["input_ids"]), chunk):
            part = {k: v[start : start + chunk].to(device) for k, v in batch.items()}
            logits, targets, _ = pretraining_logits(model, part)  # (M, V), (M,)
            losses.append(F.cross_entropy(logits.float(), targets, reduction="none").cpu())
    return torch.cat(losses)


@torch.no_grad()
def window_lm_log_probs(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int = 4096
) -> torch.Tensor:
    """Natural-log probability the model gives each target, in order."""
    device = next(model.parameters()).device
    out = []
    with eval_mode(model):
        for start in range(0, len(targets), batch_size):
            logits = model(inputs[start : start + batch_size].to(device))  # (batch, vocab)
            log_p = F.log_softmax(logits, dim=-1)
            picked = log_p.gather(1, targets[start : start + batch_size, None].to(device)).squeeze(1)
            out.append(picked.double().cpu())
    return torch.cat(out)


@torch.no_grad()
def token_log_probs(model, blocks: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """ln p(token t + 1 | tokens ≤ t within its block), for every block, in order: ``(n_blocks, L - 1)``."""
    checks.tensor("blocks", blocks, min_dim=2)
    checks.positive_int("batch_size", batch_size)
    checks.ids_fit_model("blocks", blocks, model.config)
    device = next(model.parameters()).device
    out = []
    with eval_mode(model):
        for start in range(0, len(blocks), batch_size):
            ids = blocks[start : start + batch_size].to(device)
            logp = model(input_ids=ids).logits[:, :-1].float().log_softmax(-1)
            out.append(logp.gather(-1, ids[:, 1:, None]).squeeze(-1).double().cpu())
    return torch.cat(out)


@torch.no_grad()
def generate_text(model, tokenizer, prompt: str, *, max_new_tokens: int = 40, do_sample: bool = False,
                  temperature: float = 1.0, top_k: int | None = None, seed: int = 0) -> str:
    """Continue ``prompt``: greedily, or by sampling (``temperature``, ``top_k``) with a fixed seed."""
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("prompt must be a non-empty string.")
    if do_sample:
        checks.positive_float("temperature", temperature)
    device = next(model.parameters()).device
    ids = torch.tensor([tokenizer(prompt, add_special_tokens=False)["input_ids"]], device=device)
    checks.ids_fit_model("prompt", ids, model.config)
    room = model.config.n_positions - ids.shape[1]
    if room < 1:
        raise ValueError(f"The prompt has {ids.shape[1]} tokens, no room left in {model.config.n_positions}.")
    kwargs = dict(do_sample=True, temperature=temperature, top_k=top_k or 0) if do_sample else dict(do_sample=False)
    with eval_mode(model), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if device.type == "cuda":
            torch.cuda.manual_seed_all(seed)
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=min(max_new_tokens, room),
                             pad_token_id=tokenizer.eos_token_id, **kwargs)
    return tokenizer.decode(out[0, ids.shape[1]:])
