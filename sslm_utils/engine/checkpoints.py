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
complete one, never a half-written "latest"; leftover ``.tmp-*`` folders and
``.latest.*.tmp`` files are ignored and removed by the next save.

What survives damage after the write: pruning always keeps one checkpoint
besides the newest, and ``resume="latest"``/``"auto"`` fall back (with a
warning) to the newest checkpoint whose files still match their SHA-256.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from pathlib import Path

import torch

from .. import checks
from ..files import MANIFEST, IntegrityError, atomic_write_bytes, read_json, verify_manifest, write_manifest
from .rng_state import capture_rng_state, restore_rng_state

LATEST = "latest"


STATE_FILE = "trainer_state.json"


MODEL_DIR = "model"


_STEP_DIR = re.compile(r"^step-(\d{8})$")


MIN_KEPT = 2  # the newest checkpoint and one fallback, in case the newest is damaged later


class CheckpointError(IntegrityError):
    """A checkpoint is missing, incomplete or corrupted."""


_DAMAGED_FIX = "Delete this checkpoint folder and resume from an earlier one (resume='auto' falls back by itself)."


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
        if not list_checkpoints(root):
            if resume == "auto":
                return None
            raise FileNotFoundError(
                f"resume={resume!r} but there is no complete checkpoint under {root}. "
                "Start a fresh run with resume=False, or use resume='auto' to resume only when one exists."
            )
        return newest_verified_checkpoint(root)
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


def newest_verified_checkpoint(root: str | os.PathLike) -> Path:
    """The newest checkpoint under ``root`` whose files match their SHA-256, warning about each newer one that
    does not; :class:`CheckpointError` if none does."""
    damaged = []
    for folder in reversed(list_checkpoints(root)):
        try:
            verify_checkpoint(folder)
        except CheckpointError as err:
            damaged.append(f"{folder.name}: {err}")
            continue
        if damaged:
            warnings.warn(f"Resuming from {folder.name}, the newest checkpoint that verifies; skipped the damaged "
                          + "; ".join(damaged), stacklevel=3)
        return folder
    raise CheckpointError(
        f"No checkpoint under {root} passes its SHA-256 check ({'; '.join(damaged)}). Start again with "
        f"train(..., overwrite=True) (or delete {root}); the damaged files cannot be trusted."
    )


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
    try:
        missing, unexpected = load_model(model, str(file), strict=False)
    except RuntimeError as err:  # a tensor of another shape: a wider, deeper or re-vocabularied model
        raise CheckpointError(
            f"The weights in {file} do not fit this model ({str(err).splitlines()[-1].strip()}). Resume with the "
            "same architecture and config that wrote the checkpoint, or start a new run in another output_dir."
        ) from None
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


def verify_checkpoint(folder: str | os.PathLike) -> None:
    """Raise :class:`CheckpointError` unless every file matches its recorded SHA-256 (manifest checked first)."""
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise CheckpointError(f"{folder} has no {MANIFEST}: it is not a complete checkpoint. {_DAMAGED_FIX}")
    verify_manifest(folder, CheckpointError, _DAMAGED_FIX)


def remove_stale_temporaries(root: str | os.PathLike) -> None:
    """Delete what a crash mid-save leaves behind: ``.tmp-step-*`` folders and ``.latest.*.tmp`` files."""
    root = Path(root)
    for tmp in root.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    for tmp in root.glob(f".{LATEST}.*.tmp"):
        tmp.unlink(missing_ok=True)


def prune_checkpoints(root: str | os.PathLike, keep_last: int) -> list[Path]:
    """Delete all but the newest ``max(keep_last, 2)`` checkpoints, and stale temporaries.

    At least two stay, so a newest checkpoint damaged after its write still
    leaves a verified one to resume from.
    """
    root = Path(root)
    removed = []
    remove_stale_temporaries(root)
    for old in list_checkpoints(root)[: -max(keep_last, MIN_KEPT)]:
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
    checks.non_negative_int("step", step, "It names the checkpoint folder step-<step>.")
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
        write_manifest(tmp)
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
    return read_json(path, CheckpointError, _DAMAGED_FIX)


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


_CONFIG_METADATA = {"transformers_version", "_name_or_path", "architectures", "torch_dtype", "dtype",
                    "_attn_implementation_autoset"}


def config_changes(model, folder: str | os.PathLike) -> dict:
    """``{key: (saved, now)}`` for every ``model.config`` value that differs from the one in the checkpoint
    ``folder`` (metadata such as the library version ignored); ``{}`` for a model without a config."""
    saved_file = Path(folder) / MODEL_DIR / "config.json"
    if not (hasattr(model, "config") and hasattr(model.config, "to_dict") and saved_file.is_file()):
        return {}
    saved, now = read_json(saved_file, CheckpointError, _DAMAGED_FIX), model.config.to_dict()
    keys = (saved.keys() & now.keys()) - _CONFIG_METADATA
    return {k: (saved[k], now[k]) for k in sorted(keys) if saved[k] != now[k]}
