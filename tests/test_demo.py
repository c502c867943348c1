"""`headunit demo`, the README's first command: it plays on a machine with nothing set up."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from support import wait_for

pytestmark = pytest.mark.timeout(120)


def test_the_demo_plays_its_tracks_and_ends_by_itself(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["HOME"] = str(tmp_path)  # no config, no state, no music of the user's
    result = subprocess.run(
        [sys.executable, "-m", "headunit", "demo", "--seconds", "1.5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "export DBUS_SESSION_BUS_ADDRESS=" in out  # it made its own bus
    played = [line.split(None, 1)[1] for line in out.splitlines() if line.startswith("  Playing")]
    assert played == [
        "Dawn Chorus - headunit (2 s)",
        "Open Road - headunit (2 s)",
        "Last Exit - headunit (2 s)",
    ]
    assert "queue finished" in out


def car_published(curl: str) -> bool:
    """The demo's backend has a state of the car's: the printed line's GET twin says so."""
    url = re.search(r"(http://\S+)/api/carplay/control", curl)
    token_file = re.search(r"\$\(cat (\S+)\)", curl)
    assert url, curl
    assert token_file, curl
    token = Path(shlex.split(token_file[1])[0]).read_text().strip()
    request = urllib.request.Request(
        f"{url[1]}/api/carplay/now-playing", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer) is not None


def test_the_demos_curl_line_skips_the_track(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["HOME"] = str(tmp_path)
    out = tmp_path / "demo.out"
    with out.open("w") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "headunit", "demo", "--seconds", "30"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "Playing  Dawn Chorus" in out.read_text(), 30, "the first track")
        curl = next(line for line in out.read_text().splitlines() if "curl " in line)
        assert "Bearer $(cat " in curl  # the token is read from its file, never printed
        # The backend relays the command to the sockets there are: the car's connects
        # beside the playing, and has once it has published what plays.
        wait_for(lambda: car_published(curl), 20, "the car on the demo's backend")
        subprocess.run(["bash", "-c", curl], check=True, timeout=10, capture_output=True)
        wait_for(lambda: "Playing  Open Road" in out.read_text(), 10, "the skip")
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=10) == 0
    finally:
        if demo.poll() is None:
            demo.kill()


def test_the_demo_fails_when_a_track_cannot_be_played(tmp_path: Path) -> None:
    # A libmpv that cannot decode what it is given must not pass for a working demo.
    spoil = (
        "import sys\n"
        "from headunit import cli, demo\n"
        "made = demo.make_tracks\n"
        "def spoiled(folder, seconds):\n"
        "    tracks = made(folder, seconds)\n"
        "    tracks[1].write_bytes(b'not audio at all' * 64)\n"
        "    return tracks\n"
        "demo.make_tracks = spoiled\n"
        "sys.exit(cli.main(['demo', '--seconds', '1', '--no-backend']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", spoil], env=env, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 track(s) could not be played" in result.stderr


def test_a_stale_session_bus_counts_as_none_and_the_hints_work(tmp_path: Path) -> None:
    # An ssh session whose bus is gone, or `sudo -E`, leaves an address nothing answers.
    env = {**os.environ, "HOME": str(tmp_path)}
    env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path / 'gone' / 'bus'}"
    out = tmp_path / "demo.out"
    with out.open("w") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "headunit", "demo", "--seconds", "30", "--no-backend"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "Playing  Dawn Chorus" in out.read_text(), 30, "the first track")
        text = out.read_text()
        assert "mpris unavailable" not in text
        export = next(line for line in text.splitlines() if "export DBUS_SESSION" in line)
        # The hints, run as printed from "another terminal": the export first.
        for hint in ("headunit status", "playerctl -p headunit metadata title"):
            shell = f"{export.strip()}; PATH={Path(sys.executable).parent}:$PATH; {hint}"
            result = subprocess.run(
                ["bash", "-c", shell], env=env, capture_output=True, text=True, timeout=20
            )
            assert result.returncode == 0, f"{hint}: {result.stderr}"
            assert "Dawn Chorus" in result.stdout, hint
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=10) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
