"""Fixtures for the systemd tests: a real notify socket, and a target to drive the state."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from support import FakeTarget, NotifySocket

from headunit.controller import Controller


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
