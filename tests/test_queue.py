"""`headunit queue` and `headunit jump` against the real daemon, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import make_album, make_tone, wait_for

from headunit.ctl import EX_REFUSED


def headunit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headunit", *args],
        env=env,
        timeout=30,
        capture_output=True,
        text=True,
        check=False,
    )


def test_queue_lists_titles_and_marks_the_entry_playing_and_jump_plays_entry_n(
    start_daemon, tmp_path: Path
) -> None:
    titles = ["One", "Two", "Three", *(f"Song {n}" for n in range(4, 13))]
    album = make_album(tmp_path / "music", titles, seconds=30)
    daemon = start_daemon([album[0].parent])
    # Tags are read lazily: the entry playing and the ten of "Up next" are described,
    # the twelfth not yet (it shows its file name).
    expected = [
        ">  1  One - Test Artist  0:30",
        *(f"  {n:>2}  {title} - Test Artist  0:30" for n, title in enumerate(titles[1:11], 2)),
        "  12  12 Song 12  --:--",
    ]
    wait_for(lambda: headunit("queue", env=daemon.env).stdout.splitlines() == expected)
    assert headunit("jump", "3", env=daemon.env).returncode == 0

    def third_current() -> list[dict[str, object]] | None:
        entries = json.loads(headunit("queue", "--json", env=daemon.env).stdout)
        return entries if entries[2]["current"] else None

    entries = wait_for(third_current, what="entry 3 playing")
    assert entries[2] == {
        "position": 3,
        "title": "Three",
        "artist": ["Test Artist"],
        "duration": 30.0,
        "current": True,
        "url": str(album[2]),
    }
    assert [e["current"] for e in entries[:4]] == [False, False, True, False]


def test_a_jump_past_the_end_is_refused_and_playing_goes_on(start_daemon, tmp_path: Path) -> None:
    album = make_album(tmp_path / "music", ["One", "Two"], seconds=30)
    daemon = start_daemon([album[0].parent])
    refused = headunit("jump", "9", env=daemon.env)
    assert refused.returncode == EX_REFUSED
    assert "the queue has 2 entries, not 9" in refused.stderr
    bad = headunit("jump", "0", env=daemon.env)
    assert bad.returncode == 2
    assert "expected a queue position" in bad.stderr
    assert '"status": "Playing"' in headunit("status", "--json", env=daemon.env).stdout


def test_a_playlist_title_names_an_untagged_file(start_daemon, tmp_path: Path) -> None:
    make_tone(tmp_path / "stick" / "track01.wav", 30)  # no tags, as ripped on Windows
    m3u = tmp_path / "stick" / "drive.m3u"
    m3u.write_bytes("#EXTINF:30,Beyoncé - Halo\r\ntrack01.wav\r\n".encode("cp1252"))
    daemon = start_daemon([m3u])
    status = json.loads(headunit("status", "--json", env=daemon.env).stdout)
    assert status["title"] == "Beyoncé - Halo"
    assert json.loads(headunit("queue", "--json", env=daemon.env).stdout)[0]["title"] == (
        "Beyoncé - Halo"
    )
