"""Step 3: the models themselves (n-gram and fixed-window LMs, attention and transformer blocks).

Its modules, in the order the book teaches them (every public name is importable
from the subpackage too):

- ``ngram``: interpolated Kneser-Ney n-gram language models (Kneser & Ney, 1995; Chen & Goodman, 1999), lesson 1.1.
- ``window_lm``: bengio et al.'s (2003) fixed-window neural language model, and the short loop that trains it
  (lesson 1.1).
- ``attention``: chapter 2's attention building blocks, one tested version for every later chapter.
- ``transformer``: the rest of a transformer layer (chapter 2): positions, the feed-forward sublayer, encoder and
  decoder layers.
- ``interop``: our layers and the libraries' layers, made equal: copy weights across and compare outputs (chapter
  2).
- ``configs``: the ``transformers`` configurations of the book's BERT, GPT and ELECTRA, sized by the profile.
"""

from .attention import (
    MultiHeadAttention,
    causal_mask,
    merge_heads,
    padding_mask,
    scaled_dot_product_attention,
    split_heads,
    to_additive_mask,
)
from .configs import (
    bert_config,
    electra_configs,
    gpt_config,
)
from .interop import (
    bert_config_for,
    copy_from_bert_layer,
    copy_from_torch_mha,
    copy_to_bert_layer,
)
from .ngram import (
    KneserNeyLM,
)
from .transformer import (
    ACTIVATIONS,
    DecoderLayer,
    EncoderLayer,
    FeedForward,
    sinusoidal_positions,
    sinusoidal_shift_matrix,
)
from .window_lm import (
    FixedWindowLM,
    context_windows,
    train_window_lm,
)

__all__ = [
    "KneserNeyLM",
    "context_windows",
    "FixedWindowLM",
    "train_window_lm",
    "scaled_dot_product_attention",
    "causal_mask",
    "padding_mask",
    "to_additive_mask",
    "split_heads",
    "merge_heads",
    "MultiHeadAttention",
    "ACTIVATIONS",
    "FeedForward",
    "EncoderLayer",
    "DecoderLayer",
    "sinusoidal_positions",
    "sinusoidal_shift_matrix",
    "copy_from_bert_layer",
    "copy_to_bert_layer",
    "copy_from_torch_mha",
    "bert_config_for",
    "bert_config",
    "gpt_config",
    "electra_configs",
]
