"""Fixtures for the MPRIS tests: a private session bus, and the surface on a fake target."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from mpris_helpers import FakeTarget, MprisClient, RecordingSink, make_tracks

from headunit.component import Context
from headunit.config import Config
from headunit.controller import Controller
from headunit.mpris.server import MprisServer


@pytest.fixture
def session_bus(dbus_session: str) -> str:
    """The private session bus of tests/conftest.py (also in DBUS_SESSION_BUS_ADDRESS)."""
    return dbus_session


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
