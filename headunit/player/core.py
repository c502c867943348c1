"""The player's state, and the moves every transition of the actor is made of.

`PlayerCore` holds what the player knows and intends: the queue, the load state machine
(`loading.py`), the tags read so far, the intent (paused, volume, loop) and the handle
on mpv. Its moves each read that state and command mpv at once, with no `await`: load
an entry (the queue moves there only when mpv's start-file confirms it), step through
the queue over broken files, keep mpv's next entry in its playlist ahead of time for a
gapless join, stop, and publish a fresh snapshot to the controller. A track is
announced once its tags are read, or by its name when they are slow.

Only the actor (`actor.py`) runs these moves, from its one task: the command handlers
(`commands.py`), the transitions on mpv's word (`transitions.py`), on the timer's
(`timer.py`) and on a rescan (`rescan.py`) are made of them. Their underscored names are
this package's own: those modules read and move them; nothing outside `headunit/player/`
does. They import this module, never the other way: the data flows one way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import mpv

from headunit.config import PlayerConfig
from headunit.controller import SnapshotTarget
from headunit.media import is_stream
from headunit.model import CommandError, LoopMode, MediaRef
from headunit.player import snapshot
from headunit.player.inbox import Message, TagsRead
from headunit.player.libmpv import LoadfileSyntax
from headunit.player.loading import Effect, Loader, Phase
from headunit.player.mpvbridge import file_options
from headunit.player.playqueue import Queue
from headunit.player.snapshot import Moment, describe_entry
from headunit.player.tags import placeholder
from headunit.player.watchdog import Watchdog
from headunit.resume import Plan, ResumePoint, ResumeState
from headunit.state import PlayerState, QueueListing, Status, Track, TrackInfo
from headunit.tasks import Background

log = logging.getLogger(__name__)

# Seconds between attempts to open a lost audio output (a restarting sound server).
OUTPUT_RETRY_SECONDS = 1.0
# Seconds a retry may take to bring sound (an open that blocks, a stream never linked)
# before it is stopped and tried again; doubled after each such retry up to the most, so
# a server that links slowly (a busy machine) is not cut off every time just before.
OUTPUT_OPEN_TIMEOUT = 4.0
OUTPUT_OPEN_TIMEOUT_MOST = 16.0
# Seconds a confirmed entry waits for its tags before it is announced by its name.
TAGS_PATIENCE = 2.0
# A loadfile mpv refused has no playlist entry; mpv's own ids start at 1.
_REFUSED = 0


class PlayerCore(SnapshotTarget):
    """The player's state and moves; `actor.Player` adds the inbox that runs them."""

    def __init__(
        self,
        config: PlayerConfig,
        plan: Plan,
        art_dir: Path,
        held: ResumeState | None = None,
        titles: Mapping[str, str] | None = None,
    ) -> None:
        self._config = config
        self._titles = dict(titles or {})  # from playlists, for entries without tags
        # The saved state of media that went away (a pulled stick) while the car is
        # silent because of it: saved as it was, and resumed when the media comes back;
        # forgotten as soon as anything else plays (the pulled track is in `_pulled`).
        self._held = held
        # Where the tracks of pulled media were, while the queue plays on without them:
        # a re-plug resumes its track there (`rescan.py`).
        self._pulled: list[ResumePoint] = list(plan.pulled or (held.pulled if held else ()))
        # A track that ended short of its length, and when: a pull cut it if its media
        # goes a moment later (`rescan.py`).
        self._cut: tuple[ResumePoint, float] | None = None
        self._art_dir = art_dir  # where embedded covers are extracted, once each
        self._queue: Queue = plan.queue
        self._plan = plan
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._open_turn: asyncio.Future[None] | None = None  # done once the last open is queued
        self._tasks = Background(on_done=_log_failure)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._mpv: mpv.MPV | None = None
        self._loadfile = LoadfileSyntax(has_index=False)  # read from the library at start
        self._infos: dict[str, TrackInfo] = {}
        self._reading: set[str] = set()  # URIs whose tags a worker thread reads now
        self._unsure: set[str] = set()  # URIs whose tags could not be read (EIO...)
        self._read_once: set[str] = set()  # URIs whose tags were read: their file existed
        # Files found broken, passed over while their media stays: mpv neither opens nor
        # prefetches them again on each pass of a looping queue.
        self._broken: set[str] = set()
        self._refs: dict[str, MediaRef] = {}  # opened backend media: its id, its credentials
        self._loader = Loader()
        self._watchdog = Watchdog()
        self._paused = plan.paused  # the intent; mpv's pause follows it
        self._volume = 100.0
        self._heard: float | None = None  # mpv's latest time-pos in the current file
        self._idle = True  # mpv's idle-active
        self._confirmed_at = 0.0  # when mpv confirmed the current entry
        self._retry_at: float | None = None  # when to retry a lost output
        self._recheck_at: float | None = None  # when to check a held entry's file again
        self._held_since: float | None = None  # when the held entry's file first failed
        self._attempt_at = 0.0  # when the latest output retry was sent
        self._open_timeout = OUTPUT_OPEN_TIMEOUT
        self._seek_unannounced = False  # a Seeked waiting for its track's announcement
        super().__init__(PlayerState())

    @property
    def watchdog_recoveries(self) -> int:
        """Stalls the watchdog had to repair since start: each one is a bug."""
        return self._watchdog.recoveries

    # -- Target protocol (state and bind come from SnapshotTarget) ------------------

    def position(self) -> float:
        """Read from mpv now, not extrapolated from the last snapshot. While mpv opens a
        file it is where the file was asked to start (reading 0 then would let a save
        right after start-up forget the resume point)."""
        if self._mpv is None:
            return 0.0
        heard = None
        if self._loader.phase in (Phase.PLAYING, Phase.SEEKING, Phase.GOING_ON):
            try:
                heard = self._mpv.time_pos
            except (AttributeError, RuntimeError, mpv.ShutdownError):
                heard = None
        pos = self._loader.position(None if heard is None else float(heard))
        duration = self._state.track.duration if self._state.track else None
        return max(0.0, min(pos, duration) if duration else pos)

    def queue(self) -> QueueListing:
        playing = self._loader.entry is not None
        return snapshot.listing(self._queue, self._infos, self._titles, playing)

    def resume_snapshot(self) -> ResumeState:
        if self._held is not None and self._loader.entry is None:
            return self._held
        return ResumeState(
            uris=self._queue.uris,
            order=self._queue.order,
            position_in_order=self._queue.position,
            position=self.position(),
            volume=self._volume,
            shuffle=self._queue.shuffled,
            loop=self._state.loop,
            paused=self._state.status is Status.PAUSED,
            pulled=tuple(self._pulled),
        )

    def _carry_out(self, effects: list[Effect]) -> None:
        """Act on what the load state machine decided: `actor.Player` hands the effects
        to `transitions.py` (a refused loadfile has some), which this module, imported by
        it, does not import."""
        raise NotImplementedError

    # -- tags --------------------------------------------------------------------------

    def _read_tags(self, uri: str) -> None:
        """Have a worker thread read `uri`'s tags; the result comes back as a message."""
        if uri in self._infos or uri in self._reading:
            return
        self._reading.add(uri)
        self._tasks.spawn(self._read(uri, self._titles.get(uri)), "player-tags")

    async def _read(self, uri: str, title: str | None) -> None:
        try:
            info, final = await asyncio.to_thread(describe_entry, uri, title, self._art_dir)
        except Exception:
            log.exception("reading the tags of %s failed", uri)
            info, final = placeholder(uri, title), False
        self._inbox.put_nowait(TagsRead(uri, info, final))

    def _refresh_next(self) -> None:
        """Keep mpv's next entry what the queue says comes next; read the tags of the
        tracks a skip would go to and of the rest of "Up next"."""
        self._sync_next()
        for direction in (1, -1):
            pos = self._queue.neighbour(direction, self._state.loop)
            if pos is not None:
                self._read_tags(self._queue.entry_at(pos).uri)
        for entry in self._queue.upcoming(snapshot.UP_NEXT):
            self._read_tags(entry.uri)

    def _sync_next(self) -> None:
        """Append the queue's next entry to mpv's playlist, replacing one that is no longer
        next. Not while mpv goes on into it, nor while nothing plays."""
        loader = self._loader
        if self._mpv is None or loader.phase not in (Phase.PLAYING, Phase.SEEKING):
            return
        pos = self._step_from(self._queue.position, 1)
        wanted = None if pos is None else self._queue.entry_at(pos)
        if wanted is not None and is_stream(wanted.uri):
            wanted = None  # a stream is opened when it is reached, not held open ahead
        if (loader.next.entry if loader.next else None) is wanted:
            return
        self._mpv.command("playlist-clear")  # all but the current file
        loader.unappended()
        if wanted is not None:
            options = file_options(0.0, self._refs.get(wanted.uri))
            # append-play: if mpv reached the end of the current file before this came,
            # it is idle and starts the entry (as it would have gone on into it).
            args = self._loadfile.args(wanted.uri, "append-play", options)
            result = self._mpv.command(*args)
            loader.appended(wanted, int(result["playlist_entry_id"]))

    # -- state -------------------------------------------------------------------------

    def _status(self) -> Status:
        if self._loader.entry is None or self._mpv is None:
            return Status.STOPPED
        if self._loader.outage or self._loader.phase is Phase.HELD:
            return Status.PAUSED  # no sound, and it goes on from here when it is back
        return Status.PAUSED if self._paused else Status.PLAYING

    def _loaded_media_type(self) -> str:
        """video only for a real video track: cover art in an audio file is not one."""
        tracks = self._mpv.track_list if self._mpv else None
        for t in tracks or ():
            if t.get("type") == "video" and not t.get("albumart") and not t.get("image"):
                return "video"
        return "music"

    def _publish(self, track: Track | Literal[False] | None = False) -> None:
        """Build a fresh snapshot and hand it to the controller."""
        if track is False:
            track = self._state.track if self._loader.entry is not None else None
        seekable = bool(self._mpv and self._loader.confirmed and self._mpv.seekable)
        moment = Moment(
            self._status(), track, self.position(), self._volume, self._state.loop, seekable
        )
        self._report(snapshot.build(moment, self._queue, self._infos))

    def _show(self, ended: bool = False) -> None:
        """Announce the confirmed entry once its tags are read; by its name when they
        take longer than TAGS_PATIENCE (a stick that no longer answers), or than the
        file (`ended`)."""
        entry = self._queue.current
        if entry is None or not self._loader.confirmed or self._loader.entry is not entry:
            return
        if self._state.track is not None and self._state.track.entry_id == entry.id:
            return
        info = self._infos.get(entry.uri)
        if info is None:
            self._read_tags(entry.uri)
            if not ended and time.monotonic() - self._confirmed_at < TAGS_PATIENCE:
                return
            info = placeholder(entry.uri, self._titles.get(entry.uri))
        self._publish(track=snapshot.track_for(entry, info, self._refs.get(entry.uri)))
        if self._seek_unannounced:
            self._seeked()

    def _seeked(self) -> None:
        """Report the position jump; for an entry not announced yet (its tags on the
        way), once it is: a client must not see a Seeked of the track before."""
        entry, shown = self._loader.entry, self._state.track
        if entry is None or shown is None or shown.entry_id != entry.id:
            self._seek_unannounced = True
            return
        self._seek_unannounced = False
        self._report(self._state.with_position(self.position()), seeked=True)

    def _update_track(self, **changes: Any) -> None:
        track = self._state.track
        if track is None or all(getattr(track, k) == v for k, v in changes.items()):
            return
        self._publish(track=replace(track, **changes))

    # -- moving through the queue ----------------------------------------------------

    def _here(self) -> int | None:
        """Where the player means to be: the entry it loaded, confirmed or not yet."""
        entry = self._loader.entry
        if entry is not None and entry is not self._queue.current:
            found = self._queue.find(entry.id)
            if found is not None:
                return found
        return self._queue.position

    def _neighbour(self, direction: int) -> int | None:
        return self._step_from(self._here(), direction)

    def _step_from(self, pos: int | None, direction: int) -> int | None:
        """One step from `pos` in `direction`, over the entries found broken."""
        for _ in range(len(self._queue)):
            if pos is None:
                return None
            pos = self._queue.step(pos, direction, self._state.loop)
            if pos is None or self._queue.entry_at(pos).uri not in self._broken:
                return pos
        return None

    def _load(self, pos: int, start: float = 0.0) -> None:
        """Send the entry at `pos` to mpv now; the queue moves there on mpv's word."""
        assert self._mpv is not None
        entry = self._queue.entry_at(pos)
        self._read_tags(entry.uri)
        options = file_options(start, self._refs.get(entry.uri))
        now = time.monotonic()
        self._watchdog.progress(now)
        self._attempt_at, self._retry_at, self._heard = now, None, None
        self._held_since = None
        self._held = None  # something plays: a re-plug no longer starts the held state
        self._seek_unannounced = False
        try:
            result = self._mpv.command(*self._loadfile.args(entry.uri, "replace", options))
        except (SystemError, RuntimeError) as exc:
            self._loader.loaded(entry, _REFUSED, start)
            self._carry_out(self._loader.on_end_file(_REFUSED, "error", str(exc), None))
            return
        self._loader.loaded(entry, int(result["playlist_entry_id"]), start)
        self._publish()

    def _advance(self, direction: int, user: bool) -> None:
        """Go one entry in `direction`; at the end of the queue, stop (unless looping)."""
        self._loader.travel(direction, user)
        pos = self._neighbour(direction)
        if pos is None and direction < 0 and not user:
            # Previous onto a broken first file: nothing before it, so play on after it.
            self._loader.travel(1, user)
            pos = self._neighbour(1)
        if pos is None:
            if not user:
                self._stop_at_end()
        elif self._loader.entry is None:
            # MPRIS: a skip while stopped stays stopped; Play starts the new entry.
            self._queue.go(pos)
            self._publish()
        else:
            self._load(pos)

    def _stop_at_end(self, pos: int | None = None) -> None:
        """Nothing to go on to from `pos` (default: after the entry loaded): the end of
        the queue, or only files found broken left, which one line says."""
        left = self._broken_left(pos)
        if left:
            self._stop_broken(left)
        else:
            self._stopped()

    def _broken_left(self, pos: int | None) -> list[str]:
        """The files from `pos` on (default: after the entry loaded) that the player
        passes over as broken, up to the end of the queue or the first one that is not."""
        if pos is None:
            here = self._here()
            pos = None if here is None else self._queue.step(here, 1, self._state.loop)
        left: list[str] = []
        for _ in range(len(self._queue)):
            if pos is None or self._queue.entry_at(pos).uri not in self._broken:
                break
            left.append(self._queue.entry_at(pos).uri)
            pos = self._queue.step(pos, 1, self._state.loop)
        return list(dict.fromkeys(left))

    def _stop_broken(self, left: list[str]) -> None:
        """Stop, saying why: `left`, the files there were to play, are all broken."""
        log.warning(
            "every file left in the queue is broken (%d: %s); stopped",
            len(left),
            ", ".join(left[:3]) + (", ..." if len(left) > 3 else ""),
        )
        self._stopped()

    def _stopped(self) -> None:
        self._loader.stopped()
        self._retry_at = self._recheck_at = self._held_since = None
        if self._mpv is not None:
            self._mpv.command("stop")
        self._publish(track=None)

    def _retry_output(self) -> None:
        pos = self._here()
        if self._loader.waiting and pos is not None:
            self._load(pos, start=self._loader.start)

    # -- what mpv is told: a seek, the volume, the loop, the pause ---------------------

    def _seek_to(self, seconds: float) -> None:
        assert self._mpv is not None
        if not self._loader.seek(seconds):
            # mpv refuses a seek while it opens the file: done once the file is open.
            self._publish()
            return
        self._watchdog.progress(time.monotonic())
        # Seeked goes out on the playback-restart after mpv's own "seek" event, not
        # on any playback-restart (one from the file opening may still be queued).
        try:
            self._mpv.command("seek", f"{seconds:.3f}", "absolute+exact")
        except SystemError as exc:
            raise CommandError(f"mpv refused the seek: {exc.args[0]}") from None

    def _set_volume(self, percent: float) -> None:
        assert self._mpv is not None
        self._volume = min(max(percent, 0.0), float(self._config.volume_max))
        self._mpv["volume"] = self._volume
        self._publish()

    def _set_loop(self, mode: LoopMode) -> None:
        assert self._mpv is not None
        # mpv loops a track itself (gapless, and its seek back is reported as Seeked).
        self._mpv["loop-file"] = "inf" if mode is LoopMode.TRACK else "no"
        self._state = replace(self._state, loop=mode)

    def _set_paused(self, paused: bool) -> None:
        assert self._mpv is not None
        self._paused = paused
        self._mpv["pause"] = paused
        self._watchdog.progress(time.monotonic())


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("player task failed", exc_info=task.exception())
