"""What the sinks see of the player, built from the queue and what the tags said.

Pure functions of the player's state, plus `describe_entry`, the blocking read of an
entry's tags and cover that the player runs in a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from headunit.media import is_stream, title_from_name
from headunit.model import LoopMode, MediaRef
from headunit.player.artwork import find_art
from headunit.player.playqueue import Entry, Queue
from headunit.player.tags import describe
from headunit.state import PlayerState, QueueItem, QueueListing, Status, Track, TrackInfo

UP_NEXT = 10  # entries listed after the current one


@dataclass(frozen=True, slots=True)
class Moment:
    """What the player is doing, beside its queue: the parts of a snapshot it decides."""

    status: Status
    track: Track | None
    position: float
    volume: float
    loop: LoopMode
    seekable: bool  # mpv says the open file is


def build(moment: Moment, queue: Queue, infos: Mapping[str, TrackInfo]) -> PlayerState:
    track = moment.track
    has_entry = queue.current is not None
    can_seek = moment.seekable or bool(track and track.duration and not is_stream(track.uri))
    return PlayerState(
        status=moment.status,
        track=track,
        position=moment.position,
        clock=time.monotonic(),
        volume=moment.volume,
        shuffle=queue.shuffled,
        loop=moment.loop,
        can_next=queue.neighbour(1, moment.loop) is not None,
        can_previous=queue.neighbour(-1, moment.loop) is not None,
        can_seek=can_seek,
        can_play=has_entry,
        can_pause=has_entry,
        queue_length=len(queue),
        up_next=up_next(queue, infos),
    )


def up_next(queue: Queue, infos: Mapping[str, TrackInfo]) -> tuple[QueueItem, ...]:
    """The next entries as far as their tags are read (else named by their file)."""
    items = []
    for entry in queue.upcoming(UP_NEXT):
        info = infos.get(entry.uri)
        if info is None:
            items.append(QueueItem(entry.id, title_from_name(entry.uri)))
        else:
            items.append(QueueItem(entry.id, info.title, ", ".join(info.artist) or None))
    return tuple(items)


def track_for(entry: Entry, info: TrackInfo, ref: MediaRef | None) -> Track:
    media_id = ref.media_id if ref else None
    return Track.of(info, entry_id=entry.id, uri=entry.uri, media_id=media_id)


def listing(
    queue: Queue, infos: Mapping[str, TrackInfo], titles: Mapping[str, str], playing: bool
) -> QueueListing:
    """The queue in play order with what is known of each entry (cheap at 20,000)."""
    entries = queue.in_order()
    uris = [entry.uri for entry in entries]
    known = {}
    for pos, uri in enumerate(uris):
        info = infos.get(uri)
        if info is None and uri in titles:
            info = TrackInfo(title=titles[uri])
        if info is not None:
            known[pos] = info
    current = queue.position if playing else None
    return QueueListing(uris, [entry.id for entry in entries], current, known)


def describe_entry(uri: str, title: str | None, art_dir: Path) -> tuple[TrackInfo, bool]:
    """Tags and cover of one entry, and whether that is final (see `tags.describe`).
    Blocking file I/O: run in a worker thread."""
    info, final = describe(uri, title)
    if is_stream(uri):
        return info, final
    return replace(info, art_url=find_art(uri, art_dir)), final
