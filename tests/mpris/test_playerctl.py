"""playerctl, a real third-party MPRIS client, against the real daemon."""

from __future__ import annotations

import asyncio

from mpris_helpers import MprisClient, title, until
from support import playerctl


async def test_status_and_play_pause(client: MprisClient) -> None:
    assert await playerctl("status") == "Playing"
    await playerctl("play-pause")
    await client.wait_property("PlaybackStatus", "Paused")
    assert await playerctl("status") == "Paused"
    await playerctl("play")
    await client.wait_property("PlaybackStatus", "Playing")


async def test_metadata(client: MprisClient) -> None:
    out = await playerctl("metadata", "--format", "{{title}}|{{artist}}|{{album}}|{{mpris:length}}")
    name, artist, album, length = out.split("|")
    assert (name, artist, album) == ("One", "Test Artist", "Album")
    assert 19_000_000 <= int(length) <= 21_000_000
    listing = await playerctl("metadata")
    assert "xesam:title" in listing
    assert "mpris:trackid" in listing


async def test_next_and_previous(client: MprisClient) -> None:
    await playerctl("next")
    await until(client, "Metadata", lambda m: m["xesam:title"].value == "Two")
    assert await playerctl("metadata", "title") == "Two"
    await playerctl("previous")
    await until(client, "Metadata", lambda m: m["xesam:title"].value == "One")


async def test_position(client: MprisClient) -> None:
    await playerctl("pause")
    await client.wait_property("PlaybackStatus", "Paused")
    await playerctl("position", "10")
    await client.wait_for(client.seeks)
    # mpv (ao=null) reports ~0.2 s before an exact seek's target: its audio buffer.
    assert abs(float(await playerctl("position")) - 10.0) < 0.5
    await playerctl("position", "5-")  # relative, playerctl's own syntax
    await client.wait_for(lambda: len(client.seeks()) == 2)
    assert abs(float(await playerctl("position")) - 5.0) < 0.5


async def test_volume(client: MprisClient) -> None:
    await playerctl("volume", "0.3")
    await client.wait_property("Volume", 0.3)
    assert float(await playerctl("volume")) == 0.3


async def test_loop_and_shuffle(client: MprisClient) -> None:
    await playerctl("loop", "Playlist")
    await client.wait_property("LoopStatus", "Playlist")
    assert await playerctl("loop") == "Playlist"
    await playerctl("shuffle", "On")
    await client.wait_property("Shuffle", True)
    assert await playerctl("shuffle") == "On"


async def test_follow_prints_each_change(client: MprisClient) -> None:
    proc = await asyncio.create_subprocess_exec(
        "playerctl", "-p", "headunit", "--follow", "metadata", "--format", "{{status}} {{title}}",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        assert (await proc.stdout.readline()).decode().strip() == "Playing One"
        await client.ok("Pause")
        assert (await proc.stdout.readline()).decode().strip() == "Paused One"
        await client.ok("Next")
        lines = []
        while not lines or not lines[-1].endswith("Two"):
            lines.append((await proc.stdout.readline()).decode().strip())
        assert await title(client) == "Two"
    finally:
        proc.terminate()
        await proc.wait()
