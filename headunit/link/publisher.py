"""The car's state out to the backend as `playback_state_update` (player role).

Only real changes go out (play/pause, track, seek, duration, metadata; never the
position alone), plus a heartbeat while playing so the backend's now-playing does not
drift, and the current state at once on every (re)connect. Nothing is queued while
offline: the state sent on reconnect is simply the latest one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from headunit import extension
from headunit.controller import Controller
from headunit.link.supervisor import Supervisor
from headunit.model import PlaybackState
from headunit.state import PlayerState, Status
from headunit.tasks import Worker

log = logging.getLogger(__name__)

# What makes an update worth sending; currentTime and updatedAt move on their own.
_VOLATILE = ("currentTime", "updatedAt")


def wire_state(state: PlayerState, position: float, user_id: int, device: str) -> PlaybackState:
    """The wire PlaybackState for a snapshot, `position` read fresh by the caller."""
    track = state.track
    extra = {
        "updatedAt": int(time.time() * 1000),
        "deviceName": device,
        extension.SOURCE: state.source or extension.OWN_SOURCE,
    }
    if track is None:
        return PlaybackState(user_id, False, 0.0, 0.0, None, extra=extra)
    return PlaybackState(
        userId=user_id,
        isPlaying=state.status is Status.PLAYING,
        currentTime=position,
        duration=track.duration or 0.0,
        mediaId=track.media_id,
        mediaTitle=track.title or None,
        mediaArtist=", ".join(track.artist) or None,
        mediaAlbum=track.album,
        mediaType=track.media_type,
        extra=extra,
    )


class Publisher(Worker):
    """A StateSink: marks the state dirty; one task sends, so bursts coalesce."""

    task_name = "backend-publisher"

    def __init__(
        self,
        controller: Controller,
        supervisor: Supervisor,
        device: str,
        heartbeat: float,
        art_id: Callable[[str | None], str | None] = lambda _url: None,
    ) -> None:
        super().__init__()
        self._art_id = art_id  # the uploaded cover's hash, for the extension's `artId`
        self._controller = controller
        self._supervisor = supervisor
        self._device = device
        self._heartbeat = heartbeat
        self._dirty = asyncio.Event()
        self._force = False
        self._last: dict[str, Any] | None = None
        supervisor.on_connect(self._resend)

    # StateSink ---------------------------------------------------------------------------
    def state_changed(self, state: PlayerState, changed: frozenset[str]) -> None:
        self._dirty.set()

    def seeked(self, state: PlayerState) -> None:
        self._force = True
        self._dirty.set()

    # ------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Something outside the snapshot changed (the cover reached the backend)."""
        self._dirty.set()

    def _resend(self) -> None:
        self._force = True
        self._dirty.set()

    async def _run(self) -> None:
        while True:
            playing = self._controller.state.status is Status.PLAYING
            try:
                await asyncio.wait_for(self._dirty.wait(), self._heartbeat if playing else None)
            except TimeoutError:
                self._force = True  # heartbeat: still playing, nothing else changed
            self._dirty.clear()
            force, self._force = self._force, False
            if not await self._send(force):
                self._last = None  # offline: whatever is current goes out on reconnect

    async def _send(self, force: bool) -> bool:
        token = self._supervisor.token
        if token is None or not self._supervisor.connected:
            return False
        state = self._controller.state
        position = self._controller.position() if state.track else 0.0
        wire = wire_state(state, position, token.user_id, self._device).to_wire()
        art_id = self._art_id(state.track.art_url if state.track else None)
        if art_id is not None:
            wire[extension.ART_ID] = art_id
        key = {k: v for k, v in wire.items() if k not in _VOLATILE}
        if not force and key == self._last:
            return True
        if not await self._supervisor.emit("playback_state_update", wire):
            return False
        self._last = key
        return True
