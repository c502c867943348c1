"""The resume store on disk, and how a saved state meets the media found at start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headunit.model import LoopMode
from headunit.resume import PULLED_KEPT, ResumePoint, ResumeState, StaleState, elsewhere, plan
from headunit.store import Store, decode, encode, encode_queue


def saved(uris: list[str], current: int, **kw) -> ResumeState:  # type: ignore[no-untyped-def]
    return ResumeState(uris=uris, order=list(range(len(uris))), position_in_order=current, **kw)


def files(tmp_path: Path, *names: str) -> list[str]:
    paths = []
    for name in names:
        (tmp_path / name).write_bytes(b"")
        paths.append(str(tmp_path / name))
    return paths


def test_round_trip_and_permissions(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    state = saved(
        ["/a.flac", "http://radio/x"],
        1,
        position=12.5,
        volume=40.0,
        shuffle=True,
        loop=LoopMode.PLAYLIST,
        paused=True,
    )
    store.save(state)
    assert store.load() == state
    assert (store.path.stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"\xff\xfe",
        b"[]",
        b'{"version": 99}',
        json.dumps({"version": 1, "uris": ["a"], "order": [3], "position_in_order": 0}).encode(),
    ],
)
def test_a_corrupt_file_is_set_aside_never_a_crash(tmp_path: Path, content: bytes, caplog) -> None:
    store = Store(tmp_path)
    store.path.write_bytes(content)
    assert store.load() is None
    assert not store.path.exists()
    assert len(list(tmp_path.glob("state.json.*.bad"))) == 1
    assert "set aside" in caplog.text


def test_numbers_are_sanitised_on_load() -> None:
    doc = json.loads(encode(saved(["/a"], 0)))
    doc.update(position=-5, volume=400)
    state = decode(json.dumps(doc).encode(), encode_queue(saved(["/a"], 0)))
    assert state.position == 0
    assert state.volume == 100


def test_playing_rewrites_only_the_small_record_and_the_queue_when_it_changes(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path)
    uris = [f"/usb/{n:05d}.flac" for n in range(20_000)]
    store.save(saved(uris, 7, position=1.0))
    written = store.queue_path.stat().st_mtime_ns, store.queue_path.stat().st_ino
    store.save(saved(list(uris), 7, position=6.0))  # a periodic save while playing
    assert (store.queue_path.stat().st_mtime_ns, store.queue_path.stat().st_ino) == written
    assert store.path.stat().st_size < 400
    store.save(saved([*uris, "/usb/new.flac"], 8, position=0.0))
    assert Store(tmp_path).load() == saved([*uris, "/usb/new.flac"], 8, position=0.0)


def test_a_cut_between_the_queue_and_the_state_write_finds_the_track_by_uri(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path)
    store.save(saved(["/a", "/b", "/c"], 1, position=9.0))
    # The queue changed (an entry before the current one went), the state not yet.
    store.queue_path.write_bytes(encode_queue(saved(["/b", "/c"], 0)))
    state = Store(tmp_path).load()
    assert state is not None
    assert (state.current_uri, state.position) == ("/b", 9.0)


def test_a_state_of_version_1_still_loads(tmp_path: Path) -> None:
    doc = {
        "version": 1, "uris": ["/a", "/b"], "order": [1, 0], "position_in_order": 1,
        "position": 4.0, "volume": 50, "shuffle": True, "loop": "none", "paused": False,
    }  # fmt: skip
    (tmp_path / "state.json").write_text(json.dumps(doc))
    state = Store(tmp_path).load()
    assert state is not None
    assert (state.current_uri, state.position, state.shuffle) == ("/a", 4.0, True)


def test_the_interrupted_mark_round_trips_and_older_files_load_without_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save(saved(["/a"], 0, interrupted=True))
    assert store.load() == saved(["/a"], 0, interrupted=True)
    doc = json.loads((tmp_path / "state.json").read_text())
    del doc["interrupted"]  # as written before the mark existed
    (tmp_path / "state.json").write_text(json.dumps(doc))
    loaded = Store(tmp_path).load()
    assert loaded is not None
    assert not loaded.interrupted


def test_pulled_tracks_round_trip_reach_the_plan_and_older_files_load_without_them(
    tmp_path: Path,
) -> None:
    """A stick pulled while the queue played on: where its track was survives a power
    cut, for a re-plug to resume it."""
    a, b = files(tmp_path, "a.flac", "b.flac")
    point = ResumePoint("/media/usb/Album/2 Two.flac", 42.5)
    store = Store(tmp_path / "state")
    store.save(saved([a, b], 1, pulled=(point,)))
    loaded = store.load()
    assert loaded is not None
    assert loaded.pulled == (point,)
    assert plan(loaded, [a, b], "play").pulled == (point,)
    doc = json.loads((tmp_path / "state" / "state.json").read_text())
    del doc["pulled"]  # as written before pulled tracks were kept
    (tmp_path / "state" / "state.json").write_text(json.dumps(doc))
    older = Store(tmp_path / "state").load()
    assert older is not None
    assert older.pulled == ()
    back = ResumePoint(a, 3.0)  # plugged back while the car was off
    assert plan(saved([a, b], 1, pulled=(back, point)), [a, b], "play").pulled == (point,)


def test_a_state_interrupted_by_another_source_resumes_paused(tmp_path: Path) -> None:
    a, b = files(tmp_path, "a.flac", "b.flac")
    result = plan(saved([a, b], 1, position=30.0, interrupted=True), [a, b], "play")
    assert (result.queue.current.uri, result.position, result.paused) == (b, 30.0, True)


def test_resume_continues_the_saved_track_and_appends_new_media(tmp_path: Path) -> None:
    a, b, c, new = files(tmp_path, "a.flac", "b.flac", "c.flac", "new.flac")
    state = ResumeState(
        uris=[a, b, c],
        order=[2, 0, 1],
        position_in_order=1,
        position=33.0,
        volume=55.0,
        shuffle=True,
        loop=LoopMode.TRACK,
    )
    result = plan(state, [a, b, c, new], "play")
    assert result.queue.current.uri == a
    assert result.position == 33.0
    assert result.queue.uris == [a, b, c, new]
    assert result.queue.order == [2, 0, 1, 3]
    assert (result.queue.shuffled, result.loop, result.paused) == (True, LoopMode.TRACK, False)
    assert plan(state, [a, b, c], "pause").paused


def test_resume_drops_vanished_files_but_keeps_streams(tmp_path: Path) -> None:
    a, b = files(tmp_path, "a.flac", "b.flac")
    state = saved([str(tmp_path / "gone.flac"), "http://radio/x", a, b], 3, position=5.0)
    result = plan(state, [a, b], "play")
    assert result.queue.uris == ["http://radio/x", a, b]
    assert result.queue.current.uri == b


def test_resume_off_starts_from_the_top(tmp_path: Path) -> None:
    a, b = files(tmp_path, "a.flac", "b.flac")
    result = plan(saved([a, b], 1, position=30.0, volume=20.0), [a, b], "off")
    assert result.queue.current.uri == a
    assert result.position == 0
    assert result.volume == 20.0  # the volume is still the driver's


def test_a_vanished_current_track_is_stale(tmp_path: Path) -> None:
    (a,) = files(tmp_path, "a.flac")
    with pytest.raises(StaleState, match="is gone"):
        plan(saved([a, "/media/usb/old.flac"], 1), [a], "play")


def test_a_track_away_at_start_plays_what_is_there_and_waits_among_the_pulled(
    tmp_path: Path,
) -> None:
    (a,) = files(tmp_path, "a.flac")
    away = "/media/usb/two.flac"
    state = saved(
        [a, away],
        1,
        position=7.5,
        volume=30.0,
        loop=LoopMode.PLAYLIST,
        pulled=(ResumePoint(away, 2.0), ResumePoint("/media/old/x.flac", 4.0)),
    )
    result = elsewhere(state, [a], "play")
    assert result.queue.current.uri == a
    assert (result.position, result.volume, result.loop, result.paused) == (
        0.0,
        30.0,
        LoopMode.PLAYLIST,
        False,
    )
    # One point per track, the newest last: where it was when the power went.
    assert result.pulled == (ResumePoint("/media/old/x.flac", 4.0), ResumePoint(away, 7.5))


def test_pulled_tracks_kept_are_the_newest(tmp_path: Path) -> None:
    (a,) = files(tmp_path, "a.flac")
    older = tuple(ResumePoint(f"/media/usb{i}/t.flac", float(i)) for i in range(PULLED_KEPT))
    state = saved([a, "/media/now/t.flac"], 1, pulled=older)
    result = elsewhere(state, [a], "pause")
    assert result.paused
    assert len(result.pulled) == PULLED_KEPT
    assert result.pulled[0] == older[1]
    assert result.pulled[-1].uri == "/media/now/t.flac"
