"""Helpers for the reference backend's tests: a bare recording client."""

from __future__ import annotations

from typing import Any

import socketio


class Client:
    """A bare client that records every event, or the refusal it got."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        self.events: list[tuple[str, Any]] = []
        self.refusal: Any = None
        self.sio.on("*", lambda event, data=None: self.events.append((event, data)))
        self.sio.on("connect_error", self._refused)

    def _refused(self, data: Any = None) -> None:
        self.refusal = data

    def got(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]
