"""Is a file that failed still there? A pulled stick, told apart from a broken file.

A stick yanked from a running car is not gone at once: for a moment its files still
stat, but every read fails (EIO); then it is unmounted and they are missing. mpv sees
only a failed read (reported as an error, or as an ordinary eof), as it would for a
broken file. Reading a byte tells them apart: a broken file reads fine. Blocking (a
dying device can be slow to answer): the player calls it from a worker thread.
"""

from __future__ import annotations

import contextlib
import errno
import os
from enum import StrEnum
from urllib.parse import unquote, urlparse

from headunit import mounts
from headunit.media import is_stream


class Found(StrEnum):
    READABLE = "readable"  # broken or short, but there
    MISSING = "missing"  # no such file (now)
    UNREADABLE = "unreadable"  # there, but reads fail: a device going away


def check(uri: str) -> Found:
    """Try to read a byte of `uri`'s file, past the page cache (which may still hold
    what was read before the device went away). A stream counts as readable: it has no
    media to be pulled, and its failures are the stream's."""
    if is_stream(uri):
        return Found.READABLE
    path = _path(uri)
    try:
        fd = os.open(path, os.O_RDONLY)
    except ValueError:  # a NUL in the path: no such file can be
        return Found.MISSING
    except OSError as exc:
        return Found.MISSING if exc.errno in (errno.ENOENT, errno.ENOTDIR) else Found.UNREADABLE
    try:
        with contextlib.suppress(OSError):  # a filesystem without a page cache to drop
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.pread(fd, 1, 0)
    except OSError:
        return Found.UNREADABLE
    finally:
        with contextlib.suppress(OSError):  # EIO on close: the read has answered already
            os.close(fd)
    return Found.READABLE


def mount_points() -> list[str]:
    """Every mount point (no device is touched)."""
    return [mount.point for mount in mounts.table()]


def medium(uri: str, points: list[str]) -> str | None:
    """The mount point (of `points`) `uri`'s file is on: the stick it came from. None for
    a stream, or a file on the root filesystem: a file there that keeps failing is a bad
    file, not a medium going away."""
    if is_stream(uri):
        return None
    path = os.path.abspath(_path(uri))
    found = max((p for p in points if mounts.under(path, p)), key=len, default="/")
    return None if found == "/" else found


def on(uri: str, mount: str, points: list[str]) -> bool:
    """Whether `uri`'s file is on `mount` (not on another mount below it); cheap for
    the many files elsewhere."""
    if is_stream(uri):
        return False
    path = os.path.abspath(_path(uri))
    return mounts.under(path, mount) and medium(uri, points) == mount


def _path(uri: str) -> str:
    return unquote(urlparse(uri).path) if uri.startswith("file:") else uri


def vanished(found: Found, read_before: bool) -> bool:
    """Whether a file that failed went away with its media (hold it, for the hot-plug
    rescan to decide), rather than being broken (skip it). A missing file counts only
    if it was read before: a playlist's entry that never existed is just broken."""
    return found is Found.UNREADABLE or (found is Found.MISSING and read_before)
