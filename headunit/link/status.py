"""The link's status for `headunit status`, which runs in another process.

The daemon writes `<state.dir>/backend.json` (atomically, at most once a second, in a
worker thread) when the connection or the other clients change; the CLI reads it. A
file keeps the CLI independent of the link, and it reads fine while the daemon is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headunit.files import write_atomically
from headunit.tasks import Background

log = logging.getLogger(__name__)

FILENAME = "backend.json"
_MIN_INTERVAL = 1.0


def status_path(state_dir: Path) -> Path:
    return state_dir / FILENAME


class StatusFile:
    def __init__(self, path: Path, snapshot: Callable[[], dict[str, Any]]) -> None:
        self._path = path
        self._snapshot = snapshot
        self._writer = Background()
        self._last_write = 0.0

    def changed(self) -> None:
        """Something worth showing changed; one write covers a burst of changes."""
        if not self._writer.busy():
            self._writer.spawn(self._write_soon(), "backend-status")

    async def _write_soon(self) -> None:
        await asyncio.sleep(max(0.0, self._last_write + _MIN_INTERVAL - time.monotonic()))
        self._last_write = time.monotonic()
        data = {**self._snapshot(), "written": time.time()}
        try:
            # 0644: `headunit status` may run as another user than the daemon; no secret is in it.
            payload = json.dumps(data).encode()
            await asyncio.to_thread(write_atomically, self._path, payload, 0o644)
        except OSError as exc:
            log.debug("cannot write %s: %s", self._path, exc)

    async def stop(self) -> None:
        await self._writer.stop()
        with contextlib.suppress(OSError):
            self._path.unlink()  # no daemon, no link: a stale file would mislead


def read_status(state_dir: Path) -> dict[str, Any] | None:
    """The daemon's last written link status, or None when there is no link running."""
    try:
        status = json.loads(status_path(state_dir).read_text())
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


def describe(status: dict[str, Any]) -> list[str]:
    """Lines for `headunit status`: the connection, then each other client of the user."""
    if status.get("connected"):
        rtt = status.get("round_trip_ms")
        head = f"backend: connected to {status.get('url')} as user {status.get('user_id')}"
        head += f" ({status.get('role')} role" + (f", {rtt:g} ms)" if rtt is not None else ")")
    else:
        head = f"backend: not connected ({status.get('problem') or 'connecting'})"
    lines = [head]
    for client in status.get("clients", ()):
        what = client.get("title") or f"media {client.get('media_id')}"
        if client.get("artist"):
            what += f" by {client['artist']}"
        state = "playing" if client.get("playing") else "paused"
        lines.append(f"  {client.get('name')}: {state} {what} at {client.get('position', 0):.0f} s")
    return lines
