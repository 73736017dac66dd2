"""Linear probes: how much a frozen encoder's features already know about a task.

A probe freezes the pretrained network, turns each text into one vector and
fits the simplest possible classifier — logistic regression — on top. Its
accuracy measures what pretraining put into the features, not what
fine-tuning could add (Alain & Bengio, 2017). The book uses probes to compare
pretraining objectives at equal compute, and later to pick features for
downstream tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .. import checks
from ..engine.eval_loop import eval_mode
from .statistics import binomial_standard_error

POOLINGS = ("mean", "cls")


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string; wrap it in a list.")
    texts = list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("texts must be a non-empty list of strings.")
    return texts


def _encoder(model):
    """The bare encoder of a BERT-like model (``BertForPreTraining`` → ``.bert``), or the model itself."""
    base = getattr(model, "base_model", model)
    return base


def sentence_features(model, tokenizer, texts: Sequence[str], *, pooling: str = "mean", batch_size: int = 64,
                      max_length: int | None = None, layer: int = -1) -> np.ndarray:
    """One vector per text from one of the encoder's layers (default: the last), shape ``(len(texts), hidden)``.

    ``pooling="mean"`` averages the hidden states of the real tokens (padding
    excluded); ``"cls"`` takes the first position, which BERT's sentence task
    trains and an MLM-only model does not — so mean pooling is the fair
    choice when comparing objectives. Texts longer than ``max_length``
    (default: the model's position limit) are truncated. ``layer`` counts as
    ``hidden_states`` does: 0 is the embedding layer's output, 1 the first
    transformer layer's, -1 the last; a pretraining objective shapes the top
    layers most, so a lower layer can hold more of what a task needs.
    """
    encoder = _encoder(model)
    n_layers = encoder.config.num_hidden_layers
    if isinstance(layer, bool) or not isinstance(layer, int) or not -(n_layers + 1) <= layer <= n_layers:
        raise ValueError(f"layer must be an int from {-(n_layers + 1)} to {n_layers} (0: the embeddings, "
                         f"{n_layers} or -1: the last of this encoder's {n_layers} layers), got {layer!r}.")
    return _pooled_layers(model, tokenizer, texts, pooling, batch_size, max_length, layer)[0]


def layer_features(model, tokenizer, texts: Sequence[str], *, pooling: str = "mean", batch_size: int = 64,
                   max_length: int | None = None) -> np.ndarray:
    """Every layer's pooled vectors in one pass over the texts: shape ``(n_layers + 1, len(texts), hidden)``,
    index 0 the embedding layer's output (as :func:`sentence_features` with ``layer=i`` gives each of them,
    at the cost of one pass instead of ``n_layers + 1``)."""
    return _pooled_layers(model, tokenizer, texts, pooling, batch_size, max_length, None)


@torch.no_grad()
def _pooled_layers(model, tokenizer, texts, pooling: str, batch_size: int, max_length: int | None,
                   layer: int | None) -> np.ndarray:
    """``(k, len(texts), hidden)``: the pooled vectors of ``layer`` (k = 1), or of every layer (``None``)."""
    checks.one_of("pooling", pooling, POOLINGS)
    checks.positive_int("batch_size", batch_size)
    texts = _check_texts(texts)
    encoder = _encoder(model)
    limit = getattr(encoder.config, "max_position_embeddings", None)
    max_length = max_length or limit or 512
    device = next(encoder.parameters()).device
    # batch texts of similar length together: far less padding to push through the encoder
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    chunks = []
    with eval_mode(encoder):
        for start in range(0, len(texts), batch_size):
            batch = [texts[i] for i in order[start : start + batch_size]]
            enc = tokenizer(batch, padding=True, truncation=True, max_length=max_length,
                            return_tensors="pt").to(device)
            checks.ids_fit_model("the encoded texts", enc["input_ids"], encoder.config)
            out = encoder(**enc, output_hidden_states=layer != -1)
            if layer == -1:
                layers = [out.last_hidden_state]
            else:
                layers = list(out.hidden_states) if layer is None else [out.hidden_states[layer]]
            hidden = torch.stack(layers)  # (k, batch, seq, hidden)
            if pooling == "cls":
                pooled = hidden[:, :, 0]  # (k, batch, hidden)
            else:
                mask = enc["attention_mask"][None, :, :, None].to(hidden.dtype)  # (1, batch, seq, 1)
                pooled = (hidden * mask).sum(2) / mask.sum(2).clamp(min=1)  # (k, batch, hidden)
            chunks.append(pooled.float().cpu())
    pooled = torch.cat(chunks, dim=1)  # (k, n, hidden), in length order
    features = torch.empty_like(pooled)
    features[:, order] = pooled  # back to the order of ``texts``
    return features.numpy()


@dataclass(frozen=True)
class ProbeResult:
    """Accuracy of a linear probe on held-out examples, with its binomial standard error."""

    accuracy: float
    n_test: int
    train_accuracy: float
    # (n_test,) bool: each test example right or not, for paired comparisons
    correct: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def standard_error(self) -> float:
        """sqrt(p(1-p)/n): how much the accuracy would move with another test sample of the same size."""
        return binomial_standard_error(self.accuracy, self.n_test)


def linear_probe(train_features, train_labels, test_features, test_labels, *, c: float = 1.0,
                 max_iter: int = 2000) -> ProbeResult:
    """Standardise the features, fit L2-regularised logistic regression, score on the test set.

    Standardising first puts every encoder on the same footing (their feature
    scales differ), and the fixed regularisation ``c`` keeps the probe simple
    enough that its accuracy reflects the features rather than the probe.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, x_test = np.asarray(train_features), np.asarray(test_features)
    y_train, y_test = np.asarray(train_labels), np.asarray(test_labels)
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim != 2:
            raise ValueError(f"{name}_features must be 2-D (examples, features), got shape {x.shape}.")
        if len(x) != len(y):
            raise ValueError(f"{name}_features has {len(x)} rows but {name}_labels has {len(y)}; they must match.")
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"train and test features differ in width: {x_train.shape[1]} vs {x_test.shape[1]}.")
    if len(np.unique(y_train)) < 2:
        raise ValueError("train_labels has a single class; a probe needs at least two.")
    if not c > 0:
        raise ValueError(f"c (inverse regularisation strength) must be positive, got {c!r}.")
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    probe.fit(x_train, y_train)
    correct = probe.predict(x_test) == y_test  # (n_test,)
    return ProbeResult(accuracy=float(correct.mean()), n_test=len(y_test),
                       train_accuracy=float(probe.score(x_train, y_train)), correct=correct)
