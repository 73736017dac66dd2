"""Step 6: the book's models, trained once by the recipes of chapters 3 and cached.

Its modules, in the order the book teaches them (every public name is importable
from the subpackage too):

- ``cache``: one cache for the book's trained models, and the one train-or-load helper every chapter uses.
- ``bert``: the book's BERT (lesson 3.1): from the speeches to a cached, pretrained ``BertForPreTraining``.
- ``gpt``: the book's GPT (lesson 3.2): causal language modelling on the same speeches, with the same engine.
- ``reference``: the reference models shipped with the package: loaded only after every file matches its SHA-256.
- ``minilm``: a real pretrained encoder for comparison: sentence-transformers' all-MiniLM-L6-v2, fetched by package
  name.
"""

from .bert import (
    HUB_BERTS,
    VALIDATION_SEED,
    PretrainedBert,
    PretrainingData,
    bert_cache_dir,
    bert_tokenizer,
    held_out_pairs,
    pretrain_config,
    pretrained_bert,
    pretraining_data,
    pretraining_documents,
    train_bert,
)
from .cache import (
    PretrainedModel,
    cache_key,
    cached_tokenizer,
    load_cached,
    model_dir,
    run_info,
    store_trained,
    train_or_load,
)
from .gpt import (
    CausalLMData,
    PretrainedGPT,
    causal_lm_data,
    gpt_cache_dir,
    gpt_tokenizer,
    gpt_train_config,
    new_gpt,
    pretrained_gpt,
    train_gpt,
)
from .minilm import (
    MINILM_WEIGHTS_SHA256,
    load_minilm,
    minilm_dir,
)
from .reference import (
    CARD_FILE,
    LOG_FILE,
    REFERENCE_ROOT,
    RUN_INFO_FILE,
    export_reference,
    load_reference,
    reference_names,
)

__all__ = [
    "load_minilm",
    "minilm_dir",
    "MINILM_WEIGHTS_SHA256",
    "LOG_FILE",
    "CARD_FILE",
    "RUN_INFO_FILE",
    "export_reference",
    "REFERENCE_ROOT",
    "load_reference",
    "reference_names",
    "PretrainedModel",
    "cache_key",
    "model_dir",
    "load_cached",
    "run_info",
    "store_trained",
    "train_or_load",
    "cached_tokenizer",
    "PretrainingData",
    "bert_tokenizer",
    "pretraining_documents",
    "pretraining_data",
    "held_out_pairs",
    "pretrain_config",
    "HUB_BERTS",
    "VALIDATION_SEED",
    "PretrainedBert",
    "bert_cache_dir",
    "train_bert",
    "pretrained_bert",
    "gpt_tokenizer",
    "CausalLMData",
    "causal_lm_data",
    "gpt_train_config",
    "PretrainedGPT",
    "gpt_cache_dir",
    "new_gpt",
    "train_gpt",
    "pretrained_gpt",
]
