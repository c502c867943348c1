"""The player's state as the sinks see it: immutable snapshots and the sink protocol.

A snapshot holds everything a sink publishes except the running position, which is
read on demand (`position_at`), because it changes continuously while playing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, Protocol

from headunit.model import LoopMode, MediaType


class Status(StrEnum):
    PLAYING = "Playing"
    PAUSED = "Paused"
    STOPPED = "Stopped"


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """What a piece of media is: from its tags, its file name, or the backend."""

    title: str
    artist: tuple[str, ...] = ()
    album: str | None = None
    album_artist: tuple[str, ...] = ()
    genre: tuple[str, ...] = ()
    track_number: int | None = None
    disc_number: int | None = None
    duration: float | None = None  # seconds; None while unknown or for live streams
    media_type: MediaType = "music"
    art_url: str | None = None  # file:// URI of the cover


@dataclass(frozen=True, slots=True, kw_only=True)
class Track(TrackInfo):
    """One queue entry: its info, and `entry_id`, unique per entry for the daemon's life."""

    entry_id: int
    uri: str
    media_id: int | None = None  # the backend's id, when the media came from it

    @classmethod
    def of(cls, info: TrackInfo, **entry: Any) -> Track:
        return cls(**{f.name: getattr(info, f.name) for f in fields(TrackInfo)}, **entry)


@dataclass(frozen=True, slots=True)
class QueueListing:
    """The queue as `headunit queue` shows it, cheap at 20,000 entries: every entry's
    URI in play order, and what is known of the entries described so far (tags are
    read lazily; the others are shown by their file name)."""

    uris: list[str]
    ids: list[int]  # each entry's id, as a jump names it
    current: int | None  # index into uris of the entry playing
    known: dict[int, TrackInfo]  # index into uris -> what is known of that entry


@dataclass(frozen=True, slots=True)
class QueueItem:
    """An entry after the current one, as the phone's "Up next" list shows it."""

    entry_id: int
    title: str
    artist: str | None = None


@dataclass(frozen=True, slots=True)
class PlayerState:
    status: Status = Status.STOPPED
    track: Track | None = None
    position: float = 0.0  # seconds, at `clock` (time.monotonic())
    clock: float = field(default=0.0, compare=False)
    volume: float = 100.0  # percent
    shuffle: bool = False
    loop: LoopMode = LoopMode.NONE
    can_next: bool = False
    can_previous: bool = False
    can_seek: bool = False
    can_play: bool = False
    can_pause: bool = False
    queue_length: int = 0
    up_next: tuple[QueueItem, ...] = ()  # the next few entries, for the phone
    source: str | None = None  # another player's name while it is the active source

    def position_at(self, now: float | None = None) -> float:
        """Position extrapolated to `now`, clamped to 0..duration."""
        position = self.position
        if self.status is Status.PLAYING:
            now = time.monotonic() if now is None else now
            position += max(0.0, now - self.clock)  # a car plays at normal speed
        duration = self.track.duration if self.track else None
        if duration is not None and duration > 0:
            position = min(position, duration)
        return max(0.0, position)

    def changed_fields(self, other: PlayerState) -> frozenset[str]:
        """Fields that differ from `other`; the position is not a change (jumps are seeks)."""
        return frozenset(
            f.name
            for f in fields(self)
            if f.name not in ("position", "clock")
            and getattr(self, f.name) != getattr(other, f.name)
        )

    def with_position(self, position: float, clock: float | None = None) -> PlayerState:
        return replace(self, position=position, clock=time.monotonic() if clock is None else clock)


class StateSink(Protocol):
    """Receives every real change of state. Called on the event loop: must not block."""

    def state_changed(self, state: PlayerState, changed: frozenset[str]) -> None: ...

    def seeked(self, state: PlayerState) -> None:
        """The position jumped (any source), and `state.position` is where it landed."""
        ...
