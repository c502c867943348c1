"""Scale-out: two backend processes' worth of servers sharing rooms through a real redis."""

from __future__ import annotations

import asyncio

import pytest
import socketio
from support import TEST_SECRET, async_wait_for, sign_token

from headunit.backend.auth import Verifier
from headunit.backend.routing import RoomRedisManager
from headunit.backend.server import Backend, serve

pytest.importorskip("redis", reason="the redis extra is not installed")


# The library's manager (every process hears every emit) and ours (each room its channel).
@pytest.mark.parametrize("manager", [socketio.AsyncRedisManager, RoomRedisManager])
async def test_two_servers_share_the_users_rooms(redis_url, connect, manager):
    servers = [
        await serve(Backend(Verifier(TEST_SECRET, "HS256"), client_manager=manager(redis_url)))
        for _ in range(2)
    ]
    try:
        car = await connect(servers[0].url, sign_token({"userId": 7}))
        phone = await connect(servers[1].url, sign_token({"userId": 7}))
        stranger = await connect(servers[1].url, sign_token({"userId": 8}))
        strangers_phone = await connect(servers[0].url, sign_token({"userId": 8}))
        await asyncio.sleep(0.3)  # the managers' pub/sub listeners subscribe
        await phone.sio.emit("carplay_command", {"command": "next"})
        await car.sio.emit(
            "playback_state_update",
            {"userId": 7, "isPlaying": True, "currentTime": 1.0, "duration": 9.0, "mediaId": 4},
        )
        await async_wait_for(lambda: car.got("carplay_command") and phone.got("playback_state"))
        assert car.got("carplay_command") == [{"command": "next"}]
        assert phone.got("playback_state")[0]["mediaId"] == 4
        # The marker: user 8's own command, across the servers too; nothing of user 7's
        # came before it.
        await strangers_phone.sio.emit("carplay_command", {"command": "pause"})
        await async_wait_for(lambda: stranger.events)
        assert stranger.events == [("carplay_command", {"command": "pause"})]
    finally:
        for running in servers:
            await running.stop()


async def test_a_process_listens_only_to_the_rooms_of_its_own_sockets(redis_url, connect):
    """Per-room channels: what is for a user whose sockets are all on one process never
    reaches the other (python-socketio's manager sends everything to every process)."""
    from redis import asyncio as aioredis

    managers = [RoomRedisManager(redis_url) for _ in range(2)]
    servers = [
        await serve(Backend(Verifier(TEST_SECRET, "HS256"), client_manager=m)) for m in managers
    ]
    redis = aioredis.Redis.from_url(redis_url)

    async def listening(user_id: int, processes: int) -> bool:
        channel = managers[0].room_channel("/", f"user:{user_id}")
        ((_, count),) = await redis.pubsub_numsub(channel)
        return int(count) == processes

    try:
        car = await connect(servers[0].url, sign_token({"userId": 7}))
        phone = await connect(servers[1].url, sign_token({"userId": 7}))
        loner_car = await connect(servers[0].url, sign_token({"userId": 8}))
        loner_phone = await connect(servers[0].url, sign_token({"userId": 8}))
        await async_wait_for(lambda: listening(7, 2))  # a socket on each process
        await async_wait_for(lambda: listening(8, 1))  # only the process holding both
        await loner_phone.sio.emit("carplay_command", {"command": "pause"})
        await phone.sio.emit("carplay_command", {"command": "next"})
        await async_wait_for(
            lambda: loner_car.got("carplay_command") and car.got("carplay_command")
        )
        assert loner_car.got("carplay_command") == [{"command": "pause"}]
        assert car.got("carplay_command") == [{"command": "next"}]
        await loner_car.sio.disconnect()
        await loner_phone.sio.disconnect()
        await async_wait_for(lambda: listening(8, 0))
    finally:
        await redis.aclose()
        for running in servers:
            await running.stop()
