"""The player role against the real reference backend: state out, commands in."""

from __future__ import annotations

import asyncio
import logging

from link_helpers import link_config, now_playing, rest
from support import async_wait_for

from headunit.link import describe, read_status
from headunit.model import Command, CommandName


async def test_state_is_published_on_connect_with_user_device_and_time(
    backend, token_file, make_car
):
    await make_car(link_config(backend.url, token_file))
    await async_wait_for(lambda: backend.backend.cached(7) is not None)
    state = await now_playing(backend.url)
    assert state["userId"] == 7
    assert state["isPlaying"] is False
    assert state["mediaId"] == 100
    assert state["mediaTitle"] == "Song 0"
    assert state["mediaArtist"] == "Band"
    assert state["duration"] == 180.0
    assert state["deviceName"] == "car"
    assert isinstance(state["updatedAt"], int)


async def test_rest_commands_drive_the_player_and_now_playing_follows(
    backend, token_file, make_car
):
    car = await make_car(link_config(backend.url, token_file))
    await async_wait_for(lambda: car.supervisor.connected)
    assert await rest(backend.url, 7, {"command": "play", "value": None}) == (
        200,
        {"success": True, "command": {"command": "play"}},
    )
    await async_wait_for(lambda: (backend.backend.cached(7) or {}).get("isPlaying") is True)
    await rest(backend.url, 7, {"command": "next", "value": None})
    await async_wait_for(lambda: (backend.backend.cached(7) or {}).get("mediaId") == 101)
    await rest(backend.url, 7, {"command": "seek", "value": 42})
    await async_wait_for(lambda: (backend.backend.cached(7) or {}).get("currentTime", 0) >= 42)
    await rest(backend.url, 7, {"command": "pause", "value": None})
    await async_wait_for(lambda: (backend.backend.cached(7) or {}).get("isPlaying") is False)
    state = await now_playing(backend.url)
    assert state["mediaTitle"] == "Song 1"
    assert 42 <= state["currentTime"] < 44
    assert [c.name for c in car.player.commands] == ["play", "next", "seek", "pause"]


async def test_phone_commands_arrive_in_order(backend, token_file, make_car, make_phone):
    car = await make_car(link_config(backend.url, token_file))
    await async_wait_for(lambda: car.supervisor.connected)
    phone = await make_phone(backend.url)
    for payload in (
        {"command": "next"},
        {"command": "next"},
        {"command": "previous"},
        {"command": "seek", "value": 12.5},
        {"command": "play"},
    ):
        await phone.sio.emit("carplay_command", payload)
    await async_wait_for(lambda: len(car.player.commands) == 5)
    assert car.player.commands == [
        Command(CommandName.NEXT),
        Command(CommandName.NEXT),
        Command(CommandName.PREVIOUS),
        Command(CommandName.SEEK, 12.5),
        Command(CommandName.PLAY),
    ]


async def greeted_phone(backend, make_phone):
    """A phone that connects once the car's state is the backend's, and has been greeted
    with it: the backend greets a new socket from its cache in a task of its own, so a
    greeting still on its way could come after the car's next state, one state too many
    for the tests that count them."""
    await async_wait_for(lambda: backend.backend.cached(7) is not None, what="the car's state")
    phone = await make_phone(backend.url)
    await async_wait_for(lambda: phone.states, what="the phone greeted")
    return phone


async def test_phone_sees_changes_but_not_position_alone(backend, token_file, make_car, make_phone):
    car = await make_car(link_config(backend.url, token_file, heartbeat_seconds=3600))
    phone = await greeted_phone(backend, make_phone)
    await car.controller.execute(Command(CommandName.PLAY), "test")
    await async_wait_for(lambda: any(s["isPlaying"] for s in phone.states))
    before = len(phone.states)
    start = car.controller.position()
    await async_wait_for(lambda: car.controller.position() >= start + 0.5)
    # The position moved, and that alone is not news: the marker seek is all that follows.
    await car.controller.execute(Command(CommandName.SEEK, 90.0), "test")
    await async_wait_for(lambda: phone.states[-1]["currentTime"] >= 90)
    assert len(phone.states) == before + 1


async def test_heartbeat_while_playing_none_while_paused(backend, token_file, make_car, make_phone):
    car = await make_car(link_config(backend.url, token_file, heartbeat_seconds=0.5))
    phone = await greeted_phone(backend, make_phone)
    await car.controller.execute(Command(CommandName.PLAY), "test")
    await async_wait_for(lambda: len(phone.states) >= 3)  # play, then heartbeats
    times = [s["currentTime"] for s in phone.states]
    assert times == sorted(times)
    assert times[-1] > times[0]
    await car.controller.execute(Command(CommandName.PAUSE), "test")
    await async_wait_for(lambda: phone.states[-1]["isPlaying"] is False)
    paused = len(phone.states)
    await asyncio.sleep(1.5)  # three heartbeat periods pass
    await car.controller.execute(Command(CommandName.SEEK, 90.0), "test")  # the marker
    await async_wait_for(lambda: phone.states[-1]["currentTime"] >= 90)
    assert len(phone.states) == paused + 1  # no heartbeat came before it


async def test_invalid_commands_are_logged_once_and_dropped(backend, token_file, make_car, caplog):
    car = await make_car(link_config(backend.url, token_file))
    await async_wait_for(lambda: car.supervisor.connected)
    caplog.set_level(logging.WARNING)
    # The reference backend validates too; a backend that relays anything is simulated
    # by handing the payloads to the receiver as the socket would.
    for payload in ({"command": "explode"}, {"command": "seek", "value": -1}, [1, 2], None):
        car.link.commands.received(payload)
    car.link.commands.received({"command": "pause"})
    await async_wait_for(lambda: car.player.commands == [Command(CommandName.PAUSE)])
    dropped = [r for r in caplog.records if "dropped a carplay_command" in r.getMessage()]
    assert len(dropped) == 4
    assert "unknown command 'explode'" in dropped[0].getMessage()
    assert car.supervisor.connected


async def test_status_shows_the_connection_and_the_other_clients(
    backend, token_file, make_car, make_phone
):
    car = await make_car(link_config(backend.url, token_file))
    await async_wait_for(lambda: car.supervisor.connected)
    phone = await make_phone(backend.url)
    await phone.sio.emit(
        "playback_state_update",
        {
            "userId": 7,
            "isPlaying": True,
            "currentTime": 61.0,
            "duration": 200.0,
            "mediaId": 9,
            "mediaTitle": "Web Song",
            "mediaArtist": "Web Artist",
            "deviceName": "web app",
        },
    )
    state_dir = token_file.parent / "state"
    await async_wait_for(lambda: (read_status(state_dir) or {}).get("clients"))
    lines = describe(read_status(state_dir))
    assert lines[0].startswith(f"backend: connected to {backend.url} as user 7 (player role")
    assert lines[1].startswith("  web app: playing Web Song by Web Artist at 6")
    await car.link.stop()
    assert read_status(state_dir) is None  # no daemon, no stale status
