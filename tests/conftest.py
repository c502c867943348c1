"""Shared fixtures: a private session bus, generated media, the daemon as a process,
and the real player in-process with a recording sink."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fusestick import FuseStick
from support import (
    DaemonProcess,
    DBusDaemon,
    PipeWire,
    async_wait_for,
    daemon_env,
    make_album,
    make_tone,
    write_config,
)

from headunit.config import PlayerConfig, parse
from headunit.controller import Controller
from headunit.media import scan
from headunit.mpris.others import OtherPlayers
from headunit.player import Player
from headunit.resume import plan
from headunit.sources import Sources
from headunit.state import PlayerState, Status

WATCHDOG = "headunit.player.watchdog"


@pytest.fixture(autouse=True)
def no_watchdog_recovery(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """A stall the player's watchdog had to repair is a bug, never a normal path: any
    recovery in a test fails it (unless the test makes one on purpose)."""
    yield
    if request.node.get_closest_marker("watchdog_recovers"):
        return
    recoveries = [
        record.getMessage()
        for when in ("setup", "call")
        for record in caplog.get_records(when)
        if record.name == WATCHDOG and record.levelno >= logging.WARNING
    ]
    if recoveries:
        pytest.fail(f"the player's watchdog recovered from a stall: {recoveries}")


@pytest.fixture
def dbus_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private session bus, also set as this process's DBUS_SESSION_BUS_ADDRESS."""
    bus = DBusDaemon(tmp_path / "bus")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
    yield bus.address
    bus.stop()


@pytest.fixture
def pipewire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PipeWire]:
    """A private PipeWire on a null sink; this process's sound clients (libmpv) use it."""
    server = PipeWire(tmp_path / "pipewire")
    for name in ("XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.setenv(name, server.env[name])
    for name in ("PULSE_SERVER", "PIPEWIRE_REMOTE"):
        monkeypatch.delenv(name, raising=False)
    yield server
    server.close()


@pytest.fixture
def album(tmp_path: Path) -> list[Path]:
    """Four tagged 3-second FLAC tracks in one folder."""
    return make_album(tmp_path / "music" / "Album", ["One", "Two", "Three", "Four"])


def base_config(tmp_path: Path, media: list[str | Path]) -> dict[str, dict[str, Any]]:
    return {
        "media": {"paths": [str(p) for p in media]},
        "player": {"audio_output": "null", "startup_volume_max": 60},
        "state": {"dir": str(tmp_path / "state"), "save_seconds": 1.0},
        "mpris": {"bus": "session", "name": "headunit"},
        "backend": {"url": ""},
    }


DaemonFactory = Callable[..., DaemonProcess]


@pytest.fixture
def fuse_stick() -> Iterator[Callable[[Path, Path], FuseStick]]:
    """`fuse_stick(source, mountpoint)`: a stick that can be yanked (tests/fusestick.py),
    plugged at once; unmounted and its server ended after the test, whatever happened."""
    if os.geteuid() != 0:
        pytest.skip("mounting a FUSE filesystem here needs root")
    made: list[FuseStick] = []

    def plug(source: Path, mountpoint: Path) -> FuseStick:
        made.append(FuseStick(source, mountpoint))
        return made[-1]

    yield plug
    for stick in made:
        stick.close()


@pytest.fixture
def start_daemon(
    request: pytest.FixtureRequest, tmp_path: Path, dbus_session: str
) -> Iterator[DaemonFactory]:
    """Start `headunit run` with a temp config; `overrides` replace keys per section."""
    started: list[DaemonProcess] = []

    def start(
        media: list[str | Path],
        overrides: dict[str, dict[str, Any]] | None = None,
        env: dict[str, str] | None = None,
        **kw: Any,
    ) -> DaemonProcess:
        sections = base_config(tmp_path, media)
        for name, table in (overrides or {}).items():
            sections.setdefault(name, {}).update(table)
        n = len(started)
        config = write_config(tmp_path / f"config{n}.toml", sections)
        environment = {**daemon_env(dbus_session, tmp_path), **(env or {})}
        proc = DaemonProcess(config, tmp_path / f"daemon{n}.log", environment)
        started.append(proc)
        return proc.start(**kw)

    yield start
    for proc in started:
        if proc.proc is not None and proc.proc.poll() is None:
            proc.stop()
    # The daemon's watchdog recoveries, like the in-process player's, fail the test.
    recovered = [line for p in started for line in p.log().splitlines() if WATCHDOG in line]
    if recovered and not request.node.get_closest_marker("watchdog_recovers"):
        pytest.fail(f"the daemon's watchdog recovered from a stall: {recovered}")


@dataclass
class Recorder:
    """A sink that keeps every snapshot and seek it is given."""

    states: list[PlayerState] = field(default_factory=list)
    changes: list[frozenset[str]] = field(default_factory=list)
    seeks: list[PlayerState] = field(default_factory=list)

    def state_changed(self, state: PlayerState, changed: frozenset[str]) -> None:
        self.states.append(state)
        self.changes.append(changed)

    def seeked(self, state: PlayerState) -> None:
        self.seeks.append(state)

    def titles(self) -> list[str | None]:
        """The track titles in the order they were announced, without repeats."""
        titles: list[str | None] = []
        for state in self.states:
            title = state.track.title if state.track else None
            if not titles or titles[-1] != title:
                titles.append(title)
        return titles


@dataclass
class Rig:
    player: Player
    controller: Controller
    recorder: Recorder


@pytest.fixture
async def make_rig(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Build the real player (libmpv, ao=null) on given media, with a controller."""
    players: list[Player] = []

    async def build(media: list[str | Path], **player_options: Any) -> Rig:
        options = {"audio_output": "null", "startup_volume_max": 100, **player_options}
        queue = plan(None, scan([str(m) for m in media]), "off")
        player = Player(PlayerConfig(**options), queue, art_dir=tmp_path / "art")
        controller = Controller(player)
        recorder = Recorder()
        controller.subscribe(recorder)
        players.append(player)
        await player.start()
        return Rig(player, controller, recorder)

    yield build
    for player in players:
        await player.close()


@dataclass
class Sourced:
    """The real player behind headunit/sources.py, with the watcher on the private bus:
    `rig.controller` is headunit's own (MPRIS, the store), `active` the one the keys
    and the link drive."""

    rig: Rig
    sources: Sources
    active: Controller
    watcher: OtherPlayers
    address: str

    async def join(self, player: Any) -> Any:
        """Put a fake player (tests/fake_players.py) on the bus."""
        self.players.append(player)
        return await player.join(self.address)

    players: list[Any] = field(default_factory=list)


@pytest.fixture
def long_song(tmp_path: Path) -> Path:
    """One 60-second tagged track: long enough never to end during a test."""
    return make_tone(
        tmp_path / "car" / "Car Song.flac", 60.0, tags={"TITLE": "Car Song", "ARTIST": "Car"}
    )


@pytest.fixture
async def make_sourced(
    make_rig: Callable[..., Any], long_song: Path, dbus_session: str
) -> AsyncIterator[Callable[..., Any]]:
    built: list[Sourced] = []

    async def build(**sources: Any) -> Sourced:
        rig = await make_rig([long_song])
        await async_wait_for(lambda: rig.controller.state.status is Status.PLAYING)
        config = parse({"sources": sources, "mpris": {"name": "headunit"}})
        switch = Sources(rig.controller, config.sources)
        active = Controller(switch)
        watcher = OtherPlayers(switch, config)
        await watcher.start()
        car = Sourced(rig, switch, active, watcher, dbus_session)
        built.append(car)
        return car

    yield build
    for car in built:
        for player in car.players:
            await player.leave()
        await car.watcher.stop()
        await car.sources.close()
