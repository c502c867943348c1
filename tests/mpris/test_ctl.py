"""The CLI control verbs, run as a user runs them (a subprocess), against the surface."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from mpris_helpers import MprisClient, Surface, until
from support import DaemonProcess

from headunit.model import Command, CommandName, LoopMode

C = CommandName


@pytest.fixture(autouse=True)
def empty_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never read /etc/headunit or the user's config.
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("HEADUNIT_CONFIG", str(config))


async def headunit(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "headunit.ctl", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    ("verb", "command"),
    [
        ("play", C.PLAY),
        ("toggle", C.TOGGLE),
        ("stop", C.STOP),
        ("next", C.NEXT),
    ],
)
async def test_control_verbs(surface: Surface, verb: str, command: CommandName) -> None:
    assert await headunit(verb) == (0, "", "")
    assert [c.name for c in surface.target.commands] == [command]


async def test_pause_and_previous(surface: Surface) -> None:
    for verb in ("next", "play", "pause", "previous"):
        assert (await headunit(verb))[0] == 0
    assert [c.name for c in surface.target.commands] == [C.NEXT, C.PLAY, C.PAUSE, C.PREVIOUS]


@pytest.mark.parametrize(
    ("arg", "command"),
    [
        ("+10", Command(C.SEEK_BY, 10.0)),
        ("-2.5", Command(C.SEEK_BY, -2.5)),
        ("75", Command(C.SEEK, 75.0)),
        ("1:05", Command(C.SEEK, 65.0)),
    ],
)
async def test_seek(surface: Surface, arg: str, command: Command) -> None:
    assert (await headunit("seek", arg))[0] == 0
    assert surface.target.commands == [command]


async def test_seek_past_the_end_is_refused_with_a_message(surface: Surface) -> None:
    status, _, err = await headunit("seek", "3:00")
    assert status == 1
    assert "past the end" in err
    assert surface.target.commands == []


async def test_volume_shuffle_loop(surface: Surface) -> None:
    for args in (("volume", "40"), ("volume", "+15"), ("shuffle", "on"), ("loop", "track")):
        assert (await headunit(*args))[0] == 0
    assert surface.target.commands == [
        Command(C.VOLUME, 40.0),
        Command(C.VOLUME, 55.0),
        Command(C.SHUFFLE, True),
        Command(C.LOOP, str(LoopMode.TRACK)),
    ]


async def test_open_a_path_sends_a_file_uri(surface: Surface, tmp_path: Path) -> None:
    song = tmp_path / "a song.flac"
    song.write_bytes(b"")
    assert (await headunit("open", str(song)))[0] == 0
    assert surface.target.commands == [Command(C.OPEN, song.as_uri())]


async def test_open_an_unsupported_uri_reports_the_refusal(surface: Surface) -> None:
    status, _, err = await headunit("open", "gopher://example.com/x.mp3")
    assert status == 1
    assert "unsupported URI scheme" in err


async def test_status_text(surface: Surface) -> None:
    status, out, _ = await headunit("status")
    assert status == 0
    assert out.splitlines()[0] == "Stopped: Track 1 - Artist (Album)"
    assert "0:00 / 2:00" in out
    assert "volume 100%" in out


async def test_status_json(surface: Surface) -> None:
    await surface.controller.execute(Command(C.SEEK, 30.0), source="test")
    status, out, _ = await headunit("status", "--json")
    assert status == 0
    info = json.loads(out)
    assert info["title"] == "Track 1"
    assert info["artist"] == ["Artist"]
    assert info["duration"] == 120.0
    assert info["position"] == 30.0
    assert info["status"] == "Stopped"
    assert info["loop"] == "none"
    assert info["watchdog_recoveries"] == 0
    surface.recovered.append("a stall")
    info = json.loads((await headunit("status", "--json"))[1])
    assert info["watchdog_recoveries"] == 1


async def test_status_follow_prints_each_change(surface: Surface) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "headunit.ctl", "status", "--json", "--follow",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        first = json.loads(await proc.stdout.readline())
        assert first["status"] == "Stopped"
        await surface.controller.execute(Command(C.PLAY), source="test")
        assert json.loads(await proc.stdout.readline())["status"] == "Playing"
        await surface.controller.execute(Command(C.NEXT), source="test")
        assert json.loads(await proc.stdout.readline())["title"] == "Track 2"
        await surface.server.stop()  # the daemon goes away: --follow ends, non-zero
        assert await proc.wait() == 69
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_no_daemon_is_a_clear_error(session_bus: str) -> None:
    status, out, err = await headunit("play")
    assert status == 69
    assert "no headunit daemon is running" in err
    assert out == ""


async def test_no_bus_at_all_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    status, _, err = await headunit("status")
    assert status == 69
    assert "cannot reach the session bus" in err


async def test_bad_arguments_are_usage_errors() -> None:
    for args in (("seek", "soon"), ("volume", "120"), ("loop", "forever")):
        status, _, err = await headunit(*args)
        assert status == 2, args
        assert "usage" in err


async def test_verbs_against_the_real_daemon(client: MprisClient, daemon: DaemonProcess) -> None:
    config = str(daemon.config_path)
    status, out, _ = await headunit("status", "--json", "--config", config)
    assert status == 0
    info = json.loads(out)
    assert (info["title"], info["artist"], info["status"]) == ("One", ["Test Artist"], "Playing")
    assert info["watchdog_recoveries"] == 0
    assert info["volume"] == 60  # the start-up cap
    assert (await headunit("next", "--config", config))[0] == 0
    await until(client, "Metadata", lambda m: m["xesam:title"].value == "Two")
    assert (await headunit("pause", "--config", config))[0] == 0
    await client.wait_property("PlaybackStatus", "Paused")
    status, out, _ = await headunit("status", "--config", config)
    assert out.startswith("Paused: Two - Test Artist (Album)\n[")
    assert "/ 0:20" in out
