"""Training compute: the floating-point operations a run cost, counted from the model's shape.

A training step costs about three forward passes: the forward itself, and a
backward pass that computes gradients with respect to both the activations and
the weights, each as expensive as the forward. The forward pass is counted
matmul by matmul (an ``a x b`` by ``b x c`` product costs ``2abc``): per layer
the four attention projections, the two feed-forward matrices, and the two
products of attention itself (scores ``Q K^T`` and the weighted sum ``A V``);
then the output head at the positions where it runs. Softmax, LayerNorm,
activations and the optimizer add a few percent and are left out, as in
Kaplan et al.'s ``C = 6 N D``, which this count refines with the attention
term and the head. ``benchmarks/engine_vs_trainer.py`` counts a BERT step the
same way, and its test checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import checks


@dataclass(frozen=True)
class ModelShape:
    """What the FLOP count needs to know about a Transformer."""

    d_model: int
    d_ff: int
    n_layers: int
    vocab_size: int
    head_transform: bool  # BERT's MLM head has a d x d transform before the vocabulary matrix; GPT's has none

    def __post_init__(self):
        for name in ("d_model", "d_ff", "n_layers", "vocab_size"):
            checks.positive_int(name, getattr(self, name))

    @classmethod
    def of(cls, config) -> ModelShape:
        """The shape of a ``transformers`` BERT or GPT-2 configuration."""
        if hasattr(config, "n_embd"):  # GPT2Config
            return cls(config.n_embd, config.n_inner or 4 * config.n_embd, config.n_layer, config.vocab_size, False)
        if hasattr(config, "intermediate_size"):  # BertConfig and relatives
            return cls(config.hidden_size, config.intermediate_size, config.num_hidden_layers, config.vocab_size,
                       True)
        raise TypeError(f"Expected a BERT or GPT-2 configuration, got {type(config).__name__}.")

    def non_embedding_parameters(self) -> int:
        """Kaplan et al.'s N: the weights of the layers (4 d^2 in attention, 2 d f in the feed-forward)."""
        return self.n_layers * (4 * self.d_model**2 + 2 * self.d_model * self.d_ff)


def forward_flops(shape: ModelShape, seq_len: int, head_positions: float) -> float:
    """Matmul FLOPs of one forward pass over one sequence of ``seq_len`` positions, with the output head
    (vocabulary) at ``head_positions`` of them: all of them for a causal LM, the masked ones for a BERT
    whose head runs at masked positions only."""
    checks.positive_int("seq_len", seq_len)
    if not 0 <= head_positions <= seq_len:
        raise ValueError(f"head_positions must be between 0 and seq_len ({seq_len}), got {head_positions!r}.")
    d, f, n, L = shape.d_model, shape.d_ff, shape.n_layers, seq_len
    layers = n * (2 * L * (4 * d * d + 2 * d * f) + 4 * L * L * d)  # projections, FFN, QK^T and AV
    head = head_positions * ((2 * d * d if shape.head_transform else 0) + 2 * d * shape.vocab_size)
    return float(layers + head)


def training_flops(shape: ModelShape, *, sequences: int, seq_len: int, head_positions: float) -> float:
    """FLOPs of training on ``sequences`` sequences of ``seq_len`` positions: three forward passes each."""
    checks.positive_int("sequences", sequences)
    return 3.0 * sequences * forward_flops(shape, seq_len, head_positions)


def kaplan_flops(shape: ModelShape, tokens: float) -> float:
    """Kaplan et al.'s estimate ``6 N D``, with N the non-embedding parameters and D the training tokens."""
    if not tokens > 0:
        raise ValueError(f"tokens must be positive, got {tokens!r}.")
    return 6.0 * shape.non_embedding_parameters() * tokens
