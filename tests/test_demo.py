"""`headunit demo`, the README's first command: it plays on a machine with nothing set up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
