"""Under pressure the reference backend loses nothing a user would see: a flood of state
updates is thinned to the latest (other users unaffected), and a reader that cannot keep
up is disconnected, with the reason logged, instead of growing the server's memory."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
from support import TEST_SECRET, async_wait_for, sign_token

from headunit.backend.auth import Verifier
from headunit.backend.pressure import Throttle
from headunit.backend.server import Backend, serve

STATE = {"userId": 7, "isPlaying": True, "currentTime": 0.0, "duration": 900.0, "mediaId": 4}
# A library as big as the protocol allows: about 190 KB a message.
LIBRARY = {"items": [{"id": f"{n:064x}", "title": "T" * 300, "kind": "folder"} for n in range(500)]}


async def test_the_throttle_keeps_order_and_the_latest():
    applied: list[int] = []
    tasks: list[asyncio.Task[None]] = []

    async def apply(sid: str, value: int) -> None:
        applied.append(value)

    throttle = Throttle(10.0, apply, lambda coroutine: tasks.append(asyncio.create_task(coroutine)))
    for value in range(50):
        await throttle.offer("car", value)
    await async_wait_for(lambda: applied and applied[-1] == 49, within=5.0)
    assert applied[:10] == list(range(10))  # the burst goes through at once
    assert applied == sorted(applied)  # never an older state after a newer one
    assert len(applied) < 15  # the 40 beyond the burst were thinned to the latest
    await asyncio.gather(*tasks)


async def test_a_flooding_car_is_thinned_to_its_latest_state_and_others_go_on(
    server, connect, caplog
):
    car = await connect(server.url, sign_token({"userId": 7}))
    phone = await connect(server.url, sign_token({"userId": 7}))
    other_car = await connect(server.url, sign_token({"userId": 8}))
    other_phone = await connect(server.url, sign_token({"userId": 8}))
    for n in range(300):
        await car.sio.emit("playback_state_update", {**STATE, "currentTime": float(n)})
    # Another user during the flood: a command and its answer, as usual.
    await other_phone.sio.emit("carplay_command", {"command": "next"})
    await async_wait_for(lambda: other_car.got("carplay_command"), within=5.0)

    def times() -> list[float]:
        return [state["currentTime"] for state in phone.got("playback_state")]

    await async_wait_for(lambda: times() and times()[-1] == 299)
    assert times() == sorted(times())
    assert len(times()) < 100
    assert server.backend.cached(7)["currentTime"] == 299
    assert any("states a second" in r.getMessage() for r in caplog.records)


async def test_a_reader_that_cannot_keep_up_is_disconnected(connect, caplog):
    caplog.set_level(logging.WARNING)
    running = await serve(Backend(Verifier(TEST_SECRET, "HS256"), send_limit=20))
    try:
        car = await connect(running.url, sign_token({"userId": 7}))
        async with aiohttp.ClientSession() as http:
            slow = await http.ws_connect(f"{running.url}/socket.io/?EIO=4&transport=websocket")
            assert (await slow.receive_str()).startswith("0")  # engine.io: open
            await slow.send_str("40" + json.dumps({"token": sign_token({"userId": 7})}))
            assert (await slow.receive_str()).startswith("40")  # socket.io: connected
            assert len(running.backend.sio.eio.sockets) == 2
            # From now on the phone reads nothing: the kernel's buffers and aiohttp's fill,
            # then the backend's queue for it.
            for _ in range(400):
                await car.sio.emit("headunit_library_update", LIBRARY)
                if len(running.backend.sio.eio.sockets) == 1:
                    break
                await asyncio.sleep(0.005)
            await async_wait_for(lambda: len(running.backend.sio.eio.sockets) == 1, within=10.0)
            assert car.sio.connected
            assert any("does not read" in r.getMessage() for r in caplog.records)
            await slow.close()
    finally:
        await running.stop()
