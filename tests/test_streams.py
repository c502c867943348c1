"""Streams over http on 127.0.0.1: one plays; one that stalls is given up and the queue
goes on (network_timeout), instead of hanging the car's music forever."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from support import async_wait_for, make_tone

from headunit.model import Command, CommandName, MediaRef
from headunit.state import Status

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[str]:
    """/radio.flac streams a real file; /stalled sends headers and a little, then nothing."""
    radio = make_tone(tmp_path / "radio.flac", 30)
    stalled_forever = asyncio.Event()

    async def stalled(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/flac"})
        await response.prepare(request)
        await response.write(radio.read_bytes()[:64])
        await stalled_forever.wait()
        return response

    async def file(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(radio)

    async def private(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != "Bearer good-token":
            return web.Response(status=401)
        return web.FileResponse(radio)

    async def station(request: web.Request) -> web.Response:
        return web.Response(text=f"#EXTM3U\n{request.url.origin()}/radio.flac\n")

    app = web.Application()
    app.router.add_get("/radio.flac", file)
    app.router.add_get("/station.m3u", station)
    app.router.add_get("/media/5", private)
    app.router.add_get("/stalled", stalled)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    stalled_forever.set()
    await runner.cleanup()


# A station's URL is the stream itself, or often a playlist naming it (.m3u, .pls).
@pytest.mark.parametrize("name", ["radio.flac", "station.m3u"])
async def test_a_stream_plays_with_its_name_as_title(make_rig, http: str, name: str) -> None:
    rig = await make_rig([f"{http}/{name}"])
    await async_wait_for(lambda: rig.controller.position() > 0.5, what="the stream playing")
    state = rig.controller.state
    assert state.status is Status.PLAYING
    assert state.track.title == name
    await rig.controller.execute(Command(CommandName.PAUSE), "test")
    assert rig.controller.state.status is Status.PAUSED


async def test_a_stalled_stream_is_given_up_and_the_queue_goes_on(
    make_rig, http: str, tmp_path: Path
) -> None:
    after = make_tone(tmp_path / "after.flac", 5, tags={"TITLE": "After"})
    rig = await make_rig([f"{http}/stalled", after], network_timeout=1.0)
    await async_wait_for(
        lambda: rig.controller.state.track and rig.controller.state.track.title == "After",
        within=20,
        what="the queue moving past the stalled stream",
    )
    await rig.controller.execute(Command(CommandName.PAUSE), "test")
    assert rig.controller.state.status is Status.PAUSED


async def test_backend_media_is_fetched_with_its_token_and_keeps_its_id(
    make_rig, http: str, tmp_path: Path
) -> None:
    """Handoff opens the backend's media URL with the user's Bearer token."""
    rig = await make_rig([make_tone(tmp_path / "local.flac", 30, tags={"TITLE": "Local"})])
    refused = MediaRef(f"{http}/media/5", media_id=5, authorization="Bearer bad-token")
    await rig.controller.execute(Command(CommandName.OPEN, refused), "test")
    # Refused (401): skipped forward, past the end of this one-track queue.
    await async_wait_for(lambda: rig.controller.state.status is Status.STOPPED, what="the skip")
    media = MediaRef(f"{http}/media/5", media_id=5, authorization="Bearer good-token")
    await rig.controller.execute(Command(CommandName.OPEN, media), "test")
    await async_wait_for(lambda: rig.controller.position() > 0.3, what="the media playing")
    track = rig.controller.state.track
    assert (track.uri, track.media_id) == (f"{http}/media/5", 5)
