"""Step 4: the self-supervised objectives, each a transformation of unlabelled text into (input, target).

Its modules, in the order the book teaches them (every public name is importable
from the subpackage too):

- ``labels``: the label value every loss in the book skips: positions that are not predicted.
- ``masking``: masked language modelling's input side: BERT's 15 % masking with the 80/10/10 rule (lesson 3.1).
- ``pairs``: sentence pairs for BERT's sentence-level task (lesson 3.1) and its variants (lesson 3.3).
- ``bert``: bERT's losses and held-out metrics: masked-LM cross-entropy, plus NSP or SOP when the objective has one.
- ``causal``: causal language modelling (lesson 3.2): pack documents into blocks and predict every next token.
- ``span_corruption``: span corruption (T5, Raffel et al., 2020) as an exact data transformation (lesson 3.4).
- ``electra``: replaced-token detection (ELECTRA, Clark et al., 2020), as exact transformations and a tiny model
  (lesson 3.4).
"""

from .bert import (
    SentenceTaskFrom,
    mlm_breakdown,
    mlm_only_loss,
    mlm_only_metrics,
    objective_functions,
    pretraining_logits,
    pretraining_loss,
    pretraining_metrics,
)
from .causal import (
    EOT,
    BlockDataset,
    causal_lm_loss,
    causal_lm_metrics,
    pack_documents,
    shift_for_next_token,
)
from .electra import (
    ORIGINAL,
    REPLACED,
    Electra,
    electra_forward,
    electra_loss,
    electra_metrics,
    new_electra,
    replace_tokens,
    sample_from_logits,
)
from .labels import (
    IGNORE_INDEX,
)
from .masking import (
    POSITION_KINDS,
    MLMCollator,
    chosen_position_kinds,
    mask_tokens,
    special_and_candidate_ids,
)
from .pairs import (
    IS_NEXT,
    NOT_NEXT,
    OBJECTIVES,
    PairDataset,
    build_pair_examples,
    check_objective,
    document_pairs,
    encode_pair,
    truncate_pair,
)
from .span_corruption import (
    random_partition,
    span_corrupt,
    span_noise_mask,
)

__all__ = [
    "mlm_breakdown",
    "chosen_position_kinds",
    "POSITION_KINDS",
    "IGNORE_INDEX",
    "mask_tokens",
    "special_and_candidate_ids",
    "MLMCollator",
    "IS_NEXT",
    "NOT_NEXT",
    "OBJECTIVES",
    "check_objective",
    "encode_pair",
    "truncate_pair",
    "document_pairs",
    "PairDataset",
    "build_pair_examples",
    "pretraining_logits",
    "pretraining_loss",
    "SentenceTaskFrom",
    "mlm_only_loss",
    "mlm_only_metrics",
    "objective_functions",
    "pretraining_metrics",
    "EOT",
    "pack_documents",
    "BlockDataset",
    "shift_for_next_token",
    "causal_lm_loss",
    "causal_lm_metrics",
    "random_partition",
    "span_noise_mask",
    "span_corrupt",
    "ORIGINAL",
    "REPLACED",
    "replace_tokens",
    "sample_from_logits",
    "Electra",
    "new_electra",
    "electra_forward",
    "electra_loss",
    "electra_metrics",
]
