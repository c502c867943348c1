"""Hot-plug: notice when `media.paths` gains or loses media, without polling the disk.

Two kernel signals do it. /proc/self/mountinfo reports POLLPRI when the mount table
changes (a stick mounted by udisks2, `systemd-mount` or an automount, or pulled and
unmounted), and inotify reports files and folders created, removed or moved below the
configured folders. A burst of events (an album being copied) becomes one rescan once
it settles, so the daemon hears of a change within about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
from collections.abc import Awaitable, Callable
from pathlib import Path

from asyncinotify import Inotify, Mask

from headunit import media, mounts
from headunit.tasks import Background

log = logging.getLogger(__name__)

SETTLE_SECONDS = 0.3  # quiet time after the last event before the rescan
SETTLE_MAX_SECONDS = 1.0  # a long copy still rescans this often
_FOLDER_EVENTS = (
    Mask.CREATE
    | Mask.DELETE
    | Mask.MOVED_FROM
    | Mask.MOVED_TO
    | Mask.CLOSE_WRITE
    | Mask.DELETE_SELF
    | Mask.MOVE_SELF
    | Mask.ONLYDIR
)

OnChange = Callable[[tuple[str, ...]], Awaitable[None]]


class MediaWatch:
    """Calls `on_change(paths)` once per settled burst of mount or folder changes."""

    def __init__(self, paths: tuple[str, ...], on_change: OnChange) -> None:
        self.paths = paths
        self._on_change = on_change
        self._changed = asyncio.Event()
        self._inotify: Inotify | None = None
        self._mounts: select.epoll | None = None
        self._mountinfo: int | None = None
        self._tasks = Background()

    async def start(self) -> None:
        self._inotify = Inotify()
        self._watch_mounts()
        await self._watch_folders()
        self._tasks.spawn(self._read_inotify(), "hotplug-inotify")
        self._tasks.spawn(self._settle_loop(), "hotplug-rescan")
        # One rescan now: a stick mounted between the daemon's first scan and this
        # watch (at boot, a second apart) is not missed.
        self._changed.set()

    async def follow(self, paths: tuple[str, ...]) -> None:
        """Watch a new `media.paths` (a reload changed it)."""
        self.paths = paths
        await self._watch_folders()

    def _watch_mounts(self) -> None:
        # mountinfo always polls readable; only POLLPRI says the table changed, so it
        # sits in an epoll of its own that asks for POLLPRI alone, and that epoll's fd
        # in the event loop wakes us once per change.
        self._mountinfo = os.open(mounts.MOUNTINFO, os.O_RDONLY | os.O_CLOEXEC)
        self._mounts = select.epoll()
        self._mounts.register(self._mountinfo, select.EPOLLPRI)
        asyncio.get_running_loop().add_reader(self._mounts.fileno(), self._mount_event)

    def _mount_event(self) -> None:
        assert self._mounts is not None
        self._mounts.poll(0)
        self._changed.set()

    async def _watch_folders(self) -> None:
        """inotify on every folder a scan reads, and on the nearest existing parent of a
        configured folder that is not there yet (it may be created, then mounted on)."""
        assert self._inotify is not None
        folders = await asyncio.to_thread(_folders_to_watch, self.paths)
        for folder in folders:
            with contextlib.suppress(OSError):  # gone meanwhile: the next event rescans
                self._inotify.add_watch(folder, _FOLDER_EVENTS)

    async def _read_inotify(self) -> None:
        assert self._inotify is not None
        async for _event in self._inotify:
            self._changed.set()

    async def _settle_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._changed.wait()
            deadline = loop.time() + SETTLE_MAX_SECONDS
            while loop.time() < deadline:
                self._changed.clear()
                quiet = min(SETTLE_SECONDS, deadline - loop.time())
                try:
                    await asyncio.wait_for(self._changed.wait(), max(quiet, 0.0))
                except TimeoutError:
                    break
            self._changed.clear()
            try:
                await self._on_change(self.paths)
                await self._watch_folders()  # folders that came with the change
            except Exception:
                log.exception("media rescan failed; playing on")

    async def stop(self) -> None:
        await self._tasks.stop()
        if self._mounts is not None:
            asyncio.get_running_loop().remove_reader(self._mounts.fileno())
            self._mounts.close()
            self._mounts = None
        if self._mountinfo is not None:
            os.close(self._mountinfo)
            self._mountinfo = None
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None


def _folders_to_watch(paths: tuple[str, ...]) -> list[Path]:
    folders = media.folders(paths)
    for item in paths:
        local = None if media.is_stream(item) else media.to_local_path(item)
        if local is None or local.exists():
            continue
        parent = local.absolute().parent
        while not parent.exists():
            parent = parent.parent
        folders.append(parent)
    return folders
