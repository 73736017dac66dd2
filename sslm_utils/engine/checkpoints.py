"""Checkpoints that survive a crash and resume a run exactly.

A checkpoint is a folder ``<root>/step-00000120/`` holding everything a run
needs to continue as if it had never stopped:

``model/``
    the weights as safetensors (``save_pretrained`` for a ``transformers``
    model, so ``from_pretrained`` reads them), plus the tokenizer if given;
``optimizer.pt``, ``scheduler.pt``
    their ``state_dict`` s (Adam's moments matter as much as the weights);
``rng/rank-<r>.pt``
    the Python, NumPy, PyTorch and CUDA generator states of every process
    (dropout and dynamic masking draw from them);
``trainer_state.json``
    the step, the data position (epoch, batch within epoch), the history;
``manifest.json``
    the SHA-256 of every file above, checked on load.

Why folders appear atomically: everything is written into a hidden
``.tmp-step-...`` folder, each file is fsynced, and only then is the folder
renamed into place (``os.replace`` is atomic on one filesystem). The
``latest`` pointer is a one-line file replaced the same way. A crash at any
moment therefore leaves either the previous complete checkpoint or the new
complete one, never a half-written "latest"; leftover ``.tmp-*`` folders are
ignored and removed by the next save.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import torch

from .. import checks
from ..files import atomic_write_bytes, sha256_file
from .rng_state import capture_rng_state, restore_rng_state

LATEST = "latest"


MANIFEST = "manifest.json"


STATE_FILE = "trainer_state.json"


MODEL_DIR = "model"


_STEP_DIR = re.compile(r"^step-(\d{8})$")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete or corrupted."""


def step_dir_name(step: int) -> str:
    return f"step-{int(step):08d}"


def list_checkpoints(root: str | os.PathLike) -> list[Path]:
    """Complete checkpoint folders under ``root``, oldest first (temp folders skipped)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and _STEP_DIR.match(p.name) and (p / MANIFEST).is_file()]
    return sorted(found, key=lambda p: int(_STEP_DIR.match(p.name).group(1)))


def latest_checkpoint(root: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint under ``root``, or ``None``.

    A ``step-*`` folder exists only after its atomic rename, so the newest one
    is always complete; the ``latest`` file says the same for humans and tools
    (and may lag by one if a crash hit between the rename and its update).
    """
    candidates = list_checkpoints(root)
    return candidates[-1] if candidates else None


def resolve_checkpoint(root: str | os.PathLike | None, resume) -> Path | None:
    """Turn ``train(resume=...)`` into a checkpoint folder (or ``None`` for a fresh start).

    ``False``/``None``: fresh start. ``"latest"``/``True``: the newest under
    ``root`` (an error if there is none). ``"auto"``: the newest if any, else a
    fresh start (handy on Colab, where sessions disconnect). A path: that
    checkpoint folder, or the newest inside it if it is a checkpoint root.
    """
    if resume is None or resume is False:
        return None
    if resume is True or resume in ("latest", "auto"):
        if root is None and resume == "auto":
            return None  # nowhere to look: a fresh start
        if root is None:
            raise ValueError(
                f"resume={resume!r} needs output_dir (where the checkpoints are); pass output_dir=... "
                "or give resume the path of a checkpoint folder."
            )
        found = latest_checkpoint(root)
        if found is None and resume != "auto":
            raise FileNotFoundError(
                f"resume={resume!r} but there is no complete checkpoint under {root}. "
                "Start a fresh run with resume=False, or use resume='auto' to resume only when one exists."
            )
        return found
    if not isinstance(resume, (str, os.PathLike)):
        raise TypeError(f"resume must be False, True, 'latest', 'auto' or a path, got {type(resume).__name__}.")
    path = Path(resume)
    if not path.exists():
        raise FileNotFoundError(
            f"Checkpoint {path} does not exist. Check the path, or pass resume='latest' with the run's output_dir."
        )
    if (path / MANIFEST).is_file():
        return path
    inner = latest_checkpoint(path)
    if inner is None:
        raise CheckpointError(
            f"{path} is neither a complete checkpoint (no {MANIFEST}) nor a folder holding one; "
            "it may be a checkpoint whose write was interrupted. Resume from an earlier checkpoint."
        )
    return inner


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder below ``folder`` to disk before the rename."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:  # directories cannot be opened on Windows; there the rename is the best we get
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_model_weights(model, folder: str | os.PathLike, tokenizer=None) -> Path:
    """Write ``model`` (and ``tokenizer``) into ``folder`` as safetensors.

    A ``transformers`` model uses ``save_pretrained`` so the folder loads with
    ``from_pretrained``; any other module gets ``model.safetensors`` through
    ``safetensors.torch.save_model``, which handles tied (shared) weights.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "save_pretrained"):
        from transformers.utils import logging as hf_logging

        quiet = hf_logging.is_progress_bar_enabled()
        if quiet:  # no "Writing model shards" bar in the middle of the training bar
            hf_logging.disable_progress_bar()
        try:
            model.save_pretrained(folder, safe_serialization=True)
        finally:
            if quiet:
                hf_logging.enable_progress_bar()
    else:
        from safetensors.torch import save_model

        save_model(model, str(folder / "model.safetensors"))
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    return folder


def load_model_weights(model, folder: str | os.PathLike) -> None:
    """Load weights saved by :func:`save_model_weights` into an existing ``model``, in place.

    In place (rather than ``from_pretrained``) so the optimizer, which holds
    references to these very parameters, stays valid.
    """
    from safetensors.torch import load_model

    file = Path(folder) / "model.safetensors"
    if not file.is_file():
        raise CheckpointError(
            f"No model.safetensors in {folder}; sharded or .bin checkpoints are not supported here."
        )
    missing, unexpected = load_model(model, str(file), strict=False)
    # keys tied to another weight (e.g. BERT's decoder = word embeddings) are saved once
    missing = [k for k in missing if not _is_tied(model, k)]
    if missing or unexpected:
        raise CheckpointError(
            f"The weights in {file} do not fit this model: missing {missing[:5]}, unexpected {unexpected[:5]}. "
            "Resume with the same architecture and config that wrote the checkpoint."
        )


def _is_tied(model, key: str) -> bool:
    state = model.state_dict()
    ptr = state[key].data_ptr()
    return any(k != key and v.data_ptr() == ptr for k, v in state.items())


def _write_manifest(folder: Path) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = {str(p.relative_to(folder)).replace(os.sep, "/"): sha256_file(p) for p in files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")


def verify_checkpoint(folder: str | os.PathLike) -> None:
    """Raise :class:`CheckpointError` unless every file matches its recorded SHA-256."""
    folder = Path(folder)
    spec = folder / MANIFEST
    if not spec.is_file():
        raise CheckpointError(f"{folder} has no {MANIFEST}: it is not a complete checkpoint.")
    for name, digest in json.loads(spec.read_text(encoding="utf-8")).items():
        path = folder / name
        if not path.is_file():
            raise CheckpointError(f"Checkpoint {folder} lacks {name}; resume from an earlier checkpoint.")
        if sha256_file(path) != digest:
            raise CheckpointError(
                f"{name} in {folder} fails its SHA-256 check (corrupted on disk?); "
                "delete this checkpoint folder and resume from an earlier one."
            )


def prune_checkpoints(root: str | os.PathLike, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` checkpoints, and stale temp folders."""
    root = Path(root)
    removed = []
    for tmp in root.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    for old in list_checkpoints(root)[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    return removed


def save_checkpoint(
    root: str | os.PathLike,
    step: int,
    *,
    model,
    optimizer=None,
    scheduler=None,
    trainer_state: dict | None = None,
    tokenizer=None,
    keep_last: int = 2,
    accelerator=None,
) -> Path:
    """Write a complete checkpoint for ``step`` atomically and return its folder.

    With an ``accelerator`` spanning several processes, every process writes
    its own RNG file and the main process writes the rest; all wait for each
    other before the rename. ``model`` should be the unwrapped model.
    """
    checks.positive_int("keep_last", keep_last, "It counts the checkpoints to keep.")
    root = Path(root)
    final = root / step_dir_name(step)
    tmp = root / f".tmp-{step_dir_name(step)}"
    rank = accelerator.process_index if accelerator is not None else 0
    is_main = accelerator is None or accelerator.is_main_process
    wait = accelerator.wait_for_everyone if accelerator is not None else (lambda: None)

    if is_main:
        root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():  # a previous attempt at this step crashed mid-write
            shutil.rmtree(tmp)
        (tmp / "rng").mkdir(parents=True)
    wait()
    torch.save(capture_rng_state(), tmp / "rng" / f"rank-{rank}.pt")
    if is_main:
        save_model_weights(model, tmp / MODEL_DIR, tokenizer)
        if optimizer is not None:
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        if scheduler is not None:
            torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        state = dict(trainer_state or {}, step=int(step))
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")
    wait()
    if is_main:
        _write_manifest(tmp)
        _fsync_tree(tmp)
        if final.exists():  # re-saving a step (e.g. after a resume): replace it whole
            shutil.rmtree(final)
        os.replace(tmp, final)
        _fsync_dir(root)
        atomic_write_bytes(root / LATEST, final.name.encode())
        prune_checkpoints(root, keep_last)
    wait()
    return final


def read_trainer_state(folder: str | os.PathLike) -> dict:
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        raise CheckpointError(f"{folder} has no {STATE_FILE}; it is not a checkpoint written by train().")
    return json.loads(path.read_text(encoding="utf-8"))


def load_checkpoint(
    folder: str | os.PathLike,
    *,
    model,
    optimizer=None,
    scheduler=None,
    restore_rng: bool = True,
    rank: int = 0,
    verify: bool = True,
) -> dict:
    """Load a checkpoint into existing objects, in place; return its trainer state.

    ``rank`` picks this process's RNG file. ``verify`` checks every SHA-256
    first, so a corrupted file is reported instead of silently resumed from.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Checkpoint folder {folder} does not exist.")
    if verify:
        verify_checkpoint(folder)
    load_model_weights(model, folder / MODEL_DIR)
    if optimizer is not None:
        optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
    if scheduler is not None:
        scheduler.load_state_dict(torch.load(folder / "scheduler.pt", weights_only=True))
    if restore_rng:
        rng_file = folder / "rng" / f"rank-{rank}.pt"
        if not rng_file.is_file():
            raise CheckpointError(
                f"{folder} has no RNG state for process {rank}: it was written by a run with fewer "
                "processes. Resume with the same number of processes."
            )
        restore_rng_state(torch.load(rng_file, weights_only=True))
    return read_trainer_state(folder)
