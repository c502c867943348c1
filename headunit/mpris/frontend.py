"""The StateSink that turns controller state changes into MPRIS signals.

Signals go out at once (no timer batching, unlike mpv-mpris), and only for what
changed: the controller hands over the changed field names. Values are read back
through the Player interface's own getters, so a signal and a Get never disagree.
"""

from __future__ import annotations

from typing import Any

from headunit.mpris.metadata import position_us, to_metadata
from headunit.mpris.player import PlayerInterface
from headunit.state import PlayerState

# PlayerState field -> the MPRIS properties it feeds. `position` is read on demand and
# never signalled and `rate` is fixed at 1.0 (docs/mpris.md, Position and Rate).
FIELD_PROPERTIES: dict[str, tuple[str, ...]] = {
    "status": ("PlaybackStatus",),
    "loop": ("LoopStatus",),
    "shuffle": ("Shuffle",),
    "volume": ("Volume",),
    "can_next": ("CanGoNext",),
    "can_previous": ("CanGoPrevious",),
    "can_seek": ("CanSeek",),
    "can_play": ("CanPlay",),
    "can_pause": ("CanPause",),
}


class MprisFrontend:
    def __init__(self, player: PlayerInterface, state: PlayerState) -> None:
        self._player = player
        self._metadata = to_metadata(state.track)

    def state_changed(self, state: PlayerState, changed: frozenset[str]) -> None:
        properties: dict[str, Any] = {}
        for field in changed:
            for name in FIELD_PROPERTIES.get(field, ()):
                properties[name] = getattr(self._player, name)
        if "track" in changed:
            metadata = to_metadata(state.track)
            # BlueZ takes every Metadata signal for a new track: send it only when
            # what a client sees really differs (a new entry, a length now known).
            if metadata != self._metadata:
                self._metadata = metadata
                properties["Metadata"] = metadata
        if properties:
            self._player.emit_properties_changed(properties)

    def seeked(self, state: PlayerState) -> None:
        self._player.Seeked(position_us(state, state.position))
