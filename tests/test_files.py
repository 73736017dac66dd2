"""sslm_utils.files: atomic writes and SHA-256 digests."""

import pytest

from sslm_utils.files import atomic_path, atomic_write_bytes, sha256_bytes, sha256_file


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
