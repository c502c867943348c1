"""The active source for `headunit status`, which runs in another process.

A sink of the controller that follows the active source (headunit/sources.py): it
writes `<state.dir>/source.json` when the source changes (rarely: a phone starts or
stops), and removes it at stop, so a stale file never misleads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path

from headunit.component import Component, Context
from headunit.controller import Controller
from headunit.extension import OWN_SOURCE
from headunit.files import write_atomically
from headunit.state import PlayerState
from headunit.tasks import Background

log = logging.getLogger(__name__)

FILENAME = "source.json"


class SourceStatus:
    def __init__(self, controller: Controller, state_dir: Path) -> None:
        self._controller = controller
        self._path = state_dir / FILENAME
        self._writes = Background()
        self._lock = asyncio.Lock()  # writes land in the order the changes came

    async def start(self) -> None:
        self._controller.subscribe(self)
        self._write(self._controller.state.source)

    async def stop(self) -> None:
        self._controller.unsubscribe(self)
        await self._writes.stop()
        with contextlib.suppress(OSError):
            self._path.unlink()

    def state_changed(self, state: PlayerState, changed: frozenset[str]) -> None:
        if "source" in changed:
            self._write(state.source)

    def seeked(self, state: PlayerState) -> None:
        """A seek changes no source."""

    def _write(self, source: str | None) -> None:
        payload = json.dumps({"source": source or OWN_SOURCE}).encode()
        self._writes.spawn(self._save(payload), "source-status")

    async def _save(self, payload: bytes) -> None:
        async with self._lock:
            try:
                # 0644: `headunit status` may run as another user than the daemon.
                await asyncio.to_thread(write_atomically, self._path, payload, 0o644)
            except OSError as exc:
                log.debug("cannot write %s: %s", self._path, exc)


def read_source(state_dir: Path) -> str | None:
    """The active source the daemon last wrote, or None (no daemon, or no sources)."""
    try:
        source = json.loads((state_dir / FILENAME).read_text()).get("source")
    except (OSError, ValueError, AttributeError):
        return None
    return source if isinstance(source, str) else None


def create(context: Context) -> Component | None:
    if context.sources is None or not context.config.sources.players:
        return None
    return SourceStatus(context.controller, context.config.state.dir)
