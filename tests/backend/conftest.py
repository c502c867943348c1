"""The reference backend on 127.0.0.1 port 0, and raw Socket.IO clients to poke it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import jwt
import pytest
import socketio

from headunit.backend.auth import Verifier
from headunit.backend.server import Backend, Running, serve

KEY = "backend-tests-secret-0123456789abcdef"


def sign(claims: dict[str, Any], key: str = KEY, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


class Client:
    """A bare client that records every event, or the refusal it got."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        self.events: list[tuple[str, Any]] = []
        self.refusal: Any = None
        self.sio.on("*", lambda event, data=None: self.events.append((event, data)))
        self.sio.on("connect_error", self._refused)

    def _refused(self, data: Any = None) -> None:
        self.refusal = data

    def got(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]


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
