"""OpenUri on the real daemon, confined by `[mpris] open_uri`: what a local user on the
system bus can and cannot make the car open."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from dbus_fast import Message, MessageType
from mpris_helpers import NAME, ROOT, MprisClient, Start, until
from support import make_album, make_tone

QUEUE = "com.headunit.Queue"
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"

Connect = Callable[[str], Awaitable[MprisClient]]


@pytest.fixture
async def player(start_daemon: Start, dbus_session: str, tmp_path: Path) -> AsyncIterator[Connect]:
    """The daemon on an album of three tracks, under a given open_uri policy."""
    clients: list[MprisClient] = []

    async def connect(policy: str) -> MprisClient:
        make_album(tmp_path / "music" / "Album", ["One", "Two", "Three"], seconds=30)
        start_daemon([tmp_path / "music"], {"mpris": {"open_uri": policy}})
        client = await MprisClient.connect(dbus_session, NAME)
        clients.append(client)
        await until(client, "PlaybackStatus", lambda s: s == "Playing")
        return client

    yield connect
    for client in clients:
        await client.close()


async def queue_length(client: MprisClient) -> int:
    reply = await client.call("List", iface=QUEUE)
    assert reply.message_type is MessageType.METHOD_RETURN, reply.body
    return len(reply.body[0])


def refused(reply: Message, error: str, why: str) -> bool:
    assert reply.message_type is MessageType.ERROR, reply.body
    assert reply.error_name == error, reply.error_name
    assert why in reply.body[0], reply.body[0]
    return True


async def test_media_policy_opens_only_files_under_media_paths(
    player: Connect, tmp_path: Path
) -> None:
    client = await player("media")
    music = tmp_path / "music"
    (music / "passwd").symlink_to("/etc/passwd")  # no media extension: scans skip it
    fifo = music / "Album" / "fifo.flac"
    os.mkfifo(fifo)
    (music / "radio.m3u").write_text("http://127.0.0.1:9/stream.mp3\n")
    cases = [
        ("file:///", ACCESS_DENIED, "not under media.paths"),
        ("file:///etc/passwd", ACCESS_DENIED, "not under media.paths"),
        ((music / "passwd").as_uri(), ACCESS_DENIED, "not under media.paths"),
        (fifo.as_uri(), ACCESS_DENIED, "not a regular file or a folder"),
        ("http://127.0.0.1:9/stream.mp3", ACCESS_DENIED, 'open_uri = "any"'),
        ((music / "radio.m3u").as_uri(), ACCESS_DENIED, "names http(s) URLs"),
        ((music / "gone.flac").as_uri(), "org.freedesktop.DBus.Error.InvalidArgs", "cannot open"),
        ("relative.flac", "org.freedesktop.DBus.Error.InvalidArgs", "absolute"),
    ]
    for uri, error, why in cases:
        assert refused(await client.call("OpenUri", "s", uri), error, why)
    assert await queue_length(client) == 3  # nothing was queued
    assert await client.value("SupportedUriSchemes", ROOT) == ["file"]
    extra = make_tone(music / "Extra" / "extra.flac", 5.0, tags={"TITLE": "Extra"})
    await client.ok("OpenUri", "s", extra.parent.as_uri())
    await until(client, "Metadata", lambda m: m["xesam:title"].value == "Extra")


async def test_any_policy_opens_other_files_but_never_a_fifo(
    player: Connect, tmp_path: Path
) -> None:
    client = await player("any")
    elsewhere = make_tone(tmp_path / "elsewhere" / "x.flac", 5.0, tags={"TITLE": "Elsewhere"})
    fifo = tmp_path / "elsewhere" / "fifo.flac"
    os.mkfifo(fifo)
    assert refused(await client.call("OpenUri", "s", fifo.as_uri()), ACCESS_DENIED, "regular")
    assert await client.value("SupportedUriSchemes", ROOT) == ["file", "http", "https"]
    await client.ok("OpenUri", "s", elsewhere.as_uri())
    await until(client, "Metadata", lambda m: m["xesam:title"].value == "Elsewhere")


async def test_off_policy_refuses_every_open(player: Connect, tmp_path: Path) -> None:
    client = await player("off")
    song = tmp_path / "music" / "Album" / "1 One.flac"
    assert refused(await client.call("OpenUri", "s", song.as_uri()), ACCESS_DENIED, "off")
    assert await client.value("SupportedUriSchemes", ROOT) == []
    assert await client.value("PlaybackStatus") == "Playing"
