"""Chapter 4's comparison of strategies: one row per strategy, every column measured on the same run.

A strategy is a way to build a classifier from the pretrained masked LM
(:class:`Strategy`: which parameters train, which inputs it reads, and the
learning rate it trains with). :func:`run_strategy` trains one and measures
everything the comparison table reports: test accuracy with its standard
error (and each test example's correctness, for paired comparisons), the
trainable parameters, the training time, the memory of one training step,
and the size on disk of what the task must store. :data:`STRATEGIES_COMPARED`
lists the strategies lesson 4.2 compares, so the lesson and
``benchmarks/strategies.py`` run exactly the same ones.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from .cloze import ClozeClassifier, ClozeTexts
from .heads import SentenceClassifier
from .memory import training_step_memory
from .prompts import SoftPromptClassifier
from .strategies import apply_strategy, trainable_report
from .task_weights import save_trainable
from .training import FineTuneConfig, LabelledTexts, PadCollator, fine_tune, score_classifier

# The head reads the mean of the last layer: a [CLS] vector is a summary of the text only where a sentence-level
# task (NSP) trained it, and the reference BERT's NSP stayed weak.
POOLING = "mean"
INPUTS = ("text", "cloze", "prompt")  # plain texts; texts in a cloze template; texts cut to leave room for a prompt
CLOZE_TEMPLATE = "{text} it was [MASK]."
CLOZE_WORDS = ("bad", "good")  # label 0 (negative), label 1 (positive)
PROMPT_TOKENS = 16
PROMPT_INIT = "is this review of a movie good or bad"


@dataclass(frozen=True)
class Strategy:
    """How to build one strategy's classifier: ``build(masked_lm, tokenizer, n_labels) -> nn.Module``, the
    ``inputs`` it reads (one of :data:`INPUTS`) and its learning rate as a multiple of the full fine-tuning one
    (training few parameters usually wants a larger step)."""

    name: str
    build: Callable[..., nn.Module]
    inputs: str = "text"
    lr_scale: float = 1.0
    description: str = ""

    def __post_init__(self):
        if self.inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {INPUTS}, got {self.inputs!r}.")


def _classifier(strategy: str, **kwargs) -> Callable[..., nn.Module]:
    def build(masked_lm, tokenizer, n_labels):
        return apply_strategy(SentenceClassifier(masked_lm, n_labels, pooling=POOLING), strategy, **kwargs)
    return build


def _soft_prompt(masked_lm, tokenizer, n_labels):
    return SoftPromptClassifier(masked_lm, tokenizer, n_labels, PROMPT_TOKENS, init_text=PROMPT_INIT)


def _cloze(masked_lm, tokenizer, n_labels):
    return ClozeClassifier(masked_lm, tokenizer, list(CLOZE_WORDS[:n_labels]))


STRATEGIES_COMPARED = (
    Strategy("full fine-tuning", _classifier("full"), description="every weight and the head"),
    Strategy("top 2 layers", _classifier("top_k", k=2), description="the 2 layers next to the head, and the head"),
    Strategy("bottom 2 layers", _classifier("bottom_k", k=2),
             description="the 2 layers next to the embeddings, and the head"),
    Strategy("head only (frozen encoder)", _classifier("feature_extraction"), lr_scale=10.0,
             description="the linear head on the frozen, mean-pooled last layer"),
    Strategy("BitFit", _classifier("bitfit"), lr_scale=10.0, description="the bias terms and the head"),
    Strategy("adapters (16)", _classifier("adapters", bottleneck=16), lr_scale=10.0,
             description="two bottleneck-16 adapters per layer, the LayerNorms and the head"),
    Strategy("LoRA (r = 8)", _classifier("lora", r=8, alpha=16.0), lr_scale=10.0,
             description="rank-8 updates of the query and value projections, and the head"),
    Strategy("prompt tuning (16)", _soft_prompt, inputs="prompt", lr_scale=100.0,
             description="16 prompt vectors and a classifier; the encoder frozen"),
    Strategy("cloze (PET-style)", _cloze, inputs="cloze",
             description="every weight, through the MLM head's scores for 'bad' and 'good'"),
)


def strategy_named(name: str) -> Strategy:
    """The strategy of :data:`STRATEGIES_COMPARED` called ``name``."""
    for strategy in STRATEGIES_COMPARED:
        if strategy.name == name:
            return strategy
    names = ", ".join(repr(s.name) for s in STRATEGIES_COMPARED)
    raise ValueError(f"No strategy is called {name!r}; the strategies compared are {names}.")


def inputs_for(strategy: Strategy, tokenizer, texts, labels, *, max_length: int) -> LabelledTexts:
    """The labelled texts as ``strategy`` reads them (``max_length``: the encoder's number of positions)."""
    if strategy.inputs == "cloze":
        return ClozeTexts(tokenizer, texts, labels, CLOZE_TEMPLATE, max_length=max_length)
    if strategy.inputs == "prompt":
        return LabelledTexts(tokenizer, texts, labels, max_length=max_length - PROMPT_TOKENS)
    return LabelledTexts(tokenizer, texts, labels, max_length=max_length)


@dataclass(frozen=True)
class StrategyRun:
    """One strategy's row of the comparison table, and each test example's correctness."""

    strategy: str
    accuracy: float
    standard_error: float
    trainable: int
    total: int
    train_time_s: float
    steps: int
    step_peak_mib: float  # tensor memory of one training step: the state kept between steps and the step's rise
    checkpoint_bytes: int  # what the task must store: its trainable parameters
    best_step: int
    lr: float
    correct: torch.Tensor = field(repr=False, compare=False)  # (n_test,) bool

    @property
    def trainable_percent(self) -> float:
        return 100.0 * self.trainable / self.total

    def as_row(self) -> dict:
        row = {k: v for k, v in asdict(self).items() if k != "correct"}
        return {**row, "trainable_percent": self.trainable_percent}


def run_strategy(strategy: Strategy, classifier: nn.Module, train: LabelledTexts, validation: LabelledTexts,
                 test: LabelledTexts, config: FineTuneConfig) -> StrategyRun:
    """Train ``classifier`` (built by ``strategy``) with ``config`` (its lr already scaled), choosing weights on
    ``validation``; measure the trainable parameters, one training step's memory (on the first batch of
    ``train``), the training time, the test accuracy and the size of the saved trainable parameters."""
    report = trainable_report(classifier)
    first = PadCollator(train.pad_id)([train[i] for i in range(min(config.batch_size, len(train)))])
    memory = training_step_memory(classifier, first)
    result = fine_tune(classifier, train, validation, config)
    score = score_classifier(result.model, test)
    with tempfile.TemporaryDirectory() as folder:
        size = save_trainable(result.model, folder)
    return StrategyRun(strategy.name, score.accuracy, score.standard_error, report.trainable, report.total,
                       result.train_time_s, result.steps, memory.peak_mib, size, result.best_step, config.lr,
                       score.correct)
