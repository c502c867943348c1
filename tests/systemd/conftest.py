"""Fixtures for the systemd tests: a real notify socket, and a target to drive the state."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from support import NotifySocket

from headunit.controller import Controller
from headunit.model import Command
from headunit.state import PlayerState


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    sock = NotifySocket()
    yield sock
    sock.close()


@pytest.fixture
def notify_env(notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch) -> NotifySocket:
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.env)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    return notify_socket


class FakeTarget:
    """A player stand-in: the test sets the state, the controller fans it out."""

    def __init__(self) -> None:
        self.state = PlayerState()
        self._on_state: Callable[[PlayerState], None] = lambda s: None

    def position(self) -> float:
        return self.state.position_at()

    async def execute(self, command: Command) -> None:
        pass

    def bind(
        self, on_state: Callable[[PlayerState], None], on_seeked: Callable[[PlayerState], None]
    ) -> None:
        self._on_state = on_state

    def update(self, **changes: object) -> None:
        self.state = replace(self.state, **changes)
        self._on_state(self.state)


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget()


@pytest.fixture
def controller(target: FakeTarget) -> Controller:
    return Controller(target)


@pytest.fixture
def short_tmp() -> Iterator[str]:
    """A directory with a short path: AF_UNIX paths are limited to 107 bytes."""
    import tempfile

    path = tempfile.mkdtemp(prefix="hu-", dir="/tmp")
    yield path
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))
    os.rmdir(path)
