"""Scaling out with no code change: 2 ``torchrun`` processes end with the weights of 1.

The test starts a real ``torchrun`` launch (two gloo ranks on the CPU), because
that is how a reader scales out; ``accelerate launch --cpu --num_processes 2``
is no substitute, since it silently starts a single process. ``--standalone``
lets torchrun pick a free port, so that test runs side by side on one machine
do not collide on 29500.

Run as a script (``torchrun ... tests/engine/test_distributed.py OUT``) this
file is also the worker of the test, so the worker and the single-process
reference share every definition (the toy model and data come from conftest).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import _run_python, _toy_bert, _toy_data

ATOL = 1e-5  # on every parameter: float32 sums in another order differ by ~1e-7, a real bug by far more
GLOBAL_BATCH = 8


def tiny_bert():
    """Without dropout: with dropout each process draws its own masks, so the runs would differ."""
    return _toy_bert(dropout=0.0)


def label_collate(items: list[dict]) -> dict:
    """Deterministic labels (predict every input id): no random draw that could differ between processes."""
    batch = torch.utils.data.default_collate(items)
    batch["labels"] = batch["input_ids"].clone()
    return batch


def tiny_config(num_processes: int):
    """The same global batch on any number of processes: 8 = 1 x 8 = 2 x 4.

    8 steps over 48 examples cross an epoch boundary (6 steps an epoch); the
    warm-up, the decay and gradient clipping all act on the trajectory.
    """
    from sslm_utils.engine import TrainConfig

    return TrainConfig(max_steps=8, batch_size=GLOBAL_BATCH // num_processes, lr=1e-2, warmup_steps=2,
                       max_grad_norm=1.0, progress=False)


def _worker(output_dir: str) -> None:
    """One rank of the 2-process run: the very call a single process makes, with half the batch."""
    from sslm_utils.engine import train

    world = int(os.environ["WORLD_SIZE"])
    train(tiny_bert(), _toy_data(), config=tiny_config(world), collate_fn=label_collate, output_dir=output_dir)


def max_abs_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    return max(float((sa[k].float() - sb[k].float()).abs().max()) for k in sa)


@pytest.mark.usefixtures("one_thread")
def test_two_ranks_match_one_rank_with_the_same_global_batch(tmp_path):
    """torchrun with 2 gloo ranks x 4 examples ends with the weights of 1 process x 8, to ATOL on every parameter.

    DDP averages the two ranks' gradients, and the mean of two means over
    4 examples is the mean over 8: the same update, up to float rounding.
    """
    from sslm_utils.engine import latest_checkpoint, load_checkpoint, train

    initial = tiny_bert()
    single = train(tiny_bert(), _toy_data(), config=tiny_config(1), collate_fn=label_collate)
    _run_python([str(Path(__file__).resolve()), str(tmp_path)], torchrun=True)

    folder = latest_checkpoint(tmp_path / "checkpoints")
    assert sorted(p.name for p in (folder / "rng").iterdir()) == ["rank-0.pt", "rank-1.pt"]  # two ranks really ran
    two = tiny_bert()
    state = load_checkpoint(folder, model=two, restore_rng=False)
    assert state["num_processes"] == 2 and state["step"] == single.steps == 8
    assert state["examples_seen"] == single.examples_seen == 8 * GLOBAL_BATCH

    difference = max_abs_difference(single.model, two)
    print(f"max |1 rank - 2 ranks| over all parameters: {difference:.3g}")
    assert difference <= ATOL, f"2 ranks drift from 1 rank by {difference:.3g} > {ATOL}"
    assert max_abs_difference(initial, two) > 100 * ATOL  # the weights did move: the comparison is not vacuous
    losses = lambda history: [r["loss"] for r in history if r["split"] == "train"]
    assert losses(state["history"]) == pytest.approx(losses(single.history), rel=1e-5)


if __name__ == "__main__":  # the torchrun worker of test_two_ranks_match_one_rank_with_the_same_global_batch
    _worker(sys.argv[1])
