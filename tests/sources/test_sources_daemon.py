"""The daemon as a process, with a fake phone player (tests/fake_players.py) on the
private bus: yield, `headunit status`, take-back, and a power cut while yielded."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

from fake_players import FakePlayer
from support import STARTUP, DaemonProcess, async_wait_for, playerctl


async def ready(daemon: DaemonProcess) -> DaemonProcess:
    """Waited for on the loop: the fake players in this process must keep answering."""
    await async_wait_for(lambda: "ready:" in daemon.log(), within=STARTUP, what="the daemon ready")
    return daemon


async def status_of() -> str:
    return await playerctl("status", check=False)


async def headunit_status(daemon: DaemonProcess) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "headunit", "status", "--config", str(daemon.config_path),
        env=daemon.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


def saved(state_dir: Path) -> dict[str, object]:
    try:
        return json.loads((state_dir / "state.json").read_text())
    except (OSError, ValueError):
        return {}


async def test_the_daemon_yields_to_the_phone_and_takes_back(
    start_daemon, long_song, dbus_session, tmp_path
):
    daemon = await ready(start_daemon([long_song], wait_ready=False))
    await async_wait_for(lambda: status_of(), what="headunit on the bus")
    await async_wait_for(lambda: _is(status_of(), "Playing"), what="headunit playing")
    phone = await FakePlayer.phone().join(dbus_session)
    try:
        phone.player.play()
        await async_wait_for(lambda: _is(status_of(), "Paused"), what="headunit paused")
        paused_at = float(await playerctl("position"))
        await async_wait_for(lambda: _contains(headunit_status(daemon), "source: Pixel 7"))
        await async_wait_for(lambda: saved(tmp_path / "state").get("interrupted") is True)
    finally:
        left = time.monotonic()
        await phone.leave()
    await async_wait_for(lambda: _is(status_of(), "Playing"), what="headunit playing again")
    # On from where it paused: not before it, and no further than the time since.
    position = float(await playerctl("position"))
    assert paused_at - 0.5 <= position <= paused_at + (time.monotonic() - left) + 0.5
    assert "source: headunit" in await headunit_status(daemon)


async def test_a_power_cut_while_the_phone_plays_comes_back_paused(
    start_daemon, long_song, dbus_session, tmp_path
):
    daemon = await ready(start_daemon([long_song], wait_ready=False))
    await async_wait_for(lambda: _is(status_of(), "Playing"), what="headunit playing")
    phone = await FakePlayer.phone().join(dbus_session)
    phone.player.play()
    await async_wait_for(lambda: saved(tmp_path / "state").get("interrupted") is True)
    daemon.signal(signal.SIGKILL)  # the power goes
    assert daemon.proc is not None
    daemon.proc.wait(5)
    await phone.leave()  # and the phone is not in the car when it comes back
    await ready(start_daemon([long_song], wait_ready=False))
    await async_wait_for(lambda: _is(status_of(), "Paused"), what="headunit restored paused")
    await asyncio.sleep(0.5)  # nothing resumes it afterwards either
    assert await status_of() == "Paused"
    assert await playerctl("metadata", "title") == "Car Song"


async def _is(reading: object, expected: str) -> bool:
    return await reading == expected  # type: ignore[misc]


async def _contains(reading: object, text: str) -> bool:
    return text in await reading  # type: ignore[misc]
