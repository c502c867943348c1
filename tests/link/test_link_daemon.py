"""End to end: the real daemon (mpv, MPRIS) against the reference backend.

The backend runs in the test's loop; the daemon is a process of its own, started from a
thread so the backend keeps answering while the daemon starts.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from link_helpers import make_token, now_playing, rest, write_token
from support import async_wait_for, make_album, playerctl

PHONE_STATE = {
    "userId": 7,
    "isPlaying": True,
    "currentTime": 20.0,
    "duration": 240.0,
    "mediaId": 31,
    "mediaTitle": "Phone Song",
    "mediaArtist": "Phone Artist",
    "mediaAlbum": "Phone Album",
    "mediaType": "music",
    "deviceName": "phone",
}


@pytest.fixture
def car_daemon(tmp_path: Path, start_daemon: Any, backend: Any) -> Any:
    token = make_token(7)
    token_file = write_token(tmp_path / "token", token)
    music = tmp_path / "music" / "Long"
    make_album(music, ["One", "Two", "Three", "Four"], seconds=60.0)

    async def start(**backend_keys: Any) -> Any:
        keys = {
            "url": backend.url,
            "token_file": str(token_file),
            "device_name": "car",
            "backoff_min_seconds": 0.05,
            "backoff_max_seconds": 0.5,
            "timeout_seconds": 5.0,
            **backend_keys,
        }
        daemon = await asyncio.to_thread(start_daemon, [music], {"backend": keys})
        daemon.token = token
        return daemon

    return start


def cached(backend: Any) -> dict[str, Any]:
    return backend.backend.cached(7) or {}


async def test_rest_commands_change_what_the_car_plays(car_daemon, backend):
    daemon = await car_daemon()
    await async_wait_for(lambda: cached(backend).get("mediaTitle") == "One")
    await rest(backend.url, 7, {"command": "next", "value": None})
    await async_wait_for(lambda: cached(backend).get("mediaTitle") == "Two")
    assert await playerctl("metadata", "title") == "Two"
    await rest(backend.url, 7, {"command": "pause", "value": None})
    await async_wait_for(lambda: cached(backend).get("isPlaying") is False)
    assert await playerctl("status") == "Paused"
    await rest(backend.url, 7, {"command": "seek", "value": 42})
    await async_wait_for(lambda: cached(backend).get("currentTime", 0) >= 41.5)
    assert abs(float(await playerctl("position")) - 42) < 0.5
    await rest(backend.url, 7, {"command": "play", "value": None})
    await async_wait_for(lambda: cached(backend).get("isPlaying") is True)
    assert await playerctl("status") == "Playing"
    state = await now_playing(backend.url)
    assert (state["mediaTitle"], state["userId"], state["deviceName"]) == ("Two", 7, "car")
    assert 41.5 <= state["currentTime"] < 50
    assert state["duration"] == pytest.approx(60, abs=0.5)
    assert daemon.token not in daemon.log()


async def test_mpris_changes_reach_the_backend(car_daemon, backend):
    await car_daemon()
    await async_wait_for(lambda: cached(backend).get("mediaTitle") == "One")
    await playerctl("next")
    await async_wait_for(lambda: cached(backend).get("mediaTitle") == "Two")
    await playerctl("pause")
    await async_wait_for(lambda: cached(backend).get("isPlaying") is False)
    await playerctl("position", "30")
    await async_wait_for(lambda: cached(backend).get("currentTime", 0) >= 29.5)


async def test_remote_role_mirrors_the_phone(car_daemon, backend, make_phone):
    daemon = await car_daemon(role="remote")
    await async_wait_for(lambda: "connected to" in daemon.log())
    phone = await make_phone(backend.url)
    await phone.sio.emit("playback_state_update", PHONE_STATE)

    async def shows_phone() -> bool:
        # Before the phone's state arrives there is no track, and playerctl exits 1.
        return await playerctl("metadata", "title", check=False) == "Phone Song"

    await async_wait_for(shows_phone, what="the phone on MPRIS")
    assert await playerctl("metadata", "artist") == "Phone Artist"
    assert await playerctl("status") == "Playing"
    first = float(await playerctl("position"))
    await asyncio.sleep(0.5)
    assert float(await playerctl("position")) > first >= 20.0
    await playerctl("next")
    await playerctl("pause")
    await playerctl("position", "100")
    await async_wait_for(lambda: len(phone.commands) == 3)
    assert phone.commands == [
        {"command": "next"},
        {"command": "pause"},
        {"command": "seek", "value": 100.0},
    ]
    # What the wire cannot say is refused, not faked, and nothing goes to the phone.
    for args in (("volume", "0.5"), ("shuffle", "On"), ("stop",)):
        await playerctl(*args, check=False)
    await async_wait_for(lambda: "stop is not supported in the remote role" in daemon.log())
    assert "volume is not supported in the remote role" in daemon.log()
    assert "shuffle is not supported in the remote role" in daemon.log()
    assert len(phone.commands) == 3


async def test_backend_killed_and_restarted_under_the_real_daemon(car_daemon, backend_process):
    await backend_process.start()
    daemon = await car_daemon(url=backend_process.url)
    await async_wait_for(lambda: "connected to" in daemon.log())
    backend_process.kill()
    await async_wait_for(lambda: "disconnected from the backend" in daemon.log())
    # The music goes on, and the car's own controls work, with no backend.
    assert await playerctl("status") == "Playing"
    first = float(await playerctl("position"))
    await asyncio.sleep(0.5)
    assert float(await playerctl("position")) > first
    await playerctl("next")

    async def on_two() -> bool:
        return await playerctl("metadata", "title") == "Two"

    await async_wait_for(on_two, what="track Two")
    await backend_process.start()
    await async_wait_for(lambda: daemon.log().count("connected to") == 2)

    # The new backend process knew nothing: the car re-sends its state on reconnect
    # (just after it logs the connection).
    async def resent() -> bool:
        return await now_playing(backend_process.url) is not None

    await async_wait_for(resent, what="the state re-sent to the new backend")
    state = await now_playing(backend_process.url)
    assert (state["mediaTitle"], state["isPlaying"]) == ("Two", True)


async def test_status_shows_the_backend_and_the_users_other_clients(
    car_daemon, backend, make_phone
):
    daemon = await car_daemon()
    # The backend keeps one state per user and greets a new socket with it: a phone that
    # spoke before the car published would be greeted back only with the car's own state.
    await async_wait_for(lambda: cached(backend).get("deviceName") == "car")
    phone = await make_phone(backend.url)
    await phone.sio.emit("playback_state_update", {**PHONE_STATE, "isPlaying": False})

    async def shows_the_phone() -> bool:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "headunit", "status", "--config", str(daemon.config_path)),
            env=daemon.env,
            stdout=asyncio.subprocess.PIPE,
        )
        text = (await proc.communicate())[0].decode()
        return f"backend: connected to {backend.url} as user 7" in text and "phone: paused" in text

    await async_wait_for(shows_the_phone, what="the phone in the status")
