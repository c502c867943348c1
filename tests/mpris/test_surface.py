"""The MPRIS D-Bus surface against a fake target: one member, one behaviour per test.

These pin down the mapping of each member onto a Command, the Can* guards and the
signals; test_conformance.py checks the same rules against the real daemon.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from dbus_fast import MessageType
from mpris_helpers import ROOT, MprisClient, Surface

from headunit.component import Context
from headunit.config import Config
from headunit.model import Command, CommandName, LoopMode
from headunit.mpris.server import MprisServer
from headunit.state import Status, Track

C = CommandName


def names(surface: Surface) -> list[CommandName]:
    return [c.name for c in surface.target.commands]


async def test_a_second_player_takes_the_instance_name(surface: Surface) -> None:
    assert surface.server.bus_name == "org.mpris.MediaPlayer2.headunit"
    second = MprisServer(Context(surface.controller, Config(), lambda: None))
    await second.start()
    try:
        assert second.bus_name is not None
        assert second.bus_name.startswith("org.mpris.MediaPlayer2.headunit.instance")
        assert second.bus_name.removeprefix("org.mpris.MediaPlayer2.headunit.instance").isdigit()
    finally:
        await second.stop()


@pytest.mark.parametrize(
    ("member", "command"),
    [("Play", C.PLAY), ("PlayPause", C.TOGGLE), ("Stop", C.STOP), ("Next", C.NEXT)],
)
async def test_each_method_makes_one_command(
    surface: Surface, member: str, command: CommandName
) -> None:
    await surface.client.ok(member)
    assert names(surface) == [command]


async def test_pause_and_previous_map_to_their_commands(surface: Surface) -> None:
    await surface.client.ok("Next")
    await surface.client.ok("Play")
    await surface.client.ok("Pause")
    await surface.client.ok("Previous")
    assert names(surface) == [C.NEXT, C.PLAY, C.PAUSE, C.PREVIOUS]


async def test_next_and_previous_do_nothing_when_they_cannot(surface: Surface) -> None:
    client = surface.client
    assert await client.value("CanGoPrevious") is False
    await client.ok("Previous")
    await client.ok("Next")
    await client.ok("Next")
    assert await client.value("CanGoNext") is False
    await client.ok("Next")
    assert names(surface) == [C.NEXT, C.NEXT]


async def test_seek_is_relative_in_microseconds(surface: Surface) -> None:
    await surface.client.ok("Seek", "x", 10_500_000)
    assert surface.target.commands == [Command(C.SEEK_BY, 10.5)]
    assert await surface.client.wait_for(surface.client.seeks) == [10_500_000]


async def test_seek_before_zero_lands_on_zero(surface: Surface) -> None:
    await surface.client.ok("Seek", "x", -(2**63))
    assert await surface.client.wait_for(surface.client.seeks) == [0]


async def test_seek_past_the_end_goes_to_the_next_track(surface: Surface) -> None:
    await surface.client.ok("Seek", "x", 2**63 - 1)
    changes = surface.client.changes
    meta = (await surface.client.wait_for(lambda: [c for c in changes() if "Metadata" in c]))[0]
    assert meta["Metadata"].value["mpris:trackid"].value == "/com/headunit/track/2"


@pytest.mark.parametrize(
    ("trackid", "position"),
    [
        ("/com/headunit/track/2", 5_000_000),  # not the current track
        ("/com/headunit/track/1", -1),
        ("/com/headunit/track/1", 120_000_001),  # past the length
    ],
)
async def test_set_position_ignores_bad_requests(
    surface: Surface, trackid: str, position: int
) -> None:
    await surface.client.ok("SetPosition", "ox", trackid, position)
    await surface.client.settle()
    assert surface.target.commands == []
    assert surface.client.seeks() == []


async def test_set_position_seeks_the_current_track(surface: Surface) -> None:
    await surface.client.ok("SetPosition", "ox", "/com/headunit/track/1", 42_000_000)
    assert surface.target.commands == [Command(C.SEEK, 42.0)]
    assert await surface.client.wait_for(surface.client.seeks) == [42_000_000]


async def test_position_stays_right_past_2_31_microseconds(surface: Surface) -> None:
    book = Track(entry_id=9, uri="/books/long.m4b", title="Book", duration=3 * 3600.0)
    surface.target.publish(track=book)
    await surface.client.ok("SetPosition", "ox", "/com/headunit/track/9", 2_200_000_000)
    assert await surface.client.wait_for(surface.client.seeks) == [2_200_000_000]
    assert await surface.client.value("Position") >= 2_200_000_000 > 2**31


@pytest.mark.parametrize(("volume", "percent"), [(0.5, 50.0), (-0.3, 0.0), (1.7, 100.0)])
async def test_volume_writes_become_a_clamped_percentage(
    surface: Surface, volume: float, percent: float
) -> None:
    reply = await surface.client.set("Volume", "d", volume)
    assert reply.message_type is MessageType.METHOD_RETURN
    assert surface.target.commands == [Command(C.VOLUME, percent)]
    await surface.client.wait_property("Volume", percent / 100)


async def test_rate_is_fixed_and_zero_pauses(surface: Surface) -> None:
    client = surface.client
    assert (await client.get("Rate")).signature == "d"
    assert await client.value("MinimumRate") <= 1.0 <= await client.value("MaximumRate")
    await client.ok("Play")
    await client.set("Rate", "d", 2.0)
    assert await client.value("Rate") == 1.0
    await client.set("Rate", "d", 0.0)
    assert names(surface) == [C.PLAY, C.PAUSE]
    assert await client.value("Rate") == 1.0
    assert await client.value("PlaybackStatus") == "Paused"


async def test_shuffle_and_loop_writes(surface: Surface) -> None:
    client = surface.client
    await client.set("Shuffle", "b", True)
    await client.set("LoopStatus", "s", "Playlist")
    assert surface.target.commands == [
        Command(C.SHUFFLE, True),
        Command(C.LOOP, str(LoopMode.PLAYLIST)),
    ]
    await client.wait_property("LoopStatus", "Playlist")
    await client.wait_property("Shuffle", True)
    # Looping the playlist makes Previous possible on the first track.
    await client.wait_property("CanGoPrevious", True)


async def test_a_bad_loop_status_is_a_dbus_error(surface: Surface) -> None:
    reply = await surface.client.set("LoopStatus", "s", "Forever")
    assert reply.message_type is MessageType.ERROR
    assert reply.error_name == "org.freedesktop.DBus.Error.InvalidArgs"
    assert surface.target.commands == []


async def test_open_uri_refuses_unknown_schemes_before_the_player(surface: Surface) -> None:
    reply = await surface.client.call("OpenUri", "s", "gopher://example.com/song.mp3")
    assert reply.message_type is MessageType.ERROR
    assert reply.error_name == "org.freedesktop.DBus.Error.NotSupported"
    assert surface.target.commands == []


async def test_open_uri_refused_by_the_player_is_a_dbus_error(surface: Surface) -> None:
    reply = await surface.client.call("OpenUri", "s", "file:///missing.flac")
    assert reply.message_type is MessageType.ERROR
    assert "cannot open" in reply.body[0]
    assert await surface.client.value("PlaybackStatus") == "Stopped"  # still answering


async def test_open_uri_plays_the_file(surface: Surface, tmp_path: Path) -> None:
    song = tmp_path / "music" / "new.flac"
    song.parent.mkdir()
    song.write_bytes(b"")
    await surface.client.ok("OpenUri", "s", song.as_uri())
    assert surface.target.commands == [Command(C.OPEN, song.as_uri())]
    await surface.client.wait_property("PlaybackStatus", "Playing")


async def test_wrong_argument_types_get_an_error_and_the_service_lives(surface: Surface) -> None:
    reply = await surface.client.call("Seek", "s", "ten")
    assert reply.message_type is MessageType.ERROR
    reply = await surface.client.set("Volume", "s", "loud")
    assert reply.message_type is MessageType.ERROR
    reply = await surface.client.call("SetPosition", "sx", "/com/headunit/track/1", 1)
    assert reply.message_type is MessageType.ERROR
    assert surface.target.commands == []
    assert await surface.client.value("Identity", ROOT) == "headunit"


async def test_quit_asks_the_daemon_to_shut_down(surface: Surface) -> None:
    await surface.client.call("Quit", iface=ROOT)
    assert surface.shutdowns == [True]


async def test_only_what_changed_is_signalled(surface: Surface) -> None:
    await surface.client.set("Volume", "d", 0.3)
    await surface.client.wait_property("Volume", 0.3)
    assert [set(c) for c in surface.client.changes()] == [{"Volume"}]


async def test_metadata_is_resent_only_for_a_really_new_track(surface: Surface) -> None:
    target = surface.target
    same = replace(target.state.track)  # equal, but a fresh object
    target.publish(track=same)
    target.publish(status=Status.PAUSED)
    await surface.client.ok("Next")
    await surface.client.settle()
    metas = [c["Metadata"].value for c in surface.client.changes() if "Metadata" in c]
    assert [m["mpris:trackid"].value for m in metas] == ["/com/headunit/track/2"]


async def test_a_length_learnt_later_updates_the_metadata(surface: Surface) -> None:
    track = surface.target.state.track
    assert track is not None
    surface.target.publish(track=replace(track, duration=None))
    surface.target.publish(track=replace(track, duration=61.0))
    await surface.client.settle()
    metas = [c["Metadata"].value for c in surface.client.changes() if "Metadata" in c]
    assert "mpris:length" not in metas[0]
    assert metas[1]["mpris:length"].value == 61_000_000


async def test_mpris_and_controller_commands_give_the_same_state(surface: Surface) -> None:
    """The same command from MPRIS or from another source: the same state, every sink."""
    await surface.client.ok("Next")
    await surface.client.ok("PlayPause")
    via_mpris = surface.controller.state
    await surface.controller.execute(Command(C.PREVIOUS), source="test")
    await surface.controller.execute(Command(C.PAUSE), source="test")
    await surface.controller.execute(Command(C.NEXT), source="test")
    await surface.controller.execute(Command(C.PLAY), source="test")
    assert surface.controller.state == via_mpris
    await surface.client.settle()
    statuses = [
        c["PlaybackStatus"].value for c in surface.client.changes() if "PlaybackStatus" in c
    ]
    assert statuses == ["Playing", "Paused", "Playing"]
    sink_statuses = [s.status for s, changed in surface.sink.changes if "status" in changed]
    assert sink_statuses == [Status.PLAYING, Status.PAUSED, Status.PLAYING]


async def test_a_seek_from_another_source_is_signalled(surface: Surface) -> None:
    await surface.controller.execute(Command(C.SEEK, 30.0), source="backend")
    assert await surface.client.wait_for(surface.client.seeks) == [30_000_000]
    assert [s.position for s in surface.sink.seeks] == [30.0]
    assert all("Position" not in c for c in surface.client.changes())


async def test_a_stopped_server_leaves_the_bus(surface: Surface, session_bus: str) -> None:
    await surface.server.stop()
    other = await MprisClient.connect(session_bus, "org.freedesktop.DBus")
    reply = await other.bus_call("NameHasOwner", "s", "org.mpris.MediaPlayer2.headunit")
    assert reply.body == [False]
    await other.close()


async def test_mpris_comes_back_after_losing_its_bus_connection(
    surface: Surface, session_bus: str
) -> None:
    """dbus-fast drops the connection on any socket error (EAGAIN on a full send buffer
    included); the server reconnects and takes its name again: media keys keep working."""
    old_owner = surface.client.owner
    bus = surface.server._bus
    assert bus is not None
    bus._sock.shutdown(socket.SHUT_RDWR)  # the connection breaks under the server
    for _ in range(200):
        reply = await surface.client.bus_call("GetNameOwner", "s", surface.server.bus_name)
        if reply.message_type is MessageType.METHOD_RETURN and reply.body[0] != old_owner:
            break
        await asyncio.sleep(0.05)
    again = await MprisClient.connect(session_bus, "org.mpris.MediaPlayer2.headunit")
    try:
        assert again.owner != old_owner
        await again.ok("Play")
        await again.wait_property("PlaybackStatus", "Playing")
    finally:
        await again.close()


async def test_cover_art_and_url_are_file_uris(surface: Surface) -> None:
    track = Track(
        entry_id=7,
        uri="/music/My Album/01 a b.flac",
        title="Art",
        art_url="file:///var/cache/headunit/art/0123.jpg",
    )
    surface.target.publish(track=track)
    meta = await surface.client.value("Metadata")
    assert meta["xesam:url"].value == "file:///music/My%20Album/01%20a%20b.flac"
    assert meta["mpris:artUrl"].signature == "s"
    assert meta["mpris:artUrl"].value == "file:///var/cache/headunit/art/0123.jpg"
    assert "mpris:length" not in meta  # unknown length: left out, never 0 or negative
