"""Profiles: one switch that sizes everything that costs time.

A notebook never hard-codes a model width, a step count or a data budget; it
reads them from the active :class:`Profile`. ``quick`` keeps every notebook
under about three minutes on two CPU cores; ``full`` is sized for one Colab
GPU (about 30 minutes a notebook by estimate; not timed). The environment variable
``SSLM_PROFILE`` overrides the default, which depends on the hardware.

A profile is a set of frozen *sections*, one per part of the book that
trains something: ``profile.lm`` (chapter 1's word models), ``profile.tokenizer``,
``profile.model`` (the transformer shape every later chapter shares),
``profile.attention`` (chapter 2's experiments), ``profile.bert`` and
``profile.gpt`` (chapter 3's pretraining runs), ``profile.objectives``
(lesson 3.3's and 3.4's comparisons) and ``profile.finetune`` (chapter 4). Each section checks its own values when
it is made, so a bad override fails at once with the fix in the message.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import torch

from . import checks

ENV_PROFILE = "SSLM_PROFILE"
ENV_DEVICE = "SSLM_DEVICE"


@dataclass(frozen=True)
class Section:
    """A frozen group of sizes; :meth:`replace` returns a checked copy."""

    _CHECKED_ELSEWHERE = ()  # fields a subclass checks itself
    _MAY_BE_ZERO = ("warmup_steps",)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in self._CHECKED_ELSEWHERE:
                continue
            if f.name in self._MAY_BE_ZERO:
                checks.non_negative_int(f"{type(self).__name__}.{f.name}", value)
            elif f.type in ("int", int):
                checks.positive_int(f"{type(self).__name__}.{f.name}", value)
            elif f.type in ("int | None",):
                checks.optional_positive_int(f"{type(self).__name__}.{f.name}", value, "(None means all of it)")
            elif f.type in ("float", float):
                checks.positive_float(f"{type(self).__name__}.{f.name}", value)

    def replace(self, **changes) -> Section:
        """A copy with some fields changed; an unknown name lists the valid ones."""
        known = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field(s) {unknown}; valid fields are {known}.")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        """The fields as plain values, tuples as lists (as JSON writes them)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


@dataclass(frozen=True)
class WordLMSizes(Section):
    """Chapter 1: count-based and neural language models on words."""

    max_train_words: int | None  # words of training text (None: all of it)
    max_eval_words: int | None
    vocab_size: int  # word vocabulary; rarer words become <unk>
    context: int  # words of context, i.e. n - 1 for an n-gram model
    embed_dim: int
    hidden_dim: int
    steps: int
    batch_size: int


@dataclass(frozen=True)
class TokenizerSizes(Section):
    """The subword tokenizers of chapters 1-3."""

    vocab_size: int
    train_docs: int | None  # speeches used to train a tokenizer (None: all)


@dataclass(frozen=True)
class TransformerShape(Section):
    """The transformer every chapter from 2 on builds: one shape, shared."""

    seq_len: int
    d_model: int
    n_layers: int
    n_heads: int
    d_ff: int

    def __post_init__(self):
        super().__post_init__()
        if self.d_model % self.n_heads:
            divisors = [h for h in range(1, self.d_model + 1) if self.d_model % h == 0 and h <= 64]
            raise ValueError(f"TransformerShape: d_model={self.d_model} is not divisible by n_heads={self.n_heads}, "
                             f"so the heads cannot share it equally; choose n_heads from {divisors}.")


@dataclass(frozen=True)
class AttentionRuns(Section):
    """Chapter 2's small training experiments (masks, positions, gradients)."""

    batch_size: int
    steps: int


@dataclass(frozen=True)
class BertRun(Section):
    """Lesson 3.1: pretraining a small BERT (MLM + NSP)."""

    steps: int  # optimizer steps of batch_size pairs of seq_len tokens
    batch_size: int
    lr: float  # peak learning rate (small BERTs tolerate a large one)
    warmup_steps: int
    train_docs: int | None  # training speeches turned into pairs (None: all)
    dupe_factor: int  # passes over the speeches with fresh A/B cuts (BERT used 10)
    eval_examples: int  # held-out pairs for evaluation
    eval_every: int
    seq_len: int | None = None  # pair length and position-table size (None: the model section's seq_len)
    sentence_task_from: int = 0  # optimizer steps of masked LM alone before NSP/SOP joins (0: from the start)

    _CHECKED_ELSEWHERE = ("seq_len",)
    _MAY_BE_ZERO = ("warmup_steps", "sentence_task_from")

    def __post_init__(self):
        super().__post_init__()
        checks.optional_positive_int("BertRun.seq_len", self.seq_len, "(None: the model section's seq_len)")
        if self.sentence_task_from >= self.steps:
            raise ValueError(f"BertRun.sentence_task_from ({self.sentence_task_from}) must be below steps "
                             f"({self.steps}); use 0 to train the sentence task from the first step.")


@dataclass(frozen=True)
class GPTRun(Section):
    """Lesson 3.2: pretraining a small GPT (causal language modelling)."""

    steps: int  # optimizer steps of batch_size packed blocks of seq_len tokens
    batch_size: int
    lr: float  # peak learning rate (cosine decay after warm-up)
    warmup_steps: int
    train_docs: int | None  # training speeches packed into blocks (None: all)
    eval_blocks: int | None  # held-out blocks for perplexity (None: all)
    eval_every: int
    dropout: float  # GPT-2's is 0.1; short runs learn faster without it

    _CHECKED_ELSEWHERE = ("dropout",)

    def __post_init__(self):
        super().__post_init__()
        checks.fraction("GPTRun.dropout", self.dropout, open_high=True)


@dataclass(frozen=True)
class ObjectiveRuns(Section):
    """Lessons 3.3 and 3.4: objectives compared at equal compute, a probe, a tiny ELECTRA."""

    steps: int  # optimizer steps for each of MLM / MLM+NSP / MLM+SOP (and a second MLM seed)
    probe_train_examples: int | None  # Rotten Tomatoes training snippets for the linear probe (None: all)
    electra_steps: int  # each of the two ELECTRA runs (random-token and learned generator)


@dataclass(frozen=True)
class FineTuneRuns(Section):
    """Chapter 4: fine-tuning the reference BERT on labelled tasks."""

    train_examples: int | None  # labelled training examples drawn per class share (None: all of them)
    epochs: float  # passes over those examples
    batch_size: int
    lr: float  # peak learning rate of AdamW (linear warm-up over 10 % of the steps, then linear decay)
    seeds: int  # runs per method, each with its own subset and initialisation
    compare_examples: int | None  # lesson 4.2: labelled examples for each strategy compared (None: all of them)
    curve_sizes: tuple[int, ...]  # lesson 4.3: labelled-set sizes of the learning curve run in the lesson
    min_steps: int  # lesson 4.3: optimizer steps at least, however few the labels
    adapt_steps: int  # lesson 4.3: steps of continued pretraining on the task's own text
    overfit_examples: int  # lesson 4.4: labelled examples of the run trained long enough to overfit
    overfit_epochs: float  # lesson 4.4: passes over them

    _CHECKED_ELSEWHERE = ("curve_sizes",)

    def __post_init__(self):
        super().__post_init__()
        sizes = self.curve_sizes
        if isinstance(sizes, list):  # as JSON gives it back
            object.__setattr__(self, "curve_sizes", sizes := tuple(sizes))
        if (not isinstance(sizes, tuple) or not sizes or any(isinstance(n, bool) or not isinstance(n, int) or n < 1
                                                                 for n in sizes) or list(sizes) != sorted(set(sizes))):
            raise ValueError(f"FineTuneRuns.curve_sizes must be a tuple of increasing positive ints, e.g. "
                             f"(32, 100, 300); got {sizes!r}.")


SECTIONS = {"lm": WordLMSizes, "tokenizer": TokenizerSizes, "model": TransformerShape, "attention": AttentionRuns,
            "bert": BertRun, "gpt": GPTRun, "objectives": ObjectiveRuns, "finetune": FineTuneRuns}


@dataclass(frozen=True)
class Profile:
    """Every size that costs time, in one immutable record of sections."""

    name: str
    lm: WordLMSizes
    tokenizer: TokenizerSizes
    model: TransformerShape
    attention: AttentionRuns
    bert: BertRun
    gpt: GPTRun
    objectives: ObjectiveRuns
    finetune: FineTuneRuns

    def __post_init__(self):
        for key, cls in SECTIONS.items():
            if not isinstance(getattr(self, key), cls):
                raise TypeError(f"Profile.{key} must be a {cls.__name__}, got {type(getattr(self, key)).__name__}.")
        for key in ("bert", "gpt"):
            run = getattr(self, key)
            if run.warmup_steps >= run.steps:
                raise ValueError(
                    f"{key}.warmup_steps={run.warmup_steps} must be smaller than {key}.steps={run.steps}; change "
                    f"both, e.g. {key}={{'steps': {run.steps}, 'warmup_steps': {max(1, run.steps // 10)}}}.")

    def replace(self, **changes) -> Profile:
        """A copy with some sections changed: ``profile.replace(bert={"steps": 10}, name="tiny")``.

        A section may be given whole (a :class:`Section`) or as a dict of the
        fields to change; unknown section or field names are an error.
        """
        unknown = sorted(set(changes) - {"name", *SECTIONS})
        if unknown:
            raise TypeError(f"Profile has no section(s) {unknown}; sections are {sorted(SECTIONS)} (and 'name'). "
                            "Change a field with e.g. profile.replace(bert={'steps': 10}).")
        resolved = {}
        for key, value in changes.items():
            if isinstance(value, dict):
                value = getattr(self, key).replace(**value)
            resolved[key] = value
        return dataclasses.replace(self, **resolved)

    def sections(self) -> dict[str, Section]:
        return {key: getattr(self, key) for key in SECTIONS}

    def as_dict(self) -> dict:
        """``{"name": ..., "bert": {...}, ...}``: plain values, for JSON and cache keys."""
        return {"name": self.name, **{key: s.as_dict() for key, s in self.sections().items()}}


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        lm=WordLMSizes(max_train_words=400_000, max_eval_words=60_000, vocab_size=5_000, context=2, embed_dim=64,
                       hidden_dim=256, steps=2_500, batch_size=256),
        tokenizer=TokenizerSizes(vocab_size=8_000, train_docs=80),
        model=TransformerShape(seq_len=128, d_model=128, n_layers=2, n_heads=2, d_ff=512),
        attention=AttentionRuns(batch_size=32, steps=200),
        bert=BertRun(steps=450, batch_size=32, lr=2e-3, warmup_steps=45, train_docs=160, dupe_factor=1,
                     eval_examples=256, eval_every=50),
        gpt=GPTRun(steps=600, batch_size=8, lr=2e-3, warmup_steps=45, train_docs=160, eval_blocks=128,
                   eval_every=75, dropout=0.0),
        objectives=ObjectiveRuns(steps=150, probe_train_examples=2_500, electra_steps=100),
        finetune=FineTuneRuns(train_examples=1_000, epochs=4.0, batch_size=32, lr=3e-4, seeds=1,
                              compare_examples=256, curve_sizes=(32, 100, 300), min_steps=60, adapt_steps=40,
                              overfit_examples=256, overfit_epochs=8.0),
    ),
    "full": Profile(
        name="full",
        lm=WordLMSizes(max_train_words=None, max_eval_words=None, vocab_size=20_000, context=4, embed_dim=128,
                       hidden_dim=512, steps=20_000, batch_size=512),
        tokenizer=TokenizerSizes(vocab_size=30_000, train_docs=None),
        model=TransformerShape(seq_len=256, d_model=256, n_layers=4, n_heads=4, d_ff=1024),
        attention=AttentionRuns(batch_size=64, steps=5_000),
        bert=BertRun(steps=6_000, batch_size=64, lr=5e-4, warmup_steps=500, train_docs=None, dupe_factor=5,
                     eval_examples=2_048, eval_every=500),
        gpt=GPTRun(steps=6_000, batch_size=32, lr=6e-4, warmup_steps=500, train_docs=None, eval_blocks=1_024,
                   eval_every=500, dropout=0.1),
        # four objective runs: as many steps in all as lesson 3.1's one BERT; two ELECTRA runs
        objectives=ObjectiveRuns(steps=1_500, probe_train_examples=None, electra_steps=3_000),
        finetune=FineTuneRuns(train_examples=None, epochs=4.0, batch_size=32, lr=3e-4, seeds=3,
                              compare_examples=None, curve_sizes=(32, 100, 300, 1_000), min_steps=60,
                              adapt_steps=500, overfit_examples=1_000, overfit_epochs=8.0),
    ),
    # The recipe of the reference models shipped with the package (``sslm pretrain --profile reference``):
    # about two hours each on a CPU. Only the tokenizer, model, bert and gpt sections are used;
    # the others repeat quick's so that every section is valid. Why these sizes: book/appendix_reference_models.ipynb.
    "reference": Profile(
        name="reference",
        lm=WordLMSizes(max_train_words=400_000, max_eval_words=60_000, vocab_size=5_000, context=2, embed_dim=64,
                       hidden_dim=256, steps=2_500, batch_size=256),
        tokenizer=TokenizerSizes(vocab_size=8_000, train_docs=None),
        model=TransformerShape(seq_len=128, d_model=192, n_layers=4, n_heads=3, d_ff=768),
        attention=AttentionRuns(batch_size=32, steps=200),
        bert=BertRun(steps=14_000, batch_size=32, lr=1e-3, warmup_steps=300, train_docs=None, dupe_factor=5,
                     eval_examples=1_024, eval_every=500, seq_len=64, sentence_task_from=8_000),
        gpt=GPTRun(steps=6_000, batch_size=16, lr=1e-3, warmup_steps=200, train_docs=None, eval_blocks=512,
                   eval_every=500, dropout=0.1),
        objectives=ObjectiveRuns(steps=150, probe_train_examples=2_500, electra_steps=100),
        finetune=FineTuneRuns(train_examples=1_000, epochs=4.0, batch_size=32, lr=3e-4, seeds=1,
                              compare_examples=1_000, curve_sizes=(32, 100, 300, 1_000), min_steps=60,
                              adapt_steps=500, overfit_examples=1_000, overfit_epochs=8.0),
    ),
}


def bert_seq_len(profile) -> int:
    """The BERT's pair length and position-table size: ``profile.bert.seq_len``, else the model section's.

    The reference BERT trains on 64-token pairs although the GPT's blocks are
    128 tokens: shorter pairs let a small BERT learn its positions, and so leave
    the unigram plateau, several times sooner (``benchmarks/README.md``).
    """
    return profile.bert.seq_len or profile.model.seq_len


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

    Keyword overrides change sections as in :meth:`Profile.replace`, e.g.
    ``get_profile("quick", bert={"steps": 10})``.
    """
    profile = PROFILES[_check_name(name) if name is not None else default_profile_name()]
    return profile.replace(**overrides) if overrides else profile


def format_size(value) -> str:
    """A profile value as a table shows it: ``8,000``, ``0.0005``, ``1e-5``, ``all`` for None, ``32, 100``
    for a tuple."""
    if value is None:
        return "all"
    if isinstance(value, tuple | list):
        return ", ".join(format_size(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN: no value
            return "—"
        if value.is_integer() and abs(value) < 1e15:
            return f"{value:,.0f}"
        text = f"{value:.4g}"
        if "e" in text:  # 1e-05 -> 1e-5
            mantissa, exponent = text.split("e")
            text = f"{mantissa}e{int(exponent)}"
        return text
    return str(value)


def compare_profiles(*sections: str, profiles: tuple[str, ...] = ("quick", "full")):
    """A table of the sizes that differ between ``profiles``, one row per ``section.field``.

    Name sections to keep only their rows, e.g. ``compare_profiles("model", "bert")``, or single fields,
    ``compare_profiles("finetune.seeds")``; add
    ``profiles=("quick", "full", "reference")`` to see the recipe of the shipped reference models
    (only its tokenizer, model, bert and gpt sections mean anything). Every cell is a string
    (thousands separated, no trailing zeros, ``all`` for "the whole corpus").
    """
    import pandas as pd

    chosen = [PROFILES[_check_name(name)] for name in profiles]
    every = [f"{key}.{field}" for key, section in chosen[0].sections().items() for field in section.as_dict()]
    unknown = sorted(name for name in sections if name not in SECTIONS and name not in every)
    if unknown:
        raise ValueError(f"Unknown profile section(s) or field(s) {unknown}; sections are {sorted(SECTIONS)}, "
                         "fields are named section.field, e.g. 'finetune.seeds'.")
    rows = {}
    for profile in chosen:
        for key, section in profile.sections().items():
            for field, value in section.as_dict().items():
                name = f"{key}.{field}"
                if not sections or key in sections or name in sections:
                    rows.setdefault(name, {})[profile.name] = format_size(value)
    table = pd.DataFrame(rows, columns=list(rows), index=[p.name for p in chosen]).T.fillna("—")
    return table[table.nunique(axis=1) > 1]


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
