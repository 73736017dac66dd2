"""sslm_utils.files: atomic writes and SHA-256 digests."""

import pytest

from sslm_utils.files import atomic_path, atomic_write_bytes, file_lock, sha256_bytes, sha256_file


def test_atomic_write_and_hash(tmp_path):
    target = atomic_write_bytes(tmp_path / "a" / "f.bin", b"hello")
    assert target.read_bytes() == b"hello"
    assert sha256_file(target) == sha256_bytes(b"hello")


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_file_lock_makes_a_second_process_wait_until_the_first_is_done(tmp_path):
    """The child takes the lock, signals, then writes 'done' before releasing; the parent sees 'done'."""
    import subprocess
    import sys

    pytest.importorskip("fcntl")
    target, log = tmp_path / "entry", tmp_path / "log.txt"
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom pathlib import Path\nfrom sslm_utils.files import file_lock\n"
        "log = Path(sys.argv[2])\n"
        "with file_lock(sys.argv[1]):\n"
        "    log.write_text('in')\n    time.sleep(0.5)\n    log.write_text('in done')\n"
    ), str(target), str(log)])
    while not log.exists() and child.poll() is None:
        pass  # wait until the child holds the lock
    with file_lock(target):
        assert log.read_text() == "in done"  # the child finished before this process got in
    assert child.wait() == 0


def test_file_lock_is_released_after_its_block_and_makes_the_folder(tmp_path):
    target = tmp_path / "new" / "entry"
    with file_lock(target):
        pass
    with file_lock(target):  # released by the first
        assert target.parent.is_dir() and not target.exists()
