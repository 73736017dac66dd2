"""Every bad input gets a clear error: one row per (public function, bad argument).

Each row names the call, the exception type it must raise and a phrase of the
message that tells the reader what is wrong or how to fix it. A row passes
only with that exact type and phrase: a torch shape error deep inside a model,
or a generic exception, fails it. The models and tokenizers are the suite's
tiny fixtures, so the whole table runs in seconds.
"""

from __future__ import annotations

import math

import pytest
import torch

from sslm_utils import checks
from sslm_utils.engine import TrainConfig, evaluate, save_checkpoint, steps_per_epoch
from sslm_utils.evaluation import fill_mask, generate_text, perplexity, sentence_features, token_log_probs
from sslm_utils.models import MultiHeadAttention, bert_config
from sslm_utils.objectives import MLMCollator, causal_lm_loss, sample_from_logits, truncate_pair
from sslm_utils.profiles import get_profile
from sslm_utils.text import train_bpe, train_wordpiece

pytestmark = pytest.mark.usefixtures("one_thread")


def _ids(n: int, high: int) -> torch.Tensor:
    return torch.full((1, n), high)


CASES = {
    # name: (call(fixtures) -> None, exception, phrase)
    "bert_config vocab_size=0": (lambda f: bert_config(f.profile, 0), ValueError, "vocab_size"),
    "fill_mask top_k=0": (lambda f: fill_mask(f.bert, f.wp, "the [MASK] of", top_k=0), ValueError,
                          "top_k must be a positive int"),
    "fill_mask top_k=10**6": (lambda f: fill_mask(f.bert, f.wp, "the [MASK] of", top_k=10**6), ValueError,
                              "exceeds the vocabulary"),
    "fill_mask without [MASK]": (lambda f: fill_mask(f.bert, f.wp, "the state of"), ValueError,
                                 "must contain [MASK]"),
    "fill_mask text too long": (lambda f: fill_mask(f.bert, f.wp, "the [MASK] " + "word " * 40), ValueError,
                                "has only 32 (its position table)"),
    "truncate_pair max_tokens=-1": (lambda f: truncate_pair([1, 2], [3], -1), ValueError,
                                    "max_tokens must be a positive int"),
    "steps_per_epoch batch_size=0": (lambda f: steps_per_epoch(10, 0), ValueError, "batch_size must be a positive"),
    "perplexity of a huge loss": (lambda f: perplexity([-1e4]), OverflowError, "report the loss in nats"),
    "perplexity of probabilities": (lambda f: perplexity([0.5, 0.2]), ValueError, "Pass ln p per token"),
    "perplexity of nothing": (lambda f: perplexity([]), ValueError, "at least one predicted token"),
    "evaluate on no data": (lambda f: evaluate(f.bert, []), ValueError, "eval_data is empty"),
    "evaluate batch_size=0": (lambda f: evaluate(f.bert, [{"input_ids": torch.ones(4, dtype=torch.long)}],
                                                 batch_size=0), ValueError, "batch_size must be a positive int"),
    "MLMCollator probability as a string": (lambda f: MLMCollator(f.wp, mlm_probability="0.15"), TypeError,
                                            "must be a number between 0 and 1"),
    "MLMCollator mlm_probability=1.5": (lambda f: MLMCollator(f.wp, mlm_probability=1.5), ValueError,
                                        "mlm_probability must be in"),
    "MultiHeadAttention dropout=1.5": (lambda f: MultiHeadAttention(8, 2, dropout=1.5), ValueError,
                                       "dropout must be in"),
    "MultiHeadAttention d_model=100, n_heads=3": (lambda f: MultiHeadAttention(100, 3), ValueError, "divisible"),
    "profile seq_len=-5": (lambda f: get_profile("quick", model={"seq_len": -5}), ValueError,
                           "seq_len must be a positive int"),
    "profile d_model=100, n_heads=3": (lambda f: get_profile("quick", model={"d_model": 100, "n_heads": 3}),
                                       ValueError, "divisible"),
    "profile unknown section": (lambda f: get_profile("quick", berts={"steps": 3}), TypeError, "no section"),
    "profile unknown name": (lambda f: get_profile("huge"), ValueError, "quick"),
    "TrainConfig betas=(0.9,)": (lambda f: TrainConfig(max_steps=3, betas=(0.9,)), ValueError,
                                 "betas must be two numbers in [0, 1)"),
    "TrainConfig eps=-1": (lambda f: TrainConfig(max_steps=3, eps=-1), ValueError, "eps must be a positive"),
    "TrainConfig lr=nan": (lambda f: TrainConfig(max_steps=3, lr=math.nan), ValueError, "lr must be a positive"),
    "TrainConfig max_steps=0": (lambda f: TrainConfig(max_steps=0), ValueError, "max_steps must be a positive"),
    "TrainConfig warmup >= steps": (lambda f: TrainConfig(max_steps=3, warmup_steps=3), ValueError,
                                    "must be smaller than max_steps"),
    "TrainConfig grad_accum does not divide": (lambda f: TrainConfig(max_steps=3, batch_size=6, grad_accum_steps=4),
                                               ValueError, "Choose grad_accum_steps from"),
    "TrainConfig weight_decay as a string": (lambda f: TrainConfig(max_steps=3, weight_decay="0.01"), ValueError,
                                             "weight_decay must be a number"),
    "train_wordpiece on whitespace": (lambda f: train_wordpiece(["  ", "\n\t"], 100), ValueError,
                                      "only whitespace"),
    "train_bpe on one string": (lambda f: train_bpe("a whole corpus as one string", 300), TypeError,
                                "wrap it in a list"),
    "save_checkpoint step=-1": (lambda f: save_checkpoint(f.tmp, -1, model=torch.nn.Linear(2, 2)), ValueError,
                                "step must be an int >= 0"),
    "sample_from_logits with NaN": (lambda f: sample_from_logits(torch.tensor([[0.0, math.nan]])), ValueError,
                                    "has diverged"),
    "sample_from_logits temperature=0": (lambda f: sample_from_logits(torch.zeros(1, 3), temperature=0), ValueError,
                                         "temperature must be a positive"),
    "causal_lm_loss id outside the vocabulary": (lambda f: causal_lm_loss(f.gpt, {"input_ids": _ids(4, 400)}),
                                                 ValueError, "outside the model's vocabulary of 400"),
    "causal_lm_loss too long": (lambda f: causal_lm_loss(f.gpt, {"input_ids": _ids(33, 1)}), ValueError,
                                "has only 32 (its position table)"),
    "token_log_probs id outside the vocabulary": (lambda f: token_log_probs(f.gpt, _ids(8, 999)), ValueError,
                                                  "Use the tokenizer saved with the model"),
    "token_log_probs on 1-d ids": (lambda f: token_log_probs(f.gpt, torch.ones(8, dtype=torch.long)), ValueError,
                                   "at least 2 dimensions"),
    "sentence_features with the wrong tokenizer": (lambda f: sentence_features(f.bert, f.big_wp, [f.text]),
                                                   ValueError, "encoded with another tokenizer"),
    "sentence_features pooling='max'": (lambda f: sentence_features(f.bert, f.wp, ["a"], pooling="max"),
                                        ValueError, "pooling must be one of"),
    "generate_text empty prompt": (lambda f: generate_text(f.gpt, f.bpe, ""), ValueError, "non-empty string"),
    "generate_text temperature=-1": (lambda f: generate_text(f.gpt, f.bpe, "the", do_sample=True, temperature=-1),
                                     ValueError, "temperature must be a positive"),
    "seed=-1": (lambda f: checks.seed(-1), ValueError, "seed must be in [0, 2**32)"),
    "seed as a string": (lambda f: checks.seed("3"), TypeError, "seed must be an int"),
    "token_sequences negative id": (lambda f: checks.token_sequences([[0, -1]], 5), ValueError,
                                    "outside the vocabulary"),
}


class Fixtures:
    def __init__(self, **kw):
        self.__dict__.update(kw)


@pytest.fixture
def f(tiny_profile, tiny_bert, tiny_gpt, wordpiece_tokenizer, bpe_tokenizer, small_texts, tmp_path):
    big = _big_wordpiece(small_texts)
    return Fixtures(profile=tiny_profile, bert=tiny_bert, gpt=tiny_gpt, wp=wordpiece_tokenizer, bpe=bpe_tokenizer,
                    big_wp=big, tmp=tmp_path, text=small_texts[0][:300])


_BIG = {}


def _big_wordpiece(texts):
    """A tokenizer with a larger vocabulary than the tiny BERT's: "the wrong tokenizer" for a model."""
    if "wp" not in _BIG:
        _BIG["wp"] = train_wordpiece(texts, 3000, min_frequency=1)
    return _BIG["wp"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gets_a_clear_error(name, f):
    call, error, phrase = CASES[name]
    with pytest.raises(error) as raised:
        call(f)
    assert phrase in str(raised.value), f"{name}: the message {str(raised.value)!r} lacks {phrase!r}"

