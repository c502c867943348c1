"""Telling a pulled stick from a broken file, and what the player does with a stick
that keeps failing: a real yanked-stick filesystem."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support import async_wait_for, make_album

from headunit.media import scan
from headunit.model import Command, CommandName
from headunit.player import pull
from headunit.player.loading import Phase
from headunit.player.pull import Found, check, medium, mount_points, vanished
from headunit.player.timer import HOLD_GIVE_UP_SECONDS
from headunit.state import Status

pytestmark = pytest.mark.timeout(90)


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


def test_a_file_s_medium_is_its_mount_point_from_the_mount_table(tmp_path: Path) -> None:
    points = ["/", "/media/usb", "/media/usb two", "/media/usb/inner"]
    assert medium("/media/usb/Album/1 One.flac", points) == "/media/usb"
    assert medium("file:///media/usb%20two/a.flac", points) == "/media/usb two"
    assert medium("/media/usb/inner/a.flac", points) == "/media/usb/inner"  # the nearest
    assert medium("/media/usbstick/a.flac", points) is None  # not under /media/usb
    assert medium("/home/car/Music/a.flac", points) is None  # the root: a bad file
    assert medium("http://127.0.0.1:9/radio", points) is None
    assert pull.on("/media/usb/Album/1 One.flac", "/media/usb", points)
    assert not pull.on("/media/usb/inner/a.flac", "/media/usb", points)
    assert not pull.on("/media/usb two/a.flac", "/media/usb", points)
    assert str(tmp_path.anchor) in mount_points()


# Seconds of the stick's CD-sized tracks (read as they play, so a failing stick is met).
CD_SECONDS = 30


async def test_a_stick_that_keeps_failing_while_mounted_is_given_up_and_resumed_on_replug(
    make_rig, fuse_stick, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Reads fail (EIO) and the stick stays mounted: the player holds its track for
    HOLD_GIVE_UP_SECONDS, then plays on with what is elsewhere, keeping where the track
    was; a re-plug (the hot-plug rescan) resumes it there."""
    make_album(tmp_path / "cd", ["One", "Two"], seconds=CD_SECONDS, noisy=True)
    make_album(tmp_path / "home", ["Home"], seconds=CD_SECONDS)
    usb = tmp_path / "usb"
    stick = fuse_stick(tmp_path / "cd", usb)
    media = [str(usb), str(tmp_path / "home")]
    rig = await make_rig(media, mpv_options={"cache": "no"})  # a stick is read as it plays
    player = rig.player
    await rig.controller.execute(Command(CommandName.SEEK, 5.0), source="test")
    await async_wait_for(lambda: title(rig) == "One" and player.position() >= 6, what="One")
    stick.fail()  # and never unmounted
    await async_wait_for(lambda: player._loader.phase is Phase.HELD, 20, "One held")
    held_at = time.monotonic()
    await async_wait_for(lambda: title(rig) == "Home" and playing(rig), 40, "Home playing on")
    assert time.monotonic() - held_at >= HOLD_GIVE_UP_SECONDS - 1
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if "kept failing" in m] == [
        f"{usb}/1 One.flac kept failing for {HOLD_GIVE_UP_SECONDS:g} s: playing on without {usb}"
    ]
    assert not [m for m in messages if m.startswith("skipped")]
    saved = player.resume_snapshot()
    assert saved.current_uri == str(tmp_path / "home" / "1 Home.flac")
    [point] = saved.pulled
    assert point.uri == f"{usb}/1 One.flac"
    assert 5 <= point.position < 10
    assert player.queue().uris == [str(tmp_path / "home" / "1 Home.flac")]

    stick.unmount()
    stick.plug()
    await player.media_changed(scan(media), {})
    await async_wait_for(lambda: title(rig) == "One" and playing(rig), 20, "One resumed")
    assert point.position - 1 <= player.position() < point.position + 5
    assert player.resume_snapshot().pulled == ()


def title(rig) -> str | None:  # type: ignore[no-untyped-def]
    track = rig.controller.state.track
    return track.title if track else None


def playing(rig) -> bool:  # type: ignore[no-untyped-def]
    return bool(rig.controller.state.status is Status.PLAYING)


async def test_a_car_stopped_by_a_pull_stays_stopped_when_a_rescan_finds_nothing_new(
    make_rig, tmp_path: Path
) -> None:
    """Nothing is left after the pulled track (Home is before it, no loop): the car stops.
    A pull often brings a second rescan (the mount table, then the folders' events): it
    finds nothing new, and no other media starts by itself; a re-plug resumes the track."""
    make_album(tmp_path / "home", ["Home"], seconds=CD_SECONDS)
    make_album(tmp_path / "usb" / "Album", ["Two"], seconds=CD_SECONDS)
    media = [str(tmp_path / "home"), str(tmp_path / "usb")]
    rig = await make_rig(media)
    player = rig.player
    await rig.controller.execute(Command(CommandName.NEXT), source="test")
    await rig.controller.execute(Command(CommandName.SEEK, 5.0), source="test")
    await async_wait_for(lambda: title(rig) == "Two" and playing(rig), what="Two playing")
    (tmp_path / "usb" / "Album").rename(tmp_path / "away")  # pulled, unmounted

    await player.media_changed(scan(media), {})
    assert rig.controller.state.status is Status.STOPPED
    await player.media_changed(scan(media), {})  # the same pull, heard again
    assert rig.controller.state.status is Status.STOPPED
    assert player._loader.entry is None

    (tmp_path / "away").rename(tmp_path / "usb" / "Album")  # plugged back
    await player.media_changed(scan(media), {})
    await async_wait_for(lambda: title(rig) == "Two" and playing(rig), 20, "Two resumed")
    assert 4 <= player.position() < 10


async def test_after_a_replug_resumed_its_track_stop_means_stopped(
    make_rig, tmp_path: Path
) -> None:
    """A stick pulled while the queue plays on, plugged back (its track resumes), then the
    driver stops: what is saved is what was stopped, not the state before the pull, and
    a later rescan (SIGHUP, another stick) starts nothing."""
    make_album(tmp_path / "usb" / "Album", ["One"], seconds=CD_SECONDS)
    make_album(tmp_path / "home", ["Home"], seconds=CD_SECONDS)
    media = [str(tmp_path / "usb"), str(tmp_path / "home")]
    rig = await make_rig(media)
    player = rig.player
    await rig.controller.execute(Command(CommandName.SEEK, 5.0), source="test")
    await async_wait_for(lambda: title(rig) == "One" and player.position() >= 5, what="One at 5")
    (tmp_path / "usb" / "Album").rename(tmp_path / "away")  # pulled, unmounted
    await player.media_changed(scan(media), {})
    await async_wait_for(lambda: title(rig) == "Home" and playing(rig), 20, "Home playing on")
    (tmp_path / "away").rename(tmp_path / "usb" / "Album")  # plugged back
    await player.media_changed(scan(media), {})
    await async_wait_for(lambda: title(rig) == "One" and playing(rig), 20, "One resumed")
    await rig.controller.execute(Command(CommandName.NEXT), source="test")
    await async_wait_for(lambda: title(rig) == "Home" and playing(rig), 20, "Home")

    await rig.controller.execute(Command(CommandName.STOP), source="test")
    assert player.resume_snapshot().current_uri == str(tmp_path / "home" / "1 Home.flac")
    await player.media_changed(scan(media), {})
    assert rig.controller.state.status is Status.STOPPED
    assert player._loader.entry is None


async def test_previous_onto_a_broken_first_file_plays_on_after_it(
    make_rig, tmp_path: Path
) -> None:
    """No file before the broken one to go back to: the car plays on, not silence."""
    make_album(tmp_path / "cd", ["One", "Two"], seconds=CD_SECONDS)
    rig = await make_rig([str(tmp_path / "cd")])
    await rig.controller.execute(Command(CommandName.NEXT), source="test")
    await async_wait_for(lambda: title(rig) == "Two" and playing(rig), what="Two playing")
    (tmp_path / "cd" / "1 One.flac").write_bytes(b"\x00not audio at all" * 100)  # gone bad
    await rig.controller.execute(Command(CommandName.PREVIOUS), source="test")
    await async_wait_for(lambda: "1 One.flac" in player_broken(rig), 20, "One found broken")
    await async_wait_for(lambda: title(rig) == "Two" and playing(rig), 20, "Two playing on")


def player_broken(rig) -> set[str]:  # type: ignore[no-untyped-def]
    return {Path(uri).name for uri in rig.player._broken}
