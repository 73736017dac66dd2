"""sslm_utils.engine.batches: the data order is a seeded partition, split across processes."""

from __future__ import annotations

from sslm_utils.engine.batches import epoch_plan, steps_per_epoch


def test_epoch_plan_is_a_seeded_partition(toy_config):
    cfg = toy_config(batch_size=6, grad_accum_steps=3, seed=7)
    plan = epoch_plan(20, cfg, epoch=0)
    assert len(plan) == steps_per_epoch(20, 6) == 3 and all(len(m) == 3 and len(m[0]) == 2 for m in plan)
    flat = [i for step in plan for micro in step for i in micro]
    assert len(set(flat)) == 18 and epoch_plan(20, cfg, epoch=0) == plan and epoch_plan(20, cfg, epoch=1) != plan
    # two processes take disjoint halves of each global batch
    r0, r1 = (epoch_plan(20, cfg, 0, num_processes=2, rank=r) for r in (0, 1))
    assert len(r0) == 1 and not set(sum(r0[0], [])) & set(sum(r1[0], []))
