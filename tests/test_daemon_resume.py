"""The daemon as a car runs it: resume after a clean stop, and after power cuts (SIGKILL)."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import make_album, make_tone, wait_for

from headunit.store import Store

pytestmark = pytest.mark.timeout(180)


def ctl(*args: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "headunit", *args],
        env=env,
        check=True,
        timeout=30,
        capture_output=True,
    )


def saved_position(state_dir: Path) -> tuple[str, float]:
    state = Store(state_dir).load()
    assert state is not None, "the resume state must always load"
    assert state.current_uri is not None
    return state.current_uri, state.position


def test_clean_restart_resumes_queue_track_position_and_volume(start_daemon, tmp_path: Path):
    album = make_album(tmp_path / "music", ["One", "Two", "Three"], seconds=30)
    daemon = start_daemon([album[0].parent])
    ctl("next", env=daemon.env)
    ctl("volume", "35", env=daemon.env)
    ctl("loop", "playlist", env=daemon.env)
    # The seek last: the track plays on while each `headunit` command starts, which
    # took seconds on a busy machine and carried the saved position past the window.
    ctl("seek", "12", env=daemon.env)
    time.sleep(0.3)
    started = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - started < 2.0  # a car never waits to power off
    uri, position = saved_position(tmp_path / "state")
    assert uri == str(album[1])
    assert 12 <= position < 14
    state = Store(tmp_path / "state").load()
    assert state.volume == 35
    assert state.loop == "playlist"

    again = start_daemon([album[0].parent])
    assert f"playing {album[1]} at 1" in again.log()  # resumed at 12-13 s, playing
    again.stop()
    assert Store(tmp_path / "state").load().volume == 35


def test_resume_pause_restores_paused_and_the_volume_cap_holds(start_daemon, tmp_path: Path):
    album = make_album(tmp_path / "music", ["One", "Two"], seconds=30)
    first = start_daemon([album[0].parent], {"player": {"startup_volume_max": 100}})
    ctl("volume", "90", env=first.env)
    ctl("seek", "5", env=first.env)
    time.sleep(0.2)
    first.stop()
    second = start_daemon(
        [album[0].parent], {"player": {"resume": "pause", "startup_volume_max": 50}}
    )
    assert f"restoring paused {album[0]} at 5" in second.log()
    out = subprocess.run(
        [sys.executable, "-m", "headunit", "status", "--json"],
        env=second.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert '"Paused"' in out
    second.stop()
    assert Store(tmp_path / "state").load().volume == 50


def test_power_cuts_at_random_moments_never_lose_the_state(start_daemon, tmp_path: Path):
    """SIGKILL again and again, as a car's power is cut: the state always loads and its
    position is never more than the save interval (1 s) plus a little behind."""
    track = make_tone(tmp_path / "music" / "long.flac", 600, tags={"TITLE": "Long"})
    rng = random.Random(1234)
    position = 0.0
    for cut in range(10):
        daemon = start_daemon([track.parent])
        playing_since = time.monotonic()
        # Every other cut comes right after start-up, while mpv may still be opening
        # the file: the resume point must survive that too.
        time.sleep(rng.uniform(0.0, 0.3) if cut % 2 else rng.uniform(0.5, 2.5))
        alive = time.monotonic() - playing_since
        daemon.kill()
        uri, saved = saved_position(tmp_path / "state")
        assert uri == str(track)
        assert saved <= position + alive + 1.0  # never ahead of what was played (startup slack)
        assert saved >= position + alive - 1.0 - 0.5, (position, alive, saved)
        position = saved
    assert position > 5


def test_a_corrupt_state_file_is_set_aside_and_playing_starts(start_daemon, tmp_path: Path):
    album = make_album(tmp_path / "music", ["One"], seconds=30)
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.json").write_bytes(b'{"version": 1, "uris": [')
    daemon = start_daemon([album[0].parent])
    assert "set aside" in daemon.log()
    wait_for(lambda: Store(state).load() or None, what="a fresh state")
    daemon.stop()
