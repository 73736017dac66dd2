"""Perplexity: the one number that compares language models on the same held-out tokens.

Perplexity is exp of the mean negative log-likelihood per predicted token,
the effective number of equally likely choices the model is left with. The
book computes it in one way only, from the per-token log-probabilities, so
that every model (n-gram, MLP, GPT) is scored by the same code.
"""

from __future__ import annotations

import math

import torch


def perplexity(log_probs) -> float:
    """exp(−mean ln p) over per-token natural-log probabilities (a tensor or a list of floats)."""
    log_probs = torch.as_tensor(log_probs, dtype=torch.float64)
    if log_probs.numel() == 0:
        raise ValueError("Perplexity needs at least one predicted token; log_probs is empty.")
    if not torch.isfinite(log_probs).all() or (log_probs > 0).any():
        raise ValueError("log_probs must be finite natural-log probabilities (all <= 0); got an inf, a NaN or a "
                         "positive value. Pass ln p per token, not p or a loss.")
    mean_nll = -float(log_probs.mean())
    if mean_nll > 700:  # exp would overflow a float
        raise OverflowError(f"The mean negative log-likelihood {mean_nll:.1f} nats is too large for exp(); "
                            "report the loss in nats instead.")
    return math.exp(mean_nll)
