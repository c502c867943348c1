"""Resume state on disk: atomic writes that survive a power cut, coalesced and off the loop.

A write goes to a temporary file, is fsynced, renamed over the state file, and the
folder is fsynced, so after a power cut the file is either the old or the new state,
never a torn one. Writes run in a worker thread so no signal waits behind an fsync,
and a burst of changes becomes one write.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from headunit.model import LoopMode
from headunit.resume import VERSION, ResumeState
from headunit.state import PlayerState, Status

log = logging.getLogger(__name__)

FILE_NAME = "state.json"

# Changes worth a write at once; position is saved by the periodic save while playing.
_SAVE_ON = frozenset({"track", "status", "volume", "shuffle", "loop", "queue_length"})
# A seek is saved once the seeking stops: a burst of seeks (a held key, a scrubbing
# phone) would otherwise put an fsync beside every next seek.
SEEK_SETTLE_SECONDS = 1.0


class CorruptState(ValueError):
    pass


def encode(state: ResumeState) -> bytes:
    document: dict[str, Any] = {"version": VERSION, "saved_at": time.time(), **asdict(state)}
    document["loop"] = str(state.loop)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def decode(raw: bytes) -> ResumeState:
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptState(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise CorruptState("unknown format or version")
    try:
        uris, order, pos = doc["uris"], doc["order"], doc["position_in_order"]
        _require(isinstance(uris, list) and all(isinstance(u, str) for u in uris), "uris")
        _require(isinstance(order, list) and sorted(order) == list(range(len(uris))), "order")
        _require(pos is None or (type(pos) is int and 0 <= pos < len(order)), "position")
        position, volume = float(doc["position"]), float(doc["volume"])
        _require(math.isfinite(position) and math.isfinite(volume), "position/volume")
        _require(isinstance(doc["shuffle"], bool) and isinstance(doc["paused"], bool), "flags")
        return ResumeState(
            uris=uris,
            order=order,
            position_in_order=pos,
            position=max(0.0, position),
            volume=min(max(volume, 0.0), 100.0),
            shuffle=doc["shuffle"],
            loop=LoopMode(doc["loop"]),
            paused=doc["paused"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptState(f"bad field: {exc}") from None


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ValueError(what)


class Store:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / FILE_NAME
        # The final save at shutdown may overlap a periodic one still in its thread.
        self._lock = threading.Lock()

    def load(self) -> ResumeState | None:
        """The saved state; an unreadable one is set aside with a log line."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("resume state %s unreadable (%s); starting fresh", self.path, exc.strerror)
            return None
        try:
            return decode(raw)
        except CorruptState as exc:
            self.set_aside(f"corrupt: {exc}")
            return None

    def set_aside(self, why: str) -> None:
        aside = self.path.with_name(f"{FILE_NAME}.{int(time.time())}.bad")
        try:
            self.path.replace(aside)
        except OSError as exc:
            log.warning("resume state %s %s; could not set it aside: %s", self.path, why, exc)
            return
        log.warning("resume state %s; set aside as %s, starting fresh", why, aside.name)

    def save(self, state: ResumeState) -> None:
        """Atomic and durable; blocking (call it from a worker thread)."""
        with self._lock:
            self._save(encode(state))

    def _save(self, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{FILE_NAME}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class StoreSink:
    """Saves on real changes, on seeks, every `interval` seconds while playing, and at stop."""

    def __init__(self, store: Store, snapshot: Callable[[], ResumeState], interval: float) -> None:
        self._store = store
        self._snapshot = snapshot
        self._interval = interval
        self._dirty = asyncio.Event()
        self._playing = False
        self._writer: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._settle: asyncio.TimerHandle | None = None

    def start(self, playing: bool) -> None:
        """Start saving; the first save is at once, so a power cut right after start-up
        still finds the queue it started."""
        self._playing = playing
        self._dirty.set()
        self._writer = asyncio.create_task(self._write_loop(), name="store-writer")
        self._ticker = asyncio.create_task(self._tick_loop(), name="store-ticker")

    def state_changed(self, state: PlayerState, changed: frozenset[str]) -> None:
        self._playing = state.status is Status.PLAYING
        if changed & _SAVE_ON:
            self._dirty.set()

    def seeked(self, state: PlayerState) -> None:
        if self._settle is not None:
            self._settle.cancel()
        self._settle = asyncio.get_running_loop().call_later(SEEK_SETTLE_SECONDS, self._dirty.set)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if self._playing:
                self._dirty.set()

    async def _write_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await self._write()

    async def _write(self) -> None:
        try:
            await asyncio.to_thread(self._store.save, self._snapshot())
        except OSError as exc:
            # A read-only or full disk must not stop the music.
            log.warning("could not save resume state: %s", exc)

    async def close(self) -> None:
        """Stop the loops and write the final state."""
        if self._settle is not None:
            self._settle.cancel()
        for task in (self._ticker, self._writer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._write()
