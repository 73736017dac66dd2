"""Profiles: one switch that sizes everything that costs time.

A notebook never hard-codes a model width, a step count or a data budget; it
reads them from the active :class:`Profile`. ``quick`` keeps every notebook
under about three minutes on two CPU cores; ``full`` is sized for one Colab
GPU (about 30 minutes a notebook at most). The environment variable
``SSLM_PROFILE`` overrides the default, which depends on the hardware.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import torch

ENV_PROFILE = "SSLM_PROFILE"
ENV_DEVICE = "SSLM_DEVICE"


@dataclass(frozen=True)
class Profile:
    """Every size that costs time, in one immutable record."""

    name: str
    # Chapter 1: count-based and neural language models on words.
    max_train_words: int | None  # words of training text (None: all of it)
    max_eval_words: int | None
    lm_vocab_size: int  # word vocabulary; rarer words become <unk>
    lm_context: int  # words of context, i.e. n - 1 for an n-gram model
    lm_embed_dim: int
    lm_hidden_dim: int
    lm_steps: int
    lm_batch_size: int
    # Tokenizers.
    tokenizer_vocab_size: int
    tokenizer_train_docs: int | None  # speeches used to train a tokenizer
    # Transformer sizes shared by later chapters.
    seq_len: int
    d_model: int
    n_layers: int
    n_heads: int
    d_ff: int
    batch_size: int
    train_steps: int
    eval_every: int
    # Chapter 3: pretraining a small BERT (MLM + NSP).
    bert_steps: int = 450  # optimizer steps of batch_size pairs of seq_len tokens
    bert_lr: float = 2e-3  # peak learning rate (small BERTs tolerate a large one)
    bert_warmup_steps: int = 45
    bert_train_docs: int | None = None  # training speeches turned into pairs (None: all)
    bert_dupe_factor: int = 1  # passes over the speeches with fresh A/B cuts (BERT used 10)
    bert_eval_examples: int = 256  # held-out pairs for evaluation
    # Chapter 3b: pretraining a small GPT (causal language modelling).
    gpt_steps: int = 600  # optimizer steps of gpt_batch_size packed blocks of seq_len tokens
    gpt_batch_size: int = 16
    gpt_lr: float = 2e-3  # peak learning rate (cosine decay after warm-up)
    gpt_warmup_steps: int = 45
    gpt_train_docs: int | None = None  # training speeches packed into blocks (None: all)
    gpt_eval_blocks: int | None = 128  # held-out blocks for perplexity (None: all)
    gpt_eval_every: int = 100
    gpt_dropout: float = 0.1  # GPT-2's dropout; short runs learn faster without it
    # Chapter 3c: objectives compared at equal compute, and a tiny ELECTRA.
    objective_steps: int = 150  # optimizer steps for each of MLM / MLM+NSP / MLM+SOP (and a second MLM seed)
    probe_train_examples: int | None = 2_500  # Rotten Tomatoes training snippets for the linear probe (None: all)
    electra_steps: int = 100  # each of the two ELECTRA runs (random-token and learned generator)

    def replace(self, **changes) -> Profile:
        """Return a copy with some fields changed (unknown names are an error)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(
                f"Profile has no field(s) {unknown}; valid fields are {sorted(known)}."
            )
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        max_train_words=400_000,
        max_eval_words=60_000,
        lm_vocab_size=5_000,
        lm_context=2,
        lm_embed_dim=64,
        lm_hidden_dim=256,
        lm_steps=2_500,
        lm_batch_size=256,
        tokenizer_vocab_size=8_000,
        tokenizer_train_docs=80,
        seq_len=128,
        d_model=128,
        n_layers=2,
        n_heads=2,
        d_ff=512,
        batch_size=32,
        train_steps=200,
        eval_every=50,
        bert_steps=450,
        bert_lr=2e-3,
        bert_warmup_steps=45,
        bert_train_docs=160,
        bert_dupe_factor=1,
        bert_eval_examples=256,
        gpt_steps=600,
        gpt_batch_size=8,
        gpt_lr=2e-3,
        gpt_warmup_steps=45,
        gpt_train_docs=160,
        gpt_eval_blocks=128,
        gpt_eval_every=75,
        gpt_dropout=0.0,
        objective_steps=150,
        probe_train_examples=2_500,
        electra_steps=100,
    ),
    "full": Profile(
        name="full",
        max_train_words=None,
        max_eval_words=None,
        lm_vocab_size=20_000,
        lm_context=4,
        lm_embed_dim=128,
        lm_hidden_dim=512,
        lm_steps=20_000,
        lm_batch_size=512,
        tokenizer_vocab_size=30_000,
        tokenizer_train_docs=None,
        seq_len=256,
        d_model=256,
        n_layers=4,
        n_heads=4,
        d_ff=1024,
        batch_size=64,
        train_steps=5_000,
        eval_every=500,
        bert_steps=6_000,
        bert_lr=5e-4,
        bert_warmup_steps=500,
        bert_train_docs=None,
        bert_dupe_factor=5,
        bert_eval_examples=2_048,
        gpt_steps=6_000,
        gpt_batch_size=32,
        gpt_lr=6e-4,
        gpt_warmup_steps=500,
        gpt_train_docs=None,
        gpt_eval_blocks=1_024,
        gpt_eval_every=500,
        gpt_dropout=0.1,
        objective_steps=1_500,  # four runs: as many steps in all as lesson 3.1's one BERT
        probe_train_examples=None,
        electra_steps=3_000,  # two runs
    ),
}


def _check_name(name: str) -> str:
    if not isinstance(name, str) or name.strip().lower() not in PROFILES:
        valid = ", ".join(repr(n) for n in PROFILES)
        raise ValueError(
            f"Unknown profile {name!r}. Valid profiles are {valid}; "
            f"pass one of them or set {ENV_PROFILE} to one of them."
        )
    return name.strip().lower()


def default_profile_name() -> str:
    """``SSLM_PROFILE`` if set, else ``full`` with a CUDA GPU and ``quick`` otherwise."""
    env = os.environ.get(ENV_PROFILE)
    if env:
        return _check_name(env)
    return "full" if torch.cuda.is_available() else "quick"


def get_profile(name: str | None = None, **overrides) -> Profile:
    """The active profile: ``name`` if given, else :func:`default_profile_name`.

    Keyword overrides change single fields, e.g. ``get_profile(train_steps=10)``.
    """
    profile = PROFILES[_check_name(name) if name is not None else default_profile_name()]
    return profile.replace(**overrides) if overrides else profile


def compare_profiles():
    """A table of every field that differs between the profiles (for the text)."""
    import pandas as pd

    rows = {n: p.as_dict() for n, p in PROFILES.items()}
    table = pd.DataFrame(rows).drop(index="name")
    differs = table.apply(lambda r: r.nunique(dropna=False) > 1, axis=1)
    return table[differs]


def _mps_available() -> bool:
    # MPS exists only on macOS builds; older torch versions lack the attribute.
    backend = getattr(torch.backends, "mps", None)
    try:
        return bool(backend is not None and backend.is_available() and backend.is_built())
    except Exception:  # pragma: no cover - defensive on unusual builds
        return False


def pick_device(prefer: str | None = None) -> torch.device:
    """CUDA if present, else Apple's MPS, else the CPU.

    ``prefer`` (or the ``SSLM_DEVICE`` variable) forces one of ``cuda``, ``mps``,
    ``cpu``; asking for hardware that is not there is an error, not a silent
    fallback.
    """
    choice = prefer if prefer is not None else os.environ.get(ENV_DEVICE)
    if choice is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    choice = str(choice).strip().lower()
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": _mps_available()}
    if choice not in available:
        raise ValueError(f"Unknown device {choice!r}; choose one of 'cuda', 'mps', 'cpu'.")
    if not available[choice]:
        raise RuntimeError(
            f"Device {choice!r} was requested but is not available on this machine; "
            f"unset {ENV_DEVICE} or choose 'cpu'."
        )
    return torch.device(choice)
