"""What is saved to resume after a power cut, and how it meets the media found at start.

The store writes and reads `ResumeState`; the player produces it; `plan` decides, at
start, what the queue, the current entry and the position are, from what was saved
and what `media.paths` holds now (a USB stick may have changed while the car was off).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from headunit.media import is_stream
from headunit.model import LoopMode
from headunit.player.playqueue import Queue

log = logging.getLogger(__name__)

VERSION = 2  # 2: the queue in a file of its own (store.py)
# Pulled tracks kept for a re-plug (one per stick in practice): the oldest go first.
PULLED_KEPT = 8


class StaleState(ValueError):
    """The saved state belongs to a media set that is no longer there."""


@dataclass(frozen=True)
class ResumePoint:
    """Where a track was when its media was pulled: a re-plug resumes it there."""

    uri: str
    position: float


@dataclass(frozen=True)
class ResumeState:
    uris: list[str]
    order: list[int]
    position_in_order: int | None
    position: float = 0.0  # seconds into the current entry
    volume: float = 100.0
    shuffle: bool = False
    loop: LoopMode = LoopMode.NONE
    paused: bool = False
    interrupted: bool = False  # paused because another source played (not by the user)
    # Tracks of pulled media, newest last, while the queue plays on without them.
    pulled: tuple[ResumePoint, ...] = ()

    @property
    def current_index(self) -> int | None:
        """The index in `uris` of the entry that was playing."""
        if self.position_in_order is None:
            return None
        return self.order[self.position_in_order]

    @property
    def current_uri(self) -> str | None:
        index = self.current_index
        return None if index is None else self.uris[index]


@dataclass(frozen=True)
class Plan:
    queue: Queue
    position: float
    volume: float | None  # None: keep the player's default
    loop: LoopMode
    paused: bool
    pulled: tuple[ResumePoint, ...] = ()


def available(uri: str) -> bool:
    """A stream, or a file that is there (a pulled stick's files are not)."""
    return is_stream(uri) or Path(uri).exists()


def plan(saved: ResumeState | None, scanned: list[str], mode: str) -> Plan:
    """`mode` is player.resume: play, pause, or off. Raises StaleState when the saved
    current entry is gone (the caller sets the file aside and calls again with None)."""
    index = None if saved is None or mode == "off" else saved.current_index
    if saved is None or index is None:
        volume = saved.volume if saved is not None else None
        pulled = _still_pulled(saved)
        return Plan(Queue(scanned), 0.0, volume, LoopMode.NONE, paused=False, pulled=pulled)
    current = saved.uris[index]
    if not available(current):
        raise StaleState(f"the track it was playing, {current}, is gone")
    kept = [i for i, uri in enumerate(saved.uris) if available(uri)]
    known = {saved.uris[i] for i in kept}
    added = [uri for uri in scanned if uri not in known]
    queue = Queue([saved.uris[i] for i in kept] + added)
    renumber = {old: new for new, old in enumerate(kept)}
    order = [renumber[i] for i in saved.order if i in renumber]
    order += range(len(kept), len(kept) + len(added))
    queue.restore(order, order.index(renumber[index]), saved.shuffle)
    return Plan(
        queue,
        max(0.0, saved.position),
        saved.volume,
        saved.loop,
        paused=_starts_paused(saved, mode),
        pulled=_still_pulled(saved),
    )


def elsewhere(saved: ResumeState, scanned: list[str], mode: str) -> Plan:
    """The saved track's media is away (a stick pulled just before the power went, or
    while the car was off): play what is there, with the driver's volume and loop mode,
    and keep the track among the pulled ones, so that a re-plug resumes it where it was."""
    uri = saved.current_uri
    assert uri is not None  # only a saved current entry can be away
    fresh = plan(None, scanned, mode)
    return replace(
        fresh,
        volume=saved.volume,
        loop=saved.loop,
        paused=_starts_paused(saved, mode),
        pulled=with_point(_still_pulled(saved), ResumePoint(uri, max(0.0, saved.position))),
    )


def with_point(pulled: Sequence[ResumePoint], point: ResumePoint) -> tuple[ResumePoint, ...]:
    """`pulled` with `point` as its newest, one point per track, at most PULLED_KEPT."""
    kept = [p for p in pulled if p.uri != point.uri][1 - PULLED_KEPT :]
    return (*kept, point)


def _starts_paused(saved: ResumeState, mode: str) -> bool:
    """Paused by the configuration, or by another source when the power went: the car
    must not blast at start."""
    return mode == "pause" or saved.interrupted


def _still_pulled(saved: ResumeState | None) -> tuple[ResumePoint, ...]:
    """The pulled tracks whose media is still away; one plugged back while the car was
    off is not jumped to later: the car resumes what it saved as playing."""
    return tuple(p for p in saved.pulled if not available(p.uri)) if saved else ()
