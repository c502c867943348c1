"""The mount table as headunit reads it: a stick mounted where its label put it, spaces
and all (udisks2 mounts a stick labelled "MY MUSIC" at /media/<user>/MY MUSIC)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import make_tone

from headunit import mounts
from headunit.doctor.car import mounted_from
from headunit.player import pull

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")


@pytest.fixture
def stick(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs named like a stick, at a label with a space, a tab and a backslash."""
    point = tmp_path / "MY MUSIC\tvol\\2"
    point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "usb stick", str(point)], check=True)
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=True)


def test_a_stick_s_mount_is_read_with_its_label_as_written(stick: Path) -> None:
    assert mounts.Mount(str(stick), "usb stick", "tmpfs") in mounts.table()
    track = make_tone(stick / "1 One.flac", 1)
    assert pull.medium(track.as_uri(), pull.mount_points()) == str(stick)


def test_doctor_names_the_stick_a_media_folder_is_on(stick: Path) -> None:
    assert mounted_from(stick / "Album") == f"usb stick (tmpfs) at {stick}"
    assert mounted_from(Path("/")).endswith(" at /")
