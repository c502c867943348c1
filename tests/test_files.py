"""Atomic replacement: a reader sees the old file or the new one, and a failed write
leaves the old one and no partial file behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from headunit.files import write_atomically


@pytest.mark.parametrize("durable", [False, True])
def test_the_file_is_replaced_with_the_mode_asked_for(tmp_path: Path, durable: bool) -> None:
    path = tmp_path / "deep" / "state.json"
    write_atomically(path, b"old", mode=0o600, durable=durable)
    write_atomically(path, b"new", mode=0o644, durable=durable)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_atomically(path, b"old")
    with pytest.raises(TypeError):
        write_atomically(path, "not bytes")  # fails mid-write
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
