"""A component that cannot start never takes the music with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import make_album, wait_for

from headunit.store import Store

pytestmark = pytest.mark.timeout(60)


def test_no_bus_for_mpris_means_music_without_mpris(start_daemon, tmp_path: Path) -> None:
    album = make_album(tmp_path / "music", ["One", "Two"], seconds=30)
    nowhere = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/no-such-bus"}
    daemon = start_daemon([album[0].parent], {"mpris": {"bus": "system"}}, env=nowhere)
    log = daemon.log()
    assert "mpris unavailable, playing on without it" in log
    assert "Traceback" not in log
    state_dir = tmp_path / "state"
    wait_for(lambda: (s := Store(state_dir).load()) and s.current_uri == str(album[0]))
    assert daemon.stop() == 0
