"""The local player: libmpv through python-mpv, driven by our own queue.

Threading: python-mpv runs every observer and event callback on its own event thread.
Those callbacks only copy plain values and hand them to the asyncio loop with
`call_soon_threadsafe`; all decisions and all calls into mpv happen on the loop. The
quick mpv calls (set a property, loadfile, seek) return at once and are made directly
from the loop; the blocking one (terminate) runs in a worker thread.

mpv's playlist holds the current entry of our queue and, appended ahead of time, the
next one, so mpv's gapless audio goes on into it with no gap; a skip replaces both.
What mpv's events mean for our entries is decided by the load state machine
(`loading.py`); this module carries out what it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Coroutine, Mapping, MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import mpv

from headunit import loading, resume
from headunit.artwork import find_art
from headunit.config import ConfigError, PlayerConfig
from headunit.controller import SnapshotTarget
from headunit.libmpv import LoadfileSyntax, check_client_api, client_api_version
from headunit.loading import Effect, Loader, Notice, Phase
from headunit.media import (
    OPEN_BOUNDS,
    SUPPORTED_URI_SCHEMES,
    expand,
    is_stream,
    playlist_titles,
    title_from_name,
)
from headunit.model import Command, CommandError, CommandName, LoopMode, MediaRef
from headunit.playqueue import Entry, Queue
from headunit.resume import Plan, ResumeState
from headunit.state import PlayerState, QueueItem, QueueListing, Status, Track, TrackInfo
from headunit.tags import describe
from headunit.tasks import Background

log = logging.getLogger(__name__)
mpv_log = logging.getLogger("headunit.mpv")

# mpv's "auto" would fail on a car with no sound server yet, or a server with no card:
# try the usual outputs, then play silently rather than not at all.
_AUTO_AO = "pulse,alsa,null"
UP_NEXT = 10  # entries listed after the current one
_EVENTS = frozenset(
    {
        mpv.MpvEventID.START_FILE,
        mpv.MpvEventID.END_FILE,
        mpv.MpvEventID.FILE_LOADED,
        mpv.MpvEventID.PLAYBACK_RESTART,
        mpv.MpvEventID.SEEK,
    }
)
_MPV_LOG_LEVELS = {"fatal": logging.ERROR, "error": logging.DEBUG, "warn": logging.DEBUG}
# Seconds between attempts to open a lost audio output (a restarting sound server).
_OUTPUT_RETRY_SECONDS = 1.0
# A loadfile mpv refused has no playlist entry; mpv's own ids start at 1.
_REFUSED = 0


def mpv_options(config: PlayerConfig) -> dict[str, Any]:
    cache = config.stream_cache_mib
    return {
        "ao": _AUTO_AO if config.audio_output == "auto" else config.audio_output,
        "vo": "null",
        "config": False,
        "load_scripts": False,  # an installed mpv-mpris would register a second player
        "input_default_bindings": False,
        "input_vo_keyboard": False,
        "terminal": False,
        "idle": True,
        "audio_display": False,
        "ytdl": False,
        "network_timeout": config.network_timeout,
        "cache": "auto",
        "demuxer_max_bytes": f"{cache}MiB",
        "demuxer_max_back_bytes": f"{max(1, cache // 4)}MiB",
        "volume_max": 100,
        # The next entry is appended ahead of time; mpv opens it early and, when its
        # format matches, goes on into it without reopening the output: no gap.
        "prefetch_playlist": True,
        "gapless_audio": "weak",
        # What PipeWire and PulseAudio see: mpv declares an audio-only stream as music
        # (media.role), so a sound server's role policies can duck or pause it.
        "audio_client_name": "headunit",
        **_replaygain(config),
        **config.mpv_options,  # last: the user's word on mpv is final
    }


def _replaygain(config: PlayerConfig) -> dict[str, Any]:
    """As mpv names them: set as options at start, as properties on reload."""
    return {
        "replaygain": "no" if config.replaygain == "off" else config.replaygain,
        "replaygain-preamp": config.replaygain_preamp,
        "replaygain-clip": config.replaygain_clip_protection,
        "replaygain-fallback": config.replaygain_fallback,
    }


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
        self._tasks = Background(on_done=_log_failure)
        self._queue: Queue = plan.queue
        self._plan = plan
        self._mpv: mpv.MPV | None = None
        self._loadfile = LoadfileSyntax(has_index=False)  # read from the library at start
        self._loop: asyncio.AbstractEventLoop | None = None
        self._infos: dict[str, TrackInfo] = {}
        self._refs: dict[str, MediaRef] = {}  # opened backend media: its id, its credentials
        self._loader = Loader()
        # mpv's latest time-pos in the current file; mpv's event thread alone uses it, to
        # tell with each end-file where the file was (mpv has closed it by then).
        self._heard: float | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._volume = 100.0
        super().__init__(PlayerState())

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
        handler = self._handlers.get(command.name)
        if handler is None:
            raise CommandError(f"{command.name} is not supported by the player")
        await handler(self, command)

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start mpv and apply the resume plan: volume cap, shuffle, loop, track, position."""
        self._loop = asyncio.get_running_loop()
        self._mpv = player = await asyncio.to_thread(self._create_mpv)
        plan = self._plan
        # Not self._volume: mpv's observer may already have reported its default there.
        wanted = plan.volume if plan.volume is not None else 100.0
        self._volume = min(wanted, float(self._config.startup_volume_max))
        player["volume"] = self._volume
        self._set_loop(plan.loop)
        player["pause"] = plan.paused
        self._publish()
        current = self._queue.current
        if current is not None:
            await self._load(self._queue.position or 0, start=plan.position)

    def _create_mpv(self) -> mpv.MPV:
        api = client_api_version(mpv.backend)
        check_client_api(api)
        _declare_music_role(os.environ)
        player = _new_mpv(self._mpv_log, mpv_options(self._config), self._config.mpv_options)
        try:
            self._loadfile = LoadfileSyntax.from_command_list(player.command_list)
        except Exception:
            player.terminate()
            raise
        log.info(
            "%s (client API %d.%d, %s)",
            player.mpv_version,
            *api,
            player.ffmpeg_version or "FFmpeg version unknown",
        )
        player.register_event_callback(self._mpv_event)
        for name in ("pause", "duration", "seekable", "volume", "metadata"):
            player.observe_property(name, self._mpv_property)
        player.observe_property("time-pos", self._mpv_time)
        return player

    async def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        await self._tasks.stop()
        if self._mpv is not None:
            player, self._mpv = self._mpv, None
            await asyncio.to_thread(player.terminate)

    def reconfigure(self, config: PlayerConfig) -> None:
        """A new [player] section on reload: the volume cap, ReplayGain and the output
        apply at once (mpv_options at the next start)."""
        old, self._config = self._config, config
        if self._mpv is None:
            return
        for name, value in _replaygain(config).items():
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
        state = self._state
        return ResumeState(
            uris=self._queue.uris,
            order=self._queue.order,
            position_in_order=self._queue.position,
            position=self.position(),
            volume=self._volume,
            shuffle=self._queue.shuffled,
            loop=state.loop,
            paused=state.status is Status.PAUSED,
        )

    async def media_changed(self, scanned: list[str], titles: Mapping[str, str]) -> None:
        """`media.paths` was scanned again (a stick came or went, SIGHUP): a silent car
        starts the media found, resuming where it was; otherwise the queue is merged
        without interrupting the entry that plays, unless that one is gone."""
        self._titles.update(titles)
        if self._loader.entry is None and (len(self._queue) == 0 or self._held is not None):
            await self._start_found(scanned)
            return
        before = self.resume_snapshot()
        gone = self._queue.current
        merged = self._queue.merge(scanned, resume.available)
        if not merged.current_gone:
            if merged.added or merged.removed:
                log.info("media: %d entries added, %d gone", merged.added, merged.removed)
            self._publish()
            self._spawn(self._refresh_next())  # what comes next may have changed
            return
        self._held = before
        if merged.ran_out or self._loader.entry is None:
            log.info("media: %s is gone and nothing after it is left; stopped", gone and gone.uri)
            self._stopped()
        else:
            log.info("media: %s is gone; playing on with what is left", gone and gone.uri)
            await self._load(self._queue.position or 0)

    async def _start_found(self, scanned: list[str]) -> None:
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
        assert self._mpv is not None
        self._mpv["pause"] = False
        await self._load(plan.queue.position or 0, start=plan.position)

    def queue(self) -> QueueListing:
        entries = self._queue.in_order()
        uris = [entry.uri for entry in entries]
        infos, titles = self._infos, self._titles
        known = {}
        for pos, uri in enumerate(uris):
            info = infos.get(uri)
            if info is None and uri in titles:
                info = TrackInfo(title=titles[uri])
            if info is not None:
                known[pos] = info
        current = self._queue.position if self._loader.entry is not None else None
        return QueueListing(uris, [entry.id for entry in entries], current, known)

    # -- mpv thread -> loop ------------------------------------------------------------

    def _to_loop(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        # RuntimeError: the loop is closed, the daemon is shutting down.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(fn, *args)

    def _mpv_event(self, event: mpv.MpvEvent) -> None:
        name = event.event_id.value
        if name not in _EVENTS:
            return
        values = event.as_dict(decoder=mpv.lazy_decoder)
        if name == mpv.MpvEventID.END_FILE:
            # In order with time-pos: the next file's time has not come yet.
            values["heard"], self._heard = self._heard, None
        self._to_loop(self._on_event, values)

    def _mpv_property(self, name: str, value: Any) -> None:
        self._to_loop(self._on_property, name, value)

    def _mpv_time(self, _name: str, value: float | None) -> None:
        # Not through the loop: many times a second, and only needed with an end-file.
        if value is not None:
            self._heard = float(value)

    @staticmethod
    def _mpv_log(level: str, prefix: str, text: str) -> None:
        mpv_log.log(_MPV_LOG_LEVELS.get(level, logging.DEBUG), "%s: %s", prefix, text.strip())

    # -- events, on the loop -----------------------------------------------------------

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
            effects = loader.on_end_file(
                int(event.get("playlist_entry_id") or 0),
                str(event.get("reason")),
                _text(event.get("file_error")),
                event.get("heard"),
                len(self._queue),
            )
        for effect in effects:
            self._carry_out(effect)

    def _carry_out(self, effect: Effect) -> None:
        match effect:
            case Notice.OPENED:
                self._update_track(media_type=self._loaded_media_type())
                self._spawn(self._refresh_next())
            case Notice.SEEKED:
                self._report(self._state.with_position(self.position()), seeked=True)
            case Notice.ALL_BROKEN:
                log.error("nothing in the queue can be played; stopped")
                self._stopped()
            case Notice.OUTPUT_BACK:
                log.info("audio output back: playing on")
                self._publish()
            case loading.SeekTo(seconds):
                self._apply_pending_seek(seconds)
            case loading.WentOn(entry):
                self._went_on(entry)
            case Notice.NEXT:
                self._spawn(self._advance(1, user=False))
            case loading.Skipped(entry, error, direction):
                log.warning("skipped %s: %s", entry.uri, error)
                self._infos.pop(entry.uri, None)
                if direction:
                    self._spawn(self._advance(direction, user=False))
            case loading.OutputLost():
                self._output_lost(effect)

    def _apply_pending_seek(self, seconds: float) -> None:
        try:
            self._seek_to(seconds)
        except CommandError as exc:
            log.warning("could not seek to %.1f s: %s", seconds, exc)

    def _went_on(self, entry: Entry) -> None:
        """mpv went on into the next entry by itself: it is current, announce it."""
        pos = self._queue.neighbour(1, self._state.loop)
        if pos is None or self._queue.entry_at(pos) is not entry:
            # The queue changed as the file ended: play what it says comes next.
            self._spawn(self._advance(1, user=False))
            return
        self._queue.go(pos)
        info = self._infos.get(entry.uri) or self._describe(entry.uri)
        self._publish(track=self._track_for(entry, info), position=0.0)

    def _output_lost(self, lost: loading.OutputLost) -> None:
        """Not a broken file: keep the entry and its position, and try again soon."""
        if lost.first:
            log.warning(
                "audio output %r failed: keeping %s at %.1f s, retrying every %g s",
                self._config.audio_output,
                lost.entry.uri,
                lost.position,
                _OUTPUT_RETRY_SECONDS,
            )
        if self._mpv is not None:
            self._mpv.command("stop")  # or mpv would try the rest of its playlist
        self._publish()
        if self._retry is not None:
            self._retry.cancel()
        loop = asyncio.get_running_loop()
        self._retry = loop.call_later(
            _OUTPUT_RETRY_SECONDS, lambda: self._spawn(self._retry_output())
        )

    async def _retry_output(self) -> None:
        pos = self._queue.position
        if self._loader.phase is Phase.OUTPUT_LOST and pos is not None:
            await self._load(pos, start=self._loader.start)

    def _on_property(self, name: str, value: Any) -> None:
        if name == "volume" and value is not None:
            self._volume = float(value)
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

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        self._tasks.spawn(coroutine, "player")

    # -- state -------------------------------------------------------------------------

    def _status(self) -> Status:
        if self._loader.entry is None or self._mpv is None:
            return Status.STOPPED
        if self._loader.phase is Phase.OUTPUT_LOST:
            return Status.PAUSED  # no sound, and it goes on from here when the output is back
        return Status.PAUSED if self._mpv.pause else Status.PLAYING

    def _loaded_media_type(self) -> str:
        """video only for a real video track: cover art in an audio file is not one."""
        tracks = self._mpv.track_list if self._mpv else None
        for t in tracks or ():
            if t.get("type") == "video" and not t.get("albumart") and not t.get("image"):
                return "video"
        return "music"

    def _publish(
        self, track: Track | Literal[False] | None = False, position: float | None = None
    ) -> None:
        """Build a fresh snapshot and hand it to the controller."""
        if track is False:
            track = self._state.track if self._loader.entry is not None else None
        queue = self._queue
        loop = self._state.loop
        has_entry = queue.current is not None
        seekable = bool(self._mpv and self._loader.entry and self._mpv.seekable)
        self._report(
            PlayerState(
                status=self._status(),
                track=track,
                position=self.position() if position is None else position,
                clock=time.monotonic(),
                volume=self._volume,
                shuffle=queue.shuffled,
                loop=loop,
                can_next=queue.neighbour(1, loop) is not None,
                can_previous=queue.neighbour(-1, loop) is not None,
                can_seek=seekable or bool(track and track.duration and not is_stream(track.uri)),
                can_play=has_entry,
                can_pause=has_entry,
                queue_length=len(queue),
                up_next=self._up_next(),
            )
        )

    def _up_next(self) -> tuple[QueueItem, ...]:
        """The next entries as far as their tags are read (else named by their file)."""
        items = []
        for entry in self._queue.upcoming(UP_NEXT):
            info = self._infos.get(entry.uri)
            if info is None:
                items.append(QueueItem(entry.id, title_from_name(entry.uri)))
            else:
                items.append(QueueItem(entry.id, info.title, ", ".join(info.artist) or None))
        return tuple(items)

    def _track_for(self, entry: Entry, info: TrackInfo) -> Track:
        ref = self._refs.get(entry.uri)
        media_id = ref.media_id if ref else None
        return Track.of(info, entry_id=entry.id, uri=entry.uri, media_id=media_id)

    async def _info(self, uri: str) -> TrackInfo:
        info = self._infos.get(uri)
        if info is None:
            info = await asyncio.to_thread(self._describe, uri)
            self._infos[uri] = info
        return info

    def _describe(self, uri: str) -> TrackInfo:
        """Tags and cover of one entry; blocking file I/O, run in a worker thread."""
        info = describe(uri, self._titles.get(uri))
        return replace(info, art_url=find_art(uri, self._art_dir)) if not is_stream(uri) else info

    async def _refresh_next(self) -> None:
        """Read the tags of the tracks a skip would go to, so the skip announces at once;
        keep mpv's next entry what the queue says comes next; then read the tags of the
        rest of "Up next", so the phone shows their titles."""
        for direction in (1, -1):
            pos = self._queue.neighbour(direction, self._state.loop)
            if pos is not None:
                await self._info(self._queue.entry_at(pos).uri)
        self._sync_next()
        for entry in self._queue.upcoming(UP_NEXT):
            await self._info(entry.uri)
        self._publish()

    def _sync_next(self) -> None:
        """Append the queue's next entry to mpv's playlist, replacing one that is no longer
        next. Not while mpv goes on into it, nor while nothing plays."""
        loader = self._loader
        if self._mpv is None or loader.phase not in (Phase.PLAYING, Phase.SEEKING):
            return
        pos = self._queue.neighbour(1, self._state.loop)
        wanted = None if pos is None else self._queue.entry_at(pos)
        if wanted is not None and is_stream(wanted.uri):
            wanted = None  # a stream is opened when it is reached, not held open ahead
        if (loader.next.entry if loader.next else None) is wanted:
            return
        self._mpv.command("playlist-clear")  # all but the current file
        loader.unappended()
        if wanted is not None:
            options = _file_options(0.0, self._refs.get(wanted.uri))
            # append-play: if mpv reached the end of the current file before this came,
            # it is idle and starts the entry (as it would have gone on into it).
            args = self._loadfile.args(wanted.uri, "append-play", options)
            result = self._mpv.command(*args)
            loader.appended(wanted, int(result["playlist_entry_id"]))

    # -- loading -----------------------------------------------------------------------

    async def _load(self, pos: int, start: float = 0.0) -> None:
        assert self._mpv is not None
        entry = self._queue.go(pos)
        info = await self._info(entry.uri)
        if self._queue.current is not entry:
            return  # another skip came in while the tags were read
        options = _file_options(start, self._refs.get(entry.uri))
        try:
            result = self._mpv.command(*self._loadfile.args(entry.uri, "replace", options))
        except (SystemError, RuntimeError) as exc:
            self._loader.loaded(entry, _REFUSED, start)
            self._publish(track=self._track_for(entry, info), position=start)
            ended = self._loader.on_end_file(_REFUSED, "error", str(exc), None, len(self._queue))
            for effect in ended:
                self._carry_out(effect)
            return
        self._loader.loaded(entry, int(result["playlist_entry_id"]), start)
        self._publish(track=self._track_for(entry, info), position=start)
        self._spawn(self._refresh_next())

    async def _advance(self, direction: int, user: bool) -> None:
        """Go one entry in `direction`; at the end of the queue, stop (unless looping)."""
        self._loader.travel(direction, user)
        pos = self._queue.neighbour(direction, self._state.loop)
        if pos is None:
            if not user:
                self._stopped()
        elif self._loader.entry is None:
            # MPRIS: a skip while stopped stays stopped; Play starts the new entry.
            self._queue.go(pos)
            self._publish()
        else:
            await self._load(pos)

    def _stopped(self) -> None:
        self._loader.stopped()
        if self._mpv is not None:
            self._mpv.command("stop")
        self._publish(track=None)

    # -- commands ----------------------------------------------------------------------

    async def _play(self, _command: Command) -> None:
        assert self._mpv is not None
        if self._queue.current is None:
            raise CommandError("the queue is empty")
        self._mpv["pause"] = False
        if self._loader.entry is None:
            await self._load(self._queue.position or 0)
        elif self._loader.phase is Phase.OUTPUT_LOST:
            await self._retry_output()  # the user asks: try the output now
        else:
            self._publish()  # at once: mpv's observer would tell us a little later

    async def _pause(self, _command: Command) -> None:
        if self._loader.entry is not None and self._mpv is not None:
            self._mpv["pause"] = True
            self._publish()

    async def _toggle(self, command: Command) -> None:
        if self._status() is Status.PLAYING:
            await self._pause(command)
        else:
            await self._play(command)

    async def _stop(self, _command: Command) -> None:
        if self._loader.entry is not None:
            self._stopped()

    async def _next(self, _command: Command) -> None:
        await self._advance(1, user=True)

    async def _previous(self, _command: Command) -> None:
        restart = self.position() > self._config.previous_restarts_after
        if self._loader.entry is not None and restart:
            self._seek_to(0.0)
        else:
            await self._advance(-1, user=True)

    async def _seek(self, command: Command) -> None:
        await self._seek_or_skip(command.number())

    async def _seek_by(self, command: Command) -> None:
        await self._seek_or_skip(self.position() + command.number())

    async def _seek_or_skip(self, target: float) -> None:
        if self._loader.entry is None or not self._state.can_seek:
            raise CommandError("nothing seekable is playing")
        duration = self._state.track.duration if self._state.track else None
        if duration is not None and target >= duration:
            await self._advance(1, user=False)
            return
        self._seek_to(max(0.0, target))

    def _seek_to(self, seconds: float) -> None:
        assert self._mpv is not None
        if not self._loader.seek(seconds):
            # mpv refuses a seek while it opens the file: done once the file is open.
            self._publish()
            return
        # Seeked goes out on the playback-restart after mpv's own "seek" event, not
        # on any playback-restart (one from the file opening may still be queued).
        try:
            self._mpv.command("seek", f"{seconds:.3f}", "absolute+exact")
        except SystemError as exc:
            raise CommandError(f"mpv refused the seek: {exc.args[0]}") from None

    async def _set_volume_cmd(self, command: Command) -> None:
        self._set_volume(command.number())

    def _set_volume(self, percent: float) -> None:
        assert self._mpv is not None
        self._volume = min(max(percent, 0.0), float(self._config.volume_max))
        self._mpv["volume"] = self._volume
        self._publish()

    async def _shuffle(self, command: Command) -> None:
        self._queue.set_shuffle(bool(command.value))
        self._publish()
        self._spawn(self._refresh_next())

    async def _loop_cmd(self, command: Command) -> None:
        self._set_loop(LoopMode(str(command.value)))
        self._publish()
        self._spawn(self._refresh_next())

    def _set_loop(self, mode: LoopMode) -> None:
        assert self._mpv is not None
        # mpv loops a track itself (gapless, and its seek back is reported as Seeked).
        self._mpv["loop-file"] = "inf" if mode is LoopMode.TRACK else "no"
        self._state = replace(self._state, loop=mode)

    async def _open(self, command: Command) -> None:
        ref = command.value if isinstance(command.value, MediaRef) else MediaRef(str(command.value))
        uri = ref.uri
        scheme = uri.split(":", 1)[0].lower() if ":" in uri else "file"
        if scheme not in SUPPORTED_URI_SCHEMES:
            raise CommandError(f"unsupported URI scheme {scheme!r}")
        uris = await asyncio.to_thread(expand, uri, OPEN_BOUNDS)
        self._titles.update(await asyncio.to_thread(playlist_titles, [uri]))
        if not uris:
            raise CommandError(f"nothing playable at {uri}")
        if ref.media_id is not None or ref.authorization:
            self._refs[uri] = ref
        pos = self._queue.insert_next(uris)
        assert pos is not None
        assert self._mpv is not None
        self._mpv["pause"] = False
        await self._load(pos)

    async def _jump(self, command: Command) -> None:
        entry_id = command.value
        pos = self._queue.find(entry_id) if isinstance(entry_id, int) else None
        if pos is None:
            raise CommandError(f"no queue entry {command.value}")
        assert self._mpv is not None
        self._mpv["pause"] = False
        self._loader.travel(1, user=True)
        await self._load(pos)

    _handlers: dict[CommandName, Callable[[Player, Command], Any]] = {
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


def _declare_music_role(environ: MutableMapping[str, str]) -> None:
    """mpv's pipewire output says media.role=Music itself; its pulse output says nothing,
    and libpulse takes a client's properties from PULSE_PROP (kept if the user set one)."""
    props = environ.get("PULSE_PROP", "")
    if "media.role" not in props:
        environ["PULSE_PROP"] = f"{props} media.role=music".strip()


def _new_mpv(
    log_handler: Callable[[str, str, str], None],
    options: dict[str, Any],
    users: Mapping[str, str],
) -> mpv.MPV:
    """mpv with `options`; one it refuses from the user's [player] mpv_options is a
    configuration error that names the key."""
    try:
        return mpv.MPV(log_handler=log_handler, loglevel="warn", **options)
    except (AttributeError, ValueError) as exc:
        # python-mpv's error carries (handle, option, value) as its last argument.
        where = exc.args[-1] if exc.args and isinstance(exc.args[-1], tuple) else ()
        name = where[1].decode() if len(where) > 2 and isinstance(where[1], bytes) else ""
        key = next((k for k in users if k.replace("_", "-") == name), None)
        if key is None:
            raise
        raise ConfigError(
            f"player.mpv_options.{key}: mpv refused {users[key]!r}: {exc.args[0]}"
        ) from None


def _file_options(start: float, ref: MediaRef | None) -> str:
    """loadfile's per-file options: where to start, and the backend's credentials."""
    options = [f"start={start:.3f}"] if start > 0 else []
    if ref is not None and ref.authorization:
        # A JWT has no comma, which would split mpv's option list.
        options.append(f"http-header-fields=Authorization: {ref.authorization}")
    return ",".join(options)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("player task failed", exc_info=task.exception())
