"""Fault injection: nothing a reader trains is lost, nothing corrupt is loaded silently.

Three kinds of fault, each checked against an uninterrupted reference run:

- a process killed (SIGKILL: no cleanup, no ``finally``) at chosen points of a
  checkpoint save, and once at a random moment: resuming gives bit-identical
  final weights and history;
- every file of a checkpoint and of a model-cache entry, in turn, truncated or
  with one flipped bit: resume falls back to the newest verified checkpoint
  (warning which one it skipped), an explicit resume from the damaged one
  raises :class:`CheckpointError` naming the file, and a damaged cache entry
  is rebuilt instead of loaded;
- a disk that fills up during a save: the error reaches the caller, earlier
  checkpoints still verify, and resuming finishes the run exactly.

Run as a script (``python tests/test_faults.py OUT KILL_POINT``) this file is
the worker that gets killed; it shares the toy run's definitions with the tests.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sslm_utils.engine import CheckpointError, list_checkpoints, train, verify_checkpoint
from sslm_utils.engine import checkpoints as ckpt
from tests.conftest import Crash, CrashingData, _clean_env, _masking_collate, _toy_bert, _toy_config, _toy_data

ROOT = Path(__file__).resolve().parents[1]
KILL_AT_SAVE = 5  # the worker dies during its 5th checkpoint save (of 8), so 4 complete ones may exist
WORKER_TIMEOUT_S = 120

pytestmark = pytest.mark.usefixtures("one_thread")


def run_config():
    """8 steps, a checkpoint after every step, the book's pretraining setting of keeping one (plus a fallback)."""
    return _toy_config(checkpoint_every=1, keep_checkpoints=1, eval_every=None)


def run(output_dir, *, resume=False, data=None):
    return train(_toy_bert(), data if data is not None else _toy_data(), config=run_config(),
                 eval_data=_toy_data(16, seed=2), collate_fn=_masking_collate, output_dir=output_dir, resume=resume)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run every faulty one must end up equal to."""
    torch.set_num_threads(1)
    return run(tmp_path_factory.mktemp("reference"))


def assert_same_run(result, reference) -> None:
    a, b = result.model.state_dict(), reference.model.state_dict()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"resumed weights differ from the uninterrupted run in {different[:3]}"
    untimed = lambda history: [{k: v for k, v in r.items() if k != "tokens_per_s"} for r in history]
    assert untimed(result.history) == untimed(reference.history)


# --------------------------------------------------------------------------- killed during a save


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _install_kill_point(point: str) -> None:
    """Make the worker SIGKILL itself at ``point`` of its KILL_AT_SAVE-th save."""
    saves = {"n": 0}
    real_save = ckpt.save_checkpoint

    def counting_save(*args, **kwargs):
        saves["n"] += 1
        return real_save(*args, **kwargs)

    def armed() -> bool:
        return saves["n"] == KILL_AT_SAVE

    def after(real, condition=lambda *a: True):
        def wrapper(*args, **kwargs):
            out = real(*args, **kwargs)
            if armed() and condition(*args):
                _die()
            return out
        return wrapper

    def half_written_latest(target, data):  # the pointer's temp file is written, the rename never happens
        if not armed():
            return real_latest(target, data)
        Path(target).with_name(f".{Path(target).name}.crash.tmp").write_bytes(data[: len(data) // 2])
        _die()

    def half_pruned(root, keep_last):  # the oldest checkpoint loses its weights, then the process dies
        if not armed():
            return real_prune(root, keep_last)
        shutil.rmtree(ckpt.list_checkpoints(root)[0] / ckpt.MODEL_DIR)
        _die()

    real_latest, real_prune = ckpt.atomic_write_bytes, ckpt.prune_checkpoints
    hooks = {
        "weights": ("save_model_weights", after(ckpt.save_model_weights)),
        "manifest": ("write_manifest", after(ckpt.write_manifest)),
        "fsync": ("_fsync_tree", after(ckpt._fsync_tree)),
        "rename": ("_fsync_dir", after(ckpt._fsync_dir, lambda folder: not folder.name.startswith(".tmp-"))),
        "latest": ("atomic_write_bytes", half_written_latest),
        "prune": ("prune_checkpoints", half_pruned),
    }
    if point in hooks:
        name, replacement = hooks[point]
        setattr(ckpt, name, replacement)
    import sslm_utils.engine.loop as loop

    loop.save_checkpoint = counting_save


def _worker(output_dir: str, point: str) -> None:
    torch.set_num_threads(1)
    _install_kill_point(point)
    run(output_dir)


KILL_POINTS = ["weights", "manifest", "fsync", "rename", "latest", "prune"]


def _start_worker(out: Path, point: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(out), point], cwd=ROOT,
                            env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_during_a_save_resumes_bit_identical(point, tmp_path, reference):
    proc = _start_worker(tmp_path, point)
    _, err = proc.communicate(timeout=WORKER_TIMEOUT_S)
    assert proc.returncode == -signal.SIGKILL, f"the worker was not killed at {point!r}:\n{err[-2000:]}"
    steps = [int(p.name.split("-")[1]) for p in list_checkpoints(tmp_path / "checkpoints")]
    assert steps and max(steps) in (KILL_AT_SAVE - 1, KILL_AT_SAVE)  # the save in flight, or the one before
    resumed = run(tmp_path, resume="auto")
    assert resumed.resumed_from is not None and resumed.steps == 8
    assert_same_run(resumed, reference)
    assert not list((tmp_path / "checkpoints").glob(".*tmp*"))  # the crash's temporaries are gone


def test_killed_at_a_random_moment_resumes_bit_identical(tmp_path, reference):
    """SIGKILL from outside after a seeded random delay: wherever it lands, resume="auto" finishes the same run."""
    delay = random.Random(13).uniform(0.5, 6.0)
    proc = _start_worker(tmp_path, "none")
    time.sleep(delay)
    proc.kill()
    proc.communicate(timeout=WORKER_TIMEOUT_S)
    assert_same_run(run(tmp_path, resume="auto"), reference)


# --------------------------------------------------------------------------- damaged files


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """A run stopped in step 6: complete checkpoints of steps 4 and 5."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("stopped")
    with pytest.raises(Crash):
        run(out, data=CrashingData(_toy_data(), limit=5 * 8 + 4))
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["step-00000004", "step-00000005"]
    return out


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    else:
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))


CHECKPOINT_FILES = ["model/model.safetensors", "model/config.json", "optimizer.pt", "scheduler.pt",
                    "rng/rank-0.pt", "trainer_state.json", "manifest.json"]


def test_the_file_list_is_complete(stopped_run):
    newest = list_checkpoints(stopped_run / "checkpoints")[-1]
    written = {p.relative_to(newest).as_posix() for p in newest.rglob("*") if p.is_file()}
    assert written <= set(CHECKPOINT_FILES) | {"model/generation_config.json"}
    assert set(CHECKPOINT_FILES) <= written


@pytest.mark.parametrize("how", ["truncate", "flip"])
@pytest.mark.parametrize("name", CHECKPOINT_FILES)
def test_a_damaged_checkpoint_is_never_loaded(name, how, stopped_run, tmp_path, reference):
    out = tmp_path / "run"
    shutil.copytree(stopped_run, out)
    newest = list_checkpoints(out / "checkpoints")[-1]
    _damage(newest / name, how)

    with pytest.raises(CheckpointError) as err:  # asked for by path: refused, naming the file and the fix
        run(out, resume=newest)
    assert Path(name).name in str(err.value) and "resume from an earlier one" in str(err.value)

    with pytest.warns(UserWarning, match="skipped the damaged step-00000005"):
        resumed = run(out, resume="auto")
    assert resumed.resumed_from.name == "step-00000004"
    assert_same_run(resumed, reference)


def test_all_checkpoints_damaged_is_an_error_with_the_fix(stopped_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(stopped_run, out)
    for folder in list_checkpoints(out / "checkpoints"):
        _damage(folder / "optimizer.pt", "flip")
    with pytest.raises(CheckpointError, match="No checkpoint under .* passes its SHA-256 check.*overwrite=True"):
        run(out, resume="auto")


# --------------------------------------------------------------------------- a full disk


def test_a_full_disk_during_a_save_loses_nothing(tmp_path, monkeypatch, reference):
    real_save = torch.save
    calls = {"n": 0}

    def disk_full(obj, path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4 * 3 + 2:  # optimizer.pt of the 5th save (rng, optimizer, scheduler per save)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError) as err:
        run(tmp_path)
    assert err.value.errno == errno.ENOSPC
    monkeypatch.setattr(torch, "save", real_save)
    kept = list_checkpoints(tmp_path / "checkpoints")
    assert kept and all(verify_checkpoint(p) is None for p in kept)
    assert_same_run(run(tmp_path, resume="auto"), reference)


# --------------------------------------------------------------------------- the model cache


def test_every_damaged_cache_file_is_rebuilt_not_loaded(tmp_path, tiny_profile, wordpiece_tokenizer):
    from transformers import BertForPreTraining

    from sslm_utils.engine import TrainResult
    from sslm_utils.models import bert_config
    from sslm_utils.zoo.cache import train_or_load

    trained = []

    def train_fn(run_dir):
        torch.manual_seed(0)  # deterministic, as the book's recipes are
        model = BertForPreTraining(bert_config(tiny_profile, len(wordpiece_tokenizer)))
        trained.append(run_dir)
        data = type("Data", (), {"tokenizer": wordpiece_tokenizer, "stats": {"seed": 0}})()
        return model, TrainResult(model, steps=1, train_time_s=0.1), data

    folder = tmp_path / "entry"
    first = train_or_load(folder, tiny_profile, train_fn, BertForPreTraining)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert "model/model.safetensors" in files and "meta.json" in files and "manifest.json" in files
    for i, name in enumerate(files):
        _damage(folder / name, "flip" if i % 2 else "truncate")
        with pytest.warns(UserWarning, match="damaged and is trained again"):
            again = train_or_load(folder, tiny_profile, train_fn, BertForPreTraining)
        assert not again.from_cache and len(trained) == i + 2
        loaded = train_or_load(folder, tiny_profile, train_fn, BertForPreTraining)  # the rebuilt entry verifies
        assert loaded.from_cache
        assert all(torch.equal(v, first.model.state_dict()[k]) for k, v in loaded.model.state_dict().items())


if __name__ == "__main__":  # the worker the kill tests start and kill
    _worker(sys.argv[1], sys.argv[2])
