"""What one task has to store: the parameters that trained, and nothing the pretrained model already holds.

After full fine-tuning every weight differs from the pretrained model, so a
task costs a whole model on disk. After a parameter-efficient strategy only
the trained parameters (a head, biases, adapters, LoRA matrices, a prompt)
differ, and the pretrained model, stored once, serves every task. This is the
"checkpoint size" column of chapter 4's comparison, measured as the size of
the file :func:`save_trainable` writes. The file is a ``safetensors`` file
beside a SHA-256 manifest, written atomically; :func:`load_trainable` checks
both before it touches the model.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..files import IntegrityError, atomic_path, verify_manifest, write_manifest

WEIGHTS_FILE = "trainable.safetensors"


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """``{name: tensor}`` of the parameters that require a gradient (a tied weight once, under its first name)."""
    return {name: p.detach().contiguous() for name, p in model.named_parameters() if p.requires_grad}


def save_trainable(model: nn.Module, folder: str | os.PathLike) -> int:
    """Write ``model``'s trainable parameters to ``folder/trainable.safetensors`` (atomically, with a SHA-256
    manifest) and return the file's size in bytes."""
    from safetensors.torch import save_file

    state = trainable_state(model)
    if not state:
        raise ValueError("No parameter of the model requires a gradient, so there is nothing task-specific to "
                         "save; apply a fine-tuning strategy before training (apply_strategy).")
    folder = Path(folder)
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file({k: v.cpu() for k, v in state.items()}, str(tmp))
    write_manifest(folder)
    return (folder / WEIGHTS_FILE).stat().st_size


def load_trainable(model: nn.Module, folder: str | os.PathLike) -> nn.Module:
    """Load what :func:`save_trainable` wrote into ``model`` (built the same way: the pretrained weights and the
    same strategy), after checking the file against its manifest and every name and shape against the model."""
    from safetensors.torch import load_file

    folder = Path(folder)
    fix = "Save the task's weights again with save_trainable(model, folder)."
    verify_manifest(folder, IntegrityError, fix)
    saved = load_file(str(folder / WEIGHTS_FILE))
    params = dict(model.named_parameters())
    unknown = sorted(set(saved) - set(params))
    if unknown:
        raise ValueError(f"{len(unknown)} saved tensors have no parameter of that name in the model (first: "
                         f"{unknown[0]}); build the model with the same strategy (adapters, LoRA targets, prompt) "
                         "before loading.")
    for name, tensor in saved.items():
        if params[name].shape != tensor.shape:
            raise ValueError(f"{name} is {tuple(tensor.shape)} in the file but {tuple(params[name].shape)} in the "
                             "model; build the model with the same sizes (rank, bottleneck, labels) it was "
                             "trained with.")
    with torch.no_grad():
        for name, tensor in saved.items():
            params[name].copy_(tensor)
    return model
