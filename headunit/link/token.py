"""Where the link's JWT comes from: the token file (re-read on every attempt) or the config.

The car never verifies the signature (it has no key, and the backend does that); it
reads the claims to put `userId` in every PlaybackState and to notice an expired token
before the backend refuses it. The token itself is never logged.
"""

from __future__ import annotations

import grp
import logging
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from headunit.model import is_number, whole_number

log = logging.getLogger(__name__)


class TokenProblem(Exception):
    """No usable token: the message says why and what to do, without the token."""


@dataclass(frozen=True)
class Token:
    value: str = ""
    user_id: int = 0
    expires: float | None = None  # seconds since the epoch, from `exp`

    def expired(self, now: float | None = None) -> bool:
        return self.expires is not None and self.expires <= (time.time() if now is None else now)

    def __repr__(self) -> str:  # the value stays out of every log and traceback
        return f"Token(user_id={self.user_id}, expires={self.expires})"


def read_claims(value: str) -> Token:
    """The claims the car needs; raises TokenProblem when the token cannot be used."""
    try:
        claims = jwt.decode(value, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenProblem(f"the token is not a JWT ({type(exc).__name__})") from None
    user_id = whole_number(claims.get("userId"))
    if user_id is None:
        raise TokenProblem("the token has no whole-number userId claim")
    exp = claims.get("exp")
    expires = float(exp) if is_number(exp) else None
    return Token(value=value, user_id=user_id, expires=expires)


class TokenSource:
    """Reads the token afresh for each connect attempt, so rotating the file is enough."""

    def __init__(self, token_file: Path | None, token: str) -> None:
        self._file = token_file
        self._inline = token.strip()
        self._warned_mode = False

    def describe(self) -> str:
        """Where the token comes from, for messages that tell the user what to fix."""
        if self._file is not None and self._file.exists():
            return str(self._file)
        return "backend.token" if self._inline else f"{self._file or 'backend.token_file'}"

    def stamp(self) -> tuple[int, int] | None:
        """Changes when the token file changes; lets the supervisor retry at once."""
        if self._file is None:
            return None
        try:
            info = self._file.stat()
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size)

    def read(self) -> Token:
        value = self._read_file()
        if not value:
            value = self._inline
        if not value:
            raise TokenProblem(
                f"no token: put one in {self._file or 'backend.token_file'} or set backend.token"
            )
        return read_claims(value)

    def _read_file(self) -> str:
        if self._file is None:
            return ""
        try:
            value, info = read_file(self._file)
            self._check_mode(info)
            return value
        except FileNotFoundError:
            return ""
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("cannot read the token file %s: %s", self._file, exc)
            return ""

    def _check_mode(self, info: os.stat_result) -> None:
        problem = mode_problem(info, {os.getegid(), *os.getgroups()})
        if problem is not None and not self._warned_mode:
            self._warned_mode = True
            log.warning("the token file %s %s", self._file, problem)


def read_file(path: Path) -> tuple[str, os.stat_result]:
    """The token in `path` (stripped) and the file's status; OSError when unreadable."""
    with path.open(encoding="utf-8") as f:
        return f.read().strip(), os.fstat(f.fileno())


def mode_problem(info: os.stat_result, own_groups: set[int]) -> str | None:
    """Why the token file's mode lets the wrong people read it, or None.

    The installer makes it 0640 root:<the service's group>: the daemon reads it through
    that group, so group access by a group the daemon runs in is how it should be.
    """
    mode = stat.S_IMODE(info.st_mode)
    if mode & stat.S_IRWXO:
        return f"is readable by others (mode {mode:o}); chmod o-rwx it"
    if mode & stat.S_IRWXG and info.st_gid not in own_groups:
        return (
            f"is readable by group {_group_name(info.st_gid)}, which this daemon does not run"
            f" in (mode {mode:o}); chgrp it to the service's group, or chmod 600 it"
        )
    return None


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
