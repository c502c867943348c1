"""Telling a pulled stick from a broken file: a real yanked-stick filesystem."""

from __future__ import annotations

from pathlib import Path

from headunit.player.pull import Found, check, vanished


def test_a_yanked_stick_is_unreadable_then_missing_and_a_broken_file_reads(
    fuse_stick, tmp_path: Path
) -> None:
    source = tmp_path / "cd"
    source.mkdir()
    (source / "broken.flac").write_bytes(b"\x00not audio at all" * 100)
    stick = fuse_stick(source, tmp_path / "usb")
    on_stick = tmp_path / "usb" / "broken.flac"
    assert check(str(on_stick)) is Found.READABLE  # broken, but there: skip it
    assert check(on_stick.as_uri()) is Found.READABLE
    stick.fail()
    assert on_stick.stat().st_size > 0  # it still stats, as a yanked stick's files do
    assert check(str(on_stick)) is Found.UNREADABLE
    stick.unmount()
    assert check(str(on_stick)) is Found.MISSING


def test_only_a_file_read_before_counts_as_vanished_when_missing() -> None:
    assert vanished(Found.UNREADABLE, read_before=False)
    assert vanished(Found.MISSING, read_before=True)  # its stick was unmounted
    assert not vanished(Found.MISSING, read_before=False)  # a playlist entry never there
    assert not vanished(Found.READABLE, read_before=True)
    assert check("http://127.0.0.1:9/radio") is Found.READABLE  # a stream has no stick
