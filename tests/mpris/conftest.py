"""Fixtures for the MPRIS tests: a private session bus, and the surface on a fake target."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from mpris_helpers import DBusDaemon, FakeTarget, MprisClient, RecordingSink, make_tracks

from headunit.component import Context
from headunit.config import Config
from headunit.controller import Controller
from headunit.mpris.server import MprisServer


@pytest.fixture
def session_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    daemon = DBusDaemon.session(tmp_path)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", daemon.address)
    yield daemon.address
    daemon.stop()


@dataclass
class Surface:
    """The MPRIS surface over a fake target, with a client and a second sink."""

    target: FakeTarget
    controller: Controller
    server: MprisServer
    client: MprisClient
    sink: RecordingSink
    shutdowns: list[bool] = field(default_factory=list)


@pytest.fixture
async def surface(session_bus: str) -> AsyncIterator[Surface]:
    target = FakeTarget(make_tracks(3))
    controller = Controller(target)
    sink = RecordingSink()
    controller.subscribe(sink)
    shutdowns: list[bool] = []
    context = Context(controller, Config(), lambda: shutdowns.append(True))
    server = MprisServer(context)
    await server.start()
    assert server.bus_name is not None
    client = await MprisClient.connect(session_bus, server.bus_name)
    yield Surface(target, controller, server, client, sink, shutdowns)
    await client.close()
    await server.stop()
