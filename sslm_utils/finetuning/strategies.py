"""Fine-tuning strategies: which parameters of a pretrained encoder train, and how many they are.

A strategy here only sets ``requires_grad`` (and, for adapters and LoRA,
inserts the few new modules that will train); the training loop is the
engine's, unchanged, because its optimizer takes exactly the parameters
that require a gradient. Roughly from most to fewest trainable parameters
(adapters and LoRA move with their width and rank):

- ``full``: everything trains (Devlin et al., 2019).
- ``top_k`` / ``bottom_k``: only the ``k`` layers next to the head (or next to
  the embeddings) and the head train.
- ``adapters``: small bottleneck modules inside every layer, the LayerNorms and
  the head train (Houlsby et al., 2019).
- ``lora``: a low-rank update of chosen weight matrices and the head train
  (Hu et al., 2022).
- ``bitfit``: only the bias terms and the head train (Ben Zaken et al., 2022).
- ``feature_extraction``: the encoder is frozen; only the head trains.

Every strategy first decides every parameter's flag, so applying one after
another gives the second strategy, not a mixture. Freezing stops gradients,
not dropout: a frozen encoder still drops out in ``model.train()`` mode.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from .. import checks
from .adapters import add_adapters
from .lora import add_lora
from .parts import encoder_layers, encoder_of, head_parameters

WHERE = ("top", "bottom")


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` numbers of parameters; a weight shared by two modules counts once."""
    params = list(model.parameters())  # already deduplicated by identity
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return trainable, sum(p.numel() for p in params)


@dataclass(frozen=True)
class TrainableReport:
    """How many of a model's parameters train: the column of chapter 4's comparison table."""

    trainable: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.trainable / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.trainable:,} of {self.total:,} parameters train ({self.percent:.2f} %)"


def trainable_report(model: nn.Module) -> TrainableReport:
    """The trainable and total parameter counts of ``model``, with the percentage that trains."""
    return TrainableReport(*count_parameters(model))


def freeze(model: nn.Module) -> nn.Module:
    """Stop every parameter of ``model`` from training (returns ``model``, for chaining)."""
    return model.requires_grad_(False)


def _train_head(model: nn.Module) -> None:
    for p in head_parameters(model):
        p.requires_grad_(True)


def full(model: nn.Module) -> nn.Module:
    """Every parameter trains: the baseline every cheaper strategy is measured against."""
    return model.requires_grad_(True)


def feature_extraction(model: nn.Module) -> nn.Module:
    """The encoder is frozen and only the task head trains: a linear probe, trained with the engine."""
    if not head_parameters(model):
        raise ValueError(
            f"{type(model).__name__} has no task head, so feature extraction would train nothing. Wrap the encoder "
            "in a head first: SentenceClassifier(encoder, n_labels)."
        )
    freeze(model)
    _train_head(model)
    return model


def train_layers(model: nn.Module, k: int, where: str = "top") -> nn.Module:
    """Only ``k`` encoder layers train — the ``top`` ones (next to the head) or the ``bottom`` ones (next to the
    embeddings) — plus the task head; the embeddings and the other layers are frozen.

    The top layers are the most task-specific in a pretrained BERT, so
    training them is the usual partial fine-tuning; ``bottom`` is the
    control that shows it (a gradient must still pass through every frozen
    layer above the bottom ones, so it saves less memory, too).
    """
    checks.one_of("where", where, WHERE)
    layers = encoder_layers(model)
    n = len(layers)
    checks.positive_int("k", k, "Pass the number of layers to train, at least 1 (or use the 'feature_extraction' "
                                "strategy to train none).")
    if k > n:
        raise ValueError(f"k={k}, but the encoder has only {n} layer{'s' * (n != 1)}; pass k between 1 and {n} "
                         f"(k={n} trains every layer: the 'full' strategy without the embeddings).")
    chosen = layers[n - k:] if where == "top" else layers[:k]
    freeze(model)
    chosen.requires_grad_(True)
    _train_head(model)
    return model


def top_k(model: nn.Module, k: int) -> nn.Module:
    """The ``k`` layers next to the head, and the head, train."""
    return train_layers(model, k, "top")


def bottom_k(model: nn.Module, k: int) -> nn.Module:
    """The ``k`` layers next to the embeddings, and the head, train."""
    return train_layers(model, k, "bottom")


def bitfit(model: nn.Module) -> nn.Module:
    """Only the encoder's bias terms (LayerNorm biases included) and the task head train (Ben Zaken et al., 2022).

    Biases are about 0.1 % of BERT's parameters, yet on small and medium
    datasets training them alone comes close to full fine-tuning.
    """
    biases = [p for name, p in encoder_of(model).named_parameters() if name.endswith("bias")]
    if not biases:
        raise ValueError(f"{type(model).__name__}'s encoder has no bias terms, so BitFit would train only the head; "
                         "build the encoder with biases, or use the 'feature_extraction' strategy.")
    freeze(model)
    for p in biases:
        p.requires_grad_(True)
    _train_head(model)
    return model


def adapters(model: nn.Module, bottleneck: int) -> nn.Module:
    """Houlsby adapters of width ``bottleneck`` in every layer; they, the LayerNorms and the head train."""
    return add_adapters(model, bottleneck)


def lora(model: nn.Module, r: int, alpha: float, targets: tuple[str, ...] = ("query", "value"),
         dropout: float = 0.0) -> nn.Module:
    """A rank-``r`` update of the ``targets`` weight matrices in every layer; it and the head train."""
    return add_lora(model, r, alpha, targets=targets, dropout=dropout)


STRATEGIES: dict[str, Callable[..., nn.Module]] = {
    "full": full,
    "top_k": top_k,
    "bottom_k": bottom_k,
    "adapters": adapters,
    "lora": lora,
    "bitfit": bitfit,
    "feature_extraction": feature_extraction,
}


def apply_strategy(model: nn.Module, name: str, **kwargs) -> nn.Module:
    """Apply the strategy ``name`` from :data:`STRATEGIES` to ``model`` in place and return it.

    ``kwargs`` are the strategy's own arguments: ``k`` for ``top_k`` and
    ``bottom_k``, ``bottleneck`` for ``adapters``, ``r`` and ``alpha`` (and
    optionally ``targets``, ``dropout``) for ``lora``.
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; the strategies are {', '.join(STRATEGIES)}.")
    strategy = STRATEGIES[name]
    signature = inspect.signature(strategy)
    try:
        signature.bind(model, **kwargs)
    except TypeError:
        params = list(signature.parameters.values())[1:]
        takes = ", ".join(p.name if p.default is p.empty else f"{p.name}={p.default!r}" for p in params)
        needed = "".join(f", {p.name}=..." for p in params if p.default is p.empty)
        raise TypeError(
            f"Strategy {name!r} takes ({takes}), got {kwargs or 'nothing'}. Call apply_strategy(model, {name!r}"
            f"{needed})."
        ) from None
    return strategy(model, **kwargs)
