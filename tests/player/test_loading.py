"""The load state machine on its own: mpv's events, as mpv sends them, in and out of order."""

from __future__ import annotations

from headunit.player.loading import (
    OUTPUT_FAILED,
    Check,
    EndedShort,
    Held,
    Loader,
    Notice,
    OutputLost,
    Phase,
    Reload,
    SeekTo,
    Skipped,
    Started,
    WentOn,
)
from headunit.player.playqueue import Entry

A, B, C = Entry(1, "a.flac"), Entry(2, "b.flac"), Entry(3, "c.flac")


def playing(entry: Entry = A, mpv_id: int = 1, start: float = 0.0) -> Loader:
    loader = Loader()
    loader.loaded(entry, mpv_id, start)
    loader.on_start_file(mpv_id)
    assert loader.on_file_loaded() == [Notice.OPENED]
    return loader


def test_a_seek_asked_while_mpv_opens_the_file_waits_for_it() -> None:
    loader = Loader()
    loader.loaded(A, 1, start=30.0)
    assert loader.position(heard=None) == 30.0  # not 0: a save now keeps the resume point
    assert not loader.seek(42.0)
    assert loader.position(heard=None) == 42.0
    loader.on_start_file(1)
    assert loader.on_file_loaded() == [Notice.OPENED, SeekTo(42.0)]
    assert loader.seek(50.0)  # open now: straight to mpv


def test_the_late_file_loaded_of_a_skipped_file_is_not_ours() -> None:
    loader = Loader()
    loader.loaded(A, 1, 0.0)
    loader.on_start_file(1)
    loader.loaded(B, 2, 0.0)  # a quick skip before A opened
    assert loader.on_file_loaded() == []  # A's, arriving late
    assert loader.phase is Phase.OPENING
    assert loader.on_end_file(1, "stop", None, None, 3) == []  # A's end does not skip B
    loader.on_start_file(2)
    assert loader.on_file_loaded() == [Notice.OPENED]


def test_only_a_seek_reports_seeked() -> None:
    loader = playing()
    assert loader.on_playback_restart() == []
    loader.on_seek()
    assert loader.phase is Phase.SEEKING
    assert loader.on_playback_restart() == [Notice.SEEKED]
    assert loader.phase is Phase.PLAYING


def test_mpv_goes_on_into_the_appended_entry_with_no_reload() -> None:
    loader = playing()
    loader.appended(B, 2)
    assert loader.on_end_file(1, "eof", None, 3.0, 3) == []  # mpv goes on by itself
    assert loader.phase is Phase.GOING_ON
    assert loader.on_start_file(2) == [WentOn(B)]
    assert loader.entry == B
    assert loader.position(heard=2.9) == 0.0  # the old file's time is not the new one's
    assert loader.on_file_loaded() == [Notice.OPENED]


def test_without_a_next_entry_the_end_advances() -> None:
    loader = playing()
    assert loader.on_end_file(1, "eof", None, 3.0, 3) == [Notice.NEXT]


def test_an_entry_taken_out_as_mpv_started_it_is_replaced() -> None:
    """Shuffle changed what comes next just as the file ended: mpv had started the old
    next entry; the queue's new one is loaded instead."""
    loader = playing()
    loader.appended(B, 2)
    assert loader.unappended() == 2
    loader.appended(C, 3)
    assert loader.on_end_file(1, "eof", None, 3.0, 3) == []
    assert loader.on_start_file(2) == [Notice.NEXT]


def fails(loader: Loader, mpv_id: int, error: str | None, queue_length: int) -> list:
    """An end-file error of a file the check finds readable: a broken file."""
    entry = loader.entry
    assert entry is not None
    assert loader.on_end_file(mpv_id, "error", error, None) == [Check(entry)]
    assert loader.phase is Phase.CHECKING
    return loader.checked(entry, vanished=False, queue_length=queue_length)


def test_broken_files_are_skipped_the_way_the_user_went_until_all_failed() -> None:
    loader = playing()
    loader.travel(-1, user=True)
    loader.loaded(B, 2, 0.0)
    loader.on_start_file(2)
    assert fails(loader, 2, "no audio", 3) == [Skipped(B, "no audio", -1)]
    loader.loaded(C, 3, 0.0)
    assert fails(loader, 3, None, 3) == [Skipped(C, "cannot be played", -1)]
    loader.loaded(A, 4, 0.0)
    assert fails(loader, 4, None, 3) == [
        Skipped(A, "cannot be played", 0),  # nowhere left to go
        Notice.ALL_BROKEN,
    ]
    assert loader.phase is Phase.IDLE


def test_a_user_skip_forgives_earlier_failures() -> None:
    loader = playing()
    assert fails(loader, 1, None, 2)[0].direction == 1
    loader.travel(1, user=True)
    loader.loaded(B, 2, 0.0)
    assert fails(loader, 2, None, 2)[0].direction == 1  # not all broken


def test_after_an_error_mpv_going_on_by_itself_is_ignored() -> None:
    loader = playing()
    loader.appended(B, 2)
    assert fails(loader, 1, None, 3) == [Skipped(A, "cannot be played", 1)]
    assert loader.on_start_file(2) == []  # the player loads the neighbour itself


def test_a_pulled_file_is_held_with_its_position_and_nothing_after_it_is_tried() -> None:
    loader = playing()
    loader.appended(B, 2)  # on the same stick
    assert loader.on_end_file(1, "error", "read error", 9.5) == [Check(A)]
    assert loader.on_start_file(2) == []  # mpv going on into B is not followed
    assert loader.on_end_file(2, "error", None, None) == []
    assert loader.checked(A, vanished=True, queue_length=3) == [Held(A, 9.5, first=True)]
    assert (loader.phase, loader.entry, loader.position(heard=None)) == (Phase.HELD, A, 9.5)
    assert loader.waiting
    assert loader.failures == 0  # not a broken file
    assert not loader.seek(12.0)  # a seek meanwhile moves where it resumes
    assert loader.recheck() == [Check(A)]
    assert loader.checked(A, vanished=True, queue_length=3) == [Held(A, 12.0, first=False)]
    assert loader.recheck() == [Check(A)]
    assert loader.checked(A, vanished=False, queue_length=3) == [Reload(A, 12.0)]  # back


def test_an_eof_well_before_the_length_is_checked_like_an_error() -> None:
    loader = playing()
    loader.appended(B, 2)
    # mpv reports a failed read as an ordinary eof, here 20 s before the end.
    assert loader.on_end_file(1, "eof", None, 10.0, length=30.0) == [Check(A)]
    assert loader.next is None  # not gone on into B
    assert loader.checked(A, vanished=True, queue_length=3) == [Held(A, 10.0, first=True)]


def test_a_short_file_that_reads_fine_goes_on_to_the_next() -> None:
    loader = playing()
    assert loader.on_end_file(1, "eof", None, 10.0, length=30.0) == [Check(A)]
    assert loader.checked(A, vanished=False, queue_length=3) == [Notice.NEXT]
    assert loader.failures == 0  # not broken: it played what it has


def test_an_eof_near_the_length_or_after_a_seek_is_an_end() -> None:
    loader = playing()
    loader.appended(B, 2)
    assert loader.on_end_file(1, "eof", None, 29.8, length=30.0) == []  # gapless on
    assert loader.phase is Phase.GOING_ON
    loader = playing()
    loader.on_seek()  # a seek near the end: where it was heard last says nothing
    assert loader.on_end_file(1, "eof", None, 10.0, length=30.0) == [Notice.NEXT]


def test_an_eof_in_the_last_seconds_but_short_of_the_end_is_told() -> None:
    """It is the track's end (no check, no gap), but a pull may have cut it: the
    rescan that may follow keeps its point (rescan.py)."""
    loader = playing()
    loader.appended(B, 2)
    assert loader.on_end_file(1, "eof", None, 28.5, length=30.0) == [EndedShort(A, 28.5)]
    assert loader.phase is Phase.GOING_ON  # mpv goes on into B without a gap
    loader = playing()
    assert loader.on_end_file(1, "eof", None, 28.5, length=30.0) == [
        EndedShort(A, 28.5),
        Notice.NEXT,
    ]


def test_a_stale_check_is_ignored() -> None:
    loader = playing()
    loader.on_end_file(1, "error", None, 4.0)
    loader.loaded(B, 2, 0.0)  # the user skipped meanwhile
    assert loader.checked(A, vanished=True, queue_length=3) == []
    assert loader.phase is Phase.OPENING


def test_a_lost_output_keeps_the_entry_and_position_and_comes_back() -> None:
    loader = playing()
    loader.appended(B, 2)
    lost = loader.on_end_file(1, "error", OUTPUT_FAILED, 12.5, 3)
    assert lost == [OutputLost(A, 12.5, first=True)]
    assert (loader.phase, loader.entry, loader.position(heard=None)) == (
        Phase.OUTPUT_LOST,
        A,
        12.5,
    )
    assert loader.failures == 0  # not a broken file
    assert not loader.seek(20.0)  # a seek meanwhile moves where the retry starts
    loader.loaded(A, 3, start=loader.start)  # the retry
    assert loader.on_end_file(3, "error", OUTPUT_FAILED, None, 3) == [
        OutputLost(A, 20.0, first=False)  # still out: not logged again
    ]
    loader.loaded(A, 4, start=loader.start)
    loader.on_start_file(4)
    loader.on_file_loaded()
    assert loader.on_playback_restart() == []  # mpv restarts playback: that is no sound
    assert loader.outage
    assert loader.on_heard(20.05) == []
    assert loader.position(heard=20.05) == 20.0  # held where the sound was lost
    assert loader.on_heard(20.5) == [Notice.OUTPUT_BACK]  # it advances: sound again
    assert (loader.outage, loader.position(heard=20.6)) == (False, 20.6)
    assert loader.on_heard(21.0) == []


def test_a_retry_that_never_brings_sound_goes_back_to_waiting() -> None:
    """An output open that blocks, or a stream the server never links: the player's
    timeout puts the entry back in OUTPUT_LOST, at the position it was lost."""
    loader = playing()
    loader.on_end_file(1, "error", OUTPUT_FAILED, 7.0, 3)
    loader.loaded(A, 2, start=loader.start)
    loader.on_start_file(2)
    loader.on_file_loaded()
    loader.still_lost()
    assert (loader.phase, loader.position(heard=7.1)) == (Phase.OUTPUT_LOST, 7.0)


def test_the_start_file_of_a_loaded_entry_confirms_it() -> None:
    loader = Loader()
    loader.loaded(A, 5, start=0.0)
    assert not loader.confirmed
    assert loader.on_start_file(4) == []  # the file before, replaced
    assert loader.on_start_file(5) == [Started(A)]
    assert loader.confirmed


def test_stop_forgets_the_entries() -> None:
    loader = playing()
    loader.appended(B, 2)
    loader.stopped()
    assert (loader.phase, loader.entry, loader.next) == (Phase.IDLE, None, None)
    assert loader.position(heard=5.0) == 0.0
    assert loader.on_end_file(1, "eof", None, None, 3) == []


def test_a_position_that_stands_still_in_an_open_file_is_a_lost_output() -> None:
    """ALSA to a server that went away: mpv reports nothing, the position stops."""
    loader = playing()
    loader.appended(B, 2)
    assert loader.output_stuck(8.25) == [OutputLost(A, 8.25, first=True)]
    assert (loader.phase, loader.next, loader.position(heard=None)) == (
        Phase.OUTPUT_LOST,
        None,
        8.25,
    )
    assert loader.output_stuck(9.0) == []  # already waiting for the output


def test_a_station_s_playlist_url_gives_its_place_to_the_stream_it_names() -> None:
    loader = Loader()
    loader.loaded(A, 1, start=0.0)
    assert loader.on_start_file(1) == [Started(A)]
    assert loader.on_end_file(1, "redirect", None, None, None, inserted=2) == []
    assert loader.on_start_file(2) == [Started(A)]
    assert loader.on_file_loaded() == [Notice.OPENED]
    assert (loader.phase, loader.entry, loader.confirmed) == (Phase.PLAYING, A, True)
    assert loader.on_end_file(1, "redirect", None, None, None, inserted=3) == []  # not ours
    assert loader.current is not None
    assert loader.current.mpv_id == 2


def test_a_live_stream_that_comes_back_from_its_start_is_sound_when_it_advances() -> None:
    """A radio lost at 1200 s cannot be rejoined there: the retry plays from the live
    point, which mpv counts from 0. Its advancing from there is the sound coming back."""
    loader = playing()
    assert loader.on_end_file(1, "error", OUTPUT_FAILED, 1200.0, None) == [
        OutputLost(A, 1200.0, first=True)
    ]
    loader.loaded(A, 2, start=loader.start)  # the retry
    loader.on_start_file(2)
    loader.on_file_loaded()
    assert loader.on_heard(0.1) == []
    assert loader.position(heard=0.1) == 0.1  # where the stream is now, not 1200
    assert loader.on_heard(0.5) == [Notice.OUTPUT_BACK]
