"""The reference backend on 127.0.0.1 port 0, and raw Socket.IO clients to poke it."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import socketio
from backend_helpers import Client
from support import TEST_SECRET, wait_for

from headunit.backend.auth import Verifier
from headunit.backend.server import Backend, Running, serve

REDIS = shutil.which("redis-server")


@pytest.fixture
async def server() -> AsyncIterator[Running]:
    running = await serve(Backend(Verifier(TEST_SECRET, "HS256")))
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


@pytest.fixture
def redis_url(tmp_path) -> Iterator[str]:
    """A private redis-server on 127.0.0.1, without persistence."""
    if REDIS is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            REDIS,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def listening() -> bool:
            assert proc.poll() is None, "redis-server exited"
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, within=4.0, what="redis-server to listen")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(5)
