"""Each lesson-3.5 checker accepts a solution, rejects typical wrong answers saying why, and treats an
unattempted starter (``...`` or ``raise NotImplementedError``) as "not yet", without raising."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.engine.batches import epoch_plan
from sslm_utils.engine.config import TrainConfig
from sslm_utils.exercises.pretraining.scaling_out import (
    check_accumulation_weights,
    check_pick_precision,
    check_split_batch,
    engine_precision,
)


def not_attempted(*args):
    ...


def not_implemented(*args):
    raise NotImplementedError


def assert_rejected(checker, wrong, phrase: str):
    feedback = checker(wrong)
    assert not feedback.passed, wrong
    assert any(phrase in m for m in feedback.messages), (phrase, feedback.messages)


@pytest.mark.parametrize("checker", [check_split_batch, check_accumulation_weights, check_pick_precision])
def test_unattempted_is_reported_not_raised(checker):
    for starter, phrase in [(not_attempted, "returned None"), (not_implemented, "not attempted yet")]:
        feedback = checker(starter)
        assert not feedback.passed
        assert any(phrase in m for m in feedback.messages), feedback.messages
    assert "Not yet" in str(feedback) and "Not yet" in feedback._repr_markdown_()
    with pytest.raises(AssertionError):
        feedback.assert_passed()


# --------------------------------------------------------------------------- splitting a global batch


def solution_split(indices, world_size, rank, grad_accum_steps):
    if len(indices) % (world_size * grad_accum_steps):
        raise ValueError("the global batch does not split evenly")
    share = len(indices) // world_size
    mine = indices[rank * share : (rank + 1) * share]
    micro = share // grad_accum_steps
    return [mine[i : i + micro] for i in range(0, share, micro)]


def strided_split(indices, world_size, rank, grad_accum_steps):
    """Another valid split (DistributedSampler's): every world_size-th example; the checker accepts it."""
    if len(indices) % (world_size * grad_accum_steps):
        raise ValueError("uneven")
    mine = torch.tensor(indices[rank::world_size])
    return list(mine.chunk(grad_accum_steps))


def test_split_checker_accepts_solutions_and_matches_the_engine():
    assert check_split_batch(solution_split).passed
    assert check_split_batch(strided_split).passed
    config = TrainConfig(max_steps=1, batch_size=4, grad_accum_steps=2)
    order = torch.randperm(24, generator=torch.Generator().manual_seed(config.seed * 100_003)).tolist()
    for rank in range(3):
        assert epoch_plan(24, config, 0, num_processes=3, rank=rank)[0] == solution_split(order[:12], 3, rank, 2)


def whole_batch(indices, world_size, rank, grad_accum_steps):
    micro = len(indices) // grad_accum_steps
    return [indices[i : i + micro] for i in range(0, len(indices), micro)]


def same_slice_everywhere(indices, world_size, rank, grad_accum_steps):
    return solution_split(indices, world_size, 0, grad_accum_steps)


def cut_by_world(indices, world_size, rank, grad_accum_steps):
    share = len(indices) // world_size
    mine = indices[rank * share : (rank + 1) * share]
    size = share // world_size
    return [mine[i * size : (i + 1) * size] for i in range(world_size)]


def flat_share(indices, world_size, rank, grad_accum_steps):
    share = len(indices) // world_size
    return indices[rank * share : (rank + 1) * share]


def positions_not_indices(indices, world_size, rank, grad_accum_steps):
    return solution_split(list(range(len(indices))), world_size, rank, grad_accum_steps)


def no_error_when_uneven(indices, world_size, rank, grad_accum_steps):
    share = len(indices) // world_size
    mine = indices[rank * share : (rank + 1) * share]
    micro = max(1, share // grad_accum_steps)
    return [mine[i : i + micro] for i in range(0, share, micro)]


def test_split_checker_rejects_typical_mistakes():
    for wrong, phrase in [
        (whole_batch, "each rank takes only its"),
        (same_slice_everywhere, "DIFFERENT slice"),
        (cut_by_world, "cut by world_size"),
        (flat_share, "a flat list of indices"),
        (positions_not_indices, "not positions 0, 1, 2"),
        (no_error_when_uneven, "Raise ValueError"),
        (lambda *a: 1 / 0, "your code raised ZeroDivisionError"),
    ]:
        assert_rejected(check_split_batch, wrong, phrase)


# --------------------------------------------------------------------------- accumulation weights


def solution_weights(token_counts):
    total = sum(token_counts)
    return [n / total for n in token_counts]


def test_weights_checker_accepts_solutions():
    assert check_accumulation_weights(solution_weights).passed
    assert check_accumulation_weights(lambda n: torch.tensor(n) / torch.tensor(n).sum()).passed


def test_weights_checker_rejects_typical_mistakes():
    for wrong, phrase in [
        (lambda n: [1 / len(n)] * len(n), "plain mean of the micro-batch means"),
        (lambda n: list(n), "times too large"),
        (lambda n: [1 / k for k in n], "inverted"),
        (lambda n: [k / len(n) for k in n], "must add up to 1"),
        (lambda n: [0.0] * len(n), "summed loss"),
        (lambda n: [1.0], "return 2 weights"),
        (lambda n: "equal", "one number per micro-batch"),
    ]:
        assert_rejected(check_accumulation_weights, wrong, phrase)


def test_weights_feedback_measures_the_gradient_gap():
    feedback = check_accumulation_weights(lambda n: [1 / len(n)] * len(n))
    assert "the accumulated gradient is off by" in feedback.messages[0]


# --------------------------------------------------------------------------- precision


def solution_precision(device_type, capability):
    if device_type != "cuda":
        return "no"
    return "bf16" if capability[0] >= 8 else "fp16"


def test_engine_precision_fakes_the_devices():
    assert engine_precision("cpu", None) == "no"
    assert engine_precision("cuda", (7, 5)) == "fp16"
    assert engine_precision("cuda", (8, 0)) == "bf16"


def test_precision_checker():
    assert check_pick_precision(solution_precision).passed
    assert check_pick_precision(lambda d, c: solution_precision(d, c).upper()).passed
    for wrong, phrase in [
        (lambda d, c: "fp16" if d == "cpu" else solution_precision(d, c), "refuses fp16 on the CPU"),
        (lambda d, c: "bf16", "auto keeps full fp32 on the CPU"),
        (lambda d, c: "no", "mixed precision is worth it"),
        (lambda d, c: "no" if d == "cpu" else "bf16", "older than Ampere"),
        (lambda d, c: "no" if d == "cpu" else ("bf16" if c >= (8, 6) else "fp16"), "Compare the MAJOR version"),
        (lambda d, c: "float16", "return one of"),
    ]:
        assert_rejected(check_pick_precision, wrong, phrase)
