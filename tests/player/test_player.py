"""The real player: libmpv (ao=null) playing generated audio, driven through the controller."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from support import async_wait_for, make_album, make_tone

from headunit.config import PlayerConfig
from headunit.media import scan
from headunit.model import Command, CommandError, CommandName, LoopMode
from headunit.player import commands, rescan
from headunit.player.loading import Phase
from headunit.state import Status

pytestmark = pytest.mark.timeout(60)


def title(rig) -> str | None:  # type: ignore[no-untyped-def]
    track = rig.controller.state.track
    return track.title if track else None


async def playing(rig, name: str) -> None:  # type: ignore[no-untyped-def]
    await async_wait_for(
        lambda: title(rig) == name and rig.controller.state.status is Status.PLAYING,
        what=f"{name} playing (now {title(rig)}, {rig.controller.state.status})",
    )


def announced(rig) -> list[str | None]:  # type: ignore[no-untyped-def]
    """The files of the tracks announced, in order, without repeats: unlike their
    titles, the same whether its tags or its name announced a file (one that ended
    before its tags were read, see test_races)."""
    names: list[str | None] = []
    for state in rig.recorder.states:
        name = Path(state.track.uri).name if state.track else None
        if not names or names[-1] != name:
            names.append(name)
    return names


def seen(rig) -> str:  # type: ignore[no-untyped-def]
    """What the player showed and where its load stands, for a failure's message."""
    return (
        f"titles {rig.recorder.titles()}, status {rig.controller.state.status}, "
        f"loader phase {rig.player._loader.phase}"
    )


async def run(rig, name: CommandName, value=None) -> None:  # type: ignore[no-untyped-def]
    await rig.controller.execute(Command(name, value), source="test")


async def test_starts_the_queue_and_plays_it_in_order(make_rig, album: list[Path]) -> None:
    rig = await make_rig([album[0].parent])
    await playing(rig, "One")
    track = rig.controller.state.track
    assert track.artist == ("Test Artist",)
    assert track.album == "Album"
    assert track.track_number == 1
    assert track.duration == pytest.approx(3.0, abs=0.05)
    await run(rig, CommandName.SEEK, 2.5)
    await playing(rig, "Two")  # the end of a track leads to the next


async def test_next_previous_and_the_three_second_rule(make_rig, album: list[Path]) -> None:
    rig = await make_rig(album)
    await playing(rig, "One")
    assert not rig.controller.state.can_previous
    await run(rig, CommandName.NEXT)
    await playing(rig, "Two")
    assert rig.controller.state.can_previous
    await run(rig, CommandName.PREVIOUS)  # within 3 s: the track before
    await playing(rig, "One")
    await run(rig, CommandName.NEXT)
    await playing(rig, "Two")
    rig.player._config = rig.player._config.__class__(  # restart threshold below 3 s tracks
        audio_output="null", previous_restarts_after=1.0
    )
    await run(rig, CommandName.SEEK, 1.5)
    await async_wait_for(lambda: len(rig.recorder.seeks) == 1, what="the seek")
    await run(rig, CommandName.PREVIOUS)  # past the threshold: restart this one
    await async_wait_for(lambda: len(rig.recorder.seeks) == 2, what="the restart")
    assert title(rig) == "Two"
    assert rig.recorder.seeks[-1].position < 0.5


async def test_seek_reports_the_position_reached(make_rig, album: list[Path]) -> None:
    rig = await make_rig(album)
    await playing(rig, "One")
    await run(rig, CommandName.SEEK, 1.25)
    await async_wait_for(lambda: rig.recorder.seeks, what="Seeked")
    # Where it landed, plus what played before the player said so (under qemu, 0.1 s).
    assert 1.15 <= rig.recorder.seeks[0].position <= rig.controller.position()
    await run(rig, CommandName.SEEK_BY, -10)  # before 0 gives 0
    await async_wait_for(lambda: len(rig.recorder.seeks) == 2, what="second Seeked")
    assert rig.recorder.seeks[1].position < 0.3
    await run(rig, CommandName.SEEK_BY, 60)  # past the end acts as next
    await playing(rig, "Two")


async def test_end_of_queue_stops_and_loop_playlist_wraps(make_rig, tmp_path: Path) -> None:
    tracks = make_album(tmp_path / "short", ["A", "B"], seconds=0.6)
    rig = await make_rig(tracks)
    try:
        await async_wait_for(
            lambda: (
                rig.controller.state.status is Status.STOPPED
                and announced(rig)[-2:] == ["2 B.flac", None]
            ),
            what="stop after B",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; saw {seen(rig)}") from None
    assert not rig.controller.state.can_next
    await run(rig, CommandName.LOOP, "playlist")
    assert rig.controller.state.can_next
    await run(rig, CommandName.PLAY)  # from stopped, where it stopped
    await playing(rig, "B")
    await playing(rig, "A")  # wrapped


async def test_loop_track_repeats_the_same_entry(make_rig, tmp_path: Path) -> None:
    tracks = make_album(tmp_path / "loop", ["Only", "Other"], seconds=1.0)
    rig = await make_rig(tracks)
    await playing(rig, "Only")
    entry = rig.controller.state.track.entry_id
    await run(rig, CommandName.LOOP, "track")
    assert rig.controller.state.loop is LoopMode.TRACK
    await async_wait_for(lambda: rig.recorder.seeks, within=5, what="the loop's jump back")
    assert rig.controller.state.track.entry_id == entry
    assert "Other" not in rig.recorder.titles()


async def test_shuffle_keeps_the_current_track_and_plays_each_once(
    make_rig, tmp_path: Path
) -> None:
    names = [f"T{i}" for i in range(8)]
    rig = await make_rig(make_album(tmp_path / "many", names, seconds=2.0))
    await playing(rig, "T0")
    await run(rig, CommandName.SHUFFLE, True)
    assert rig.controller.state.shuffle
    assert title(rig) == "T0"
    seen = ["T0"]
    for _ in range(7):
        before = rig.controller.state.track.entry_id
        await run(rig, CommandName.NEXT)
        await async_wait_for(lambda b=before: rig.controller.state.track.entry_id != b)
        seen.append(title(rig))
    assert sorted(seen) == sorted(names)
    assert not rig.controller.state.can_next
    await run(rig, CommandName.SHUFFLE, False)
    assert title(rig) == seen[-1]  # unshuffling does not change what plays


async def test_broken_and_missing_files_are_skipped_in_the_direction_of_travel(
    make_rig, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    make_tone(folder / "1 good.flac", 3, tags={"TITLE": "Good"})
    (folder / "2 broken.mp3").write_bytes(b"\x00not audio at all" * 100)
    make_tone(folder / "3 fine.flac", 3, tags={"TITLE": "Fine"})
    playlist = tmp_path / "list.m3u"
    playlist.write_text(
        f"{folder}/1 good.flac\n{folder}/2 broken.mp3\n/gone/missing.flac\n{folder}/3 fine.flac\n"
    )
    rig = await make_rig([playlist])
    await playing(rig, "Good")
    await run(rig, CommandName.NEXT)
    await playing(rig, "Fine")  # past the broken and the missing one
    await run(rig, CommandName.PREVIOUS)
    await playing(rig, "Good")  # past them again, backwards: not back to Fine
    assert rig.controller.state.status is Status.PLAYING


async def test_a_broken_file_in_a_looping_queue_is_tried_once_not_on_every_pass(
    make_rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """mpv opens (and prefetches) a broken file once; then the loop passes over it, and
    never holds it in its playlist again (each prefetch of it kept memory)."""
    folder = tmp_path / "loop"
    make_tone(folder / "1 one.flac", 1, tags={"TITLE": "One"})
    broken = folder / "2 broken.flac"
    broken.write_bytes(b"\x00not audio at all" * 1000)
    make_tone(folder / "3 three.flac", 1, tags={"TITLE": "Three"})
    rig = await make_rig([folder])
    await run(rig, CommandName.LOOP, "playlist")
    shown: list[str] = []
    held: list[list[str]] = []  # mpv's playlist each time it held the broken file

    def passes() -> int:
        name = title(rig)
        if name and (not shown or shown[-1] != name):
            shown.append(name)
        names = [str(e.get("filename")) for e in rig.player._mpv.playlist]
        if str(broken) in names and shown.count("Three"):
            held.append(names)  # after its skip (on the way to Three, the first time)
        return shown.count("One") >= 3

    await async_wait_for(passes, within=30, what=f"three passes (seen {shown})")
    skipped = [r for r in caplog.records if r.getMessage().startswith("skipped ")]
    assert [r.getMessage().split(":")[0] for r in skipped] == [f"skipped {broken}"]
    assert held == []
    assert shown.count("2 broken") <= 1  # by its name, while mpv tried it the first time
    assert [name for name in shown if name != "2 broken"][:5] == ["One", "Three"] * 2 + ["One"]


async def test_title_from_file_name_without_tags(make_rig, tmp_path: Path) -> None:
    path = make_tone(tmp_path / "07 - Untagged Song.wav", 2)
    rig = await make_rig([path])
    await playing(rig, "07 - Untagged Song")
    track = rig.controller.state.track
    assert track.artist == ()
    assert track.media_type == "music"


async def test_pause_play_toggle_stop(make_rig, album: list[Path]) -> None:
    rig = await make_rig(album)
    await playing(rig, "One")
    await run(rig, CommandName.PAUSE)
    assert rig.controller.state.status is Status.PAUSED
    paused_at = rig.controller.position()
    await run(rig, CommandName.TOGGLE)
    assert rig.controller.state.status is Status.PLAYING
    assert rig.controller.position() >= paused_at
    await run(rig, CommandName.STOP)
    assert rig.controller.state.status is Status.STOPPED
    assert rig.controller.state.track is None
    assert rig.controller.state.can_play  # the queue is still there
    await run(rig, CommandName.TOGGLE)  # from stopped, starts again
    await playing(rig, "One")


async def test_volume_is_capped_and_bad_commands_are_refused(make_rig, album: list[Path]) -> None:
    rig = await make_rig(album, volume_max=80, startup_volume_max=50)
    await playing(rig, "One")
    assert rig.controller.state.volume == 50  # the start-up cap
    await run(rig, CommandName.VOLUME, 100)
    assert rig.controller.state.volume == 80
    with pytest.raises(CommandError):
        await run(rig, CommandName.OPEN, "ftp://example.invalid/x.mp3")
    with pytest.raises(CommandError):
        await run(rig, CommandName.OPEN, "/nowhere/at/all.flac")
    assert rig.controller.state.status is Status.PLAYING  # nothing was lost


async def test_open_plays_a_file_next_in_the_queue(make_rig, album: list[Path], tmp_path: Path):
    extra = make_tone(tmp_path / "extra.flac", 2, tags={"TITLE": "Extra"})
    rig = await make_rig(album)
    await playing(rig, "One")
    await run(rig, CommandName.OPEN, extra.as_uri())
    await playing(rig, "Extra")
    assert rig.controller.state.queue_length == 5
    await run(rig, CommandName.NEXT)
    await playing(rig, "Two")  # the queue goes on where it was


async def test_state_changes_are_reported_once(make_rig, album: list[Path]) -> None:
    rig = await make_rig(album)
    await playing(rig, "One")
    count = len(rig.recorder.states)
    await run(rig, CommandName.PAUSE)
    await run(rig, CommandName.PAUSE)  # no change: no report
    await async_wait_for(lambda: len(rig.recorder.states) > count)
    assert all(changes for changes in rig.recorder.changes)
    assert [c for c in rig.recorder.changes[count:] if "status" in c] == [frozenset({"status"})]


async def test_cover_art_is_not_a_video_track(make_rig, tmp_path: Path) -> None:
    from support import embed_cover

    song = embed_cover(make_tone(tmp_path / "covered.flac", 3, tags={"TITLE": "Covered"}))
    rig = await make_rig([song])
    await playing(rig, "Covered")
    await async_wait_for(lambda: rig.player._loader.phase is Phase.PLAYING, what="the file open")
    await asyncio.sleep(0.1)
    assert rig.controller.state.track.media_type == "music"
    assert any(t.get("albumart") for t in rig.player._mpv.track_list)  # mpv saw the cover


async def test_the_embedded_cover_is_offered_as_a_file_uri(make_rig, tmp_path: Path) -> None:
    from support import embed_cover

    song = embed_cover(make_tone(tmp_path / "covered.flac", 3, tags={"TITLE": "Covered"}))
    rig = await make_rig([song])
    await playing(rig, "Covered")
    art = rig.controller.state.track.art_url
    assert art is not None
    assert art.startswith("file://")
    assert Path(art.removeprefix("file://")).read_bytes().startswith(b"\x89PNG")


async def test_a_seek_after_quick_skips_lands_in_the_new_track_however_mpv_times_them(
    make_rig, album: list[Path]
) -> None:
    """A driver skips twice and scrubs at once. Whether the seek reaches the player
    before mpv has opened Three, or after, is mpv's timing, not the test's: either way it
    must land in Three at 1.5 s, never in the old file. The loop is blocked while Two
    opens so the old file's events come late, and four runs make the early case likely;
    they cannot make it certain, so this checks the outcome, not that the race happened."""
    for _ in range(4):
        rig = await make_rig(album)
        await playing(rig, "One")
        await run(rig, CommandName.NEXT)
        time.sleep(0.2)  # the loop is busy while mpv opens Two: its file-loaded waits
        await run(rig, CommandName.NEXT)  # Three
        await run(rig, CommandName.SEEK, 1.5)  # before Three is open: done once it is
        await async_wait_for(lambda r=rig: r.recorder.seeks, within=5, what="the seek")
        assert title(rig) == "Three"
        assert rig.recorder.seeks[-1].position == pytest.approx(1.5, abs=0.25)
        await rig.player.close()


async def test_up_next_lists_the_following_entries_and_jump_plays_one(
    make_rig, album: list[Path]
) -> None:
    rig = await make_rig(album)
    await playing(rig, "One")

    def titles() -> list[str]:
        return [item.title for item in rig.controller.state.up_next]

    await async_wait_for(lambda: titles() == ["Two", "Three", "Four"], what="Up next")
    assert rig.controller.state.up_next[0].artist == "Test Artist"
    four = rig.controller.state.up_next[2].entry_id
    await run(rig, CommandName.JUMP, four)
    await playing(rig, "Four")
    assert titles() == []
    with pytest.raises(CommandError, match="no queue entry 999999"):
        await run(rig, CommandName.JUMP, 999999)
    assert title(rig) == "Four"


async def test_what_follows_a_track_by_itself_follows_shuffle_and_loop_changes(
    make_rig, tmp_path: Path
) -> None:
    """The next file waits in mpv's playlist; turning shuffle on or loop off while a
    track plays changes what comes after it, as the queue says."""
    names = [f"S{i}" for i in range(6)]
    rig = await make_rig(make_album(tmp_path / "six", names, seconds=1.5))
    await playing(rig, "S0")
    await run(rig, CommandName.SHUFFLE, True)
    order = rig.player._queue.order
    assert order[0] == 0
    await playing(rig, names[order[1]])  # by itself, at the end of S0
    assert rig.recorder.titles()[-2:] == ["S0", names[order[1]]]
    await run(rig, CommandName.SHUFFLE, False)  # S(order[1]) is followed by its neighbour
    after = names[order[1] + 1] if order[1] + 1 < len(names) else None
    await async_wait_for(lambda: rig.recorder.titles()[-1] == after, what=f"then {after}")


async def test_a_reload_applies_replaygain_without_stopping(make_rig, album: list[Path]) -> None:
    rig = await make_rig(album)
    await playing(rig, "One")
    new = PlayerConfig(audio_output="null", replaygain="album", replaygain_preamp=3.0)
    rig.player.reconfigure(new)
    assert (rig.player._mpv["replaygain"], rig.player._mpv["replaygain-preamp"]) == ("album", 3.0)
    await playing(rig, "One")


def broken(*_args: object) -> None:
    """A transition with a bug (injected: nothing in the player fails like this on cue)."""
    raise RuntimeError("a bug")


async def test_a_command_the_player_fails_at_is_answered_and_the_next_one_runs(
    make_rig, album: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its caller hears of it instead of waiting for ever (a D-Bus call that times out,
    a phone's command that never returns), and the player goes on."""
    rig = await make_rig(album)
    await playing(rig, "One")
    monkeypatch.setitem(commands.HANDLERS, CommandName.PAUSE, broken)
    with pytest.raises(CommandError, match="a bug"):
        await run(rig, CommandName.PAUSE)
    monkeypatch.undo()
    await run(rig, CommandName.PAUSE)
    assert rig.controller.state.status is Status.PAUSED


async def test_a_rescan_the_player_fails_at_still_returns(
    make_rig, album: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Or the daemon's next rescan (a stick plugged in) would wait for it for ever."""
    rig = await make_rig(album)
    await playing(rig, "One")
    monkeypatch.setattr(rescan, "rescanned", broken)
    await rig.player.media_changed(scan([str(album[0].parent)]), {})
    monkeypatch.undo()
    await rig.player.media_changed(scan([str(album[0].parent)]), {})
    await playing(rig, "One")


async def test_when_every_file_left_is_broken_the_player_stops_and_says_so(
    make_rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A looping queue of a broken file and a track whose media goes: nothing is left
    that plays. One line says why the music stopped; the broken file is not tried again."""
    broken = tmp_path / "home" / "1 broken.flac"
    broken.parent.mkdir()
    broken.write_bytes(b"\x00not audio at all" * 1000)
    song = make_tone(tmp_path / "stick" / "Song.flac", 30, tags={"TITLE": "Song"})
    media = [str(broken.parent), str(song.parent)]
    rig = await make_rig(media)
    await run(rig, CommandName.LOOP, "playlist")
    await playing(rig, "Song")  # past the broken file, tried once
    song.unlink()  # its stick pulled
    await rig.player.media_changed(scan(media), {})
    await async_wait_for(
        lambda: rig.controller.state.status is Status.STOPPED, what=f"a stop ({seen(rig)})"
    )
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("headunit")]
    stops = [m for m in messages if "stopped" in m]
    assert stops == [f"every file left in the queue is broken (1: {broken}); stopped"]
    assert len([m for m in messages if m.startswith("skipped")]) == 1
    assert rig.controller.state.track is None


async def test_a_looping_queue_whose_last_good_file_breaks_stops_and_says_so(
    make_rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The one good track is overwritten with junk as it plays: on its next pass it is
    found broken too, and with nothing left to play the player stops with one line."""
    folder = tmp_path / "loop"
    folder.mkdir()
    broken = folder / "1 broken.flac"
    broken.write_bytes(b"\x00not audio at all" * 1000)
    song = make_tone(folder / "2 song.flac", 2, tags={"TITLE": "Song"})
    rig = await make_rig([folder])
    await run(rig, CommandName.LOOP, "playlist")
    await playing(rig, "Song")
    song.write_bytes(b"\x00not audio either" * 1000)
    await async_wait_for(
        lambda: rig.controller.state.status is Status.STOPPED, what=f"a stop ({seen(rig)})"
    )
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("headunit")]
    assert [m for m in messages if "stopped" in m] == [
        f"every file left in the queue is broken (2: {broken}, {song}); stopped"
    ]
    assert rig.controller.state.track is None
