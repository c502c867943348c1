"""`server.workers`: several backend processes behind one port, sharing the rooms and the
cache through a real redis-server; a worker that dies is started again and its clients
come back on the others."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

import aiohttp
import pytest
import socketio
from support import TEST_SECRET, BackendProcess, async_wait_for, free_port, sign_token

from headunit.backend import register
from headunit.config import EX_CONFIG

pytest.importorskip("redis", reason="the redis extra is not installed")

STATE = {"userId": 7, "isPlaying": True, "currentTime": 1.0, "duration": 9.0, "mediaId": 4}
PHONES = 16  # all on one worker by chance: 2 * 2**-16


class Phone:
    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(
            reconnection=True, reconnection_delay=0.1, reconnection_delay_max=0.5,
            handle_sigint=False,
        )  # fmt: skip
        self.connects = 0
        self.states: list[dict] = []
        self.commands: list[dict] = []
        self.sio.on("connect", self._connected)
        self.sio.on("playback_state", self.states.append)
        self.sio.on("carplay_command", self.commands.append)

    def _connected(self) -> None:
        self.connects += 1


def workers_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


async def now_playing(url: str) -> object:
    headers = {"Authorization": f"Bearer {sign_token({'userId': 7})}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        return await resp.json()


async def round_trip(car: Phone, phones: list[Phone], n: int) -> None:
    """Every phone's command reaches the car, and the car's answer every phone."""
    before = len(car.commands)
    for phone in phones:
        await phone.sio.emit("carplay_command", {"command": "seek", "value": n})
    await async_wait_for(lambda: len(car.commands) - before == len(phones), within=10.0)
    await car.sio.emit("playback_state_update", {**STATE, "currentTime": float(n)})
    await async_wait_for(
        lambda: all(p.states and p.states[-1]["currentTime"] == n for p in phones), within=10.0
    )


async def test_two_workers_share_one_port_and_survive_one_dying(tmp_path, redis_url):
    backend = BackendProcess(tmp_path, free_port(), TEST_SECRET, workers=2, redis_url=redis_url)
    await backend.start()
    clients: list[Phone] = []
    try:
        workers = workers_of(backend.proc.pid)
        assert len(workers) == 2
        token = sign_token({"userId": 7})
        clients = [Phone() for _ in range(PHONES + 1)]
        for client in clients:
            await client.sio.connect(backend.url, auth={"token": token}, transports=["websocket"])
        car, phones = clients[0], clients[1:]
        await round_trip(car, phones, 1)

        # Whichever worker answers, the same now-playing (the cache is in Redis, written
        # behind: within a round trip of the relay).
        async def all_agree() -> bool:
            url = f"{backend.url}/api/carplay/now-playing"
            answers = [await now_playing(url) for _ in range(8)]
            return all(answer == {**STATE, "currentTime": 1.0} for answer in answers)

        await async_wait_for(all_agree, within=5.0)

        os.kill(workers[1], signal.SIGKILL)
        await async_wait_for(lambda: "starting it again" in backend.log.read_text(), within=10.0)
        await async_wait_for(lambda: len(workers_of(backend.proc.pid)) == 2, within=10.0)
        # Some were on the dead one, and came back on the other (or on its successor).
        await async_wait_for(lambda: any(c.connects > 1 for c in clients), within=10.0)
        await async_wait_for(lambda: all(c.sio.connected for c in clients), within=10.0)
        await round_trip(car, phones, 2)
    finally:
        for client in clients:
            await client.sio.disconnect()
        backend.proc.send_signal(signal.SIGTERM)
        assert backend.proc.wait(10) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_more_than_one_worker_needs_redis(tmp_path, capsys):
    secret = tmp_path / "secret"
    secret.write_text(TEST_SECRET)
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nworkers = 2\njwt_secret_file = "{secret}"\n')
    parser = argparse.ArgumentParser(prog="headunit")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["backend", "--config", str(config)])
    assert args.func(args) == EX_CONFIG
    assert "server.workers: more than one needs server.redis_url" in capsys.readouterr().err
