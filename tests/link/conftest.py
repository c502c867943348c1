"""Fixtures for the link tests: a real reference backend on 127.0.0.1 port 0, cars and
phones started and stopped around each test (helpers in link_helpers.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from link_helpers import SECRET, Car, Phone, make_token, write_token
from support import BackendProcess, free_port

from headunit.backend.auth import Verifier
from headunit.backend.server import Backend, Running, serve
from headunit.config import Config

TEARDOWN = 5.0  # seconds; the daemon gives all its components 1.5 s to stop


@pytest.fixture
async def backend() -> AsyncIterator[Running]:
    running = await serve(Backend(Verifier(SECRET, "HS256")))
    yield running
    await asyncio.wait_for(running.stop(), TEARDOWN)


async def stop_each(items: list[Any], stop: Callable[[Any], Awaitable[None]]) -> None:
    """Bounded: a stop that hangs fails here, by name, instead of stalling the run."""
    for item in items:
        await asyncio.wait_for(stop(item), TEARDOWN)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    return write_token(tmp_path / "token", make_token(7))


@pytest.fixture
async def make_car() -> AsyncIterator[Callable[..., Any]]:
    cars: list[Car] = []

    async def start(config: Config) -> Car:
        car = Car(config)
        await car.link.start()
        cars.append(car)
        return car

    yield start
    await stop_each(cars, lambda car: car.link.stop())


@pytest.fixture
async def make_phone() -> AsyncIterator[Callable[..., Any]]:
    phones: list[Phone] = []

    async def connect(url: str, user: int = 7) -> Phone:
        phone = await Phone().connect(url, make_token(user))
        phones.append(phone)
        return phone

    yield connect
    await stop_each(phones, lambda phone: phone.sio.disconnect())


@pytest.fixture
async def backend_process(tmp_path):
    process = BackendProcess(tmp_path, free_port(), SECRET)
    yield process
    if process.proc is not None and process.proc.poll() is None:
        process.kill()
