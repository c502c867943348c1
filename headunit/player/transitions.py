"""What the player does on mpv's word (its events and properties) and on a tag read.

Each function here is one transition of the actor (`actor.py`), run from its one task:
it reads the player's state and commands mpv with no `await` in between. What mpv's
events mean for our entries is decided by the load state machine (`loading.py`); its
effects are carried out here with the player's moves (`core.py`): a file confirmed and
announced, mpv gone on into the next one, a file skipped, an output lost, a file held
while its media is away.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from headunit.media import is_stream
from headunit.model import CommandError
from headunit.player import loading, pull
from headunit.player.core import OUTPUT_OPEN_TIMEOUT, OUTPUT_RETRY_SECONDS, PlayerCore
from headunit.player.inbox import Checked, Go
from headunit.player.loading import Effect, Notice, Phase
from headunit.player.playqueue import Entry
from headunit.resume import ResumePoint
from headunit.state import TrackInfo

log = logging.getLogger(__name__)

# Seconds between checks of a held entry's file (a stick that answers again in place).
RECHECK_SECONDS = 2.0
# The fields of a shown track its tags give (the rest mpv tells once the file is open).
_FROM_TAGS = ("title", "artist", "album", "album_artist", "genre", "track_number", "disc_number")


def on_event(player: PlayerCore, event: dict[str, Any]) -> None:
    kind = event.get("event")
    loader = player._loader
    effects: list[Effect] = []
    if kind == "seek":
        loader.on_seek()
    elif kind == "playback-restart":
        effects = loader.on_playback_restart()
    elif kind == "start-file":
        effects = loader.on_start_file(int(event.get("playlist_entry_id") or 0))
    elif kind == "file-loaded":
        effects = loader.on_file_loaded()
    elif kind == "end-file":
        if event.get("reason") == "eof":
            # It played to its end: a file shorter than the wait for its tags is
            # announced by its name now, or a client never learns it played.
            player._show(ended=True)
        effects = loader.on_end_file(
            int(event.get("playlist_entry_id") or 0),
            str(event.get("reason")),
            _text(event.get("file_error")),
            event.get("heard"),
            _length(player),
            int(event.get("playlist_insert_id") or 0),
        )
    if kind != "end-file" or loader.phase is not Phase.OUTPUT_LOST:
        player._watchdog.progress(time.monotonic())
    if kind in ("start-file", "end-file"):
        player._heard = None  # a new file's time, or none
    carry_out(player, effects)


def on_heard(player: PlayerCore, position: float) -> None:
    if position != player._heard and player._loader.confirmed:
        player._watchdog.progress(time.monotonic())
    player._heard = position
    carry_out(player, player._loader.on_heard(position))


def carry_out(player: PlayerCore, effects: list[Effect]) -> None:
    for effect in effects:
        _effect(player, effect)


def _effect(player: PlayerCore, effect: Effect) -> None:
    match effect:
        case Notice.OPENED:
            player._update_track(media_type=player._loaded_media_type())
            player._refresh_next()
        case Notice.SEEKED:
            player._seeked()
        case Notice.ALL_BROKEN:  # each entry failed in a row
            player._stop_broken(list(dict.fromkeys(e.uri for e in player._queue.in_order())))
        case Notice.OUTPUT_BACK:
            log.info("audio output back: playing on")
            player._retry_at, player._open_timeout = None, OUTPUT_OPEN_TIMEOUT
            player._publish()
        case Notice.NEXT:
            player._inbox.put_nowait(Go(1, player._loader.current))
        case loading.Started(entry):
            _confirm(player, entry, player._queue.find(entry.id))
        case loading.SeekTo(seconds):
            _apply_pending_seek(player, seconds)
        case loading.WentOn(entry):
            _went_on(player, entry)
        case loading.Skipped(entry, error, direction):
            log.warning("skipped %s: %s", entry.uri, error)
            player._infos.pop(entry.uri, None)
            player._broken.add(entry.uri)
            if direction:
                player._inbox.put_nowait(Go(direction, player._loader.current))
        case loading.OutputLost():
            _output_lost(player, effect)
        case loading.EndedShort(entry, position):
            player._cut = (ResumePoint(entry.uri, position), time.monotonic())
        case loading.Check(entry):
            _check(player, entry)
        case loading.Held():
            _hold(player, effect)
        case loading.Reload(entry, position):
            _reload(player, entry, position)


def _confirm(player: PlayerCore, entry: Entry, pos: int | None) -> None:
    """mpv has `entry`: the queue moves there, and it is announced when its tags
    are known."""
    if pos is None:
        return  # a rescan took it out meanwhile; the rescan has moved on
    player._queue.go(pos)
    player._confirmed_at = time.monotonic()
    player._show()


def _went_on(player: PlayerCore, entry: Entry) -> None:
    """mpv went on into the next entry by itself: it is current, announce it."""
    pos = player._step_from(player._queue.position, 1)
    if pos is None or player._queue.entry_at(pos) is not entry:
        # The queue changed as the file ended: play what it says comes next.
        player._advance(1, user=False)
        return
    _confirm(player, entry, pos)


def _apply_pending_seek(player: PlayerCore, seconds: float) -> None:
    try:
        player._seek_to(seconds)
    except CommandError as exc:
        log.warning("could not seek to %.1f s: %s", seconds, exc)


def _output_lost(player: PlayerCore, lost: loading.OutputLost) -> None:
    """Not a broken file: keep the entry and its position, and try again soon."""
    if lost.first:
        log.warning(
            "audio output %r failed: keeping %s at %.1f s, retrying every %g s",
            player._config.audio_output,
            lost.entry.uri,
            lost.position,
            OUTPUT_RETRY_SECONDS,
        )
    halt_for_retry(player)


def halt_for_retry(player: PlayerCore) -> None:
    if player._mpv is not None:
        player._mpv.command("stop")  # or mpv would try the rest of its playlist
    player._publish()
    player._retry_at = time.monotonic() + OUTPUT_RETRY_SECONDS


def _check(player: PlayerCore, entry: Entry) -> None:
    """The file failed: is it broken, or did its stick go? Nothing is tried until
    the answer comes (mpv would go on into the next entry, maybe on that stick)."""
    if player._mpv is not None:
        player._mpv.command("stop")
    read_once = entry.uri in player._read_once
    player._tasks.spawn(_check_file(player, entry, read_once), "player-check")


async def _check_file(player: PlayerCore, entry: Entry, read_once: bool) -> None:
    try:
        found = await asyncio.to_thread(pull.check, entry.uri)
    except Exception:
        # Never left waiting for an answer: a check that could not be made counts as a
        # file that cannot be read, held, then given up (`timer.py`) if it stays so.
        log.exception("checking %s failed", entry.uri)
        found = pull.Found.UNREADABLE
    player._inbox.put_nowait(Checked(entry, pull.vanished(found, read_once)))


def _hold(player: PlayerCore, held: loading.Held) -> None:
    """The file went with its media: keep entry and position (the saved state keeps
    them too) until the hot-plug rescan says what is left, or the file answers (or,
    after a while, the player gives up on its medium: `timer.py`)."""
    now = time.monotonic()
    if held.first:
        log.warning(
            "%s cannot be read: holding it at %.1f s for its media",
            held.entry.uri,
            held.position,
        )
        player._held_since = now
        player._publish()
    player._recheck_at = now + RECHECK_SECONDS


def _reload(player: PlayerCore, entry: Entry, position: float) -> None:
    pos = player._queue.find(entry.id)
    if pos is not None:
        log.info("%s can be read again: playing on at %.1f s", entry.uri, position)
        player._load(pos, start=position)


def _length(player: PlayerCore) -> float | None:
    """The current entry's length, from what is shown or its tags."""
    entry, track = player._loader.entry, player._state.track
    if entry is None:
        return None
    if track is not None and track.entry_id == entry.id and track.duration:
        return track.duration
    info = player._infos.get(entry.uri)
    return info.duration if info else None


def on_property(player: PlayerCore, name: str, value: Any) -> None:
    if name == "idle-active":
        player._idle = bool(value)
        return
    elif name == "metadata" and value and is_stream(getattr(player._loader.entry, "uri", "")):
        _stream_title(player, value)
        return
    elif name == "duration" and value and player._state.track and not player._state.track.duration:
        # Tags gave no length (a stream, a raw file): mpv's is news. Where tags gave
        # one, mpv's slightly different figure would re-announce the same track.
        player._update_track(duration=float(value))
        return
    player._publish()


def _stream_title(player: PlayerCore, metadata: dict[str, Any]) -> None:
    lowered = {str(k).lower(): v for k, v in metadata.items()}
    title = lowered.get("icy-title") or lowered.get("title")
    if title and player._state.track and title != player._state.track.title:
        player._update_track(title=str(title))


def on_tags(player: PlayerCore, uri: str, info: TrackInfo, final: bool) -> None:
    player._reading.discard(uri)
    # A failed read (a pulled stick) is not kept as final: its name stands in, and
    # the tags are read again when a rescan finds the file (a re-plugged stick).
    if final or uri not in player._infos:
        player._infos[uri] = info
    if final:
        player._read_once.add(uri)
    if not final:
        player._unsure.add(uri)
    shown = player._state.track
    if final and shown is not None and shown.uri == uri and not is_stream(uri):
        # Its name stood in while the tags were slow: now the tags. What mpv said
        # of the file (media type, a stream's title and length) stays.
        player._update_track(**{name: getattr(info, name) for name in _FROM_TAGS})
    player._show()
    player._publish()


def _text(value: object) -> str | None:
    return None if value is None else str(value)
