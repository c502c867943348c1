"""MPRIS and any other source (the backend, keys) drive the real player the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from mpris_helpers import MprisClient, until
from support import async_wait_for

from headunit.component import Context
from headunit.config import Config
from headunit.model import Command, CommandName, LoopMode
from headunit.mpris.server import MprisServer
from headunit.state import PlayerState, Status

C = CommandName


def comparable(state: PlayerState) -> PlayerState:
    """A snapshot without what differs between two runs: the exact position."""
    return replace(state, position=0.0, clock=0.0)


@pytest.fixture
async def served(
    make_rig: Callable[..., Any], music: list[Path], dbus_session: str
) -> AsyncIterator[Callable[[], Any]]:
    """Builds a real player on the album, served over MPRIS: (rig, client)."""
    servers: list[MprisServer] = []
    clients: list[MprisClient] = []

    async def build() -> tuple[Any, MprisClient]:
        rig = await make_rig([music[0].parent])
        server = MprisServer(Context(rig.controller, Config(), lambda: None))
        await server.start()
        assert server.bus_name is not None
        client = await MprisClient.connect(dbus_session, server.bus_name)
        servers.append(server)
        clients.append(client)
        await until(client, "PlaybackStatus", lambda s: s == "Playing")
        return rig, client

    yield build
    for client in clients:
        await client.close()
    for server in servers:
        await server.stop()


async def test_mpris_and_controller_give_the_same_state_and_reach_every_sink(
    served: Callable[[], Any],
) -> None:
    by_mpris, mpris_client = await served()
    by_controller, watcher = await served()

    await mpris_client.ok("Next")
    await until(mpris_client, "Metadata", lambda m: m["xesam:title"].value == "Two")
    await mpris_client.ok("Pause")
    await mpris_client.set("Volume", "d", 0.4)
    await mpris_client.set("LoopStatus", "s", "Track")
    await mpris_client.ok("SetPosition", "ox", "/com/headunit/track/x", 1)  # stale: ignored
    await mpris_client.wait_property("LoopStatus", "Track")
    await mpris_client.wait_property("Volume", 0.4)

    controller = by_controller.controller
    for command in (
        Command(C.NEXT),
        Command(C.PAUSE),
        Command(C.VOLUME, 40.0),
        Command(C.LOOP, str(LoopMode.TRACK)),
    ):
        await controller.execute(command, source="backend")
    # `execute` returns once mpv is told; the track moves when mpv confirms the start.
    await until(watcher, "Metadata", lambda m: m["xesam:title"].value == "Two")
    await watcher.wait_property("LoopStatus", "Track")
    await watcher.wait_property("Volume", 0.4)
    await watcher.wait_property("PlaybackStatus", "Paused")
    await mpris_client.wait_property("PlaybackStatus", "Paused")

    # What comes next is shown by its file's name until its tags are read, which each
    # player does in the background at its own pace: compared once both have read them.
    def tagged(state: PlayerState) -> bool:
        return all(item.artist for item in state.up_next)

    await async_wait_for(
        lambda: tagged(by_mpris.controller.state) and tagged(controller.state),
        what="both players' next track shown with its tags",
    )
    mine, theirs = by_mpris.controller.state, controller.state
    assert mine.track is not None
    assert theirs.track is not None
    assert mine.track.title == "Two"
    # Two players number their queue entries independently; all else must match.
    same_entry = replace(theirs.track, entry_id=mine.track.entry_id)
    titles = [(item.title, item.artist) for item in mine.up_next]
    assert titles == [(item.title, item.artist) for item in theirs.up_next]
    same = replace(theirs, track=same_entry, up_next=mine.up_next)
    assert comparable(mine) == comparable(same)
    assert mine.status is Status.PAUSED
    # Both reach every sink: the recorder beside MPRIS saw the MPRIS commands' effects,
    # and MPRIS clients saw the controller's.
    seen = set().union(*by_mpris.recorder.changes)
    assert {"track", "status", "volume", "loop"} <= seen
    signalled = set().union(*(c.keys() for c in watcher.changes()))
    assert {"Metadata", "PlaybackStatus", "Volume", "LoopStatus"} <= signalled


async def test_a_seek_from_the_backend_is_seeked_on_mpris(served: Callable[[], Any]) -> None:
    rig, client = await served()
    await rig.controller.execute(Command(C.PAUSE), source="backend")
    await client.wait_property("PlaybackStatus", "Paused")
    await rig.controller.execute(Command(C.SEEK, 12.0), source="backend")
    (reached,) = await client.wait_for(client.seeks)
    assert abs(reached - 12_000_000) < 500_000  # where mpv landed (ao=null reads early)
    (heard,) = rig.recorder.seeks  # the other sink heard the same jump
    assert abs(heard.position * 1_000_000 - reached) < 1
