"""Each rule of docs/mpris.md ("What each member does"), checked over D-Bus against the
real daemon.

`headunit run` as a process (real libmpv, ao=null, generated FLAC), on a private
session bus, driven by a dbus-fast client that sees exact types and every signal.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from dbus_fast import MessageType
from mpris_helpers import NAME, PLAYER, ROOT, MprisClient, Start, title, trackid, until
from support import DaemonProcess, make_tone

INT32 = 2**31

ROOT_TYPES = {
    "CanQuit": "b",
    "CanRaise": "b",
    "HasTrackList": "b",
    "Identity": "s",
    "SupportedUriSchemes": "as",
    "SupportedMimeTypes": "as",
}
PLAYER_TYPES = {
    "PlaybackStatus": "s",
    "LoopStatus": "s",
    "Rate": "d",
    "Shuffle": "b",
    "Metadata": "a{sv}",
    "Volume": "d",
    "Position": "x",
    "MinimumRate": "d",
    "MaximumRate": "d",
    "CanGoNext": "b",
    "CanGoPrevious": "b",
    "CanPlay": "b",
    "CanPause": "b",
    "CanSeek": "b",
    "CanControl": "b",
}
METADATA_TYPES = {
    "mpris:trackid": "o",
    "mpris:length": "x",
    "mpris:artUrl": "s",
    "xesam:title": "s",
    "xesam:album": "s",
    "xesam:url": "s",
    "xesam:artist": "as",
    "xesam:albumArtist": "as",
    "xesam:genre": "as",
    "xesam:composer": "as",
    "xesam:comment": "as",
    "xesam:trackNumber": "i",
    "xesam:discNumber": "i",
}


async def pause_at_start(client: MprisClient) -> None:
    await client.ok("Pause")
    await client.wait_property("PlaybackStatus", "Paused")
    await client.ok("SetPosition", "ox", (await trackid(client)), 0)
    await client.wait_for(client.seeks)  # that Seeked is in: the next ones are the test's
    client.signals.clear()


# Names --------------------------------------------------------------------------------


async def test_one_player_per_process_and_instance_names(
    client: MprisClient, start_daemon: Start, music: list[Path]
) -> None:
    (names,) = (await client.bus_call("ListNames")).body
    assert [n for n in names if n.startswith("org.mpris.")] == [NAME]  # no mpv-mpris too
    second = start_daemon([music[0].parent])
    assert second.proc is not None
    (names,) = (await client.bus_call("ListNames")).body
    assert f"{NAME}.instance{second.proc.pid}" in names
    assert len([n for n in names if n.startswith("org.mpris.")]) == 2


# Interfaces and types -----------------------------------------------------------------


async def test_object_implements_both_interfaces(client: MprisClient) -> None:
    reply = await client.call("Introspect", iface="org.freedesktop.DBus.Introspectable")
    xml = reply.body[0]
    assert f'interface name="{ROOT}"' in xml
    assert f'interface name="{PLAYER}"' in xml
    await client.set("Shuffle", "b", True)  # Set works
    await client.wait_property("Shuffle", True)


async def test_every_required_property_has_its_exact_type(client: MprisClient) -> None:
    for iface, types in ((ROOT, ROOT_TYPES), (PLAYER, PLAYER_TYPES)):
        everything = await client.get_all(iface)
        for name, signature in types.items():
            assert everything[name].signature == signature, name
            assert (await client.get(name, iface)).signature == signature, name


async def test_status_strings(client: MprisClient) -> None:
    assert await client.value("PlaybackStatus") in ("Playing", "Paused", "Stopped")
    for loop in ("Track", "Playlist", "None"):
        await client.set("LoopStatus", "s", loop)
        await client.wait_property("LoopStatus", loop)


# Metadata -----------------------------------------------------------------------------


async def test_trackids_are_unique_object_paths_outside_org_mpris(client: MprisClient) -> None:
    seen = [await trackid(client)]
    for _ in range(2):
        await client.ok("Next")
        await until(client, "Metadata", lambda m: m["mpris:trackid"].value not in seen)
        seen.append(await trackid(client))
    assert len(set(seen)) == 3
    assert all(not i.startswith("/org/mpris") for i in seen)


async def test_no_track_means_empty_metadata(idle_client: MprisClient) -> None:
    assert await idle_client.value("Metadata") == {}
    assert await idle_client.value("PlaybackStatus") == "Stopped"


async def test_metadata_types_are_exact(client: MprisClient, music: list[Path]) -> None:
    meta = await client.value("Metadata")
    for key, variant in meta.items():
        if key in METADATA_TYPES:
            assert variant.signature == METADATA_TYPES[key], key
    assert meta["xesam:title"].value == "One"
    assert meta["xesam:artist"].value == ["Test Artist"]
    assert meta["xesam:album"].value == "Album"
    assert meta["xesam:trackNumber"].value == 1
    assert meta["xesam:url"].value == music[0].as_uri()
    assert 19_000_000 <= meta["mpris:length"].value <= 21_000_000


# Position and signals -----------------------------------------------------------------


async def test_position_is_read_on_demand_within_the_track(client: MprisClient) -> None:
    length = (await client.value("Metadata"))["mpris:length"].value
    first = await client.value("Position")
    later = await until(client, "Position", lambda p: p > first)
    assert 0 <= first < later <= length
    await client.ok("Pause")
    await client.ok("Play")
    await client.settle()
    assert all("Position" not in c for c in client.changes())


async def test_changes_are_signalled_and_metadata_only_for_a_new_track(
    client: MprisClient,
) -> None:
    await client.ok("Pause")
    await client.wait_property("PlaybackStatus", "Paused")
    await client.ok("Play")
    await client.wait_property("PlaybackStatus", "Playing")
    await client.set("Volume", "d", 0.25)
    await client.wait_property("Volume", 0.25)
    await client.set("Shuffle", "b", True)
    await client.wait_property("Shuffle", True)
    await client.set("LoopStatus", "s", "Track")
    await client.wait_property("LoopStatus", "Track")
    assert not [c for c in client.changes() if "Metadata" in c]
    before = await trackid(client)
    await client.ok("Next")
    await client.wait_for(lambda: [c for c in client.changes() if "Metadata" in c])
    metas = [c["Metadata"].value for c in client.changes() if "Metadata" in c]
    assert metas[0]["mpris:trackid"].value != before
    await client.settle()
    assert all("CanControl" not in c and "Position" not in c for c in client.changes())


async def test_seeked_after_every_jump_from_any_source(
    client: MprisClient, daemon: DaemonProcess
) -> None:
    await pause_at_start(client)
    await client.ok("Seek", "x", 5_000_000)
    await client.wait_for(lambda: len(client.seeks()) == 1)
    await client.ok("SetPosition", "ox", await trackid(client), 12_000_000)
    await client.wait_for(lambda: len(client.seeks()) == 2)
    status = await run_cli(daemon, "seek", "3")
    assert status == 0
    await client.wait_for(lambda: len(client.seeks()) == 3)
    for reached, wanted in zip(client.seeks(), (5, 12, 3), strict=True):
        assert abs(reached - wanted * 1_000_000) < 200_000  # where mpv landed


async def run_cli(daemon: DaemonProcess, *args: str) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "headunit", *args, "--config", str(daemon.config_path),
        env=daemon.env,
    )  # fmt: skip
    return await proc.wait()


# Seek and SetPosition -----------------------------------------------------------------


async def test_seek_before_zero_gives_zero(client: MprisClient) -> None:
    await pause_at_start(client)
    await client.ok("Seek", "x", 4_000_000)
    await client.wait_for(lambda: len(client.seeks()) == 1)
    await client.ok("Seek", "x", -60_000_000)
    await client.wait_for(lambda: len(client.seeks()) == 2)
    assert client.seeks()[1] == 0
    assert await client.value("Position") == 0


async def test_seek_past_the_end_goes_next(client: MprisClient) -> None:
    await client.ok("Seek", "x", 2**63 - 1)  # the largest offset there is
    await until(client, "Metadata", lambda m: m["xesam:title"].value == "Two")


async def test_nothing_to_seek_without_a_track(idle_client: MprisClient) -> None:
    assert await idle_client.value("CanSeek") is False
    await idle_client.ok("Seek", "x", 1_000_000)
    await idle_client.ok("SetPosition", "ox", "/com/headunit/track/1", 1_000_000)
    await idle_client.settle()
    assert idle_client.seeks() == []


@pytest.mark.parametrize("bad", ["stale", "negative", "past_end"])
async def test_set_position_ignores_bad_requests(client: MprisClient, bad: str) -> None:
    await pause_at_start(client)
    current = await trackid(client)
    length = (await client.value("Metadata"))["mpris:length"].value
    trackid_, position = {
        "stale": ("/com/headunit/track/999999", 5_000_000),
        "negative": (current, -1),
        "past_end": (current, length + 1),
    }[bad]
    await client.ok("SetPosition", "ox", trackid_, position)
    await client.ok("Seek", "x", 1_000_000)  # a marker: its Seeked comes after
    await client.wait_for(client.seeks)
    assert len(client.seeks()) == 1
    assert client.seeks()[0] < 2_000_000


# Rate, Volume, the Can* flags ---------------------------------------------------------


async def test_rate_never_reads_zero_and_zero_pauses(client: MprisClient) -> None:
    assert await client.value("MinimumRate") <= 1.0 <= await client.value("MaximumRate")
    await client.set("Rate", "d", 0.0)
    await client.wait_property("PlaybackStatus", "Paused")
    assert await client.value("Rate") == 1.0


async def test_volume_is_0_to_1_and_negative_gives_0(client: MprisClient) -> None:
    assert 0.0 <= await client.value("Volume") <= 0.6  # startup_volume_max = 60
    await client.set("Volume", "d", -0.5)
    await client.wait_property("Volume", 0.0)
    await client.set("Volume", "d", 0.4)
    await client.wait_property("Volume", 0.4)


async def test_can_control_is_true_and_never_signalled(client: MprisClient) -> None:
    assert await client.value("CanControl") is True
    await client.ok("Next")
    await client.ok("Pause")
    await client.settle()
    assert all("CanControl" not in c for c in client.changes())


# Transport ----------------------------------------------------------------------------


async def test_previous_does_nothing_when_it_cannot_go_previous(client: MprisClient) -> None:
    """On the first track without loop, CanGoPrevious is false: Previous must not even
    restart the track, as it would more than 3 s in."""
    await pause_at_start(client)
    assert await client.value("CanGoPrevious") is False
    await client.ok("Seek", "x", 5_000_000)
    await client.wait_for(lambda: len(client.seeks()) == 1)
    await client.ok("Previous")
    await client.ok("Seek", "x", 1_000_000)  # the marker: a restart would come before it
    await client.wait_for(lambda: len(client.seeks()) >= 2)
    await client.settle()
    first, marker = client.seeks()  # and no Seeked(0) of a restart between them
    assert marker > first > 4_000_000  # the marker went on from 5 s, not from 0
    assert await title(client) == "One"


async def test_next_and_previous_respect_their_can_flags(client: MprisClient) -> None:
    await client.ok("Next")
    await client.ok("Next")
    await until(client, "Metadata", lambda m: m["xesam:title"].value == "Three")
    assert await until(client, "CanGoNext", lambda v: v is False) is False
    await client.ok("Next")  # nothing happens
    await client.settle()
    assert await title(client) == "Three"
    assert await client.value("PlaybackStatus") == "Playing"


async def test_past_the_last_track_without_loop_playback_stops(client: MprisClient) -> None:
    await client.ok("Next")
    await client.ok("Next")
    await until(client, "Metadata", lambda m: m["xesam:title"].value == "Three")
    await client.ok("Seek", "x", 19_000_000)
    await until(client, "PlaybackStatus", lambda s: s == "Stopped")


async def test_play_resumes_and_playpause_starts_from_stopped(client: MprisClient) -> None:
    await client.ok("Pause")
    await client.wait_property("PlaybackStatus", "Paused")
    await client.ok("Play")
    await client.wait_property("PlaybackStatus", "Playing")
    await client.ok("Stop")
    await client.wait_property("PlaybackStatus", "Stopped")
    await client.ok("PlayPause")
    await client.wait_property("PlaybackStatus", "Playing")


async def test_open_uri(client: MprisClient, tmp_path: Path) -> None:
    reply = await client.call("OpenUri", "s", "gopher://example.com/song.flac")
    assert reply.message_type is MessageType.ERROR
    # Under media.paths: OpenUri opens only the car's media by default (mpris.open_uri).
    extra = make_tone(tmp_path / "music" / "Album" / "extra.flac", 5.0, tags={"TITLE": "Extra"})
    await client.ok("OpenUri", "s", extra.as_uri())
    await until(client, "Metadata", lambda m: m["xesam:title"].value == "Extra")
    await until(client, "PlaybackStatus", lambda s: s == "Playing")


async def test_can_play_and_can_pause_do_not_flip(client: MprisClient) -> None:
    for member, status in (("Pause", "Paused"), ("Play", "Playing"), ("PlayPause", "Paused")):
        await client.ok(member)
        await client.wait_property("PlaybackStatus", status)
    await client.settle()
    assert all("CanPlay" not in c and "CanPause" not in c for c in client.changes())


# Long tracks --------------------------------------------------------------------------


async def test_positions_past_2_31_microseconds(
    start_daemon: Start, dbus_session: str, tmp_path: Path
) -> None:
    book = make_tone(tmp_path / "book" / "book.flac", 2400.0, freq=0, tags={"TITLE": "Book"})
    start_daemon([book.parent])
    client = await MprisClient.connect(dbus_session, NAME)
    try:
        await until(client, "Metadata", lambda m: "mpris:length" in m)
        await client.ok("Pause")
        await client.ok("SetPosition", "ox", await trackid(client), 2_200_000_000)
        await client.wait_for(client.seeks)
        assert client.seeks()[0] > INT32
        assert await client.value("Position") > INT32
        assert (await client.get("Position")).signature == "x"
    finally:
        await client.close()


# a bad call never kills the daemon ----------------------------------------------------


async def test_bad_calls_get_errors_and_the_daemon_lives(
    client: MprisClient, daemon: DaemonProcess
) -> None:
    bad = [
        await client.call("Seek", "s", "ten"),
        await client.call("SetPosition", "ss", "x", "y"),
        await client.set("Volume", "s", "loud"),
        await client.set("LoopStatus", "s", "Forever"),
        await client.set("PlaybackStatus", "s", "Playing"),
        await client.call("OpenUri", "s", ""),
        await client.call("NoSuchMethod"),
    ]
    assert all(r.message_type is MessageType.ERROR for r in bad)
    for offset in (2**63 - 1, -(2**63)):
        await client.ok("Seek", "x", offset)
    await client.ok("SetPosition", "ox", "/com/headunit/track/1", 2**63 - 1)
    assert daemon.proc is not None
    assert daemon.proc.poll() is None
    assert await client.value("Identity", ROOT) == "headunit"


async def test_quit_stops_the_daemon_cleanly(client: MprisClient, daemon: DaemonProcess) -> None:
    assert await client.value("CanQuit", ROOT) is True
    await client.call("Quit", iface=ROOT)
    assert daemon.proc is not None
    assert await asyncio.to_thread(daemon.proc.wait, 10) == 0
