"""The book's BERT (lesson 3.1): from the speeches to a cached, pretrained ``BertForPreTraining``.

The recipe, in the order the data flows: a WordPiece tokenizer trained on the
training speeches (:func:`bert_tokenizer`); the speeches as sentences of ids
(:func:`pretraining_documents`); NSP, SOP or plain pairs
(:func:`pretraining_data`); the training configuration (:func:`pretrain_config`);
and :func:`train_bert` / :func:`pretrained_bert`, which train it with the engine
or load it from the cache. One ``seed`` decides everything random in a run:
the training pairs, the initial weights, the data order and the masks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import checks
from ..data.corpora import load_sotu
from ..data.hub import require_hub
from ..engine.config import TrainConfig
from ..engine.loop import train
from ..models.configs import bert_config
from ..objectives.bert import objective_functions
from ..objectives.masking import MLMCollator
from ..objectives.pairs import PairDataset, build_pair_examples, check_objective
from ..profiles import bert_seq_len, get_profile
from ..repro import set_seed
from ..text.documents import tokenize_documents
from ..text.tokenizers import train_wordpiece
from .cache import PretrainedModel, cache_key, cached_tokenizer, model_dir, train_or_load


@dataclass
class PretrainingData:
    """The tokenizer and the train / validation pair datasets of one profile."""

    tokenizer: object
    train: PairDataset
    validation: PairDataset
    stats: dict = field(default_factory=dict)


def bert_tokenizer(profile, corpus=None):
    """The chapter's WordPiece tokenizer for ``profile``, trained on training speeches only, cached
    (see :func:`~sslm_utils.zoo.cache.cached_tokenizer` for why it must be)."""

    return cached_tokenizer(profile, "wordpiece", train_wordpiece, bert_cache_dir(profile) / "model", corpus)


def pretraining_documents(profile, tokenizer, corpus=None) -> tuple[list, list]:
    """``(train_docs, validation_docs)``: the profile's speeches as WordPiece ids per sentence.

    Tokenizing is the slow part of building pairs; compute this once and pass
    it to :func:`pretraining_data` to build the pairs of several objectives.
    """

    corpus = corpus or load_sotu()
    train_texts = corpus["train"]["text"]
    if profile.bert.train_docs is not None:
        train_texts = train_texts[: profile.bert.train_docs]
    return tokenize_documents(train_texts, tokenizer), tokenize_documents(corpus["validation"]["text"], tokenizer)


def pretraining_data(profile, *, tokenizer=None, objective: str = "nsp", seed: int = 0,
                     documents: tuple[list, list] | None = None) -> PretrainingData:
    """SOTU speeches → sentences → WordPiece → NSP, SOP or plain (``"mlm"``) pairs, for ``profile``.

    The tokenizer (default: :func:`bert_tokenizer`) learns from training
    speeches only; the validation pairs come from held-out speeches (whole
    speeches, so no held-out sentence has a neighbour in training).
    ``documents`` (from :func:`pretraining_documents`, same tokenizer) skips tokenizing.
    ``seed`` draws the training pairs; the held-out pairs are the same for every
    seed, so runs with different seeds are scored on the same data.
    """
    tokenizer = tokenizer or bert_tokenizer(profile)
    checks.seed(seed)
    train_docs, val_docs = documents or pretraining_documents(profile, tokenizer)
    kw = dict(seq_len=bert_seq_len(profile), objective=objective, **_special_ids(tokenizer))
    train = build_pair_examples(train_docs, seed=seed, dupe_factor=profile.bert.dupe_factor, **kw)
    validation = held_out_pairs(profile, tokenizer, val_docs, objective=objective)
    stats = {
        "train_speeches": len(train_docs), "validation_speeches": len(val_docs),
        "train_sentences": sum(len(d) for d in train_docs), "train_pairs": len(train),
        "train_tokens": train.n_tokens, "validation_pairs": len(validation), "vocab_size": len(tokenizer),
        "objective": objective, "seed": seed,
    }
    return PretrainingData(tokenizer, train, validation, stats)


def _special_ids(tokenizer) -> dict:
    return dict(cls_id=tokenizer.cls_token_id, sep_id=tokenizer.sep_token_id, pad_id=tokenizer.pad_token_id)


def held_out_pairs(profile, tokenizer, validation_docs: list | None = None, *, objective: str = "nsp"):
    """The held-out pairs every BERT of ``profile`` is scored on: ``profile.bert.eval_examples`` pairs from the
    held-out speeches, drawn with a fixed seed (``validation_docs``, from :func:`pretraining_documents`,
    saves tokenizing them again)."""
    if validation_docs is None:
        validation_docs = tokenize_documents(load_sotu()["validation"]["text"], tokenizer)
    pairs = build_pair_examples(validation_docs, seed=VALIDATION_SEED, seq_len=bert_seq_len(profile),
                                objective=objective, **_special_ids(tokenizer))
    return pairs.subset(profile.bert.eval_examples)


def pretrain_config(profile):
    """The :class:`~sslm_utils.engine.TrainConfig` of the chapter's BERT for ``profile``."""

    return TrainConfig(
        max_steps=profile.bert.steps, batch_size=profile.bert.batch_size, lr=profile.bert.lr,
        warmup_steps=profile.bert.warmup_steps, weight_decay=0.01, eps=1e-6, schedule="linear",
        max_grad_norm=1.0, eval_every=profile.bert.eval_every, checkpoint_every=profile.bert.eval_every,
        keep_checkpoints=1, seed=0,
    )


HUB_BERTS = {  # Turc et al. (2019): published BERTs of the same shapes as the profiles
    "quick": "google/bert_uncased_L-2_H-128_A-2",
    "full": "google/bert_uncased_L-4_H-256_A-4",
}


VALIDATION_SEED = 1  # draws the held-out pairs, whatever the training seed
PIPELINE_VERSION = 2  # bump when the data or training code changes what gets trained


class PretrainedBert(PretrainedModel):
    """A pretrained ``BertForPreTraining`` with its tokenizer and how it came to be."""


def bert_cache_dir(profile=None, objective: str = "nsp", seed: int = 0) -> Path:
    """Where :func:`pretrained_bert` keeps the model of ``profile`` (under ``sslm_utils.data.cache_dir()``)."""

    name = "ch03-bert" if objective == "nsp" else f"ch03-bert-{check_objective(objective)}"
    name += f"-seed{checks.seed(seed)}" if seed else ""
    return model_dir(cache_key(name, profile or get_profile(), ("tokenizer", "model", "bert"), PIPELINE_VERSION))


def _from_hub(profile) -> PretrainedBert:

    if profile.name not in HUB_BERTS:
        raise ValueError(f"No published BERT has the shape of profile {profile.name!r}; published shapes exist for "
                         f"{sorted(HUB_BERTS)}. For the reference model use sslm_utils.zoo.load_reference('bert').")
    hub_id = HUB_BERTS[profile.name]
    require_hub(f"The published BERT {hub_id!r}", "pretrained_bert(profile), the book's own BERT, trained offline")
    from transformers import AutoTokenizer, BertForPreTraining

    return PretrainedBert(BertForPreTraining.from_pretrained(hub_id), AutoTokenizer.from_pretrained(hub_id),
                          info={"source": "hub", "hub_id": hub_id})


def train_bert(profile, *, objective: str = "nsp", seed: int = 0, data: PretrainingData | None = None,
               config: TrainConfig | None = None, output_dir=None, resume="auto", progress: bool = True):
    """Pretrain the chapter's BERT from scratch, deterministically; return ``(model, result, data)``.

    ``objective`` is ``"nsp"`` (BERT), ``"sop"`` (ALBERT's sentence order) or
    ``"mlm"`` (no sentence task, RoBERTa). ``seed`` draws the training pairs,
    the initial weights, the data order and the masks (another seed measures
    how much a result owes to chance); ``data``, if given, must have been built
    by :func:`pretraining_data` with the same objective and seed. ``config``
    defaults to :func:`pretrain_config`. With ``output_dir`` the run
    checkpoints there and ``resume`` ("auto": if a checkpoint exists) continues it.
    """
    from transformers import BertForPreTraining

    data = data or pretraining_data(profile, objective=objective, seed=seed)
    delay = profile.bert.sentence_task_from if objective != "mlm" else 0
    loss_fn, metrics_fn = objective_functions(objective, mask_id=data.tokenizer.mask_token_id,
                                              sentence_task_from=delay)
    for key, wanted in (("objective", objective), ("seed", seed)):
        if data.stats.get(key) != wanted:
            raise ValueError(f"data was built with {key}={data.stats.get(key)!r}, not {wanted!r}; build it with "
                             f"pretraining_data(profile, objective={objective!r}, seed={seed!r}).")
    set_seed(seed)
    model = BertForPreTraining(bert_config(profile, len(data.tokenizer)))
    config = (config or pretrain_config(profile)).replace(progress=progress, seed=seed)
    result = train(
        model, data.train, config=config, eval_data=data.validation, collate_fn=MLMCollator(data.tokenizer),
        loss_fn=loss_fn, compute_metrics=metrics_fn, output_dir=output_dir, resume=resume if output_dir else False,
        tokenizer=data.tokenizer,
    )
    return result.model, result, data


def pretrained_bert(profile=None, *, source: str = "book", retrain: bool = False, progress: bool = True,
                    data: PretrainingData | None = None, objective: str = "nsp", seed: int = 0) -> PretrainedBert:
    """The chapter's pretrained BERT for ``profile`` (default: the active profile).

    ``source="book"``: load it from the cache, or — the first time, or with
    ``retrain=True`` — pretrain it on the offline corpus (deterministically,
    resuming if a previous attempt was interrupted) and cache it, so any later
    notebook runs on its own. ``source="hub"``: the published BERT of the same
    shape (Turc et al., 2019); needs internet and fails fast without it.
    ``data`` (from :func:`pretraining_data`, same objective and seed) saves
    rebuilding it when training is needed. Each ``objective`` (``"nsp"``,
    ``"sop"`` or ``"mlm"``) and each ``seed`` has its own cache entry.
    """
    from transformers import BertForPreTraining

    profile = profile or get_profile()
    check_objective(objective)
    checks.one_of("source", source, ("book", "hub"))
    if source == "hub":
        return _from_hub(profile)

    def train_fn(run_dir):
        return train_bert(profile, objective=objective, seed=seed, data=data, output_dir=run_dir, progress=progress)

    return train_or_load(bert_cache_dir(profile, objective, seed), profile, train_fn, BertForPreTraining,
                         PretrainedBert, retrain=retrain)
