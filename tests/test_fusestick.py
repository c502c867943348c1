"""The yanked-stick filesystem the pull tests and bench/soak.py rely on: a mirror that
reads, then answers EIO while still mounted, then is gone."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from fusestick import FuseStick, mounted

pytestmark = pytest.mark.timeout(60)


CONTENT = os.urandom(300_000)


@pytest.fixture
def plugged(fuse_stick, tmp_path: Path) -> tuple[FuseStick, Path]:
    """A stick on tmp_path/usb with one file, and that file's path on the stick."""
    (tmp_path / "src" / "Album").mkdir(parents=True)
    (tmp_path / "src" / "Album" / "1 One.flac").write_bytes(CONTENT)
    return fuse_stick(tmp_path / "src", tmp_path / "usb"), tmp_path / "usb" / "Album" / "1 One.flac"


def test_reads_work_then_fail_with_eio_while_mounted_then_the_stick_is_gone(
    plugged: tuple[FuseStick, Path], tmp_path: Path
) -> None:
    stick, track = plugged
    usb = tmp_path / "usb"
    assert os.listdir(usb) == ["Album"]
    assert track.read_bytes() == CONTENT

    stick.fail()
    assert mounted(usb)
    assert track.stat().st_size == 300_000  # still there, as the kernel has it cached
    for attempt in (track.read_bytes, lambda: os.listdir(usb / "Album")):
        with pytest.raises(OSError, match=r"Input/output error") as failed:
            attempt()
        assert failed.value.errno == errno.EIO

    stick.unmount()
    assert not mounted(usb)
    assert os.listdir(usb) == []
    assert not track.exists()


def test_a_file_open_before_the_pull_fails_after_it_and_a_replug_reads_again(
    plugged: tuple[FuseStick, Path], tmp_path: Path
) -> None:
    stick, track = plugged
    usb = tmp_path / "usb"
    with track.open("rb", buffering=0) as playing:
        assert len(playing.read(4096)) == 4096
        stick.yank(after=0.2)
        assert not mounted(usb)
        playing.seek(200_000)  # past what was read: the kernel has not cached it
        with pytest.raises(OSError, match=r"Input/output error") as failed:
            playing.read(4096)
        assert failed.value.errno == errno.EIO

        stick.plug()
        assert track.read_bytes() == CONTENT
