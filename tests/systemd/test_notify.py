"""sd_notify against a real NOTIFY_SOCKET the test opens: what systemd would receive."""

from __future__ import annotations

import logging
import os
import time

import pytest
from support import FakeTarget, NotifySocket, async_wait_for

from headunit import systemd
from headunit.component import Context
from headunit.config import Config
from headunit.controller import Controller
from headunit.state import PlayerState, Status, Track

SONG = Track(entry_id=1, uri="file:///m/a.flac", title="Song A", artist=("Band",), duration=200)


def make(controller: Controller) -> systemd.SystemdNotify:
    component = systemd.create(Context(controller, Config(), request_shutdown=lambda: None))
    assert component is not None
    return component


async def wait_count(sock: NotifySocket, key: str, count: int) -> None:
    await async_wait_for(lambda: sock.count(key) >= count, what=f"{count}x {key}")


async def test_ready_then_stopping(notify_env: NotifySocket, controller: Controller) -> None:
    component = make(controller)
    await component.start()
    first = notify_env.messages()
    assert first[0]["READY"] == "1"
    assert first[0]["STATUS"] == "Stopped"
    await component.stop()
    assert notify_env.messages()[-1]["STOPPING"] == "1"


async def test_socket_by_path(
    short_tmp: str, monkeypatch: pytest.MonkeyPatch, controller: Controller
) -> None:
    sock = NotifySocket(os.path.join(short_tmp, "notify"))
    monkeypatch.setenv("NOTIFY_SOCKET", sock.env)
    component = make(controller)
    await component.start()
    await component.stop()
    assert [list(m) for m in sock.messages()] == [["READY", "STATUS"], ["STOPPING", "STATUS"]]
    sock.close()


def test_no_socket_no_component(monkeypatch: pytest.MonkeyPatch, controller: Controller) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.create(Context(controller, Config(), lambda: None)) is None


async def test_status_shows_what_is_playing(
    notify_env: NotifySocket, controller: Controller, target: FakeTarget
) -> None:
    component = make(controller)
    await component.start()
    target.publish(status=Status.PLAYING, track=SONG, queue_length=3)
    await async_wait_for(lambda: notify_env.last("STATUS") == "Playing: Song A - Band")
    await component.stop()


async def test_status_burst_is_rate_limited_and_ends_on_the_latest(
    notify_env: NotifySocket, controller: Controller, target: FakeTarget
) -> None:
    component = systemd.SystemdNotify(
        controller, systemd.Notifier(), watchdog=None, status_interval=0.3
    )
    await component.start()
    notify_env.messages()  # READY=1
    for n in range(20):  # holding "next" on a long queue
        target.publish(status=Status.PLAYING, track=Track(entry_id=n, uri=f"u{n}", title=f"T{n}"))
    await async_wait_for(lambda: notify_env.last("STATUS") == "Playing: T19")
    statuses = [m["STATUS"] for m in notify_env.received[1:]]
    assert len(statuses) <= 2  # the first at once, then the latest when the interval is up
    await component.stop()


async def test_seek_and_volume_do_not_touch_status(
    notify_env: NotifySocket, controller: Controller, target: FakeTarget
) -> None:
    component = make(controller)
    await component.start()
    notify_env.messages()
    target.publish(volume=40.0, position=12.0)
    target.publish(status=Status.PLAYING, track=SONG)  # the marker
    await wait_count(notify_env, "STATUS", 2)
    assert notify_env.received[1:] == [{"STATUS": "Playing: Song A - Band"}]
    await component.stop()


async def test_watchdog_pings_at_half_the_timeout(
    notify_env: NotifySocket, monkeypatch: pytest.MonkeyPatch, controller: Controller
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "100000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert systemd.watchdog_interval() == pytest.approx(0.05)
    component = make(controller)
    await component.start()
    await wait_count(notify_env, "WATCHDOG", 3)
    await component.stop()


async def test_stalled_loop_stops_the_pings(
    notify_env: NotifySocket, monkeypatch: pytest.MonkeyPatch, controller: Controller
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "40000")
    component = make(controller)
    await component.start()
    await wait_count(notify_env, "WATCHDOG", 2)
    # The loop is stuck on purpose: 15 pings are due, none may go out.
    time.sleep(0.3)
    assert notify_env.messages() == []
    await wait_count(notify_env, "WATCHDOG", 1)  # and they resume with the loop
    await component.stop()


def test_watchdog_meant_for_another_process_is_ignored() -> None:
    env = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}
    assert systemd.watchdog_interval(env, pid=4242) is None
    assert systemd.watchdog_interval(env, pid=1) == 1.0
    assert systemd.watchdog_interval({}) is None
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "junk"}) is None


def test_full_socket_drops_instead_of_blocking(notify_socket: NotifySocket) -> None:
    notifier = systemd.Notifier({"NOTIFY_SOCKET": notify_socket.env})
    results = [notifier.send("WATCHDOG=1") for _ in range(2000)]  # nobody reads
    assert results[0] is True
    assert results[-1] is False
    notifier.close()


def test_gone_socket_is_logged_once(short_tmp: str, caplog: pytest.LogCaptureFixture) -> None:
    notifier = systemd.Notifier({"NOTIFY_SOCKET": os.path.join(short_tmp, "nobody")})
    with caplog.at_level(logging.WARNING):
        assert not any(notifier.send("WATCHDOG=1") for _ in range(5))
    assert len(caplog.records) == 1
    notifier.close()


def test_status_line_is_one_short_line() -> None:
    track = Track(entry_id=1, uri="u", title="A\nB" + "x" * 400, artist=("P", "Q"))
    text = systemd.describe(PlayerState(status=Status.PAUSED, track=track))
    assert "\n" not in text
    assert text.startswith("Paused: A B")
    assert len(text) == systemd.STATUS_MAX_CHARS


def test_unusable_socket_kinds() -> None:
    assert systemd.socket_address("@x") == "\0x"
    assert systemd.socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert systemd.socket_address("vsock:2:1234") is None
