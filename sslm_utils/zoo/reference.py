"""The reference models shipped with the package: loaded only after every file matches its SHA-256.

A reference model is a folder ``sslm_utils/zoo/reference_models/<name>/``
installed with the package (so a Colab ``pip install`` has it too)::

    model/               the transformers folder: config, safetensors weights, tokenizer files
    README.md            the model card: recipe, command, data, steps, tokens, wall time, results
    run_info.json        the run as ``sslm pretrain`` recorded it: profile, TrainConfig, data, time
    training_log.jsonl   one JSON object per logged step, as the engine's history
    manifest.json        the SHA-256 of every file above

Weights whose hash differs from the manifest (a broken download, a file
edited by hand) are refused, never loaded: a reader must be able to trust
that the model is the one its card describes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..files import IntegrityError, read_json, verify_manifest, write_manifest
from ..text.tokenizers import load_tokenizer
from .cache import PretrainedModel, quiet_from_pretrained

REFERENCE_ROOT = Path(__file__).resolve().parent / "reference_models"


LOG_FILE = "training_log.jsonl"


CARD_FILE = "README.md"


RUN_INFO_FILE = "run_info.json"


RESULTS_FILE = "results.json"  # the held-out evaluation the card reports


_NOT_SHIPPED = {"training_info.json", "checkpoints"}  # the CLI's own bookkeeping in an output folder


def reference_names(root: str | os.PathLike = REFERENCE_ROOT) -> list[str]:
    """The reference models installed under ``root``."""
    root = Path(root)
    return sorted(p.name for p in root.iterdir() if (p / "manifest.json").is_file()) if root.is_dir() else []


def _model_class(model_dir: Path):
    from transformers import BertForPreTraining, GPT2LMHeadModel

    classes = {"bert": BertForPreTraining, "gpt2": GPT2LMHeadModel}
    kind = read_json(model_dir / "config.json", IntegrityError).get("model_type")
    if kind not in classes:
        raise IntegrityError(f"{model_dir} holds a {kind!r} model; reference models are {sorted(classes)}.")
    return classes[kind]


def load_reference(name: str, root: str | os.PathLike = REFERENCE_ROOT) -> PretrainedModel:
    """The reference model ``name`` with its tokenizer, logged history and card, after checking every file."""
    folder = Path(root) / name
    if not folder.is_dir():
        raise FileNotFoundError(
            f"No reference model {name!r} under {root}; installed: {reference_names(root) or 'none'}. "
            "Check the name, or reinstall the package (pip install --force-reinstall sslm-utils)."
        )
    verify_manifest(folder, IntegrityError,
                    "The reference model's files were changed or damaged; reinstall the package "
                    "(pip install --force-reinstall sslm-utils) or restore the folder from the repository.")
    model_dir = folder / "model"
    model = quiet_from_pretrained(_model_class(model_dir), model_dir)
    history = [json.loads(line) for line in (folder / LOG_FILE).read_text(encoding="utf-8").splitlines() if line]
    info = {"source": "reference", "name": name, "card": str(folder / CARD_FILE),
            **read_json(folder / RUN_INFO_FILE, IntegrityError)}
    return PretrainedModel(model, load_tokenizer(model_dir), history, info, from_cache=True)


def limit_tokenizer_to_positions(model_dir: Path) -> int:
    """Set the saved tokenizer's ``model_max_length`` to the model's number of positions; return it.

    The book's tokenizers are trained with a generous default (512), but the
    reference BERT has 64 positions and the GPT 128: with the default, a
    ``pipeline(..., truncation=True)`` would pass a long text through whole and
    fail inside the model. With the limit saved, truncation cuts where the model ends.
    """
    config = read_json(model_dir / "config.json", IntegrityError)
    positions = config.get("max_position_embeddings") or config.get("n_positions")
    if not positions:
        raise IntegrityError(f"{model_dir / 'config.json'} names no number of positions.")
    path = model_dir / "tokenizer_config.json"
    settings = read_json(path, IntegrityError)
    settings["model_max_length"] = positions
    path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return positions


LOG_DIGITS = 6  # significant digits kept in a shipped log: far below any tolerance that reads it


def compact_log_row(row: dict) -> dict:
    """One logged step with its floats cut to :data:`LOG_DIGITS` significant digits.

    A run of 14,000 steps logs 14,000 rows; float32 losses written with 17
    digits would take a third of the package's size budget for digits that
    carry nothing (the provenance test compares to 1e-4).
    """
    return {k: float(f"{v:.{LOG_DIGITS}g}") if isinstance(v, float) else v for k, v in row.items()}


def export_reference(run_dir: str | os.PathLike, name: str, card: str,
                     root: str | os.PathLike = REFERENCE_ROOT, *, extra: dict[str, str] | None = None) -> Path:
    """Turn a finished ``sslm pretrain`` output folder into the reference model ``root/name``.

    The transformers files go to ``model/``; ``training_info.json`` is split
    into ``run_info.json`` and ``training_log.jsonl``; ``card`` becomes the
    README; ``extra`` maps further file names to their text (e.g. the
    evaluation, ``results.json``); the manifest is written last, and the folder is assembled under a
    temporary name and renamed into place, so a half-written reference never
    exists.
    """
    run_dir, target = Path(run_dir), Path(root) / name
    info = read_json(run_dir / "training_info.json", FileNotFoundError,
                     f"{run_dir} is not a finished `sslm pretrain` output folder.")
    tmp = target.with_name(f".tmp-{name}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "model").mkdir(parents=True)
    for path in run_dir.iterdir():
        if path.is_file() and path.name not in _NOT_SHIPPED:
            shutil.copy2(path, tmp / "model" / path.name)
    limit_tokenizer_to_positions(tmp / "model")
    history = info.pop("history")
    (tmp / LOG_FILE).write_text("".join(json.dumps(compact_log_row(row)) + "\n" for row in history),
                                encoding="utf-8")
    (tmp / RUN_INFO_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")
    (tmp / CARD_FILE).write_text(card, encoding="utf-8")
    for file_name, text in (extra or {}).items():
        (tmp / file_name).write_text(text, encoding="utf-8")
    write_manifest(tmp)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return target
