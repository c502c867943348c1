"""The play queue: entries, play order (shuffled or not), and where we are.

Pure logic, no mpv: the player asks it where next/previous lead and tells it where it
went. Each entry gets an id unique for the daemon's life, so MPRIS trackids never
repeat even when the same file is queued twice.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass

from headunit.model import LoopMode

_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    uri: str


@dataclass(frozen=True, slots=True)
class Merged:
    """What a rescan changed in the queue."""

    added: int
    removed: int
    current_gone: bool  # the entry playing is no longer there
    ran_out: bool  # ... and no entry after it is left


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

    def in_order(self) -> list[Entry]:
        """The entries in play order."""
        entries = self._entries
        return [entries[i] for i in self._order]

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

    def merge(
        self, scanned: list[str], keep: Callable[[str], bool], loop: LoopMode = LoopMode.NONE
    ) -> Merged:
        """Adopt a new scan without disturbing what plays. Entries `keep` refuses go;
        scanned URIs not queued yet join right after the entry they follow in the scan
        (a stick's files in their folder's order; at the end of a shuffled order). When
        the current entry goes, the next surviving one in play order becomes current;
        a looping queue wraps around to look for it, as its next skip would."""
        played = [self._entries[i] for i in self._order]
        current = self.current
        gone = current is not None and not keep(current.uri)
        if gone:
            assert self._pos is not None
            after = played[self._pos + 1 :]
            if loop is LoopMode.PLAYLIST:
                after += played[: self._pos]
            current = next((e for e in after if keep(e.uri)), None)
        kept = [e for e in self._entries if keep(e.uri)]
        new = self._new_entries(scanned, kept)
        entries = list(new.get(None, ()))
        for entry in kept:
            entries.append(entry)
            entries.extend(new.get(entry.id, ()))
        index = {e.id: i for i, e in enumerate(entries)}
        if self._shuffled:
            fresh = [index[e.id] for group in new.values() for e in group]
            self._order = [index[e.id] for e in played if e.id in index] + fresh
        else:
            self._order = list(range(len(entries)))
        self._entries = entries
        if current is not None:
            self._pos = self._order.index(index[current.id])
        else:
            self._pos = 0 if entries else None
        added = sum(map(len, new.values()))
        return Merged(added, len(played) - len(kept), gone, gone and current is None)

    @staticmethod
    def _new_entries(scanned: list[str], kept: list[Entry]) -> dict[int | None, list[Entry]]:
        """Scanned URIs not in `kept`, grouped by the id of the kept entry they follow in
        the scan (None: before all of them)."""
        by_uri = {e.uri: e for e in kept}
        groups: dict[int | None, list[Entry]] = {}
        anchor: int | None = None
        for uri in dict.fromkeys(scanned):
            entry = by_uri.get(uri)
            if entry is not None:
                anchor = entry.id
            else:
                groups.setdefault(anchor, []).append(Entry(next(_ids), uri))
        return groups

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
