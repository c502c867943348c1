"""The network never stops the music: outages, refusals, expiry, silent backends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest
from link_helpers import SECRET, link_config, make_token, write_token
from support import async_wait_for

from headunit.backend.auth import Verifier
from headunit.backend.server import Backend, serve
from headunit.link import supervisor
from headunit.link.supervisor import backoff_delay
from headunit.model import Command, CommandName
from headunit.state import Status


async def test_backend_killed_and_restarted_mid_playback(
    backend_process, token_file, make_car, make_phone
):
    await backend_process.start()
    car = await make_car(link_config(backend_process.url, token_file))
    await car.controller.execute(Command(CommandName.PLAY), "test")
    await async_wait_for(lambda: car.supervisor.connected)
    backend_process.kill()
    await async_wait_for(lambda: not car.supervisor.connected)
    # Offline: the car keeps playing and obeys its own controls.
    await car.controller.execute(Command(CommandName.NEXT), "test")
    assert car.controller.state.status is Status.PLAYING
    await backend_process.start()
    await async_wait_for(lambda: car.supervisor.sessions == 2)
    # The fresh backend knows nothing; the car re-sends its latest state at once.
    phone = await make_phone(backend_process.url)
    await async_wait_for(lambda: bool(phone.states))
    assert phone.states[0]["mediaId"] == 101
    assert phone.states[0]["isPlaying"] is True


async def test_server_side_disconnect_reconnects(backend, token_file, make_car):
    car = await make_car(link_config(backend.url, token_file))
    await async_wait_for(lambda: car.supervisor.connected)
    await backend.backend.disconnect_user(7)
    await async_wait_for(lambda: car.supervisor.sessions == 2 and car.supervisor.connected)


@pytest.mark.parametrize("style", ["connect_error", "error_event"])
async def test_bad_token_is_refused_without_a_tight_loop(style, tmp_path, make_car, caplog):
    running = await serve(Backend(Verifier(SECRET, "HS256"), refusal=style))
    try:
        token_file = write_token(
            tmp_path / "token", make_token(7, secret="not-the-secret-but-long-enough-for-hs256")
        )
        car = await make_car(link_config(running.url, token_file, auth_backoff_seconds=1.0))
        await async_wait_for(lambda: running.backend.refused >= 1)
        await asyncio.sleep(2.5)
        # 1 s auth backoff with jitter: a handful of attempts, not hundreds.
        assert 2 <= running.backend.refused <= 6
        assert "Authentication error: invalid token" in car.supervisor.problem
        refusals = [
            r
            for r in caplog.records
            if "refused" in r.getMessage() and r.name.startswith("headunit.link")
        ]
        assert len(refusals) == 1
    finally:
        await running.stop()


async def test_expired_token_reported_once_then_replaced_in_the_file(
    backend, tmp_path, make_car, caplog
):
    token_file = write_token(tmp_path / "token", make_token(7, exp=time.time() - 60))
    car = await make_car(link_config(backend.url, token_file, auth_backoff_seconds=3600))
    await async_wait_for(lambda: car.supervisor.problem is not None)
    await asyncio.sleep(1.5)
    expired = [r for r in caplog.records if "expired" in r.getMessage()]
    assert len(expired) == 1
    assert str(token_file) in expired[0].getMessage()
    assert backend.backend.refused == 0  # it never bothered the backend with it
    write_token(token_file, make_token(7, exp=time.time() + 3600))
    await async_wait_for(lambda: car.supervisor.connected)


async def test_backend_that_accepts_but_never_answers(tmp_path, token_file, make_car):
    accepted: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        car = await make_car(
            link_config(f"http://127.0.0.1:{port}", token_file, timeout_seconds=0.3)
        )
        await async_wait_for(lambda: len(accepted) >= 2)  # it timed out and tried again
        await car.controller.execute(Command(CommandName.PLAY), "test")
        assert car.controller.state.status is Status.PLAYING
        assert not car.supervisor.connected
        assert "cannot connect" in car.supervisor.problem
    finally:
        for writer in accepted:
            writer.close()
        server.close()


async def test_stop_ends_the_link_even_when_the_client_library_loses_the_cancel(
    token_file, make_car, monkeypatch
):
    """A cancel landing as a connect attempt fails can be lost inside the client
    library: the link must stop all the same, or the daemon's exit waits on it."""
    attempts, inside = 0, asyncio.Event()

    async def losing_the_cancel(session):
        nonlocal attempts
        attempts += 1
        inside.set()
        with contextlib.suppress(asyncio.CancelledError):  # lost, as the library may
            await asyncio.sleep(30)
        return supervisor.Outcome.UNREACHABLE, 0.0

    monkeypatch.setattr(supervisor._Session, "run", losing_the_cancel)
    car = await make_car(link_config("http://127.0.0.1:9", token_file, backoff_max_seconds=0.1))
    await inside.wait()
    await car.supervisor.stop()
    await asyncio.sleep(0.5)  # a few backoffs
    assert attempts == 1  # none after the stop


class SilentBackend(Backend):
    async def _on_ping(self, sid, data=None):  # accepts, relays, but never pongs
        return None


async def test_missing_pong_ends_the_connection(token_file, make_car, caplog):
    running = await serve(SilentBackend(Verifier(SECRET, "HS256")))
    try:
        car = await make_car(
            link_config(running.url, token_file, ping_seconds=1.0, timeout_seconds=0.5)
        )
        await async_wait_for(lambda: car.supervisor.sessions >= 2)
        assert any("no pong" in r.getMessage() for r in caplog.records)
    finally:
        await running.stop()


async def test_round_trip_is_measured(backend, token_file, make_car):
    car = await make_car(link_config(backend.url, token_file, ping_seconds=1.0))
    await async_wait_for(lambda: car.supervisor.rtt is not None)
    status = car.link.status()
    assert status["connected"] is True
    assert status["user_id"] == 7
    assert status["round_trip_ms"] >= 0


async def test_tokens_never_reach_the_logs(backend, tmp_path, make_car, make_phone, caplog):
    caplog.set_level(logging.DEBUG)
    good = make_token(7)
    token_file = write_token(tmp_path / "token", good)
    token_file.chmod(0o644)  # also triggers the readable-by-others warning
    car = await make_car(link_config(backend.url, token_file))
    await async_wait_for(lambda: car.supervisor.connected)
    bad = make_token(7, secret="the-wrong-secret-long-enough-for-hs256")
    write_token(token_file, bad)
    await backend.backend.disconnect_user(7)
    await async_wait_for(lambda: backend.backend.refused >= 1)
    text = caplog.text
    assert "readable by others" in text
    assert "Authentication error" in text
    for token in (good, bad):
        for part in token.split("."):
            assert part not in text


def test_backoff_is_full_jitter_doubling_up_to_the_cap():
    ceilings = [backoff_delay(n, 0.5, 15.0, lambda: 1.0) for n in range(8)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0]
    assert backoff_delay(3, 0.5, 15.0, lambda: 0.0) == 0.0  # anywhere from zero: no lock-step
    assert backoff_delay(10_000, 0.5, 15.0, lambda: 0.5) == 7.5  # no overflow after days


async def test_token_expiring_while_connected(backend, tmp_path, make_car, caplog):
    # Whole seconds (JWT): 3 to 4 s left, for a starved car to connect before the end (with
    # `+ 2`, 1 to 2 s: a connection 1.5 s late found the token expired and never came).
    token_file = write_token(tmp_path / "token", make_token(7, exp=time.time() + 4))
    car = await make_car(link_config(backend.url, token_file, auth_backoff_seconds=3600))
    await async_wait_for(lambda: car.supervisor.connected)
    # The backend hangs up when the token ends; the car sees why and waits for a new one.
    await async_wait_for(lambda: "expired" in (car.supervisor.problem or ""))
    assert not car.supervisor.connected
    write_token(token_file, make_token(7, exp=time.time() + 3600))
    await async_wait_for(lambda: car.supervisor.connected and car.supervisor.sessions == 2)
    assert sum("expired at" in r.getMessage() for r in caplog.records) == 1
