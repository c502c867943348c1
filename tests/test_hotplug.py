"""Media that comes and goes while the daemon runs: real mounts on the configured path
(`mount --bind` of a prepared folder, `umount -l` mid-track), real inotify, the real
daemon, seen through `headunit status`/`queue` over D-Bus."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import make_album, wait_for

from headunit.store import Store

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root"),
]
# The promise is 2 s; the checks allow for a busy test machine.
NOTICE = 8.0


def headunit(*args: str, env: dict[str, str]) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "headunit", *args],
        env=env,
        check=True,
        timeout=30,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out) if "--json" in args else out


def status(env: dict[str, str]) -> dict[str, Any]:
    return headunit("status", "--json", env=env)


def playing(env: dict[str, str], title: str) -> dict[str, Any] | None:
    info = status(env)
    return info if info["status"] == "Playing" and info["title"] == title else None


class Mounts:
    """Bind mounts made by a test, undone at its end whatever happened."""

    def __init__(self) -> None:
        self.points: list[Path] = []

    def bind(self, source: Path, target: Path) -> None:
        subprocess.run(["mount", "--bind", str(source), str(target)], check=True)
        self.points.append(target)

    def pull(self, target: Path) -> None:
        subprocess.run(["umount", "-l", str(target)], check=True)
        self.points.remove(target)


@pytest.fixture
def mounts() -> Iterator[Mounts]:
    made = Mounts()
    yield made
    for point in reversed(made.points):
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.fixture
def stick(tmp_path: Path) -> Path:
    """A prepared USB stick: one album of three 30-second tracks."""
    make_album(tmp_path / "stick" / "Album", ["One", "Two", "Three"], seconds=30)
    return tmp_path / "stick"


def test_a_stick_mounted_after_start_plays_in_a_silent_car(start_daemon, tmp_path, stick, mounts):
    usb = tmp_path / "usb"
    usb.mkdir()
    daemon = start_daemon([usb])
    assert "queue is empty" in daemon.log()
    mounts.bind(stick, usb)
    info = wait_for(lambda: playing(daemon.env, "One"), NOTICE, "the stick to play")
    assert info["url"].startswith(usb.as_uri())
    assert "Traceback" not in daemon.log()


def test_files_copied_in_join_the_queue_without_restarting_the_track(start_daemon, tmp_path):
    music = tmp_path / "music"
    make_album(music, ["A", "C"], seconds=30)
    daemon = start_daemon([music])
    first = wait_for(lambda: playing(daemon.env, "A"), what="A playing")
    make_album(tmp_path / "incoming", ["B"], seconds=30)
    # "2 B" sorts between "1 A" and "2 C": the natural place is the middle.
    shutil.copy(tmp_path / "incoming" / "1 B.flac", music / "1b B.flac")

    def queued() -> list[str] | None:
        titles = [e["title"] for e in headunit("queue", "--json", env=daemon.env)]
        return titles if len(titles) == 3 else None

    titles = wait_for(queued, NOTICE, "the copied file in the queue")
    assert titles[0] == "A"
    assert titles[2] == "C"
    now = status(daemon.env)
    assert now["trackid"] == first["trackid"]  # the same entry, not restarted
    assert now["position"] >= first["position"]


def test_a_stick_pulled_mid_track_moves_on_then_resumes_where_it_was(
    start_daemon, tmp_path, stick, mounts
):
    usb = tmp_path / "usb"
    usb.mkdir()
    mounts.bind(stick, usb)
    daemon = start_daemon([usb])
    wait_for(lambda: playing(daemon.env, "One"), what="the stick playing")
    headunit("jump", "2", env=daemon.env)
    headunit("seek", "7", env=daemon.env)
    wait_for(lambda: (i := playing(daemon.env, "Two")) and i["position"] >= 7, what="Two at 7 s")
    mounts.pull(usb)
    wait_for(lambda: status(daemon.env)["status"] == "Stopped", NOTICE, "a clean stop")
    log = daemon.log()
    assert log.count("is gone and nothing after it is left; stopped") == 1
    assert "Traceback" not in log
    assert headunit("queue", "--json", env=daemon.env) == []
    saved = Store(tmp_path / "state").load()
    assert saved is not None
    assert saved.current_uri == str(usb / "Album" / "2 Two.flac")
    assert saved.position >= 7  # the vanished entries are kept, at the pulled position

    mounts.bind(stick, usb)
    info = wait_for(lambda: playing(daemon.env, "Two"), NOTICE, "Two resumed")
    assert info["position"] >= 7
    assert [e["title"] for e in headunit("queue", "--json", env=daemon.env)] == [
        "One",
        "Two",
        "Three",
    ]


def test_a_stick_mounted_after_boot_resumes_the_saved_track(start_daemon, tmp_path, stick, mounts):
    usb = tmp_path / "usb"
    usb.mkdir()
    mounts.bind(stick, usb)
    first = start_daemon([usb])
    headunit("jump", "3", env=first.env)
    headunit("seek", "12", env=first.env)
    wait_for(lambda: (i := playing(first.env, "Three")) and i["position"] >= 12, what="Three")
    assert first.stop() == 0
    mounts.pull(usb)

    again = start_daemon([usb])  # ignition: the stick is not mounted yet
    assert "resume state waits for its media" in again.log()
    mounts.bind(stick, usb)
    info = wait_for(lambda: playing(again.env, "Three"), NOTICE, "Three resumed")
    assert info["position"] >= 12


def test_sighup_rescans_changed_media_paths_and_applies_audio_output(start_daemon, tmp_path):
    make_album(tmp_path / "a", ["A"], seconds=30)
    make_album(tmp_path / "b", ["B"], seconds=30)
    daemon = start_daemon([tmp_path / "a"])
    wait_for(lambda: playing(daemon.env, "A"), what="A playing")
    config = tmp_path / "config0.toml"
    text = config.read_text().replace(
        f'"{tmp_path / "a"}"', f'"{tmp_path / "a"}", "{tmp_path / "b"}"'
    )
    config.write_text(text.replace('audio_output = "null"', 'audio_output = "alsa,null"'))
    daemon.signal(signal.SIGHUP)
    daemon.wait_log("configuration reloaded")
    wait_for(
        lambda: len(headunit("queue", "--json", env=daemon.env)) == 2, NOTICE, "b in the queue"
    )
    assert "audio output: alsa,null" in daemon.log()
    assert playing(daemon.env, "A")


def test_a_stick_pulled_mid_track_moves_on_to_media_still_there(
    start_daemon, tmp_path, stick, mounts
):
    usb = tmp_path / "usb"
    usb.mkdir()
    mounts.bind(stick, usb)
    make_album(tmp_path / "home", ["Home"], seconds=30)
    daemon = start_daemon([usb, tmp_path / "home"])
    wait_for(lambda: playing(daemon.env, "One"), what="the stick playing")
    mounts.pull(usb)
    wait_for(lambda: playing(daemon.env, "Home"), NOTICE, "the next entry still there")
    assert daemon.log().count("is gone; playing on with what is left") == 1
    assert [e["title"] for e in headunit("queue", "--json", env=daemon.env)] == ["Home"]
    assert "Traceback" not in daemon.log()
