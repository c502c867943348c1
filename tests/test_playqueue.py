"""Queue order: next/previous at the ends, loop, shuffle around the current entry."""

from __future__ import annotations

import random

from headunit.model import LoopMode
from headunit.playqueue import Queue


def test_ends_stop_unless_the_playlist_loops() -> None:
    queue = Queue(["a", "b", "c"])
    assert queue.neighbour(-1, LoopMode.NONE) is None
    queue.go(2)
    assert queue.neighbour(1, LoopMode.NONE) is None
    assert queue.neighbour(1, LoopMode.PLAYLIST) == 0
    assert queue.neighbour(1, LoopMode.TRACK) is None  # track loop is mpv's, not a skip


def test_shuffle_keeps_the_current_entry_and_unshuffle_returns_to_it() -> None:
    queue = Queue([str(i) for i in range(20)], rng=random.Random(7))
    queue.go(5)
    current = queue.current
    queue.set_shuffle(True)
    assert queue.current == current
    assert queue.position == 0
    assert sorted(queue.order) == list(range(20))
    assert queue.order != list(range(20))
    queue.go(3)
    now = queue.current
    queue.set_shuffle(False)
    assert queue.current == now
    assert queue.order == list(range(20))


def test_entries_have_unique_ids_even_for_the_same_file() -> None:
    queue = Queue(["a", "a"])
    queue.insert_next(["a"])
    ids = [queue.entry_at(i).id for i in range(3)]
    assert len(set(ids)) == 3
    assert queue.entry_at(1).uri == "a"  # inserted right after the current entry
