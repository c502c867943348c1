"""The user's other clients, as their `playback_state` says (for status, handoff, remote).

The backend relays the last state of each of the user's clients; it names none of
them, so clients are told apart by the `deviceName` they add (if any). Our own state,
echoed back from the backend's cache on connect, is not a peer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headunit.link.supervisor import Supervisor
from headunit.model import CommandError, PlaybackState, parse_playback_state

log = logging.getLogger(__name__)

_UNNAMED = "(unnamed client)"
# Seconds within which a state older (by its `updatedAt`) than the one just received from
# the same client is one overtaken on the way: the backend greets a new socket with the
# state it cached, and with several backend processes a newer state relayed meanwhile
# can arrive first. Dropped; later than that, any state counts (a device's clock may
# have been set back).
OVERTAKEN_WITHIN = 2.0


@dataclass(frozen=True)
class Peer:
    name: str
    state: PlaybackState
    arrived: float  # time.monotonic() when it came in

    def position(self, now: float | None = None) -> float:
        """`currentTime` extrapolated from when it arrived (clocks of devices differ)."""
        position = self.state.currentTime
        if self.state.isPlaying:
            position += max(0.0, (time.monotonic() if now is None else now) - self.arrived)
        if self.state.duration > 0:
            position = min(position, self.state.duration)
        return position


def _overtaken(state: PlaybackState, held: Peer | None, now: float) -> bool:
    if held is None or now - held.arrived > OVERTAKEN_WITHIN:
        return False
    taken, before = state.extra.get("updatedAt"), held.state.extra.get("updatedAt")
    numbers = (int, float)
    return isinstance(taken, numbers) and isinstance(before, numbers) and taken < before


class Peers:
    def __init__(self, supervisor: Supervisor, own_device: str) -> None:
        self._supervisor = supervisor
        self._own = own_device
        self._peers: dict[str, Peer] = {}
        self._listeners: list[Callable[[Peer], None]] = []
        supervisor.on("playback_state", self.received)
        supervisor.on_disconnect(self._peers.clear)

    def listen(self, listener: Callable[[Peer], None]) -> None:
        self._listeners.append(listener)

    def received(self, payload: object) -> None:
        try:
            state = parse_playback_state(payload)
        except CommandError as exc:
            log.warning("ignored a playback_state from the backend: %s", exc)
            return
        token = self._supervisor.token
        if token is not None and state.userId != token.user_id:
            log.warning("ignored a playback_state for another user (%s)", state.userId)
            return
        name = state.extra.get("deviceName")
        name = name if isinstance(name, str) and name else _UNNAMED
        if name == self._own:
            return  # our own state, cached by the backend
        now = time.monotonic()
        if _overtaken(state, self._peers.get(name), now):
            log.debug("ignored a playback_state of %s older than the one just received", name)
            return
        peer = Peer(name, state, now)
        self._peers[name] = peer
        for listener in tuple(self._listeners):
            listener(peer)

    def active(self) -> Peer | None:
        """The client the user is most likely listening to: the latest one playing."""
        if not self._peers:
            return None
        return max(self._peers.values(), key=lambda p: (p.state.isPlaying, p.arrived))

    def snapshot(self) -> list[dict[str, Any]]:
        """For `headunit status`: each known client, its media and extrapolated position."""
        return [
            {
                "name": peer.name,
                "playing": peer.state.isPlaying,
                "media_id": peer.state.mediaId,
                "title": peer.state.mediaTitle,
                "artist": peer.state.mediaArtist,
                "position": round(peer.position(), 1),
                "duration": peer.state.duration,
            }
            for peer in sorted(self._peers.values(), key=lambda p: p.name)
        ]
