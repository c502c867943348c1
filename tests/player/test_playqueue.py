"""Queue order: next/previous at the ends, loop, shuffle around the current entry."""

from __future__ import annotations

import random

from headunit.model import LoopMode
from headunit.player.playqueue import Queue


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


def test_a_rescan_adds_new_files_in_their_folder_place_and_keeps_the_current_entry() -> None:
    queue = Queue(["/m/a1", "/m/a3", "/s/b1"])
    queue.go(1)
    current = queue.current
    merged = queue.merge(["/m/a1", "/m/a2", "/m/a3", "/m/a4", "/s/b1"], keep=lambda uri: True)
    assert (merged.added, merged.removed, merged.current_gone) == (2, 0, False)
    assert queue.uris == ["/m/a1", "/m/a2", "/m/a3", "/m/a4", "/s/b1"]
    assert queue.current == current


def test_a_pulled_stick_moves_on_to_the_next_entry_left_or_runs_out() -> None:
    queue = Queue(["/home/x", "/usb/1", "/usb/2", "/home/y"])
    queue.go(1)
    merged = queue.merge(["/home/x", "/home/y"], keep=lambda uri: uri.startswith("/home"))
    assert (merged.removed, merged.current_gone, merged.ran_out) == (2, True, False)
    assert queue.current is not None
    assert queue.current.uri == "/home/y"
    queue.go(1)
    merged = queue.merge([], keep=lambda uri: False)
    assert merged.ran_out
    assert len(queue) == 0
    assert queue.current is None


def test_new_entries_of_a_shuffled_queue_join_after_the_play_order() -> None:
    queue = Queue(["a", "b", "c"], rng=random.Random(3))
    queue.set_shuffle(True)
    before = [queue.entry_at(p).uri for p in range(3)]
    queue.merge(["a", "b", "c", "d"], keep=lambda uri: True)
    assert [queue.entry_at(p).uri for p in range(4)] == [*before, "d"]


def test_a_pulled_stick_at_the_end_of_a_looping_queue_wraps_around_to_what_is_left() -> None:
    queue = Queue(["/home/x", "/home/y", "/usb/1", "/usb/2"])
    queue.go(2)
    merged = queue.merge(
        ["/home/x", "/home/y"], keep=lambda uri: uri.startswith("/home"), loop=LoopMode.PLAYLIST
    )
    assert (merged.removed, merged.current_gone, merged.ran_out) == (2, True, False)
    assert queue.current is not None
    assert queue.current.uri == "/home/x"  # the loop's next entry that is still there


def test_a_pulled_stick_at_the_end_runs_out_unless_the_playlist_loops() -> None:
    for loop in (LoopMode.NONE, LoopMode.TRACK):
        queue = Queue(["/home/x", "/usb/1", "/usb/2"])
        queue.go(1)
        merged = queue.merge(["/home/x"], keep=lambda uri: uri.startswith("/home"), loop=loop)
        assert merged.ran_out, loop
        assert queue.current is not None
        assert queue.current.uri == "/home/x"  # the queue's top, for a later play


def test_a_shuffled_looping_queue_wraps_around_in_play_order() -> None:
    queue = Queue(["/home/x", "/home/y", "/usb/1"], rng=random.Random(1))
    queue.set_shuffle(True)
    queue.go(len(queue) - 1)
    before = [queue.entry_at(p).uri for p in range(3)]
    queue.merge([], keep=lambda uri: uri != before[-1], loop=LoopMode.PLAYLIST)
    assert queue.current is not None
    assert queue.current.uri == before[0]
