"""The silences of issue 15, made to happen on purpose, each the same way every run.

The real player (libmpv) plays generated audio; what the test scripts is only what a
car cannot be told to do on cue: a tag read that is slow (a gate holds it), a sound
server that refuses the output (mpv's pcm output to a folder that is not there; ao=null
is the server's return), a position that never advances (withheld at the bridge from
mpv's thread), and an mpv that drops its file behind the player's back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import async_wait_for, make_album, make_tone, statuses

from headunit.model import Command, CommandName
from headunit.player import commands, core, mpvbridge, transitions
from headunit.player.inbox import Call
from headunit.state import Status, TrackInfo

pytestmark = pytest.mark.timeout(60)

# What the car promises: sound again within 5 s of the output's return.
BACK_WITHIN = 5.0


class TagGate:
    """Holds the tag reads of the entries whose URI contains `match` until `release`,
    then lets them go one at a time, in the order they began, `apart` seconds apart
    (so that whatever waits on the first one runs before the second comes back)."""

    def __init__(self, read: Callable[..., tuple[TrackInfo, bool]], match: str) -> None:
        self._read, self._match = read, match
        self._open = threading.Event()
        self.waiting: list[threading.Event] = []

    def __call__(self, uri: str, *args: Any) -> tuple[TrackInfo, bool]:
        if self._match in uri and not self._open.is_set():
            turn = threading.Event()
            self.waiting.append(turn)
            turn.wait(30)
        return self._read(uri, *args)

    async def release(self, apart: float = 0.5) -> None:
        self._open.set()
        for turn in list(self.waiting):
            turn.set()
            await asyncio.sleep(apart)


def title(rig) -> str | None:  # type: ignore[no-untyped-def]
    track = rig.controller.state.track
    return track.title if track else None


async def playing(rig, name: str, within: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    await async_wait_for(
        lambda: title(rig) == name and rig.controller.state.status is Status.PLAYING,
        within,
        f"{name} playing",
    )


async def run(rig, name: CommandName, value: Any = None) -> None:  # type: ignore[no-untyped-def]
    await rig.controller.execute(Command(name, value), source="test")


async def test_a_track_that_ends_before_the_next_ones_tags_are_read_leads_to_it(
    make_rig, album: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stall at a join: One ends while Two's tags are still being read. Two must
    play, then Three; before the actor, Three was appended, started, and Two never
    played (the music went on, a track short; in the car, silence when Three was the
    last)."""
    gate = TagGate(core.describe_entry, "Two")
    monkeypatch.setattr(core, "describe_entry", gate)
    rig = await make_rig(album)
    await playing(rig, "One")
    await async_wait_for(lambda: gate.waiting, what="Two's tags asked for")
    await run(rig, CommandName.SEEK, 2.8)
    await asyncio.sleep(1.0)  # One has ended; Two's tags are still held
    await gate.release()
    await playing(rig, "Two")
    await playing(rig, "Three")
    assert rig.recorder.titles()[:4] == [None, "One", "Two", "Three"]


async def test_a_track_that_ends_before_its_tags_are_read_is_announced_by_its_name(
    make_rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B, shorter than the wait for its tags, ends the queue while they are read: it
    played, so it is announced (by its name) before the stop, and its late tags
    announce nothing after it. Before, a client never saw B (a busy machine's
    flaky end-of-queue test)."""
    gate = TagGate(core.describe_entry, "B.flac")
    monkeypatch.setattr(core, "describe_entry", gate)
    rig = await make_rig(make_album(tmp_path / "short", ["A", "B"], seconds=0.6))
    await async_wait_for(
        lambda: gate.waiting and rig.controller.state.status is Status.STOPPED,
        what="the stop at the end, B's tags held",
    )
    assert rig.recorder.titles() == [None, "A", "2 B", None]
    await gate.release()
    await asyncio.sleep(0.5)  # B's tags are back
    assert rig.recorder.titles() == [None, "A", "2 B", None]


def fail_the_output(rig) -> None:  # type: ignore[no-untyped-def]
    """The sound server goes: mpv's output cannot be opened (deterministically: a pcm
    file in a folder that is not there), and mpv is made to reopen it now."""
    rig.player._mpv["ao-pcm-file"] = "/nonexistent/headunit/out.wav"
    rig.player._mpv["ao"] = "pcm"
    rig.player._mpv.command("ao-reload")


def bring_the_output_back(rig) -> None:  # type: ignore[no-untyped-def]
    rig.player._mpv["ao"] = "null"


async def test_an_output_that_keeps_failing_shows_paused_once_and_plays_on_where_it_was(
    make_rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await make_rig(make_album(tmp_path / "long", ["One", "Two"], seconds=20))
    await playing(rig, "One")
    await async_wait_for(lambda: rig.controller.position() > 1.5, what="One past 1.5 s")
    caplog.set_level(logging.INFO, logger="headunit")
    shown = len(rig.recorder.states)
    fail_the_output(rig)
    await async_wait_for(lambda: rig.controller.state.status is Status.PAUSED, what="Paused")
    lost_at = rig.controller.position()
    await asyncio.sleep(3.5)  # three retries, each refused
    assert rig.controller.state.status is Status.PAUSED
    assert rig.controller.position() == lost_at  # held where the sound was lost
    bring_the_output_back(rig)
    await async_wait_for(
        lambda: (
            rig.controller.state.status is Status.PLAYING
            and rig.controller.position() > lost_at + 0.3
        ),
        BACK_WITHIN,
        "playing on after the output's return",
    )
    assert title(rig) == "One"
    assert rig.controller.position() < lost_at + 3  # from where it was, not the top
    # Paused once for the whole outage: MPRIS and the backend saw no flapping.
    assert statuses(rig.recorder.states[shown:]) == [Status.PAUSED, Status.PLAYING]
    ours = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "headunit.mpv"]
    assert len(ours) == 1, [r.getMessage() for r in ours]
    said = [r.getMessage() for r in caplog.records if r.name == "headunit.mpv"]
    assert any("Failed to open /nonexistent/headunit/out.wav" in line for line in said)
    assert len(said) == len(set(said)), said  # each distinct line once a minute at most


async def test_a_return_whose_position_never_advances_is_not_sound(
    make_rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mpv reopens the output and restarts playback, but the stream does not move (a
    server that never links it): still Paused, still where it was, and retried until
    the position advances."""
    frozen = threading.Event()
    passed_on = mpvbridge.Bridge._time

    def time_pos(bridge: mpvbridge.Bridge, name: str, value: float | None) -> None:
        if not frozen.is_set():
            passed_on(bridge, name, value)

    monkeypatch.setattr(mpvbridge.Bridge, "_time", time_pos)
    rig = await make_rig(make_album(tmp_path / "long", ["One", "Two"], seconds=20))
    await playing(rig, "One")
    await async_wait_for(lambda: rig.controller.position() > 1.5, what="One past 1.5 s")
    shown = len(rig.recorder.states)
    fail_the_output(rig)
    await async_wait_for(lambda: rig.controller.state.status is Status.PAUSED, what="Paused")
    lost_at = rig.controller.position()
    frozen.set()
    frozen_at = time.monotonic()
    bring_the_output_back(rig)
    await asyncio.sleep(core.OUTPUT_OPEN_TIMEOUT + 1.5)  # a retry "plays", silently
    assert rig.controller.state.status is Status.PAUSED
    assert rig.controller.position() == lost_at
    frozen.clear()
    # mpv's clock ran on unseen while frozen: the retry then under way, started from
    # where the sound was lost, may have played that long (a starved machine's ticks
    # come late, so it need not have been timed out yet).
    hidden = time.monotonic() - frozen_at
    await async_wait_for(
        lambda: rig.controller.state.status is Status.PLAYING,
        core.OUTPUT_OPEN_TIMEOUT + BACK_WITHIN,
        "playing once the position advances",
    )
    assert statuses(rig.recorder.states[shown:]) == [Status.PAUSED, Status.PLAYING]
    assert lost_at <= rig.controller.position() < lost_at + hidden + 3


@pytest.mark.watchdog_recovers
async def test_the_watchdog_reloads_a_file_mpv_dropped_where_it_was(
    make_rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """mpv stops behind the player's back (as if its file vanished without a word): the
    player means to play, mpv is idle. Within the watchdog's patience and a tick, the
    file plays again from where it was heard last, with one warning, counted."""
    rig = await make_rig(make_album(tmp_path / "long", ["One", "Two"], seconds=20))
    await playing(rig, "One")
    await async_wait_for(lambda: rig.controller.position() > 1.5, what="One past 1.5 s")
    rig.player._mpv.command("stop")
    await async_wait_for(lambda: rig.player.watchdog_recoveries == 1, within=5, what="recovery")
    await async_wait_for(lambda: rig.controller.position() > 2.0, what="One playing again")
    assert (title(rig), rig.controller.state.status) == ("One", Status.PLAYING)
    assert rig.controller.position() < 5  # from where it was, not from the top of Two
    (warning,) = [r for r in caplog.records if r.name == "headunit.player.watchdog"]
    assert "mpv idle" in warning.getMessage()


async def short_ends_as_a_jump_comes(  # type: ignore[no-untyped-def]
    make_rig, folder: Path, monkeypatch: pytest.MonkeyPatch, to: int
):
    """Long then Short, the last track, playing; as Short ends, a jump to entry `to`
    (0: Long, 1: Short) is put in the inbox before the player hears of the end (a
    driver's press in the same instant). Returns the rig once the end has come, and
    the reasons of every end-file from then on, as mpv gives them."""
    make_tone(folder / "1 Long.flac", 30, tags={"TITLE": "Long"})
    make_tone(folder / "2 Short.flac", 1.5, tags={"TITLE": "Short"})
    rig = await make_rig([folder])
    player = rig.player
    await playing(rig, "Long")
    ids = player.queue().ids
    await run(rig, CommandName.JUMP, ids[1])
    await playing(rig, "Short")
    handle, ends = transitions.on_event, []

    def jump_in_between(on: Any, event: dict[str, Any]) -> None:
        if event.get("event") == "end-file":
            if event.get("reason") == "eof" and not ends:
                done = asyncio.get_running_loop().create_future()
                player._inbox.put_nowait(Call(Command(CommandName.JUMP, ids[to]), done))
            if ends or event.get("reason") == "eof":
                ends.append(event.get("reason"))
        handle(on, event)

    monkeypatch.setattr(transitions, "on_event", jump_in_between)
    await async_wait_for(lambda: ends, what="Short's end")
    return rig, ends


async def test_a_command_between_a_track_s_end_and_its_next_step_wins(
    make_rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Short, the last track, ends while a jump to Long is already in the inbox (a
    driver's press, or a re-plugged stick's resume, in the same instant): Long plays on.
    Before, the step the end asked for came after the jump and went from Long to Short
    (a SIGKILL resume and a re-plug resume of bench/soak.py landed a track further on)."""
    rig, _ = await short_ends_as_a_jump_comes(make_rig, tmp_path / "q", monkeypatch, to=0)
    await playing(rig, "Long")
    await asyncio.sleep(2.0)  # where the stale step would have gone on to Short
    assert title(rig) == "Long"
    assert rig.recorder.titles()[-3:] == ["Long", "Short", "Long"]


async def test_a_jump_to_the_track_that_just_ended_plays_it_again(
    make_rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Short, the last track, ends while a jump to Short itself is already in the inbox
    (the driver picks it again from the list as it ends): Short plays again. Before, the
    step the end asked for was stale only once another entry was loaded; Short reloaded
    was the same entry, so the step went past it to the end of the queue and stopped."""
    rig, ends = await short_ends_as_a_jump_comes(make_rig, tmp_path / "q", monkeypatch, to=1)
    await async_wait_for(lambda: len(ends) > 1, what="the reloaded Short's end")
    assert ends[:2] == ["eof", "eof"]  # played to its end again, not stopped ("stop")
    await async_wait_for(lambda: rig.controller.state.status is Status.STOPPED)


async def test_two_opens_in_quick_succession_play_the_one_sent_last(
    make_rig, album: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver picks a big folder, then at once a song: the song plays, although the
    folder's walk ends last. Before, each open joined the inbox when its walk ended, so
    the folder, sent first, replaced the song the driver chose after it."""
    big = make_album(tmp_path / "Big", ["Big One", "Big Two"])
    song = make_tone(tmp_path / "song.flac", 30, tags={"TITLE": "Song"})
    walk, walking, finish = commands.expand, threading.Event(), threading.Event()

    def slow_walk(uri: str, *args: Any) -> list[str]:
        if "Big" in uri:
            walking.set()
            finish.wait(30)  # a folder of thousands of files on a slow stick
        return walk(uri, *args)

    monkeypatch.setattr(commands, "expand", slow_walk)
    rig = await make_rig(album)
    await playing(rig, "One")
    folder = asyncio.create_task(run(rig, CommandName.OPEN, big[0].parent.as_uri()))
    await async_wait_for(walking.is_set, what="the folder's walk begun")
    chosen = asyncio.create_task(run(rig, CommandName.OPEN, song.as_uri()))
    await asyncio.sleep(1.0)  # the song's walk has long ended; the folder's has not
    finish.set()
    await asyncio.gather(folder, chosen)
    await playing(rig, "Song")
    await asyncio.sleep(1.0)  # where the folder, joining last, took over
    assert title(rig) == "Song"
