"""Scale-out: two backend processes' worth of servers sharing rooms through a real redis."""

from __future__ import annotations

import asyncio

import pytest
import socketio
from support import TEST_SECRET, async_wait_for, sign_token

from headunit.backend.auth import Verifier
from headunit.backend.server import Backend, serve

pytest.importorskip("redis", reason="the redis extra is not installed")


async def test_two_servers_share_the_users_rooms(redis_url, connect):
    servers = [
        await serve(
            Backend(
                Verifier(TEST_SECRET, "HS256"), client_manager=socketio.AsyncRedisManager(redis_url)
            )
        )
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
