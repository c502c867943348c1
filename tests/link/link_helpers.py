"""Helpers for the link tests: tokens, config, a small in-process player target, the
car (a Link around a controller) and a phone (a second Socket.IO client)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from support import TEST_SECRET, sign_token

from headunit.component import Context
from headunit.config import Config, parse
from headunit.controller import Controller, SnapshotTarget
from headunit.link import create, remote_target
from headunit.model import Command, CommandError, CommandName, MediaRef
from headunit.state import PlayerState, Status, Track

SECRET = TEST_SECRET


def make_token(user: Any, *, exp: float | None = None, secret: str = SECRET) -> str:
    claims: dict[str, Any] = {"userId": user}
    if exp is not None:
        claims["exp"] = int(exp)
    return sign_token(claims, secret)


class FakePlayer(SnapshotTarget):
    """A Target that plays a three-track queue in memory and records every command."""

    def __init__(self) -> None:
        self.tracks = [
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
        self.index = 0
        self.executed: list[Command] = []
        state = PlayerState(
            status=Status.PAUSED,
            track=self.tracks[0],
            can_play=True,
            can_pause=True,
            can_next=True,
            can_previous=True,
            can_seek=True,
            queue_length=3,
        )
        super().__init__(state.with_position(0.0))

    async def execute(self, command: Command) -> None:
        self.executed.append(command)
        state, name = self._state, command.name
        if name is CommandName.PLAY:
            self._set(replace(state, status=Status.PLAYING).with_position(self.position()))
        elif name is CommandName.PAUSE:
            self._set(replace(state, status=Status.PAUSED).with_position(self.position()))
        elif name in (CommandName.NEXT, CommandName.PREVIOUS):
            step = 1 if name is CommandName.NEXT else -1
            self.index = (self.index + step) % len(self.tracks)
            self._set(replace(state, track=self.tracks[self.index]).with_position(0.0))
        elif name is CommandName.SEEK:
            position = min(float(command.value), 180.0)  # type: ignore[arg-type]
            self._report(state.with_position(position), seeked=True)
        elif name is CommandName.OPEN:
            uri = command.value.uri if isinstance(command.value, MediaRef) else str(command.value)
            track = Track(entry_id=99, uri=uri, title="Opened", duration=300.0)
            self._set(replace(state, status=Status.PLAYING, track=track).with_position(0.0))
        else:
            raise CommandError(f"{name} is not supported by the fake player")

    def _set(self, state: PlayerState) -> None:
        self._report(state)


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
        self.player = FakePlayer()
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
