"""Log lines as journald and a terminal get them, from a real process's stderr."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from headunit import logs

REPO = Path(__file__).resolve().parents[2]

# A real HS256 token (payload {"userId": 1}); it must never appear in a log.
TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VySWQiOjF9."
    "4_bMgOsObeVIv8Ri2CUhALoE9ggMTyHo6cV7Y0yVRhU"
)

PROGRAM = f"""
import logging, warnings
from headunit import logs
logs.setup("debug")
log = logging.getLogger("headunit.test")
log.debug("debug line")
log.info("connecting with %s", "{TOKEN}")
log.warning("two\\nlines")
try:
    raise RuntimeError("bad token {TOKEN}")
except RuntimeError:
    log.exception("failed")
logs.setup("warning")
log.info("hidden after reload")
log.error("still here")
"""


def run(tmp_path: Path, journal: bool) -> list[str]:
    """Run PROGRAM with stderr on a file; under `journal` JOURNAL_STREAM names that file."""
    out = tmp_path / "stderr"
    with out.open("wb") as f:
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        env["PYTHONPATH"] = str(REPO)
        if journal:
            stat = os.fstat(f.fileno())
            env["JOURNAL_STREAM"] = f"{stat.st_dev}:{stat.st_ino}"
        subprocess.run([sys.executable, "-c", PROGRAM], stderr=f, env=env, check=True)
    return out.read_text().splitlines()


def test_journal_lines_carry_priorities_and_no_timestamps(tmp_path: Path) -> None:
    lines = run(tmp_path, journal=True)
    assert lines[0] == "<7>headunit.test: debug line"
    assert lines[1] == "<6>headunit.test: connecting with <redacted token>"
    assert lines[2] == "<4>headunit.test: two | lines"
    assert lines[3].startswith("<3>headunit.test: failed | Traceback (most recent call last):")
    assert lines[3].endswith("RuntimeError: bad token <redacted token>")
    assert lines[4:] == ["<3>headunit.test: still here"]


def test_terminal_lines_are_timestamped(tmp_path: Path) -> None:
    lines = run(tmp_path, journal=False)
    assert len(lines) == 5  # one line per event, the traceback folded
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} DEBUG   headunit.test: debug line", lines[0]
    )
    assert all(TOKEN not in line and "eyJ" not in line for line in lines)
    assert lines[-1].endswith("ERROR   headunit.test: still here")


def test_journal_stream_of_another_file_is_ignored(tmp_path: Path) -> None:
    with (tmp_path / "a").open("w") as a, (tmp_path / "b").open("w") as b:
        stat = os.fstat(a.fileno())
        env = {"JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}"}
        assert logs.journal_stream(a, env)
        assert not logs.journal_stream(b, env)  # stderr redirected away from journald
        assert not logs.journal_stream(a, {"JOURNAL_STREAM": "junk"})


@pytest.mark.parametrize(
    "text",
    [
        "file:///media/usb/some_long_album.some_long_name.flac",
        "org.mpris.MediaPlayer2.headunit",
        "version 1.22.333",
        "eyJhbGciOiJIUzI1NiJ9 alone",
    ],
)
def test_ordinary_text_is_not_redacted(text: str) -> None:
    assert logs.redact(text) == text


def test_unsigned_and_spaced_tokens_are_redacted() -> None:
    assert logs.redact("t=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.") == "t=<redacted token>"
    assert logs.redact("Bearer ewogICJhbGciOiAiSFMyNTYiCn0.eyAidXNlcklkIjogMSB9.c2ln") == (
        "Bearer <redacted token>"
    )


def test_priorities_between_levels() -> None:
    assert logs.priority(25) == 6  # between INFO and WARNING
    assert logs.priority(5) == 7
    assert logs.priority(60) == 2
