"""The reference backend does what docs/protocol.md says, and refuses what it must."""

from __future__ import annotations

import time

import aiohttp
import jwt
import pytest
from support import TEST_SECRET, async_wait_for, sign_token

from headunit.backend.auth import Verifier
from headunit.backend.server import Backend, serve

STATE = {
    "userId": 7,
    "isPlaying": True,
    "currentTime": 3.5,
    "duration": 200.0,
    "mediaId": 12,
    "mediaTitle": "T",
    "deviceName": "web",
}

BAD_TOKENS = {
    "alg none": sign_token({"userId": 7}, None, "none"),
    "wrong signature": sign_token({"userId": 7}, key="another-secret-of-enough-length-000"),
    "expired": sign_token({"userId": 7, "exp": int(time.time()) - 10}),
    "string userId": sign_token({"userId": "7"}),
    "boolean userId": sign_token({"userId": True}),
    "fractional userId": sign_token({"userId": 7.5}),
    "huge userId": sign_token({"userId": 10**400}),
    "no userId": sign_token({"sub": "7"}),
    "not a JWT": "hello",
    "empty": "",
}


@pytest.mark.parametrize("name", BAD_TOKENS)
async def test_bad_tokens_are_refused_with_connect_error(name, server, connect):
    client = await connect(server.url, BAD_TOKENS[name])
    assert not client.sio.connected
    assert client.refusal["message"].startswith("Authentication error")


async def test_no_auth_payload_is_refused(server, connect):
    client = await connect(server.url, None)
    assert client.refusal["message"] == "Authentication error: no token"


async def test_error_event_refusal_style(connect):
    running = await serve(Backend(Verifier(TEST_SECRET, "HS256"), refusal="error_event"))
    try:
        client = await connect(running.url, BAD_TOKENS["expired"])
        await async_wait_for(lambda: not client.sio.connected, within=5.0)
        assert client.got("error") == [{"message": "Authentication error: token expired"}]
    finally:
        await running.stop()


async def test_rs256_public_key(connect):
    # RS256 needs PyJWT's crypto support (the cryptography package).
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    running = await serve(Backend(Verifier(public, "RS256")))
    try:
        good = await connect(running.url, sign_token({"userId": 3}, private, "RS256"))
        assert good.sio.connected
        # Algorithm confusion: the public key used as an HMAC secret is refused.
        confused = jwt.api_jws.PyJWS()
        confused._algorithms["HS256"].prepare_key = lambda key: key.encode()  # allow PEM
        forged = confused.encode(b'{"userId": 3}', public, algorithm="HS256")
        refused = await connect(running.url, forged)
        assert not refused.sio.connected
    finally:
        await running.stop()


async def test_state_goes_to_the_users_other_sockets_and_is_cached(server, connect):
    web = await connect(server.url, sign_token({"userId": 7}))
    car = await connect(server.url, sign_token({"userId": 7}))
    stranger = await connect(server.url, sign_token({"userId": 8}))
    await web.sio.emit("playback_state_update", {**STATE, "userId": 8})  # lies about its user
    await async_wait_for(lambda: car.got("playback_state"), within=5.0)
    assert car.got("playback_state") == [{**STATE, "userId": 7}]
    assert web.got("playback_state") == []
    assert stranger.got("playback_state") == []
    late = await connect(server.url, sign_token({"userId": 7}))
    await async_wait_for(lambda: late.got("playback_state"), within=5.0)
    assert late.got("playback_state") == [{**STATE, "userId": 7}]


async def test_commands_go_to_the_other_sockets_only(server, connect):
    phone = await connect(server.url, sign_token({"userId": 7}))
    car = await connect(server.url, sign_token({"userId": 7}))
    await phone.sio.emit("carplay_command", {"command": "seek", "value": 42})
    await async_wait_for(lambda: car.got("carplay_command"), within=5.0)
    assert car.got("carplay_command") == [{"command": "seek", "value": 42}]
    assert phone.got("carplay_command") == []


async def test_invalid_events_get_an_error_and_keep_the_socket(server, connect):
    phone = await connect(server.url, sign_token({"userId": 7}))
    await phone.sio.emit("carplay_command", {"command": "seek", "value": -3})
    await phone.sio.emit("playback_state_update", {**STATE, "currentTime": float("nan")})
    await async_wait_for(lambda: len(phone.got("error")) == 2, within=5.0)
    messages = [e["message"] for e in phone.got("error")]
    assert messages[0].startswith("invalid command: seek needs a position >= 0")
    assert messages[1].startswith("invalid playback state: currentTime")
    assert phone.sio.connected
    assert server.backend.cached(7) is None


async def test_ping_pong(server, connect):
    client = await connect(server.url, sign_token({"userId": 7}))
    await client.sio.emit("ping")
    await async_wait_for(lambda: client.got("pong"), within=5.0)


async def call(method: str, url: str, token: str | None, body: object = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, json=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def test_rest_control_reaches_every_socket_of_the_user(server, connect):
    car = await connect(server.url, sign_token({"userId": 7}))
    web = await connect(server.url, sign_token({"userId": 7}))
    other = await connect(server.url, sign_token({"userId": 8}))
    status, body = await call(
        "POST",
        f"{server.url}/api/carplay/control",
        sign_token({"userId": 7}),
        {"command": "next", "value": None},
    )
    assert (status, body["success"]) == (200, True)
    await async_wait_for(
        lambda: car.got("carplay_command") and web.got("carplay_command"), within=5.0
    )
    assert car.got("carplay_command") == [{"command": "next"}]
    # The marker: user 8's own command reaches user 8, and nothing of user 7's before it.
    await call(
        "POST",
        f"{server.url}/api/carplay/control",
        sign_token({"userId": 8}),
        {"command": "pause", "value": None},
    )
    await async_wait_for(lambda: other.got("carplay_command"), within=5.0)
    assert other.got("carplay_command") == [{"command": "pause"}]


@pytest.mark.parametrize(
    ("token", "body", "status"),
    [
        (None, {"command": "play"}, 401),
        (BAD_TOKENS["alg none"], {"command": "play"}, 401),
        (BAD_TOKENS["expired"], {"command": "play"}, 401),
        (sign_token({"userId": 7}), {"command": "rewind"}, 400),
        (sign_token({"userId": 7}), {"command": "seek", "value": "42"}, 400),
        (sign_token({"userId": 7}), [1, 2, 3], 400),
    ],
)
async def test_rest_control_refusals(server, token, body, status):
    got, answer = await call("POST", f"{server.url}/api/carplay/control", token, body)
    assert got == status
    assert answer["error"]


async def test_rest_control_huge_integer_is_a_bad_request(server):
    headers = {
        "Authorization": f"Bearer {sign_token({'userId': 7})}",
        "Content-Type": "application/json",
    }
    body = '{"command": "seek", "value": 1' + "0" * 400 + "}"
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/api/carplay/control", data=body, headers=headers) as resp,
    ):
        assert resp.status == 400


async def test_now_playing(server, connect):
    url = f"{server.url}/api/carplay/now-playing"
    assert await call("GET", url, sign_token({"userId": 7})) == (200, None)
    web = await connect(server.url, sign_token({"userId": 7}))
    await web.sio.emit("playback_state_update", STATE)
    await async_wait_for(lambda: server.backend.cached(7) is not None, within=5.0)
    assert await call("GET", url, sign_token({"userId": 7})) == (200, STATE)
    assert await call("GET", url, sign_token({"userId": 8})) == (200, None)
    assert (await call("GET", url, None))[0] == 401
