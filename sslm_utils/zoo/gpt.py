"""The book's GPT (lesson 3.2): causal language modelling on the same speeches, with the same engine.

The recipe: a byte-level BPE whose only special token is ``<|endoftext|>``
(:func:`gpt_tokenizer`), trained on training speeches only and cached; every
speech encoded, packed and cut into blocks (:func:`causal_lm_data`); GPT-2's
optimizer settings scaled down (:func:`gpt_train_config`); and
:func:`train_gpt` / :func:`pretrained_gpt`, which train it with the engine or
load it from the cache. ``seed`` decides the initial weights and the data
order (packing itself has no randomness).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import checks
from ..data.corpora import load_sotu
from ..engine.config import TrainConfig
from ..engine.loop import train
from ..models.configs import gpt_config
from ..objectives.causal import BlockDataset, causal_lm_loss, causal_lm_metrics, pack_documents
from ..profiles import get_profile
from ..repro import set_seed
from ..text.documents import encode_documents
from ..text.tokenizers import train_bpe
from .cache import PretrainedModel, cache_key, cached_tokenizer, model_dir, train_or_load


def gpt_tokenizer(profile, corpus=None):
    """The chapter's byte-level BPE for ``profile``, trained on training speeches only, cached
    (see :func:`~sslm_utils.zoo.cache.cached_tokenizer` for why it must be)."""

    return cached_tokenizer(profile, "bpe", train_bpe, gpt_cache_dir(profile) / "model", corpus)


@dataclass
class CausalLMData:
    """The tokenizer and the packed train / validation blocks of one profile."""

    tokenizer: object
    train: BlockDataset
    validation: BlockDataset
    stats: dict = field(default_factory=dict)


def causal_lm_data(profile, *, tokenizer=None) -> CausalLMData:
    """SOTU speeches → BPE ids → packed blocks of ``seq_len``; validation from held-out speeches."""

    corpus = load_sotu()
    tokenizer = tokenizer or gpt_tokenizer(profile, corpus)
    train_texts = corpus["train"]["text"]
    if profile.gpt.train_docs is not None:
        train_texts = train_texts[: profile.gpt.train_docs]
    eos = tokenizer.eos_token_id
    train_docs = encode_documents(train_texts, tokenizer)
    val_docs = encode_documents(corpus["validation"]["text"], tokenizer)
    train = BlockDataset(pack_documents(train_docs, profile.model.seq_len, eos))
    validation = BlockDataset(pack_documents(val_docs, profile.model.seq_len, eos)).subset(profile.gpt.eval_blocks)
    stats = {
        "train_speeches": len(train_docs), "validation_speeches": len(val_docs), "train_blocks": len(train),
        "train_tokens": train.n_tokens, "validation_blocks": len(validation), "vocab_size": len(tokenizer),
    }
    return CausalLMData(tokenizer, train, validation, stats)


def gpt_train_config(profile):
    """The :class:`~sslm_utils.engine.TrainConfig` of the chapter's GPT for ``profile``."""

    return TrainConfig(
        max_steps=profile.gpt.steps, batch_size=profile.gpt.batch_size, lr=profile.gpt.lr,
        warmup_steps=profile.gpt.warmup_steps, weight_decay=0.1, betas=(0.9, 0.95), schedule="cosine",
        max_grad_norm=1.0, eval_every=profile.gpt.eval_every, checkpoint_every=profile.gpt.eval_every,
        keep_checkpoints=1, seed=0,
    )


PIPELINE_VERSION = 1  # bump when the data or training code changes what gets trained


class PretrainedGPT(PretrainedModel):
    """A pretrained ``GPT2LMHeadModel`` with its tokenizer and how it came to be."""


def gpt_cache_dir(profile=None, seed: int = 0) -> Path:
    """Where :func:`pretrained_gpt` keeps the model of ``profile`` (under ``sslm_utils.data.cache_dir()``)."""
    name = "ch03-gpt" + (f"-seed{checks.seed(seed)}" if seed else "")
    return model_dir(cache_key(name, profile or get_profile(), ("tokenizer", "model", "gpt"), PIPELINE_VERSION))


def new_gpt(profile, tokenizer, seed: int = 0):
    """A freshly initialised ``GPT2LMHeadModel`` for ``profile`` (same weights for the same seed)."""
    from transformers import GPT2LMHeadModel

    set_seed(seed)
    model = GPT2LMHeadModel(gpt_config(profile, len(tokenizer), bos_id=tokenizer.bos_token_id,
                                       eos_id=tokenizer.eos_token_id, pad_id=tokenizer.pad_token_id))
    return _name_loss(model)


def _name_loss(model):
    """Tell transformers which loss the model uses; it cannot infer it from the name GPT2LMHeadModel and warns."""
    model.loss_type = "ForCausalLM"
    return model


def train_gpt(profile, *, seed: int = 0, data: CausalLMData | None = None, config: TrainConfig | None = None,
              output_dir=None, resume="auto", progress: bool = True):
    """Pretrain the chapter's GPT from scratch, deterministically; return ``(model, result, data)``.

    ``seed`` sets the initial weights and the data order; ``config`` defaults
    to :func:`gpt_train_config`. With ``output_dir`` the run checkpoints there
    and ``resume`` ("auto": if a checkpoint exists) continues it.
    """
    data = data or causal_lm_data(profile)
    model = new_gpt(profile, data.tokenizer, seed)
    config = (config or gpt_train_config(profile)).replace(progress=progress, seed=seed)
    result = train(
        model, data.train, config=config, eval_data=data.validation, loss_fn=causal_lm_loss,
        compute_metrics=causal_lm_metrics, output_dir=output_dir, resume=resume if output_dir else False,
        tokenizer=data.tokenizer,
    )
    return result.model, result, data


def pretrained_gpt(profile=None, *, retrain: bool = False, progress: bool = True,
                   data: CausalLMData | None = None, seed: int = 0) -> PretrainedGPT:
    """The chapter's pretrained GPT for ``profile`` (default: the active profile).

    Loaded from the cache, or — the first time, or with ``retrain=True`` —
    pretrained on the offline corpus (deterministically, resuming if a previous
    attempt was interrupted) and cached, so any later notebook can use it.
    Each ``seed`` has its own cache entry.
    """
    from transformers import GPT2LMHeadModel

    profile = profile or get_profile()

    def train_fn(run_dir):
        return train_gpt(profile, seed=seed, data=data, output_dir=run_dir, progress=progress)

    pretrained = train_or_load(gpt_cache_dir(profile, seed), profile, train_fn, GPT2LMHeadModel, PretrainedGPT,
                               retrain=retrain)
    _name_loss(pretrained.model)
    return pretrained
