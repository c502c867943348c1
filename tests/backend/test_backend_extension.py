"""headunit's extension in the reference backend: the car's queue, library, presence and
cover art reach the user's phones, and nobody else's; the page is served with its CSP."""

from __future__ import annotations

import hashlib
import re

import aiohttp
import pytest
from support import async_wait_for, png, sign_token

STATE = {"userId": 7, "isPlaying": True, "currentTime": 1.0, "duration": 9.0, "mediaId": 4}
QUEUE = {"entries": [{"id": 12, "title": "Two", "artist": "Band"}]}
LIBRARY = {"items": [{"id": "ab12", "title": "Album B", "kind": "folder"}]}


async def quiet_until_marker(client) -> list:
    """Everything `client` received before the answer to a ping sent now."""
    before = len(client.events)
    await client.sio.emit("ping")
    await async_wait_for(lambda: ("pong", None) in client.events[before:], within=5.0)
    return [event for event in client.events if event[0] != "pong"]


async def test_queue_and_library_reach_the_users_phones_and_late_ones(server, connect):
    car = await connect(server.url, sign_token({"userId": 7}))
    phone = await connect(server.url, sign_token({"userId": 7}))
    stranger = await connect(server.url, sign_token({"userId": 8}))
    await car.sio.emit("headunit_queue_update", QUEUE)
    await car.sio.emit("headunit_library_update", LIBRARY)
    await async_wait_for(lambda: phone.got("headunit_library"), within=5.0)
    assert phone.got("headunit_queue") == [QUEUE]
    assert phone.got("headunit_library") == [LIBRARY]
    assert car.got("headunit_queue") == []
    late = await connect(server.url, sign_token({"userId": 7}))
    await async_wait_for(lambda: late.got("headunit_library"), within=5.0)
    assert late.got("headunit_queue") == [QUEUE]
    assert await quiet_until_marker(stranger) == []


async def test_a_selection_goes_to_the_car_only(server, connect):
    car = await connect(server.url, sign_token({"userId": 7}))
    phone = await connect(server.url, sign_token({"userId": 7}))
    stranger = await connect(server.url, sign_token({"userId": 8}))
    await phone.sio.emit("headunit_select", {"kind": "queue", "id": 12})
    await phone.sio.emit("headunit_select", {"kind": "library", "id": "ab12"})
    await async_wait_for(lambda: len(car.got("headunit_select")) == 2, within=5.0)
    assert car.got("headunit_select") == [
        {"kind": "queue", "id": 12},
        {"kind": "library", "id": "ab12"},
    ]
    assert await quiet_until_marker(stranger) == []


@pytest.mark.parametrize(
    ("event", "payload", "message"),
    [
        ("headunit_select", {"kind": "library", "id": "../etc/passwd"}, "invalid selection"),
        ("headunit_select", {"kind": "queue", "id": -1}, "invalid selection"),
        ("headunit_queue_update", {"entries": [{"id": 1}]}, "invalid queue"),
        ("headunit_queue_update", {"entries": [{"id": 1, "title": "x"}] * 51}, "invalid queue"),
        ("headunit_library_update", {"items": [{"id": "1", "title": "x"}]}, "invalid library"),
    ],
)
async def test_invalid_extension_events_get_an_error(server, connect, event, payload, message):
    car = await connect(server.url, sign_token({"userId": 7}))
    phone = await connect(server.url, sign_token({"userId": 7}))
    await phone.sio.emit(event, payload)
    await async_wait_for(lambda: phone.got("error"), within=5.0)
    assert phone.got("error")[0]["message"].startswith(message)
    assert phone.sio.connected
    assert [e for e in await quiet_until_marker(car) if e[0] != "headunit_car"] == []


async def test_the_cars_presence(server, connect):
    phone = await connect(server.url, sign_token({"userId": 7}))
    car = await connect(server.url, sign_token({"userId": 7}))
    await car.sio.emit("playback_state_update", STATE)
    await async_wait_for(lambda: phone.got("headunit_car"), within=5.0)
    assert phone.got("headunit_car")[0]["online"] is True
    await car.sio.disconnect()
    await async_wait_for(lambda: len(phone.got("headunit_car")) == 2, within=5.0)
    gone = phone.got("headunit_car")[1]
    assert gone["online"] is False
    assert gone["since"] >= phone.got("headunit_car")[0]["since"]


async def art(method: str, url: str, token: str | None, data: bytes | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, data=data, headers=headers) as resp,
    ):
        return resp.status, await resp.read(), resp.headers


async def test_cover_art_is_the_users_own(server):
    picture = png()
    digest = hashlib.sha256(picture).hexdigest()
    url = f"{server.url}/api/headunit/art/{digest}"
    status, _, headers = await art("PUT", url, sign_token({"userId": 7}), picture)
    assert status == 200
    status, body, headers = await art("GET", url, sign_token({"userId": 7}))
    assert (status, body, headers["Content-Type"]) == (200, picture, "image/png")
    assert "no-store" in headers["Cache-Control"]
    assert (await art("GET", url, sign_token({"userId": 8})))[0] == 404
    assert (await art("GET", url, None))[0] == 401


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("another hash", png(), 400),
        ("not a picture", b"<script>alert(1)</script>", 415),
    ],
)
async def test_cover_art_refusals(server, name, data, status):
    digest = hashlib.sha256(b"something else" if name == "another hash" else data).hexdigest()
    url = f"{server.url}/api/headunit/art/{digest}"
    assert (await art("PUT", url, sign_token({"userId": 7}), data))[0] == status
    assert (await art("GET", url, sign_token({"userId": 7})))[0] == 404


async def test_the_page_is_served_with_a_strict_policy(server):
    status, body, headers = await art("GET", f"{server.url}/", None)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    page = body.decode()
    # Every script is a file of the page's own: no inline code for the policy to allow.
    assert re.findall(r"<script[^>]*>(.*?)</script>", page, re.S) == ["", ""]
    assert all(src in page for src in ('src="socket.io.min.js"', 'src="app.js"'))
    for name in ("socket.io.min.js", "manifest.webmanifest", "sw.js", "icon-192.png"):
        assert (await art("GET", f"{server.url}/{name}", None))[0] == 200, name
