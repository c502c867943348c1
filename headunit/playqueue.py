"""The play queue: entries, play order (shuffled or not), and where we are.

Pure logic, no mpv: the player asks it where next/previous lead and tells it where it
went. Each entry gets an id unique for the daemon's life, so MPRIS trackids never
repeat even when the same file is queued twice.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from headunit.model import LoopMode

_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    uri: str


class Queue:
    def __init__(self, uris: list[str], rng: random.Random | None = None) -> None:
        self._entries = [Entry(next(_ids), uri) for uri in uris]
        self._order = list(range(len(self._entries)))  # play order: indices into _entries
        self._pos: int | None = 0 if self._entries else None  # index into _order
        self._shuffled = False
        self._rng = rng or random.Random()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def uris(self) -> list[str]:
        return [e.uri for e in self._entries]

    @property
    def order(self) -> list[int]:
        return list(self._order)

    @property
    def position(self) -> int | None:
        """Where we are in the play order."""
        return self._pos

    @property
    def shuffled(self) -> bool:
        return self._shuffled

    @property
    def current(self) -> Entry | None:
        return None if self._pos is None else self._entries[self._order[self._pos]]

    def entry_at(self, pos: int) -> Entry:
        return self._entries[self._order[pos]]

    def restore(self, order: list[int], pos: int | None, shuffled: bool) -> None:
        """Adopt a saved play order; ignored unless it is a permutation of the entries."""
        if sorted(order) != list(range(len(self._entries))):
            return
        if pos is not None and not 0 <= pos < len(order):
            return
        self._order, self._pos, self._shuffled = list(order), pos, shuffled

    def step(self, pos: int, direction: int, loop: LoopMode) -> int | None:
        """The position one step from `pos` in `direction` (+1/-1), or None at an end."""
        target = pos + direction
        if 0 <= target < len(self._order):
            return target
        if loop is LoopMode.PLAYLIST and self._order:
            return target % len(self._order)
        return None

    def neighbour(self, direction: int, loop: LoopMode) -> int | None:
        return None if self._pos is None else self.step(self._pos, direction, loop)

    def go(self, pos: int) -> Entry:
        self._pos = pos
        return self.entry_at(pos)

    def set_shuffle(self, on: bool) -> None:
        """Reshuffle around the current entry: it stays current, the rest is reordered."""
        if on == self._shuffled:
            return
        current = None if self._pos is None else self._order[self._pos]
        if on:
            rest = [i for i in range(len(self._entries)) if i != current]
            self._rng.shuffle(rest)
            self._order = ([current] if current is not None else []) + rest
            self._pos = 0 if current is not None else self._pos
        else:
            self._order = list(range(len(self._entries)))
            self._pos = current
        self._shuffled = on

    def insert_next(self, uris: list[str]) -> int | None:
        """Queue `uris` right after the current entry; returns the first one's position."""
        if not uris:
            return None
        start = len(self._entries)
        self._entries.extend(Entry(next(_ids), uri) for uri in uris)
        at = 0 if self._pos is None else self._pos + 1
        self._order[at:at] = range(start, start + len(uris))
        return at

    def upcoming(self, count: int) -> list[Entry]:
        """Up to `count` entries after the current one, in play order (no wrap-around)."""
        start = 0 if self._pos is None else self._pos + 1
        return [self.entry_at(pos) for pos in range(start, min(start + count, len(self._order)))]

    def find(self, entry_id: int) -> int | None:
        """The play-order position of the entry with `entry_id`, or None."""
        for pos, index in enumerate(self._order):
            if self._entries[index].id == entry_id:
                return pos
        return None
