"""The local player as one ordered actor: libmpv, driven by our own queue.

Everything that can change the player is a message in one inbox (`inbox.py`): mpv's
events and property changes (handed over from mpv's thread by `mpvbridge.py`),
commands, timer ticks, the results of tag reads. One task takes them out in order and
acts on each: every transition reads the state and commands mpv with no `await` in
between, so no two of them interleave. The blocking work (creating mpv, reading tags,
expanding an opened URI, terminating mpv) runs in worker threads; what it finds comes
back as a message.

mpv's playlist holds the current entry of our queue and, appended ahead of time, the
next one, so mpv's gapless audio goes on into it with no gap; a skip replaces both.
`loadfile` goes out at once; the queue moves to an entry only when mpv's start-file
confirms it, and the track is announced once its tags are read. What mpv's events mean
for our entries is decided by the load state machine (`loading.py`); the stall
watchdog (`watchdog.py`) checks on each tick that mpv agrees with what we intend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import mpv

from headunit import resume
from headunit.config import PlayerConfig
from headunit.controller import SnapshotTarget
from headunit.media import OPEN_BOUNDS, SUPPORTED_URI_SCHEMES, expand, is_stream, playlist_titles
from headunit.model import Command, CommandError, CommandName, LoopMode, MediaRef
from headunit.player import loading, pull, snapshot, watchdog
from headunit.player.inbox import (
    Call,
    Checked,
    Found,
    Go,
    Heard,
    Message,
    MpvEvent,
    MpvProperty,
    Rescanned,
    TagsRead,
    Tick,
)
from headunit.player.libmpv import LoadfileSyntax
from headunit.player.loading import Effect, Loader, Notice, Phase
from headunit.player.mpvbridge import Bridge, file_options, mpv_options, replaygain
from headunit.player.playqueue import Entry, Queue
from headunit.player.snapshot import Moment, describe_entry
from headunit.player.tags import placeholder
from headunit.player.watchdog import Watchdog
from headunit.resume import Plan, ResumeState
from headunit.state import PlayerState, QueueListing, Status, Track, TrackInfo
from headunit.tasks import Background

log = logging.getLogger(__name__)

TICK = 0.5  # seconds between the timer's messages
# Seconds between attempts to open a lost audio output (a restarting sound server).
OUTPUT_RETRY_SECONDS = 1.0
# Seconds a retry may take to bring sound (an open that blocks, a stream never linked)
# before it is stopped and tried again; doubled after each such retry up to the most, so
# a server that links slowly (a busy machine) is not cut off every time just before.
OUTPUT_OPEN_TIMEOUT = 4.0
OUTPUT_OPEN_TIMEOUT_MOST = 16.0
# Seconds a confirmed entry waits for its tags before it is announced by its name.
TAGS_PATIENCE = 2.0
# Seconds between checks of a held entry's file (a stick that answers again in place).
RECHECK_SECONDS = 2.0
# The fields of a shown track its tags give (the rest mpv tells once the file is open).
_FROM_TAGS = ("title", "artist", "album", "album_artist", "genre", "track_number", "disc_number")
# A loadfile mpv refused has no playlist entry; mpv's own ids start at 1.
_REFUSED = 0


class Player(SnapshotTarget):
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
        # The saved state of media that went away (a pulled stick): saved as it was, and
        # resumed when the media comes back to a silent car.
        self._held = held
        self._art_dir = art_dir  # where embedded covers are extracted, once each
        self._queue: Queue = plan.queue
        self._plan = plan
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
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

    async def execute(self, command: Command) -> None:
        """Queue `command` behind what came before it, and wait for its outcome."""
        if command.name not in self._handlers:
            raise CommandError(f"{command.name} is not supported by the player")
        found = await _find(command) if command.name is CommandName.OPEN else None
        done = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(Call(command, done, found))
        await done

    def queue(self) -> QueueListing:
        playing = self._loader.entry is not None
        return snapshot.listing(self._queue, self._infos, self._titles, playing)

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start mpv and apply the resume plan: volume cap, shuffle, loop, track, position."""
        self._loop = asyncio.get_running_loop()
        bridge = await asyncio.to_thread(Bridge, self._config, self._post)
        self._mpv, self._loadfile = bridge.mpv, bridge.loadfile
        plan = self._plan
        wanted = plan.volume if plan.volume is not None else 100.0
        self._volume = min(wanted, float(self._config.startup_volume_max))
        bridge.mpv["volume"] = self._volume
        self._set_loop(plan.loop)
        bridge.mpv["pause"] = plan.paused
        current = self._queue.current
        if current is None:
            self._publish()
        else:
            # Read before anything runs (no race): the queue is at this entry already,
            # so it is announced with its load, as the start-up status shows it.
            title = self._titles.get(current.uri)
            info, final = await asyncio.to_thread(describe_entry, current.uri, title, self._art_dir)
            if final:
                self._infos[current.uri] = info
                self._read_once.add(current.uri)
            self._load(self._queue.position or 0, start=plan.position)
            self._publish(track=snapshot.track_for(current, info, self._refs.get(current.uri)))
        self._tasks.spawn(self._consume(), "player")
        self._tasks.spawn(self._tick(), "player-tick")

    async def close(self) -> None:
        await self._tasks.stop()
        # Whoever still waits for a command or a rescan is not left waiting forever.
        while not self._inbox.empty():
            message = self._inbox.get_nowait()
            if isinstance(message, Call | Rescanned):
                message.done.cancel()
        if self._mpv is not None:
            player, self._mpv = self._mpv, None
            await asyncio.to_thread(player.terminate)

    def reconfigure(self, config: PlayerConfig) -> None:
        """A new [player] section on reload: the volume cap, ReplayGain and the output
        apply at once (mpv_options at the next start). On the loop, with no await: no
        message of the inbox runs meanwhile."""
        old, self._config = self._config, config
        if self._mpv is None:
            return
        for name, value in replaygain(config).items():
            self._mpv[name] = value
        if self._volume > config.volume_max:
            self._set_volume(float(config.volume_max))
        if config.audio_output != old.audio_output:
            try:
                self._mpv["ao"] = mpv_options(config)["ao"]
                self._mpv.command("ao-reload")
            except (SystemError, RuntimeError) as exc:
                log.warning("audio output %s refused by mpv: %s", config.audio_output, exc)
            else:
                log.info("audio output: %s", config.audio_output)

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
        )

    async def media_changed(self, scanned: list[str], titles: Mapping[str, str]) -> None:
        done = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(Rescanned(scanned, titles, done))
        await done

    # -- the inbox -------------------------------------------------------------------

    def _post(self, message: Message) -> None:
        """From any thread: into the inbox, in order."""
        loop = self._loop
        if loop is None:
            return
        # RuntimeError: the loop is closed, the daemon is shutting down.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._inbox.put_nowait, message)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            self._inbox.put_nowait(Tick())

    async def _consume(self) -> None:
        while True:
            message = await self._inbox.get()
            try:
                self._handle(message)
            except Exception:
                # One bad transition must not end the player: log it and go on.
                log.exception("player: %s failed", type(message).__name__)

    def _handle(self, message: Message) -> None:
        match message:
            case MpvEvent(values):
                self._on_event(values)
            case Heard(position):
                self._on_heard(position)
            case MpvProperty(name, value):
                self._on_property(name, value)
            case Call():
                self._on_call(message)
            case Rescanned(scanned, titles, done):
                self._rescanned(scanned, titles)
                if not done.done():
                    done.set_result(None)
            case TagsRead(uri, info, final):
                self._on_tags(uri, info, final)
            case Checked(entry, vanished):
                self._carry_out(self._loader.checked(entry, vanished, len(self._queue)))
            case Go(direction):
                self._advance(direction, user=False)
            case Tick():
                self._on_tick()

    def _on_call(self, call: Call) -> None:
        try:
            self._handlers[call.command.name](self, call.command, call.found)
        except CommandError as exc:
            if not call.done.done():
                call.done.set_exception(exc)
        else:
            if not call.done.done():
                call.done.set_result(None)

    # -- mpv's events ----------------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        loader = self._loader
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
                self._show(ended=True)
            effects = loader.on_end_file(
                int(event.get("playlist_entry_id") or 0),
                str(event.get("reason")),
                _text(event.get("file_error")),
                event.get("heard"),
                self._length(),
            )
        if kind != "end-file" or loader.phase is not Phase.OUTPUT_LOST:
            self._watchdog.progress(time.monotonic())
        if kind in ("start-file", "end-file"):
            self._heard = None  # a new file's time, or none
        self._carry_out(effects)

    def _on_heard(self, position: float) -> None:
        if position != self._heard and self._loader.confirmed:
            self._watchdog.progress(time.monotonic())
        self._heard = position
        self._carry_out(self._loader.on_heard(position))

    def _carry_out(self, effects: list[Effect]) -> None:
        for effect in effects:
            self._effect(effect)

    def _effect(self, effect: Effect) -> None:
        match effect:
            case Notice.OPENED:
                self._update_track(media_type=self._loaded_media_type())
                self._refresh_next()
            case Notice.SEEKED:
                self._seeked()
            case Notice.ALL_BROKEN:
                log.error("nothing in the queue can be played; stopped")
                self._stopped()
            case Notice.OUTPUT_BACK:
                log.info("audio output back: playing on")
                self._retry_at, self._open_timeout = None, OUTPUT_OPEN_TIMEOUT
                self._publish()
            case Notice.NEXT:
                self._inbox.put_nowait(Go(1))
            case loading.Started(entry):
                self._confirm(entry, self._queue.find(entry.id))
            case loading.SeekTo(seconds):
                self._apply_pending_seek(seconds)
            case loading.WentOn(entry):
                self._went_on(entry)
            case loading.Skipped(entry, error, direction):
                log.warning("skipped %s: %s", entry.uri, error)
                self._infos.pop(entry.uri, None)
                self._broken.add(entry.uri)
                if direction:
                    self._inbox.put_nowait(Go(direction))
            case loading.OutputLost():
                self._output_lost(effect)
            case loading.Check(entry):
                self._check(entry)
            case loading.Held():
                self._hold(effect)
            case loading.Reload(entry, position):
                self._reload(entry, position)

    def _confirm(self, entry: Entry, pos: int | None) -> None:
        """mpv has `entry`: the queue moves there, and it is announced when its tags
        are known."""
        if pos is None:
            return  # a rescan took it out meanwhile; the rescan has moved on
        self._queue.go(pos)
        self._confirmed_at = time.monotonic()
        self._show()

    def _went_on(self, entry: Entry) -> None:
        """mpv went on into the next entry by itself: it is current, announce it."""
        pos = self._step_from(self._queue.position, 1)
        if pos is None or self._queue.entry_at(pos) is not entry:
            # The queue changed as the file ended: play what it says comes next.
            self._advance(1, user=False)
            return
        self._confirm(entry, pos)

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

    def _apply_pending_seek(self, seconds: float) -> None:
        try:
            self._seek_to(seconds)
        except CommandError as exc:
            log.warning("could not seek to %.1f s: %s", seconds, exc)

    def _output_lost(self, lost: loading.OutputLost) -> None:
        """Not a broken file: keep the entry and its position, and try again soon."""
        if lost.first:
            log.warning(
                "audio output %r failed: keeping %s at %.1f s, retrying every %g s",
                self._config.audio_output,
                lost.entry.uri,
                lost.position,
                OUTPUT_RETRY_SECONDS,
            )
        self._halt_for_retry()

    def _halt_for_retry(self) -> None:
        if self._mpv is not None:
            self._mpv.command("stop")  # or mpv would try the rest of its playlist
        self._publish()
        self._retry_at = time.monotonic() + OUTPUT_RETRY_SECONDS

    def _check(self, entry: Entry) -> None:
        """The file failed: is it broken, or did its stick go? Nothing is tried until
        the answer comes (mpv would go on into the next entry, maybe on that stick)."""
        if self._mpv is not None:
            self._mpv.command("stop")
        read_once = entry.uri in self._read_once
        self._tasks.spawn(self._check_file(entry, read_once), "player-check")

    async def _check_file(self, entry: Entry, read_once: bool) -> None:
        found = await asyncio.to_thread(pull.check, entry.uri)
        self._inbox.put_nowait(Checked(entry, pull.vanished(found, read_once)))

    def _hold(self, held: loading.Held) -> None:
        """The file went with its media: keep entry and position (the saved state keeps
        them too) until the hot-plug rescan says what is left, or the file answers."""
        if held.first:
            log.warning(
                "%s cannot be read: holding it at %.1f s for its media",
                held.entry.uri,
                held.position,
            )
            self._publish()
        self._recheck_at = time.monotonic() + RECHECK_SECONDS

    def _reload(self, entry: Entry, position: float) -> None:
        pos = self._queue.find(entry.id)
        if pos is not None:
            log.info("%s can be read again: playing on at %.1f s", entry.uri, position)
            self._load(pos, start=position)

    def _length(self) -> float | None:
        """The current entry's length, from what is shown or its tags."""
        entry, track = self._loader.entry, self._state.track
        if entry is None:
            return None
        if track is not None and track.entry_id == entry.id and track.duration:
            return track.duration
        info = self._infos.get(entry.uri)
        return info.duration if info else None

    def _on_property(self, name: str, value: Any) -> None:
        if name == "idle-active":
            self._idle = bool(value)
            return
        elif name == "metadata" and value and is_stream(getattr(self._loader.entry, "uri", "")):
            self._stream_title(value)
            return
        elif name == "duration" and value and self._state.track and not self._state.track.duration:
            # Tags gave no length (a stream, a raw file): mpv's is news. Where tags gave
            # one, mpv's slightly different figure would re-announce the same track.
            self._update_track(duration=float(value))
            return
        self._publish()

    def _stream_title(self, metadata: dict[str, Any]) -> None:
        lowered = {str(k).lower(): v for k, v in metadata.items()}
        title = lowered.get("icy-title") or lowered.get("title")
        if title and self._state.track and title != self._state.track.title:
            self._update_track(title=str(title))

    def _update_track(self, **changes: Any) -> None:
        track = self._state.track
        if track is None or all(getattr(track, k) == v for k, v in changes.items()):
            return
        self._publish(track=replace(track, **changes))

    # -- the timer: output retries, late tags, the watchdog ---------------------------

    def _on_tick(self) -> None:
        now = time.monotonic()
        loader = self._loader
        if loader.phase is Phase.OUTPUT_LOST:
            if self._retry_at is not None and now >= self._retry_at:
                self._retry_output()
        elif loader.phase is Phase.HELD:
            if self._recheck_at is not None and now >= self._recheck_at:
                self._carry_out(loader.recheck())
        elif loader.outage and now - self._attempt_at >= self._open_timeout:
            # The retry opened nothing that plays: bounded, and tried again.
            log.debug("no sound %g s after a retry: trying again", self._open_timeout)
            self._open_timeout = min(2 * self._open_timeout, OUTPUT_OPEN_TIMEOUT_MOST)
            loader.still_lost()
            self._halt_for_retry()
        self._show()
        waited = self._watchdog.stalled(now, self._expecting_progress())
        if waited is None:
            return
        # mpv has our file open and says nothing is wrong, but its position stands
        # still: the output no longer takes the sound (ALSA to a server that went
        # away). An outage, not a stall of the player's: retried like a failed output.
        heard = self._heard
        if heard is not None and self._loader.confirmed and not self._idle:
            self._carry_out(self._loader.output_stuck(heard))
        if not self._loader.outage:
            self._recover(waited)

    def _expecting_progress(self) -> bool:
        """Intent playing, a local file to play, no outage being waited out."""
        entry = self._loader.entry
        return (
            entry is not None
            and not self._paused
            and not self._loader.outage
            and not self._loader.waiting
            and not is_stream(entry.uri)
        )

    def _recover(self, waited: float) -> None:
        """mpv shows nothing of the file we mean to play: load it again where it was."""
        entry = self._loader.entry
        assert entry is not None
        at = self._heard if self._heard is not None else self._loader.start
        watchdog.log.warning(
            "nothing from mpv for %.1f s while %s should play (phase %s, "
            "mpv %s, position %s): reloading it at %.1f s (recovery %d)",
            waited,
            entry.uri,
            self._loader.phase,
            "idle" if self._idle else "busy",
            "unheard" if self._heard is None else f"stuck at {self._heard:.1f} s",
            at,
            self._watchdog.recovered(),
        )
        pos = self._queue.find(entry.id)
        if pos is not None:
            self._load(pos, start=at)

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

    def _on_tags(self, uri: str, info: TrackInfo, final: bool) -> None:
        self._reading.discard(uri)
        # A failed read (a pulled stick) is not kept as final: its name stands in, and
        # the tags are read again when a rescan finds the file (a re-plugged stick).
        if final or uri not in self._infos:
            self._infos[uri] = info
        if final:
            self._read_once.add(uri)
        if not final:
            self._unsure.add(uri)
        shown = self._state.track
        if final and shown is not None and shown.uri == uri and not is_stream(uri):
            # Its name stood in while the tags were slow: now the tags. What mpv said
            # of the file (media type, a stream's title and length) stays.
            self._update_track(**{name: getattr(info, name) for name in _FROM_TAGS})
        self._show()
        self._publish()

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

    # -- moving through the queue ------------------------------------------------------

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
        if pos is None:
            if not user:
                self._stopped()
        elif self._loader.entry is None:
            # MPRIS: a skip while stopped stays stopped; Play starts the new entry.
            self._queue.go(pos)
            self._publish()
        else:
            self._load(pos)

    def _stopped(self) -> None:
        self._loader.stopped()
        self._retry_at = self._recheck_at = None
        if self._mpv is not None:
            self._mpv.command("stop")
        self._publish(track=None)

    def _rescanned(self, scanned: list[str], titles: Mapping[str, str]) -> None:
        """`media.paths` was scanned again: a silent car starts the media found,
        resuming where it was; otherwise the queue is merged without interrupting the
        entry that plays, unless that one is gone."""
        self._titles.update(titles)
        # A broken file that went (its stick pulled) is tried again when it comes back.
        self._broken &= set(scanned)
        for uri in self._unsure & set(scanned):
            self._infos.pop(uri, None)  # back: its tags can be read now
        self._unsure.clear()
        if self._loader.entry is None and (len(self._queue) == 0 or self._held is not None):
            self._start_found(scanned)
            return
        before = self.resume_snapshot()
        gone = self._queue.current
        merged = self._queue.merge(scanned, resume.available, loop=self._state.loop)
        if not merged.current_gone:
            if merged.added or merged.removed:
                log.info("media: %d entries added, %d gone", merged.added, merged.removed)
            self._publish()
            self._refresh_next()  # what comes next may have changed
            return
        self._held = before
        if merged.ran_out or self._loader.entry is None:
            log.info("media: %s is gone and nothing after it is left; stopped", gone and gone.uri)
            self._stopped()
        else:
            log.info("media: %s is gone; playing on with what is left", gone and gone.uri)
            self._load(self._queue.position or 0)

    def _start_found(self, scanned: list[str]) -> None:
        try:
            plan = resume.plan(self._held, scanned, "play")
        except resume.StaleState:
            plan = resume.plan(None, scanned, "play")  # other media: the held state waits
        else:
            self._held = None
        if plan.queue.current is None:
            return
        log.info("media: found %d entries; playing", len(plan.queue))
        self._queue = plan.queue
        self._set_paused(False)
        self._load(plan.queue.position or 0, start=plan.position)

    # -- commands (each runs whole, in the inbox's order) --------------------------------

    def _play(self, _command: Command, _found: Found | None) -> None:
        if self._queue.current is None:
            raise CommandError("the queue is empty")
        self._set_paused(False)
        if self._loader.entry is None:
            self._load(self._queue.position or 0)
        elif self._loader.waiting:
            self._retry_output()  # the user asks: try the output (or the file) now
        else:
            self._publish()  # at once: mpv's observer would tell us a little later

    def _pause(self, _command: Command, _found: Found | None) -> None:
        if self._loader.entry is not None:
            self._set_paused(True)
            self._publish()

    def _toggle(self, command: Command, found: Found | None) -> None:
        if self._status() is Status.PLAYING:
            self._pause(command, found)
        else:
            self._play(command, found)

    def _stop(self, _command: Command, _found: Found | None) -> None:
        if self._loader.entry is not None:
            self._stopped()

    def _next(self, _command: Command, _found: Found | None) -> None:
        self._advance(1, user=True)

    def _previous(self, _command: Command, _found: Found | None) -> None:
        restart = self.position() > self._config.previous_restarts_after
        if self._loader.entry is not None and restart:
            self._seek_to(0.0)
        else:
            self._advance(-1, user=True)

    def _seek(self, command: Command, _found: Found | None) -> None:
        self._seek_or_skip(command.number())

    def _seek_by(self, command: Command, _found: Found | None) -> None:
        self._seek_or_skip(self.position() + command.number())

    def _seek_or_skip(self, target: float) -> None:
        entry = self._loader.entry
        if entry is None or not self._seekable(entry):
            raise CommandError("nothing seekable is playing")
        info = self._infos.get(entry.uri)
        duration = info.duration if info else None
        if duration is not None and target >= duration:
            self._advance(1, user=False)
            return
        self._seek_to(max(0.0, target))

    def _seekable(self, entry: Entry) -> bool:
        """What mpv says of the open file; a file still opening (a skip just sent) is
        seekable unless it is a stream: the seek waits for it (`Loader.seek`)."""
        if self._loader.confirmed and self._state.track is not None:
            return self._state.can_seek
        return not is_stream(entry.uri)

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

    def _set_volume_cmd(self, command: Command, _found: Found | None) -> None:
        self._set_volume(command.number())

    def _set_volume(self, percent: float) -> None:
        assert self._mpv is not None
        self._volume = min(max(percent, 0.0), float(self._config.volume_max))
        self._mpv["volume"] = self._volume
        self._publish()

    def _shuffle(self, command: Command, _found: Found | None) -> None:
        self._queue.set_shuffle(bool(command.value))
        self._publish()
        self._refresh_next()

    def _loop_cmd(self, command: Command, _found: Found | None) -> None:
        self._set_loop(LoopMode(str(command.value)))
        self._publish()
        self._refresh_next()

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

    def _open(self, _command: Command, found: Found | None) -> None:
        assert found is not None
        self._titles.update(found.titles)
        if found.ref.media_id is not None or found.ref.authorization:
            self._refs[found.ref.uri] = found.ref
        pos = self._queue.insert_next(found.uris)
        assert pos is not None
        self._set_paused(False)
        self._loader.travel(1, user=True)
        self._load(pos)

    def _jump(self, command: Command, _found: Found | None) -> None:
        entry_id = command.value
        pos = self._queue.find(entry_id) if isinstance(entry_id, int) else None
        if pos is None:
            raise CommandError(f"no queue entry {command.value}")
        self._set_paused(False)
        self._loader.travel(1, user=True)
        self._load(pos)

    def _retry_output(self) -> None:
        pos = self._here()
        if self._loader.waiting and pos is not None:
            self._load(pos, start=self._loader.start)

    _handlers: dict[CommandName, Callable[[Player, Command, Found | None], None]] = {
        CommandName.PLAY: _play,
        CommandName.PAUSE: _pause,
        CommandName.TOGGLE: _toggle,
        CommandName.STOP: _stop,
        CommandName.NEXT: _next,
        CommandName.PREVIOUS: _previous,
        CommandName.SEEK: _seek,
        CommandName.SEEK_BY: _seek_by,
        CommandName.VOLUME: _set_volume_cmd,
        CommandName.SHUFFLE: _shuffle,
        CommandName.LOOP: _loop_cmd,
        CommandName.OPEN: _open,
        CommandName.JUMP: _jump,
    }


async def _find(command: Command) -> Found:
    """What an Open command points at, expanded in a worker thread (it reads folders and
    playlists) before the command joins the inbox; refused when nothing is playable."""
    ref = command.value if isinstance(command.value, MediaRef) else MediaRef(str(command.value))
    uri = ref.uri
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else "file"
    if scheme not in SUPPORTED_URI_SCHEMES:
        raise CommandError(f"unsupported URI scheme {scheme!r}")
    uris = await asyncio.to_thread(expand, uri, OPEN_BOUNDS)
    titles = await asyncio.to_thread(playlist_titles, [uri])
    if not uris:
        raise CommandError(f"nothing playable at {uri}")
    return Found(ref, uris, titles)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("player task failed", exc_info=task.exception())
