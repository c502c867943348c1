"""The reference backend on 127.0.0.1 port 0, and raw Socket.IO clients to poke it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import socketio
from backend_helpers import KEY, Client

from headunit.backend.auth import Verifier
from headunit.backend.server import Backend, Running, serve


@pytest.fixture
async def server() -> AsyncIterator[Running]:
    running = await serve(Backend(Verifier(KEY, "HS256")))
    yield running
    await running.stop()


@pytest.fixture
async def connect() -> AsyncIterator[Callable[..., Any]]:
    clients: list[Client] = []

    async def open_(url: str, token: str | None) -> Client:
        client = Client()
        clients.append(client)
        auth = {"token": token} if token is not None else None
        with contextlib.suppress(socketio.exceptions.ConnectionError):  # see client.refusal
            await client.sio.connect(url, auth=auth, transports=["websocket"])
        return client

    yield open_
    for client in clients:
        if client.sio.connected:
            await client.sio.disconnect()
