"""sslm_utils.engine.checkpoints: atomic writes, crash safety, integrity checks."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.engine import checkpoints as ckpt


class TiedNet(torch.nn.Module):
    """A module that is not a transformers model, with a tied (shared) weight."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.embed = torch.nn.Embedding(10, 4)
        self.out = torch.nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight


def parts(seed: int = 0):
    model = TiedNet(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 / (s + 1))
    loss = model.out(model.embed(torch.arange(10))).logsumexp(-1).mean()
    loss.backward()
    optimizer.step()
    scheduler.step()
    return model, optimizer, scheduler


def save(root, step, model, optimizer, scheduler, **kw):
    return ckpt.save_checkpoint(root, step, model=model, optimizer=optimizer, scheduler=scheduler,
                                trainer_state={"note": "hi"}, **kw)


def test_save_and_load_round_trip(tmp_path):
    model, optimizer, scheduler = parts(0)
    folder = save(tmp_path, 7, model, optimizer, scheduler)
    assert folder.name == "step-00000007" and (tmp_path / ckpt.LATEST).read_text() == folder.name
    assert {"manifest.json", "optimizer.pt", "scheduler.pt", "trainer_state.json"} <= {p.name for p in folder.iterdir()}

    other, other_opt, other_sched = parts(1)
    state = ckpt.load_checkpoint(folder, model=other, optimizer=other_opt, scheduler=other_sched)
    assert state == {"note": "hi", "step": 7}
    assert torch.equal(other.embed.weight, model.embed.weight) and other.out.weight is other.embed.weight
    assert torch.equal(other_opt.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])
    assert other_sched.state_dict() == scheduler.state_dict()


def test_crash_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model, optimizer, scheduler = parts()
    good = save(tmp_path, 1, model, optimizer, scheduler)
    real_save = torch.save

    def dying_save(obj, path, *a, **k):
        if str(path).endswith("optimizer.pt"):
            raise OSError("disk full")
        return real_save(obj, path, *a, **k)

    monkeypatch.setattr(ckpt.torch, "save", dying_save)
    with pytest.raises(OSError, match="disk full"):
        save(tmp_path, 2, model, optimizer, scheduler)
    monkeypatch.undo()
    assert (tmp_path / ".tmp-step-00000002").exists()  # the debris of the crash ...
    assert ckpt.latest_checkpoint(tmp_path) == good  # ... is never mistaken for a checkpoint
    assert ckpt.list_checkpoints(tmp_path) == [good]
    ckpt.load_checkpoint(ckpt.resolve_checkpoint(tmp_path, "latest"), model=TiedNet(3))
    save(tmp_path, 3, model, optimizer, scheduler)
    assert not (tmp_path / ".tmp-step-00000002").exists()  # cleaned by the next save


def test_crash_between_rename_and_pointer_update(tmp_path, monkeypatch):
    model, optimizer, scheduler = parts()
    save(tmp_path, 1, model, optimizer, scheduler)

    def dying_write(*args, **kwargs):
        raise OSError("power cut")

    monkeypatch.setattr(ckpt, "atomic_write_bytes", dying_write)
    with pytest.raises(OSError, match="power cut"):
        save(tmp_path, 2, model, optimizer, scheduler)
    # the pointer still names step 1, but step 2 is complete and newer: use it
    assert (tmp_path / ckpt.LATEST).read_text() == "step-00000001"
    assert ckpt.latest_checkpoint(tmp_path).name == "step-00000002"


def test_keep_last_prunes_old_checkpoints(tmp_path):
    model, optimizer, scheduler = parts()
    for step in (1, 2, 3, 4):
        save(tmp_path, step, model, optimizer, scheduler, keep_last=2)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["step-00000003", "step-00000004"]
    with pytest.raises(ValueError, match="keep_last must be a positive int"):
        save(tmp_path, 5, model, optimizer, scheduler, keep_last=0)


def test_corruption_is_detected(tmp_path):
    model, optimizer, scheduler = parts()
    folder = save(tmp_path, 1, model, optimizer, scheduler)
    target = folder / "optimizer.pt"
    original = target.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(ckpt.CheckpointError, match="does not match the SHA-256 recorded in manifest.json"):
        ckpt.load_checkpoint(folder, model=TiedNet(), optimizer=parts()[1])
    target.write_bytes(original)
    ckpt.verify_checkpoint(folder)
    (folder / "scheduler.pt").unlink()
    with pytest.raises(ckpt.CheckpointError, match="scheduler.pt is missing"):
        ckpt.verify_checkpoint(folder)


def test_resolve_checkpoint(tmp_path):
    model, optimizer, scheduler = parts()
    assert ckpt.resolve_checkpoint(tmp_path, False) is None
    assert ckpt.resolve_checkpoint(tmp_path, "auto") is None
    folder = save(tmp_path, 4, model, optimizer, scheduler)
    assert ckpt.resolve_checkpoint(tmp_path, True) == folder
    assert ckpt.resolve_checkpoint(None, folder) == folder
    assert ckpt.resolve_checkpoint(None, tmp_path) == folder  # a root: its newest
    (tmp_path / "empty").mkdir()
    with pytest.raises(ckpt.CheckpointError, match="interrupted"):
        ckpt.resolve_checkpoint(None, tmp_path / "empty")
    with pytest.raises(TypeError, match="resume must be"):
        ckpt.resolve_checkpoint(tmp_path, 3)
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        ckpt.resolve_checkpoint(tmp_path / "empty", "latest")


def test_wrong_architecture_and_missing_rank(tmp_path):
    model, optimizer, scheduler = parts()
    folder = save(tmp_path, 1, model, optimizer, scheduler)
    with pytest.raises(ckpt.CheckpointError, match="do not fit this model"):
        ckpt.load_checkpoint(folder, model=torch.nn.Linear(4, 10))
    with pytest.raises(ckpt.CheckpointError, match="same number of processes"):
        ckpt.load_checkpoint(folder, model=TiedNet(), rank=1)
    with pytest.raises(FileNotFoundError):
        ckpt.load_checkpoint(tmp_path / "missing", model=TiedNet())
