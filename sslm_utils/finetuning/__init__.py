"""Step 8: fine-tuning a pretrained encoder: a classifier head, which parameters train, and what each choice costs.

Its modules, in the order the book teaches them (every public name is importable
from the subpackage too):

- ``heads``: a sentence classifier on a pretrained encoder: pool the last layer, dropout, one linear layer.
- ``parts``: the parts of a model that fine-tuning strategies choose between: the encoder, its layers, the task
  head.
- ``strategies``: fine-tuning strategies: which parameters of a pretrained encoder train, and how many they are.
- ``adapters``: Houlsby adapters: a small bottleneck inside every layer trains, the pretrained weights stay as they
  are.
- ``lora``: LoRA: train a low-rank update of chosen weight matrices, keep the pretrained weights frozen.
- ``cloze``: cloze-style classification: let the MLM head fill a blank with a word that names the label.
- ``prompts``: prompt tuning: learn a few input vectors, keep every pretrained weight frozen.
- ``memory``: what a training step costs in memory: the state a model keeps between steps, and the peak during one.
- ``training``: fine-tuning a sentence classifier with the book's engine: labelled texts in, the model chosen on
  validation out.
- ``task_weights``: what one task has to store: the parameters that trained, and nothing the pretrained model
  already holds.
- ``comparison``: chapter 4's comparison of strategies: one row per strategy, every column measured on the same
  run.
- ``adaptive``: continued pretraining: more masked-LM training on a task's own text before fine-tuning (TAPT
  and DAPT).
- ``curves``: learning curves: test accuracy against the number of labelled examples, for several methods and seeds.
"""

from .adapters import (
    AdapterSlot,
    HoulsbyAdapter,
    adapter_parameter_count,
    add_adapters,
)
from .adaptive import (
    MaskedTextCollator,
    UnlabelledTexts,
    continue_pretraining,
    held_out_masked_lm,
    masked_lm_loss,
    masked_lm_metrics,
    masked_lm_with_encoder,
)
from .cloze import (
    ClozeClassifier,
    ClozeTexts,
    verbalizer_ids,
    verbalizer_logits,
)
from .comparison import (
    STRATEGIES_COMPARED,
    Strategy,
    StrategyRun,
    inputs_for,
    run_strategy,
    strategy_named,
)
from .curves import (
    learning_curve,
    paired_gain,
    summarize_curve,
)
from .heads import (
    POOLINGS,
    SentenceClassifier,
    pool,
)
from .lora import (
    LoRALinear,
    add_lora,
    lora_parameter_count,
    merge_lora,
)
from .memory import (
    StepMemory,
    peak_bytes,
    state_bytes,
    training_step_memory,
)
from .parts import (
    encoder_layers,
    encoder_of,
    head_parameters,
    layerwise_lr_scales,
)
from .prompts import SoftPromptClassifier
from .strategies import (
    STRATEGIES,
    TrainableReport,
    apply_strategy,
    bitfit,
    count_parameters,
    feature_extraction,
    freeze,
    train_layers,
    trainable_report,
)
from .task_weights import (
    load_trainable,
    save_trainable,
    trainable_state,
)
from .training import (
    ClassifierScore,
    EarlyStop,
    FineTuneConfig,
    FineTuneResult,
    LabelledTexts,
    PadCollator,
    accuracy_metrics,
    by_length,
    early_stopping_point,
    fine_tune,
    score_classifier,
    stratified_subset,
)

__all__ = [
    "POOLINGS",
    "pool",
    "SentenceClassifier",
    "encoder_of",
    "encoder_layers",
    "head_parameters",
    "layerwise_lr_scales",
    "count_parameters",
    "TrainableReport",
    "trainable_report",
    "freeze",
    "feature_extraction",
    "train_layers",
    "bitfit",
    "STRATEGIES",
    "apply_strategy",
    "HoulsbyAdapter",
    "AdapterSlot",
    "adapter_parameter_count",
    "add_adapters",
    "LoRALinear",
    "lora_parameter_count",
    "add_lora",
    "merge_lora",
    "verbalizer_ids",
    "verbalizer_logits",
    "ClozeTexts",
    "ClozeClassifier",
    "SoftPromptClassifier",
    "StepMemory",
    "peak_bytes",
    "state_bytes",
    "training_step_memory",
    "LabelledTexts",
    "PadCollator",
    "accuracy_metrics",
    "FineTuneConfig",
    "EarlyStop",
    "FineTuneResult",
    "early_stopping_point",
    "fine_tune",
    "UnlabelledTexts",
    "MaskedTextCollator",
    "masked_lm_loss",
    "masked_lm_metrics",
    "continue_pretraining",
    "held_out_masked_lm",
    "masked_lm_with_encoder",
    "ClassifierScore",
    "score_classifier",
    "stratified_subset",
    "by_length",
    "trainable_state",
    "save_trainable",
    "load_trainable",
    "Strategy",
    "STRATEGIES_COMPARED",
    "strategy_named",
    "inputs_for",
    "StrategyRun",
    "run_strategy",
    "learning_curve",
    "summarize_curve",
    "paired_gain",
]
