"""The real daemon under a systemd-like supervisor: a NOTIFY_SOCKET the test opens,
signals, and JOURNAL_STREAM. Each test starts `headunit run` as a subprocess."""

from __future__ import annotations

import itertools
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import (
    DaemonProcess,
    NotifySocket,
    daemon_env,
    make_album,
    sign_token,
    wait_for,
    write_config,
)

from headunit.store import Store

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")
PLAYER = "headunit"


@pytest.fixture
def supervisor() -> Iterator[NotifySocket]:
    sup = NotifySocket()
    yield sup
    sup.close()


@pytest.fixture
def long_album(tmp_path: Path) -> list[Path]:
    """Tracks long enough to still be playing across a reload or a stop."""
    return make_album(tmp_path / "music" / "Long", ["One", "Two", "Three"], seconds=60.0)


Launch = Callable[..., DaemonProcess]


@pytest.fixture
def launch(tmp_path: Path, dbus_session: str, supervisor: NotifySocket) -> Iterator[Launch]:
    """Start `headunit run` as systemd would: NOTIFY_SOCKET set, plus `env`."""
    started: list[DaemonProcess] = []

    def launch(
        media: list[Path], overrides: dict[str, dict[str, Any]] | None = None, **env: str
    ) -> DaemonProcess:
        sections: dict[str, dict[str, Any]] = {
            "media": {"paths": [str(media[0].parent)]},
            "player": {"audio_output": "null"},
            "state": {"dir": str(tmp_path / "state")},
            "mpris": {"bus": "session", "name": PLAYER},
            "backend": {"url": ""},
        }
        for name, table in (overrides or {}).items():
            sections.setdefault(name, {}).update(table)
        config = write_config(tmp_path / "config.toml", sections)
        log = tmp_path / "daemon.log"
        log.touch()
        environ = daemon_env(dbus_session, tmp_path) | {"NOTIFY_SOCKET": supervisor.env} | env
        daemon = DaemonProcess(config, log, environ)
        started.append(daemon)
        return daemon.start(wait_ready=False)

    yield launch
    for daemon in started:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.stop()


def playerctl(*args: str) -> str:
    result = subprocess.run(
        ["playerctl", "-p", PLAYER, *args], capture_output=True, text=True, timeout=10
    )
    return result.stdout.strip()


def name_has_owner(name: str) -> bool:
    out = subprocess.run(
        [
            "dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", f"string:{name}",
        ],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout  # fmt: skip
    return "boolean true" in out


def test_ready_only_once_the_mpris_name_is_up(
    launch: Launch, album: list[Path], supervisor: NotifySocket
) -> None:
    launch(album)
    ready = supervisor.wait("READY", "1")
    # Checked after READY=1 arrived: a client started by systemd after us finds the player.
    assert name_has_owner("org.mpris.MediaPlayer2.headunit")
    assert ready["STATUS"].startswith("Playing: ")
    assert not any("READY" in m for m in supervisor.received[:-1])  # nothing said earlier


def test_watchdog_pings_at_half_the_timeout(
    launch: Launch, album: list[Path], supervisor: NotifySocket
) -> None:
    launch(album, WATCHDOG_USEC="400000")
    supervisor.wait("READY", "1")
    pings = [time.monotonic() for _ in range(4) if supervisor.wait("WATCHDOG", "1")]
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    print(f"watchdog gaps (s): {[round(g, 3) for g in gaps]}")  # 0.2 s expected
    assert len(pings) == 4


def test_status_follows_the_track(
    launch: Launch, album: list[Path], supervisor: NotifySocket
) -> None:
    launch(album)
    assert supervisor.wait("READY")["STATUS"] == "Playing: One - Test Artist"
    playerctl("next")
    supervisor.wait("STATUS", "Playing: Two - Test Artist")
    playerctl("pause")
    supervisor.wait("STATUS", "Paused: Two - Test Artist")


def silent_backend() -> tuple[socket.socket, str]:
    """A TCP port that accepts connections and never answers (a backend gone mute)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    return server, f"http://127.0.0.1:{server.getsockname()[1]}"


def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    claims = {"userId": 7, "exp": time.time() + 3600}
    path.write_text(sign_token(claims))
    path.chmod(0o600)
    return path


def test_sigterm_saves_and_exits_within_2s_with_a_mute_backend(
    launch: Launch, long_album: list[Path], supervisor: NotifySocket, tmp_path: Path
) -> None:
    server, url = silent_backend()
    overrides = {
        "backend": {"url": url, "token_file": str(token_file(tmp_path))},
        "state": {"dir": str(tmp_path / "state"), "save_seconds": 300.0},  # no periodic save
    }
    daemon = launch(long_album, overrides)
    supervisor.wait("READY", "1")
    playerctl("next")
    supervisor.wait("STATUS", "Playing: Two - Test Artist")
    playerctl("position", "20")
    wait_for(lambda: float(playerctl("position") or 0) >= 20, what="the seek")
    time.sleep(1.0)  # the link is mid-handshake with a backend that never answers

    assert daemon.proc is not None
    sent = time.monotonic()
    daemon.signal(signal.SIGTERM)
    code = daemon.proc.wait(timeout=10)
    took = time.monotonic() - sent
    server.close()
    print(f"SIGTERM -> exit {code} in {took:.2f} s")
    assert code == 0, daemon.log()
    assert took <= 2.0, daemon.log()
    assert "Unclosed client session" not in daemon.log()  # the handshake was cut cleanly
    supervisor.wait("STOPPING", "1", within=1)

    saved = Store(tmp_path / "state").load()
    assert saved is not None
    assert saved.current_uri is not None
    assert saved.current_uri.endswith("2 Two.flac")
    assert saved.position >= 20


def test_sighup_reload_keeps_the_music_playing(
    launch: Launch, long_album: list[Path], supervisor: NotifySocket, tmp_path: Path
) -> None:
    daemon = launch(long_album)
    supervisor.wait("READY", "1")
    wait_for(lambda: float(playerctl("position") or 0) > 1.0, what="playback")
    before = float(playerctl("position"))
    # Change what a reload may change: the volume cap and the backend.
    text = daemon.config_path.read_text().replace("[backend]", '[backend]\ndevice_name = "car2"')
    daemon.config_path.write_text(text + "\n[keys]\nseek_step_seconds = 15.0\n")
    daemon.signal(signal.SIGHUP)
    daemon.wait_log("configuration reloaded")
    assert daemon.proc is not None
    assert daemon.proc.poll() is None  # the same process: nothing restarted
    assert playerctl("status") == "Playing"
    assert playerctl("metadata", "title") == "One"
    wait_for(lambda: float(playerctl("position")) > before + 0.5, what="playing on")
    assert supervisor.count("STOPPING") == 0  # sent before the log line, had it been


def test_bad_config_on_sighup_keeps_the_running_one(
    launch: Launch, album: list[Path], supervisor: NotifySocket
) -> None:
    daemon = launch(album)
    supervisor.wait("READY", "1")
    daemon.config_path.write_text("[player]\nvolume_max = 500\n")
    daemon.signal(signal.SIGHUP)
    daemon.wait_log("reload refused")
    assert "player.volume_max" in daemon.log()
    assert playerctl("status") == "Playing"


def test_journal_format_under_journal_stream(
    launch: Launch, album: list[Path], supervisor: NotifySocket, tmp_path: Path
) -> None:
    log = tmp_path / "daemon.log"
    log.touch()  # the daemon's stderr; DaemonProcess truncates it in place, same inode
    stat = log.stat()
    daemon = launch(album, JOURNAL_STREAM=f"{stat.st_dev}:{stat.st_ino}")
    supervisor.wait("READY", "1")
    daemon.stop()
    lines = daemon.log().splitlines()
    assert lines, "the daemon logged nothing"
    for line in lines:
        assert re.match(r"<[0-7]>\S+: ", line), line  # a priority, the logger, the message
        assert not TIMESTAMP.search(line), line  # journald stamps lines itself
    assert any(line.startswith("<6>headunit.daemon: ready") for line in lines)
