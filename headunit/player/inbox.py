"""What the player's inbox carries: everything that can change the player, in order.

mpv's event thread, command sources, the timer, and the coroutines that wait on the
worker threads (tag reads, file checks) only put messages here; the player's one task
takes them out and acts on each in turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from headunit.model import Command, MediaRef
from headunit.player.loading import Slot
from headunit.player.playqueue import Entry
from headunit.state import TrackInfo


@dataclass(frozen=True, slots=True)
class MpvEvent:
    """One of mpv's events as a plain dict; an end-file carries where the file was
    (`heard`), since mpv has closed it by then."""

    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MpvProperty:
    name: str
    value: Any


@dataclass(frozen=True, slots=True)
class Heard:
    """mpv's time-pos, a few times a second: the position advances, or not."""

    position: float


@dataclass(frozen=True, slots=True)
class Expanded:
    """What an OpenUri pointed at, expanded off the loop before the command is queued."""

    ref: MediaRef
    uris: list[str]
    titles: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Call:
    """A command; `done` gets its outcome (a CommandError for a refusal)."""

    command: Command
    done: asyncio.Future[None]
    expanded: Expanded | None = None


@dataclass(frozen=True, slots=True)
class Rescanned:
    """`media.paths` was scanned again (a stick came or went, SIGHUP)."""

    scanned: list[str]
    titles: Mapping[str, str]
    done: asyncio.Future[None]


@dataclass(frozen=True, slots=True)
class TagsRead:
    """A worker thread read an entry's tags; `final` is False after a failed read."""

    uri: str
    info: TrackInfo
    final: bool


@dataclass(frozen=True, slots=True)
class Checked:
    """A worker thread checked the file of `entry` (it failed): `vanished` with its
    media, or there (a broken file)."""

    entry: Entry
    vanished: bool


@dataclass(frozen=True, slots=True)
class Go:
    """Move through the queue by itself (an end, a broken file), from `slot`: the load
    current when this was sent. Stale once anything is loaded after it, even the same
    entry again (a command, a re-plug that came first in the inbox), or the player
    stopped: then dropped."""

    direction: int
    slot: Slot | None


@dataclass(frozen=True, slots=True)
class Tick:
    """The timer: retries and the watchdog look at the clock."""


Message = MpvEvent | MpvProperty | Heard | Call | Rescanned | TagsRead | Checked | Go | Tick
