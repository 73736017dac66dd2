"""Fine-tuning a sentence classifier with the book's engine: labelled texts in, the model chosen on validation out.

The six steps of a fine-tuning recipe map onto this module: a pretrained
encoder and a task head (:class:`~sslm_utils.finetuning.SentenceClassifier`),
labelled data (:class:`LabelledTexts`, padded per batch by :class:`PadCollator`),
the hyperparameters (:class:`FineTuneConfig`), training and model selection
(:func:`fine_tune`: AdamW, warm-up, linear decay; evaluated on the validation
split every ``eval_every`` steps, the best weights kept), and the one look at
the test split (:func:`score_classifier`). Training runs on
:func:`~sslm_utils.engine.train`, so the same checkpoints, exact resume and
progress bar as pretraining come with it.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .. import checks
from ..engine.config import TrainConfig
from ..engine.eval_loop import eval_mode
from ..engine.loop import train
from ..evaluation.statistics import binomial_standard_error
from .parts import layerwise_lr_scales

BEST_DIR = "best"  # under output_dir: the weights that scored best on validation, and best.json
# validation metrics that can choose the weights, and whether higher is better
METRICS = {"accuracy": True, "loss": False}


class LabelledTexts(torch.utils.data.Dataset):
    """Texts tokenized once, with one integer label each; items are ``{"input_ids": [...], "labels": int}``.

    The texts are kept (``texts``) for what needs the words themselves, such as a
    bag-of-words baseline on exactly the same examples.

    Texts longer than ``max_length`` tokens (default: the tokenizer's
    ``model_max_length``, which the reference models set to their number of
    positions) are cut at the end.
    """

    def __init__(self, tokenizer, texts: Sequence[str], labels: Sequence[int], *, max_length: int | None = None):
        texts, labels = list(texts), [int(y) for y in labels]
        if not texts:
            raise ValueError("No labelled texts: pass at least one text with its label (is the subset empty?).")
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels: pass one label per text.")
        if min(labels) < 0:
            raise ValueError(f"label {min(labels)} is negative; map the labels to 0..n_labels-1.")
        max_length = max_length or tokenizer.model_max_length
        self.texts = texts
        self.input_ids = self._encode(tokenizer, texts, max_length)
        self.labels = labels
        self.pad_id = tokenizer.pad_token_id  # what PadCollator fills with

    def _encode(self, tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
        """Each text's token ids, with ``[CLS]`` and ``[SEP]``, cut to ``max_length`` at the end."""
        return tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.input_ids[i], "labels": self.labels[i]}

    @property
    def n_classes(self) -> int:
        return len(set(self.labels))


@dataclass(frozen=True)
class PadCollator:
    """Pad a list of :class:`LabelledTexts` items to the longest in the batch (not to a fixed length)."""

    pad_id: int

    def __call__(self, items: list[dict]) -> dict:
        longest = max(len(item["input_ids"]) for item in items)
        ids = torch.full((len(items), longest), self.pad_id, dtype=torch.long)  # (batch, seq)
        mask = torch.zeros_like(ids)  # (batch, seq)
        for row, item in enumerate(items):
            n = len(item["input_ids"])
            ids[row, :n] = torch.as_tensor(item["input_ids"])
            mask[row, :n] = 1
        labels = torch.tensor([item["labels"] for item in items], dtype=torch.long)  # (batch,)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def accuracy_metrics(model, batch) -> dict:
    """Validation numbers for the engine: accuracy as an exact ratio, and the mean cross-entropy."""
    out = model(**batch)
    correct = (out.logits.argmax(-1) == batch["labels"]).sum()
    n = torch.tensor(len(batch["labels"]))
    return {"accuracy": (correct, n), "loss": (out.loss.detach() * n, n)}


@dataclass(frozen=True)
class FineTuneConfig:
    """The hyperparameters of one fine-tuning run (BERT's paper searched lr in {2, 3, 5}e-5, 2-4 epochs, batch
    16 or 32; a small model trained from a small corpus tolerates a larger lr)."""

    epochs: float = 3.0
    batch_size: int = 32
    lr: float = 5e-5
    warmup_fraction: float = 0.1  # of all steps, linear warm-up then linear decay
    weight_decay: float = 0.01
    evals_per_epoch: int = 2
    select: str = "best"  # "best": the weights that scored best on validation; "last": the final ones
    metric: str = "accuracy"  # what "best" means: the highest validation accuracy, or the lowest loss
    min_steps: int = 0  # train at least this many steps, however few the examples (learning curves)
    layer_decay: float = 1.0  # layer-wise learning-rate decay: lr x decay**depth below the head (1: none)
    patience: int | None = None  # early stopping: stop after this many evaluations without a new best (None: never)
    seed: int = 0

    def __post_init__(self):
        checks.positive_float("epochs", self.epochs)
        checks.positive_int("batch_size", self.batch_size)
        checks.positive_float("lr", self.lr)
        checks.fraction("warmup_fraction", self.warmup_fraction, open_high=True)
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}.")
        checks.positive_int("evals_per_epoch", self.evals_per_epoch)
        checks.one_of("select", self.select, ("best", "last"))
        checks.one_of("metric", self.metric, tuple(METRICS))
        checks.non_negative_int("min_steps", self.min_steps)
        checks.fraction("layer_decay", self.layer_decay, open_low=True)
        if self.patience is not None:
            checks.positive_int("patience", self.patience)
        checks.seed(self.seed)

    def train_config(self, n_train: int, progress: bool = False) -> TrainConfig:
        """The engine's configuration for ``n_train`` labelled examples: ``epochs`` passes over them, or
        ``min_steps`` optimizer steps if that is more (32 examples in batches of 32 make one step per epoch:
        a learning curve's smallest sizes would otherwise barely train), evaluated about
        ``epochs * evals_per_epoch`` times either way."""
        if n_train < self.batch_size:
            raise ValueError(f"{n_train} labelled examples are fewer than one batch of {self.batch_size}; use a "
                             f"smaller batch_size (e.g. {max(1, n_train // 2)}) or more examples.")
        per_epoch = n_train // self.batch_size
        by_epochs = max(1, round(self.epochs * per_epoch))
        steps = max(by_epochs, self.min_steps)
        every = max(1, per_epoch // self.evals_per_epoch)
        if steps > by_epochs:  # min_steps decides: as many evaluations as the epochs alone would have had
            every = max(every, steps // max(1, round(self.epochs * self.evals_per_epoch)))
        return TrainConfig(max_steps=steps, batch_size=self.batch_size, lr=self.lr,
                           warmup_steps=round(self.warmup_fraction * steps), weight_decay=self.weight_decay,
                           schedule="linear", max_grad_norm=1.0, eval_every=every, checkpoint_every=every,
                           keep_checkpoints=2, seed=self.seed, progress=progress)


@dataclass
class FineTuneResult:
    """The chosen model, the step it comes from, its validation scores, and the run's log."""

    model: torch.nn.Module
    best_step: int
    validation: dict
    history: list[dict] = field(default_factory=list)
    train_time_s: float = 0.0
    steps: int = 0
    stopped_early: bool = False  # the patience rule ended the run before its last step


class _KeepBest:
    """``on_evaluate`` for the engine: a copy of the weights with the best validation ``metric`` so far
    (ties keep the earlier step), written to ``folder`` too when given, so a resumed run remembers it.
    With ``patience``, it answers ``True`` (stop) once ``patience`` evaluations, ``every`` steps apart,
    have passed since the best; counted from the best step, so a resumed run counts the same."""

    def __init__(self, folder: Path | None, metric: str = "accuracy", patience: int | None = None,
                 every: int = 1):
        self.folder, self.step, self.scores, self.state = folder, 0, {}, None
        self.patience, self.every = patience, every
        self.metric, self.higher_is_better = metric, METRICS[metric]
        if folder is not None and (folder / "best.json").is_file():
            self._load(folder)

    def _load(self, folder: Path) -> None:
        from ..files import IntegrityError, read_json, sha256_file

        saved = read_json(folder / "best.json", IntegrityError, "Delete the output folder and train again.")
        weights = folder / "weights.pt"
        if not weights.is_file() or sha256_file(weights) != saved.get("sha256"):
            raise IntegrityError(f"{weights} is missing or does not match best.json (an interrupted write, or an "
                                 "edit); delete the output folder and train again.")
        self.step, self.scores = saved["step"], saved["scores"]
        self.state = torch.load(weights, map_location="cpu", weights_only=True)

    def __call__(self, step: int, scores: dict, model) -> bool:
        if self.state is not None and not self._better(scores[self.metric], self.scores[self.metric]):
            return self.patience is not None and (step - self.step) // self.every >= self.patience
        self._keep(step, scores, model)
        return False

    def _keep(self, step: int, scores: dict, model) -> None:
        self.step, self.scores = step, dict(scores)
        self.state = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}
        if self.folder is not None:
            from ..files import atomic_write_bytes

            self.folder.mkdir(parents=True, exist_ok=True)
            from ..files import sha256_bytes

            buffer = _to_bytes(self.state)  # the weights first, then the record that vouches for them
            atomic_write_bytes(self.folder / "weights.pt", buffer)
            record = {"step": step, "scores": self.scores, "sha256": sha256_bytes(buffer)}
            atomic_write_bytes(self.folder / "best.json", json.dumps(record).encode())


    def _better(self, new: float, old: float) -> bool:
        return new > old if self.higher_is_better else new < old


def by_length(data: LabelledTexts) -> LabelledTexts:
    """A copy of ``data`` with the examples in order of token count: padded batches of similar lengths waste
    little compute on padding (for evaluation, where the order does not matter)."""
    order = sorted(range(len(data)), key=lambda i: len(data.input_ids[i]))
    return _select(data, order)


def _select(data: LabelledTexts, indices: list[int]) -> LabelledTexts:
    subset = copy.copy(data)
    subset.texts = [data.texts[i] for i in indices]
    subset.input_ids = [data.input_ids[i] for i in indices]
    subset.labels = [data.labels[i] for i in indices]
    return subset


def _to_bytes(state: dict) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def fine_tune(classifier, train_texts: LabelledTexts, validation: LabelledTexts,
              config: FineTuneConfig | None = None, *, output_dir=None, resume=False,
              progress: bool = False) -> FineTuneResult:
    """Train ``classifier`` on ``train_texts``, choosing the weights on ``validation``; return them.

    ``classifier`` is trained in place (build a fresh one per run; a
    :class:`~sslm_utils.finetuning.SentenceClassifier` copies its encoder, so
    the pretrained model is never changed). Which of its parameters train is
    decided beforehand by a strategy (:func:`~sslm_utils.finetuning.apply_strategy`).
    With ``config.select == "best"`` the returned model holds the weights of the
    evaluation with the best validation ``config.metric`` (the highest accuracy,
    or the lowest loss; the split is scored in order of length, which changes
    neither, to pad less); the test split is not
    touched here — score it once, at the end, with :func:`score_classifier`.
    With ``config.patience``, training stops once that many evaluations have
    passed without a new best (early stopping; ``result.stopped_early``).
    ``output_dir`` and ``resume`` are the engine's: checkpoints, exact resume.
    """
    config = config or FineTuneConfig()
    for name, data in (("train_texts", train_texts), ("validation", validation)):
        if not isinstance(data, LabelledTexts):
            raise TypeError(f"{name} must be LabelledTexts(tokenizer, texts, labels), got {type(data).__name__}.")
    if train_texts.n_classes < 2:
        raise ValueError(f"The training labels hold one class only ({train_texts.labels[0]}); a classifier needs "
                         "examples of at least two classes. Draw the subset per class (stratified_subset).")
    if max(train_texts.labels) >= classifier.n_labels:
        raise ValueError(f"label {max(train_texts.labels)} does not fit a classifier of {classifier.n_labels} "
                         "labels; build SentenceClassifier(encoder, n_labels) with one more label per class.")
    engine_config = config.train_config(len(train_texts), progress)
    keep = _KeepBest(Path(output_dir) / BEST_DIR if output_dir is not None else None, config.metric,
                     config.patience, engine_config.eval_every)
    scales = layerwise_lr_scales(classifier, config.layer_decay) if config.layer_decay < 1 else None
    result = train(classifier, train_texts, config=engine_config,
                   eval_data=by_length(validation), collate_fn=PadCollator(train_texts.pad_id),
                   compute_metrics=accuracy_metrics, output_dir=output_dir, resume=resume, on_evaluate=keep,
                   lr_scales=scales)
    model = result.model
    if config.select == "best" and keep.state is not None:
        model.load_state_dict(keep.state)
    step = keep.step if config.select == "best" else result.steps
    scores = keep.scores if config.select == "best" else result.last_eval
    return FineTuneResult(model, step, {k: v for k, v in scores.items() if k not in ("split", "step")},
                          result.history, result.train_time_s, result.steps, result.stopped_early)


@dataclass(frozen=True)
class EarlyStop:
    """Where a patience rule stops a run, and the evaluation whose weights it keeps."""

    best_step: int  # the evaluation with the best validation metric before the stop
    stop_step: int  # the evaluation after which training stops (the run's last one if the rule never fires)
    stopped: bool  # whether the rule fired before the run's last evaluation
    evaluations: int  # evaluations run up to the stop, of ...
    of: int  # ... the run's evaluations


def early_stopping_point(history: list[dict], *, metric: str = "loss", patience: int = 2) -> EarlyStop:
    """Where early stopping with ``patience`` would have stopped a finished run, read from its log.

    The rule: stop after ``patience`` evaluations in a row without a new best
    validation ``metric`` (lowest loss or highest accuracy; a tie is no
    improvement), and keep the best weights seen until then. :func:`fine_tune`
    with ``select="best"`` keeps the best weights of the *whole* run (model
    selection); a patience rule also saves the steps after ``stop_step``, and may
    keep an earlier evaluation if the metric recovers later.
    """
    checks.one_of("metric", metric, tuple(METRICS))
    checks.positive_int("patience", patience)
    evals = [row for row in history if row.get("split") == "eval"]
    if not evals or any(metric not in row for row in evals):
        raise ValueError(f"history holds no evaluations with {metric!r}; pass the history of a run made with "
                         "validation data (FineTuneResult.history or TrainResult.history).")
    higher = METRICS[metric]
    best, since_best = 0, 0
    for i, row in enumerate(evals[1:], start=1):
        new, old = row[metric], evals[best][metric]
        if (new > old) if higher else (new < old):
            best, since_best = i, 0
        else:
            since_best += 1
        if since_best == patience:
            return EarlyStop(evals[best]["step"], row["step"], i < len(evals) - 1, i + 1, len(evals))
    return EarlyStop(evals[best]["step"], evals[-1]["step"], False, len(evals), len(evals))


@dataclass(frozen=True)
class ClassifierScore:
    """Accuracy on a labelled split with its binomial standard error, and each example's correctness (for
    paired comparisons of two models on the same split)."""

    accuracy: float
    standard_error: float
    correct: torch.Tensor  # (n,) bool

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "correct"}


@torch.no_grad()
def score_classifier(model, data: LabelledTexts, batch_size: int = 128) -> ClassifierScore:
    """Accuracy of ``model`` on ``data``, with its standard error and each example's correctness (in the order
    of ``data``); the model is put in eval mode. Batches group texts of similar length, to pad less."""
    collate = PadCollator(data.pad_id)
    order = sorted(range(len(data)), key=lambda i: len(data.input_ids[i]))
    correct = torch.zeros(len(data), dtype=torch.bool)
    device = next(model.parameters()).device
    with eval_mode(model):
        for start in range(0, len(data), batch_size):
            rows = order[start:start + batch_size]
            batch = collate([data[i] for i in rows])
            batch = {k: v.to(device) for k, v in batch.items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            correct[rows] = (logits.argmax(-1) == batch["labels"]).cpu()
    accuracy = float(correct.float().mean())
    return ClassifierScore(accuracy, binomial_standard_error(accuracy, len(correct)), correct)


def stratified_subset(data: LabelledTexts, n: int, seed: int = 0) -> LabelledTexts:
    """``n`` examples of ``data`` drawn without replacement with ``seed``, the classes in their shares
    (rounded; at least one example of each class), so a small subset never lacks a class."""
    checks.positive_int("n", n)
    checks.seed(seed)
    if n > len(data):
        raise ValueError(f"n={n} is more than the {len(data)} labelled examples; pass n <= {len(data)}.")
    by_class: dict[int, list[int]] = {}
    for i, y in enumerate(data.labels):
        by_class.setdefault(y, []).append(i)
    if n < len(by_class):
        raise ValueError(f"n={n} cannot hold one example of each of the {len(by_class)} classes; pass n >= "
                         f"{len(by_class)}.")
    gen = torch.Generator().manual_seed(seed)
    classes = sorted(by_class)
    quotas = {c: max(1, round(n * len(by_class[c]) / len(data))) for c in classes}
    quotas[classes[-1]] += n - sum(quotas.values())  # make the total exactly n
    chosen = []
    for c in classes:
        order = torch.randperm(len(by_class[c]), generator=gen)[: quotas[c]]
        chosen += [by_class[c][i] for i in order.tolist()]
    chosen = [chosen[i] for i in torch.randperm(len(chosen), generator=gen).tolist()]
    return _select(data, chosen)
