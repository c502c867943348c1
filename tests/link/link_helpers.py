"""Helpers for the link tests: tokens, config, the tracks of the fake player, the
car (a Link around a controller) and a phone (a second Socket.IO client)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import socketio
from support import TEST_SECRET, FakeTarget, sign_token

from headunit.component import Context
from headunit.config import Config, parse
from headunit.controller import Controller
from headunit.link import create, remote_target
from headunit.state import Status, Track

SECRET = TEST_SECRET


def make_token(user: Any, *, exp: float | None = None, secret: str = SECRET) -> str:
    claims: dict[str, Any] = {"userId": user}
    if exp is not None:
        claims["exp"] = int(exp)
    return sign_token(claims, secret)


def songs() -> list[Track]:
    """Three tracks of the backend's media (mediaId 100..102), as the car's player holds."""
    return [
        Track(
            entry_id=i,
            uri=f"file:///m/{i}.flac",
            title=f"Song {i}",
            artist=("Band",),
            album="Album",
            duration=180.0,
            media_id=100 + i,
        )
        for i in range(3)
    ]


def link_config(url: str, token_file: Path, **backend: Any) -> Config:
    settings: dict[str, Any] = {
        "url": url,
        "token_file": str(token_file),
        "backoff_min_seconds": 0.05,
        "backoff_max_seconds": 0.3,
        "auth_backoff_seconds": 1.0,
        "heartbeat_seconds": 0.5,
        "ping_seconds": 1.0,
        "timeout_seconds": 1.0,
        "device_name": "car",
    }
    settings.update(backend)
    return parse({"backend": settings, "state": {"dir": str(token_file.parent / "state")}})


def write_token(path: Path, token: str) -> Path:
    path.write_text(token + "\n")
    path.chmod(0o600)
    return path


class Car:
    """A Link (the unit under test) around a controller, started and stopped for a test."""

    def __init__(self, config: Config) -> None:
        self.player = FakeTarget(songs(), Status.PAUSED)
        self.target = remote_target(config) or self.player
        self.controller = Controller(self.target)
        link = create(Context(self.controller, config, lambda: None))
        assert link is not None, "a car under test has a backend url"
        self.link = link

    @property
    def supervisor(self) -> Any:
        return self.link.supervisor


class Phone:
    """Another client of the user (a phone or the web app), recording what it receives."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        self.states: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.errors: list[Any] = []
        self.sio.on("playback_state", self.states.append)
        self.sio.on("carplay_command", self.commands.append)
        self.sio.on("error", self.errors.append)

    async def connect(self, url: str, token: str) -> Phone:
        await self.sio.connect(url, auth={"token": token}, transports=["websocket"])
        return self


async def rest(url: str, user: int, body: object) -> tuple[int, object]:
    """POST /api/carplay/control as `user`; the status and the JSON answer."""
    headers = {"Authorization": f"Bearer {make_token(user)}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/carplay/control", json=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def now_playing(url: str, user: int = 7) -> object:
    headers = {"Authorization": f"Bearer {make_token(user)}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/api/carplay/now-playing", headers=headers) as resp,
    ):
        return await resp.json()
