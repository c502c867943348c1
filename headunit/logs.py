"""Logging for the daemon: journald-friendly under systemd, readable in a terminal.

Under systemd, stderr is a stream to journald ($JOURNAL_STREAM names its device and
inode). journald stamps each line itself and reads a `<N>` syslog priority prefix, so
there the lines carry the priority and no timestamp. Everywhere, one event is one
line (a traceback is folded), and anything that looks like a JWT is redacted: the
token must never reach a log, whichever module formats it by mistake.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

# Header and payload are base64url JSON objects: they start with "ey" ('{"' or '{ ')
# or "ew" ('{\n'); the signature may be empty (alg none).
JWT = re.compile(r"\be[wy][A-Za-z0-9_-]{8,}\.e[wy][A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
REDACTED = "<redacted token>"

# logging level -> syslog priority (sd-daemon.h SD_* prefixes)
PRIORITIES = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}

TERMINAL_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(name)s: %(message)s"


def redact(text: str) -> str:
    return JWT.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Replaces JWT-looking strings in the message, its arguments and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class OneLineFormatter(logging.Formatter):
    """One event, one line: continuation lines are joined with a visible marker."""

    def __init__(self, fmt: str, journal: bool) -> None:
        super().__init__(fmt)
        self._journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).rstrip("\n")
        text = " | ".join(line.rstrip() for line in text.splitlines())
        if self._journal:
            return f"<{priority(record.levelno)}>{text}"
        return text


def priority(levelno: int) -> int:
    """The syslog priority of a logging level, including levels between the named ones."""
    for level in sorted(PRIORITIES, reverse=True):
        if levelno >= level:
            return PRIORITIES[level]
    return 7


def journal_stream(stream: TextIO = sys.stderr, environ: Mapping[str, str] = os.environ) -> bool:
    """True when `stream` is the journald stream systemd connected (not a redirect of it)."""
    expected = environ.get("JOURNAL_STREAM", "")
    device, _, inode = expected.partition(":")
    try:
        stat = os.fstat(stream.fileno())
        return (stat.st_dev, stat.st_ino) == (int(device), int(inode))
    except (ValueError, OSError, AttributeError):
        return False


_handler: logging.Handler | None = None


def setup(level: str) -> None:
    """Configure the root logger; called again (SIGHUP) it only changes the level."""
    global _handler
    root = logging.getLogger()
    root.setLevel(level.upper())
    if _handler is not None and _handler in root.handlers:
        return
    journal = journal_stream()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(JOURNAL_FORMAT if journal else TERMINAL_FORMAT, journal))
    handler.addFilter(RedactTokens())
    root.addHandler(handler)
    _handler = handler
    logging.captureWarnings(True)
