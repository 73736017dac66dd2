"""Step 7: what a model is worth: perplexity, baselines, statistics, probes and predictions.

Its modules, in the order the book teaches them (every public name is importable
from the subpackage too):

- ``perplexity``: perplexity: the one number that compares language models on the same held-out tokens.
- ``baselines``: the simple baselines a model must beat before the book says it learned anything.
- ``statistics``: how sure a measured difference is: standard errors for accuracies and for paired comparisons.
- ``probes``: linear probes: how much a frozen encoder's features already know about a task.
- ``predictions``: what a trained model predicts: masked words, next-token probabilities, continuations.
- ``masked_lm``: scoring a masked LM at the positions it could not see, against the unigram on the same ones.
- ``cloze``: fill-mask probes on held-out sentences fixed in advance.
- ``bias``: a fill-mask probe of gender association, normalised so that it does not measure word frequency.
"""

from .baselines import (
    kneser_ney_log_probs,
    kneser_ney_perplexities,
    log_vocab,
    ngram_log_probs,
    tfidf_features,
    unigram_cross_entropy,
    unigram_log_probs,
)
from .bias import (
    BIAS_TEMPLATES,
    first_mask_log_probs,
    gender_association,
)
from .cloze import (
    FILL_MASK_PROBES,
    ClozeProbe,
    cloze_table,
)
from .masked_lm import (
    held_out_mlm_batches,
    masked_lm_report,
    mlm_position_scores,
    real_token_ids,
)
from .perplexity import (
    perplexity,
)
from .predictions import (
    fill_mask,
    generate_text,
    masked_token_nll,
    token_log_probs,
    window_lm_log_probs,
)
from .probes import (
    POOLINGS,
    ProbeResult,
    layer_features,
    linear_probe,
    sentence_features,
)
from .statistics import (
    binomial_standard_error,
    mean_and_standard_error,
    paired_difference,
)

__all__ = [
    "perplexity",
    "log_vocab",
    "unigram_log_probs",
    "unigram_cross_entropy",
    "ngram_log_probs",
    "kneser_ney_log_probs",
    "kneser_ney_perplexities",
    "tfidf_features",
    "binomial_standard_error",
    "paired_difference",
    "mean_and_standard_error",
    "POOLINGS",
    "layer_features",
    "sentence_features",
    "ProbeResult",
    "linear_probe",
    "fill_mask",
    "masked_token_nll",
    "window_lm_log_probs",
    "token_log_probs",
    "generate_text",
    "held_out_mlm_batches",
    "mlm_position_scores",
    "masked_lm_report",
    "real_token_ids",
    "ClozeProbe",
    "FILL_MASK_PROBES",
    "cloze_table",
    "BIAS_TEMPLATES",
    "first_mask_log_probs",
    "gender_association",
]
