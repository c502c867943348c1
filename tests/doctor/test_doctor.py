"""`headunit doctor`: a broken set-up gives the fail line that names it; a good one, none.

Real parts: the doctor as a process, libmpv opening an audio output for real (a private
PipeWire, or one that cannot open), a private dbus-daemon, the reference backend on
127.0.0.1. systemd is not running on this machine: its line is a warning here.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Doctor, days
from support import DaemonProcess, PipeWire, free_port, make_album, sign_token

from headunit.backend.server import Running
from headunit.doctor import host

pytestmark = pytest.mark.timeout(120)


def sections(tmp_path: Path, **overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A set-up that is fine, but for what `overrides` change."""
    music = tmp_path / "music"
    if not music.exists():
        make_album(music / "Album", ["One", "Two"], seconds=0.5)
    base: dict[str, dict[str, Any]] = {
        "media": {"paths": [str(music)]},
        "player": {"audio_output": "null"},
        "state": {"dir": str(tmp_path / "state")},
        "backend": {"url": ""},
    }
    for name, table in overrides.items():
        base.setdefault(name, {}).update(table)
    return base


def token_file(tmp_path: Path, claims: dict[str, Any], key: str | None = None) -> Path:
    path = tmp_path / "token"
    path.write_text(sign_token(claims, *([key] if key else [])) + "\n")
    path.chmod(0o600)
    return path


async def test_a_good_set_up_fails_nothing(
    tmp_path: Path, doctor: Doctor, dbus_session: str, pipewire: PipeWire, backend: Running
) -> None:
    token = token_file(tmp_path, {"userId": 7, "exp": days(30)})
    setup = sections(
        tmp_path,
        player={"audio_output": "pipewire"},
        backend={"url": backend.url, "token_file": str(token)},
    )
    report = await doctor(setup, **pipewire.env)
    assert report.failed() == [], [report.text(c) for c in report.failed()]
    assert report.status == 0
    assert report.level("sound") == "ok"
    assert "pipewire opened" in report.text("sound")
    assert f"default sink {PipeWire.SINK}" in report.text("sound")  # the device it played to
    assert report.level("bus") == "ok"
    assert "is free" in report.text("bus")
    assert "2 files, 0 playlists" in report.text("media")
    assert "user 7, expires in 30 days" in report.text("token")
    assert "a test connection was accepted" in report.text("backend")
    assert token.read_text().strip() not in report.output  # never the token


async def test_the_running_daemon_is_named_as_the_owner_of_the_mpris_name(
    tmp_path: Path, doctor: Doctor, start_daemon: Any, dbus_session: str
) -> None:
    daemon: DaemonProcess = start_daemon([])
    report = await doctor(sections(tmp_path), DBUS_SESSION_BUS_ADDRESS=dbus_session)
    assert report.level("bus") == "ok"
    assert f"owned by the running daemon (pid {daemon.proc.pid})" in report.text("bus")


async def test_a_bad_config_is_the_fail_line_naming_its_key(tmp_path: Path, doctor: Doctor) -> None:
    report = await doctor(sections(tmp_path, player={"startup_volume_max": "loud"}))
    assert report.status == 1
    assert report.level("config") == "fail"
    assert 'player.startup_volume_max: expected an integer 0..100, got "loud"' in report.text(
        "config"
    )
    assert report.level("libmpv") == "ok"  # what needs no config is still checked


async def test_a_missing_media_folder(tmp_path: Path, doctor: Doctor, dbus_session: str) -> None:
    gone = tmp_path / "no such folder"
    report = await doctor(sections(tmp_path, media={"paths": [str(gone)]}))
    assert report.failed() == ["media"]
    assert f"{gone} does not exist" in report.text("media")


async def test_an_unreadable_token(tmp_path: Path, doctor: Doctor, backend: Running) -> None:
    # A folder where the file should be: the tests run as root, whom no mode stops.
    unreadable = tmp_path / "token"
    unreadable.mkdir()
    setup = sections(tmp_path, backend={"url": backend.url, "token_file": str(unreadable)})
    report = await doctor(setup)
    assert report.level("token") == "fail"
    assert f"cannot read {unreadable}: Is a directory" in report.text("token")


async def test_an_expired_token(tmp_path: Path, doctor: Doctor, backend: Running) -> None:
    token = token_file(tmp_path, {"userId": 7, "exp": days(-2)})
    setup = sections(tmp_path, backend={"url": backend.url, "token_file": str(token)})
    report = await doctor(setup)
    assert report.level("token") == "fail"
    assert "user 7, expired on" in report.text("token")
    assert token.read_text().strip() not in report.output


async def test_a_token_that_expires_within_a_week_is_a_warning(
    tmp_path: Path, doctor: Doctor, backend: Running
) -> None:
    token = token_file(tmp_path, {"userId": 7, "exp": days(3)})
    setup = sections(tmp_path, backend={"url": backend.url, "token_file": str(token)})
    report = await doctor(setup)
    assert report.level("token") == "warn"
    assert "expires in 3.0 days" in report.text("token")


async def test_a_refused_token(tmp_path: Path, doctor: Doctor, backend: Running) -> None:
    token = token_file(
        tmp_path, {"userId": 7, "exp": days(30)}, key="another backend's secret, 32 bytes long"
    )
    setup = sections(tmp_path, backend={"url": backend.url, "token_file": str(token)})
    report = await doctor(setup)
    assert report.level("token") == "ok"  # its claims are fine: the signature is not
    assert report.level("backend") == "fail"
    assert "refused the token" in report.text("backend")
    assert token.read_text().strip() not in report.output


async def test_an_unreachable_backend(tmp_path: Path, doctor: Doctor) -> None:
    token = token_file(tmp_path, {"userId": 7, "exp": days(30)})
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    report = await doctor(sections(tmp_path, backend={"url": url, "token_file": str(token)}))
    assert report.level("backend") == "fail"
    assert f"{url} is unreachable: Connect call failed" in report.text("backend")


async def test_an_unreachable_bus(tmp_path: Path, doctor: Doctor) -> None:
    stale = f"unix:path={tmp_path / 'gone' / 'bus'}"
    report = await doctor(sections(tmp_path), DBUS_SESSION_BUS_ADDRESS=stale)
    assert report.level("bus") == "fail"
    assert f"the session bus at {stale} cannot be reached" in report.text("bus")


async def test_an_audio_output_that_cannot_open(
    tmp_path: Path, doctor: Doctor, dbus_session: str
) -> None:
    runtime = tmp_path / "runtime"  # a session with no sound server in it
    runtime.mkdir(mode=0o700)
    setup = sections(tmp_path, player={"audio_output": "pipewire"})
    report = await doctor(setup, XDG_RUNTIME_DIR=str(runtime))
    assert report.failed() == ["sound"]
    assert 'audio_output "pipewire" did not open' in report.text("sound")


def test_a_clock_back_in_1970_fails() -> None:
    finding = host.clock(datetime(1970, 1, 1, 0, 1, tzinfo=UTC))
    assert finding.level == "fail"
    assert "1970-01-01" in finding.text
    assert "time sync" in finding.fix


async def test_the_plain_output_is_one_line_per_check(tmp_path: Path, dbus_session: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "headunit", "doctor", "--config", "/nonexistent/config.toml",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out = (await proc.communicate())[0].decode().splitlines()
    assert proc.returncode == 1
    assert out[0].startswith("fail  config   /nonexistent/config.toml: no such file")
    assert out[-1].startswith("headunit doctor: ")
    assert all(line.split()[0] in ("ok", "warn", "fail") for line in out[:-1])


async def test_each_key_device_is_looked_for(tmp_path: Path, doctor: Doctor) -> None:
    # No steering-wheel adapter here: /dev/null stands in for a present, readable device.
    gone = "/dev/input/by-id/usb-no-such-adapter-event-kbd"
    report = await doctor(sections(tmp_path, keys={"devices": ["/dev/null", gone]}))
    lines = report.of("keys")
    assert [c["level"] for c in lines] == ["ok", "fail"]
    assert f"{gone} is not there" in lines[1]["text"]


@pytest.mark.skipif(Path("/run/systemd/system").is_dir(), reason="systemd runs here")
async def test_without_systemd_its_line_says_so(tmp_path: Path, doctor: Doctor) -> None:
    report = await doctor(sections(tmp_path))
    assert report.level("systemd") == "warn"
    assert "systemd is not running here" in report.text("systemd")
