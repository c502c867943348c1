"""Resume state on disk: atomic writes that survive a power cut, coalesced and off the loop.

Two files, so that playing spares the SD card: `queue.json` (the entries and their
order, 1-2 MB for a big library) is written only when the queue changes, and the small
`state.json` (where we are, the volume, the flags) on every save. Each write goes to
a temporary file, is fsynced, renamed over the old one, and the folder is fsynced, so
after a power cut each file is either the old or the new version, never a torn one;
the queue is written before the state that points into it, and the state names its
current entry by URI as well, so a cut between the two still finds the right track.
Writes run in a worker thread so no signal waits behind an fsync, and a burst of
changes becomes one write.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headunit.files import write_atomically
from headunit.model import LoopMode
from headunit.resume import VERSION, ResumePoint, ResumeState
from headunit.state import PlayerState, Status
from headunit.tasks import Background

log = logging.getLogger(__name__)

FILE_NAME = "state.json"
QUEUE_FILE_NAME = "queue.json"
_QUEUE_IN_STATE = 1  # the version that kept the queue inside state.json (still read)

# Changes worth a write at once; position is saved by the periodic save while playing.
_SAVE_ON = frozenset({"track", "status", "volume", "shuffle", "loop", "queue_length"})
# A seek is saved once the seeking stops: a burst of seeks (a held key, a scrubbing
# phone) would otherwise put an fsync beside every next seek.
SEEK_SETTLE_SECONDS = 1.0


class CorruptState(ValueError):
    pass


def _dump(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def encode_queue(state: ResumeState) -> bytes:
    return _dump({"version": VERSION, "uris": state.uris, "order": state.order})


def encode(state: ResumeState) -> bytes:
    """The small record: everything but the queue, which `encode_queue` writes."""
    return _dump(
        {
            "version": VERSION,
            "saved_at": time.time(),
            "position_in_order": state.position_in_order,
            "current_uri": state.current_uri,
            "position": state.position,
            "volume": state.volume,
            "shuffle": state.shuffle,
            "loop": str(state.loop),
            "paused": state.paused,
            "interrupted": state.interrupted,
            "pulled": [{"uri": p.uri, "position": p.position} for p in state.pulled],
        }
    )


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptState(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("version") not in (VERSION, _QUEUE_IN_STATE):
        raise CorruptState("unknown format or version")
    return doc


def decode(raw: bytes, raw_queue: bytes | None = None) -> ResumeState:
    """`raw` is state.json; `raw_queue` queue.json (None for a state of version 1)."""
    doc = _parse(raw)
    queue = doc if doc["version"] == _QUEUE_IN_STATE else _parse(raw_queue or b"")
    try:
        uris, order = queue["uris"], queue["order"]
        _require(isinstance(uris, list) and all(isinstance(u, str) for u in uris), "uris")
        _require(isinstance(order, list) and sorted(order) == list(range(len(uris))), "order")
        pos = _current(doc, uris, order)
        position, volume = float(doc["position"]), float(doc["volume"])
        _require(math.isfinite(position) and math.isfinite(volume), "position/volume")
        _require(isinstance(doc["shuffle"], bool) and isinstance(doc["paused"], bool), "flags")
        interrupted = doc.get("interrupted", False)  # absent from files of older versions
        _require(isinstance(interrupted, bool), "interrupted")
        pulled = tuple(_point(p) for p in doc.get("pulled", ()))  # absent before, too
        return ResumeState(
            uris=uris,
            order=order,
            position_in_order=pos,
            position=max(0.0, position),
            volume=min(max(volume, 0.0), 100.0),
            shuffle=doc["shuffle"],
            loop=LoopMode(doc["loop"]),
            paused=doc["paused"],
            interrupted=interrupted,
            pulled=pulled,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptState(f"bad field: {exc}") from None


def _point(doc: Any) -> ResumePoint:
    uri, position = doc["uri"], float(doc["position"])
    _require(isinstance(uri, str) and math.isfinite(position), "pulled")
    return ResumePoint(uri, max(0.0, position))


def _current(doc: dict[str, Any], uris: list[str], order: list[int]) -> int | None:
    """Where we were in the play order. The saved index is checked against the saved
    URI: after a power cut between the two writes, the queue may be the newer one."""
    pos: int | None = doc["position_in_order"]
    uri: str | None = doc.get("current_uri")
    _require(pos is None or type(pos) is int, "position")
    if doc["version"] == _QUEUE_IN_STATE or pos is None:
        _require(pos is None or 0 <= pos < len(order), "position")
        return pos
    if 0 <= pos < len(order) and uris[order[pos]] == uri:
        return pos
    return next((p for p, i in enumerate(order) if uris[i] == uri), None)


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ValueError(what)


class Store:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / FILE_NAME
        self.queue_path = directory / QUEUE_FILE_NAME
        # The final save at shutdown may overlap a periodic one still in its thread.
        self._lock = threading.Lock()
        self._written_queue: tuple[list[str], list[int]] | None = None

    def load(self) -> ResumeState | None:
        """The saved state; an unreadable one is set aside with a log line."""
        try:
            raw = self.path.read_bytes()
            raw_queue = self.queue_path.read_bytes() if self.queue_path.exists() else None
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("resume state %s unreadable (%s); starting fresh", self.path, exc.strerror)
            return None
        try:
            return decode(raw, raw_queue)
        except CorruptState as exc:
            self.set_aside(f"corrupt: {exc}")
            return None

    def set_aside(self, why: str) -> None:
        stamp = int(time.time())
        try:
            for path in (self.path, self.queue_path):
                if path.exists():
                    path.replace(path.with_name(f"{path.name}.{stamp}.bad"))
        except OSError as exc:
            log.warning("resume state %s %s; could not set it aside: %s", self.path, why, exc)
            return
        log.warning(
            "resume state %s; set aside as %s.%d.bad, starting fresh", why, FILE_NAME, stamp
        )

    def save(self, state: ResumeState) -> None:
        """Atomic and durable; blocking (call it from a worker thread). The queue is
        written only when it differs from the one last written."""
        with self._lock:
            queue = (state.uris, state.order)
            if queue != self._written_queue:
                write_atomically(self.queue_path, encode_queue(state), durable=True)
                self._written_queue = queue
            write_atomically(self.path, encode(state), durable=True)


class StoreSink:
    """Saves on real changes, on seeks, every `interval` seconds while playing, and at stop."""

    def __init__(self, store: Store, snapshot: Callable[[], ResumeState], interval: float) -> None:
        self._store = store
        self._snapshot = snapshot
        self._interval = interval
        self._dirty = asyncio.Event()
        self._playing = False
        self._loops = Background()
        self._settle: asyncio.TimerHandle | None = None

    def start(self, playing: bool) -> None:
        """Start saving; the first save is at once, so a power cut right after start-up
        still finds the queue it started."""
        self._playing = playing
        self._dirty.set()
        self._loops.spawn(self._write_loop(), "store-writer")
        self._loops.spawn(self._tick_loop(), "store-ticker")

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
        await self._loops.stop()
        await self._write()
