"""Fixtures for the MPRIS tests: the surface on a fake target, and the real daemon."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mpris_helpers import (
    NAME,
    MprisClient,
    RecordingSink,
    Start,
    Surface,
    make_tracks,
    title,
    until,
)
from support import DaemonProcess, FakeTarget, make_album

from headunit.component import Context
from headunit.config import Config, MediaConfig
from headunit.controller import Controller
from headunit.mpris.server import MprisServer


@pytest.fixture
def session_bus(dbus_session: str) -> str:
    """The private session bus of tests/conftest.py (also in DBUS_SESSION_BUS_ADDRESS)."""
    return dbus_session


@pytest.fixture
async def surface(session_bus: str, tmp_path: Path) -> AsyncIterator[Surface]:
    """The MPRIS surface over a FakeTarget; media.paths is tmp_path (OpenUri opens there)."""
    target = FakeTarget(make_tracks(3))
    controller = Controller(target)
    sink = RecordingSink()
    controller.subscribe(sink)
    shutdowns: list[bool] = []
    config = Config(media=MediaConfig(paths=(str(tmp_path),)))
    recovered: list[str] = []  # what a test says the player's watchdog repaired
    context = Context(
        controller, config, lambda: shutdowns.append(True), recoveries=lambda: len(recovered)
    )
    server = MprisServer(context)
    await server.start()
    assert server.bus_name is not None
    client = await MprisClient.connect(session_bus, server.bus_name)
    yield Surface(target, controller, server, client, sink, shutdowns, recovered)
    await client.close()
    await server.stop()


# The real daemon ----------------------------------------------------------------------


@pytest.fixture
def music(tmp_path: Path) -> list[Path]:
    """Three tagged 20-second FLAC tracks (long enough to pause and seek in)."""
    return make_album(tmp_path / "music" / "Album", ["One", "Two", "Three"], seconds=20.0)


@pytest.fixture
def daemon(start_daemon: Start, music: list[Path]) -> DaemonProcess:
    """`headunit run` on the album; with no resume state it starts playing track One."""
    return start_daemon([music[0].parent])


@pytest.fixture
async def client(daemon: DaemonProcess, dbus_session: str) -> AsyncIterator[MprisClient]:
    """A dbus-fast client of the real daemon, once track One plays; no signals yet."""
    client = await MprisClient.connect(dbus_session, NAME)
    await until(client, "PlaybackStatus", lambda s: s == "Playing")
    assert await title(client) == "One"
    client.signals.clear()
    yield client
    await client.close()


@pytest.fixture
async def idle_client(
    start_daemon: Start, dbus_session: str, tmp_path: Path
) -> AsyncIterator[MprisClient]:
    """A client of the real daemon started on an empty media folder: no track at all."""
    (tmp_path / "empty").mkdir()
    start_daemon([tmp_path / "empty"])
    client = await MprisClient.connect(dbus_session, NAME)
    yield client
    await client.close()
