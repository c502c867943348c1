"""The local player: libmpv through python-mpv, driven by our own queue.

Threading: python-mpv runs every observer and event callback on its own event thread.
Those callbacks only copy plain values and hand them to the asyncio loop with
`call_soon_threadsafe`; all decisions and all calls into mpv happen on the loop. The
quick mpv calls (set a property, loadfile, seek) return at once and are made directly
from the loop; the blocking one (terminate) runs in a worker thread.

mpv holds one file at a time (`loadfile ... replace`); `end-file` events are matched
against the playlist entry id that loadfile returned, so the end of the old file never
skips the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import mpv

from headunit import resume
from headunit.artwork import find_art
from headunit.config import PlayerConfig
from headunit.controller import SnapshotTarget
from headunit.libmpv import LoadfileSyntax, check_client_api, client_api_version
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
        self._mpv_entry: int | None = None  # mpv's playlist_entry_id of the file we loaded
        self._mpv_started: int | None = None  # the entry of mpv's latest start-file
        self._loaded: Entry | None = None  # our queue entry in mpv, None when stopped
        self._direction = 1  # of travel, to skip broken files the way the user went
        self._failures = 0  # consecutive broken entries, to stop when all are broken
        self._seeking = False
        self._file_ready = False  # mpv has opened the loaded entry (seeks work from then)
        self._pending_seek: float | None = None
        self._start = 0.0  # where the loaded file was asked to start
        self._volume = 100.0
        super().__init__(PlayerState())

    # -- Target protocol (state and bind come from SnapshotTarget) ------------------

    def position(self) -> float:
        """Read from mpv now, not extrapolated from the last snapshot."""
        if self._loaded is None or self._mpv is None:
            return 0.0
        if not self._file_ready:
            # mpv is still opening the file: the position is where it was asked to start.
            # Reading 0 here would let a save right after start-up forget the resume point.
            return self._pending_seek if self._pending_seek is not None else self._start
        try:
            pos = self._mpv.time_pos
        except (AttributeError, RuntimeError, mpv.ShutdownError):
            pos = None
        if pos is None:
            return self._start
        duration = self._state.track.duration if self._state.track else None
        return max(0.0, min(float(pos), duration) if duration else float(pos))

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
        player = mpv.MPV(log_handler=self._mpv_log, loglevel="warn", **mpv_options(self._config))
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
        return player

    async def close(self) -> None:
        await self._tasks.stop()
        if self._mpv is not None:
            player, self._mpv = self._mpv, None
            await asyncio.to_thread(player.terminate)

    def reconfigure(self, config: PlayerConfig) -> None:
        """A new [player] section on reload: the volume cap and the output apply at once."""
        old, self._config = self._config, config
        if self._mpv is None:
            return
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
        if self._held is not None and self._loaded is None:
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
        if self._loaded is None and (len(self._queue) == 0 or self._held is not None):
            await self._start_found(scanned)
            return
        before = self.resume_snapshot()
        gone = self._queue.current
        merged = self._queue.merge(scanned, resume.available)
        if not merged.current_gone:
            if merged.added or merged.removed:
                log.info("media: %d entries added, %d gone", merged.added, merged.removed)
            self._publish()
            return
        self._held = before
        if merged.ran_out or self._loaded is None:
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
        current = self._queue.position if self._loaded is not None else None
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
        if name in _EVENTS:
            self._to_loop(self._on_event, event.as_dict(decoder=mpv.lazy_decoder))

    def _mpv_property(self, name: str, value: Any) -> None:
        self._to_loop(self._on_property, name, value)

    @staticmethod
    def _mpv_log(level: str, prefix: str, text: str) -> None:
        mpv_log.log(_MPV_LOG_LEVELS.get(level, logging.DEBUG), "%s: %s", prefix, text.strip())

    # -- events, on the loop -----------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "seek":
            self._seeking = True
        elif kind == "playback-restart":
            if self._seeking:
                self._seeking = False
                self._report(self._state.with_position(self.position()), seeked=True)
        elif kind == "start-file":
            self._mpv_started = event.get("playlist_entry_id")
        elif kind == "file-loaded" and self._mpv_started == self._mpv_entry:
            # Not a file-loaded of the previous file, arriving after a quick skip: mpv
            # would refuse a seek while it still opens ours.
            self._file_ready = True
            if self._pending_seek is not None:
                self._apply_pending_seek(self._pending_seek)
            self._update_track(media_type=self._loaded_media_type())
        elif kind == "end-file" and event.get("playlist_entry_id") == self._mpv_entry:
            self._on_end(str(event.get("reason")), event.get("file_error"))

    def _apply_pending_seek(self, seconds: float) -> None:
        try:
            self._seek_to(seconds)
        except CommandError as exc:
            log.warning("could not seek to %.1f s: %s", seconds, exc)

    def _on_end(self, reason: str, error: object) -> None:
        entry = self._loaded
        if reason == "eof":
            self._failures = 0
            self._spawn(self._advance(1, user=False))
        elif reason == "error" and entry is not None:
            self._failures += 1
            log.warning("skipped %s: %s", entry.uri, error or "cannot be played")
            self._infos.pop(entry.uri, None)
            if self._failures >= len(self._queue):
                log.error("nothing in the queue can be played; stopped")
                self._stopped()
            else:
                self._spawn(self._advance(self._direction, user=False))

    def _on_property(self, name: str, value: Any) -> None:
        if name == "volume" and value is not None:
            self._volume = float(value)
        elif name == "metadata" and value and self._loaded and is_stream(self._loaded.uri):
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
        if self._loaded is None or self._mpv is None:
            return Status.STOPPED
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
            track = self._state.track if self._loaded is not None else None
        queue = self._queue
        loop = self._state.loop
        has_entry = queue.current is not None
        seekable = bool(self._mpv and self._loaded and self._mpv.seekable)
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

    async def _prefetch_neighbours(self) -> None:
        """Read the tags of the tracks a skip would go to, so the skip announces at once,
        then those of the rest of "Up next", so the phone shows their titles."""
        for direction in (1, -1):
            pos = self._queue.neighbour(direction, self._state.loop)
            if pos is not None:
                await self._info(self._queue.entry_at(pos).uri)
        for entry in self._queue.upcoming(UP_NEXT):
            await self._info(entry.uri)
        self._publish()

    # -- loading -----------------------------------------------------------------------

    async def _load(self, pos: int, start: float = 0.0) -> None:
        assert self._mpv is not None
        entry = self._queue.go(pos)
        info = await self._info(entry.uri)
        if self._queue.current is not entry:
            return  # another skip came in while the tags were read
        self._loaded = entry
        self._file_ready, self._pending_seek, self._start = False, None, start
        options = _file_options(start, self._refs.get(entry.uri))
        args = self._loadfile.args(entry.uri, "replace", options)
        try:
            result = self._mpv.command(*args)
        except (SystemError, RuntimeError) as exc:
            log.warning("skipped %s: %s", entry.uri, exc)
            result = None
        self._mpv_entry = (result or {}).get("playlist_entry_id")
        self._publish(track=self._track_for(entry, info), position=start)
        self._spawn(self._prefetch_neighbours())

    async def _advance(self, direction: int, user: bool) -> None:
        """Go one entry in `direction`; at the end of the queue, stop (unless looping)."""
        self._direction = direction
        if user:
            self._failures = 0
        pos = self._queue.neighbour(direction, self._state.loop)
        if pos is None:
            if not user:
                self._stopped()
        elif self._loaded is None:
            # MPRIS: a skip while stopped stays stopped; Play starts the new entry.
            self._queue.go(pos)
            self._publish()
        else:
            await self._load(pos)

    def _stopped(self) -> None:
        self._loaded = None
        self._mpv_entry = None
        if self._mpv is not None:
            self._mpv.command("stop")
        self._publish(track=None)

    # -- commands ----------------------------------------------------------------------

    async def _play(self, _command: Command) -> None:
        assert self._mpv is not None
        if self._queue.current is None:
            raise CommandError("the queue is empty")
        self._mpv["pause"] = False
        if self._loaded is None:
            await self._load(self._queue.position or 0)
        else:
            self._publish()  # at once: mpv's observer would tell us a little later

    async def _pause(self, _command: Command) -> None:
        if self._loaded is not None and self._mpv is not None:
            self._mpv["pause"] = True
            self._publish()

    async def _toggle(self, command: Command) -> None:
        if self._status() is Status.PLAYING:
            await self._pause(command)
        else:
            await self._play(command)

    async def _stop(self, _command: Command) -> None:
        if self._loaded is not None:
            self._stopped()

    async def _next(self, _command: Command) -> None:
        await self._advance(1, user=True)

    async def _previous(self, _command: Command) -> None:
        if self._loaded is not None and self.position() > self._config.previous_restarts_after:
            self._seek_to(0.0)
        else:
            await self._advance(-1, user=True)

    async def _seek(self, command: Command) -> None:
        await self._seek_or_skip(command.number())

    async def _seek_by(self, command: Command) -> None:
        await self._seek_or_skip(self.position() + command.number())

    async def _seek_or_skip(self, target: float) -> None:
        if self._loaded is None or not self._state.can_seek:
            raise CommandError("nothing seekable is playing")
        duration = self._state.track.duration if self._state.track else None
        if duration is not None and target >= duration:
            await self._advance(1, user=False)
            return
        self._seek_to(max(0.0, target))

    def _seek_to(self, seconds: float) -> None:
        assert self._mpv is not None
        if not self._file_ready:
            # mpv refuses a seek while it opens the file: do it once the file is open.
            self._pending_seek = seconds
            return
        self._pending_seek = None
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
        self._spawn(self._prefetch_neighbours())

    async def _loop_cmd(self, command: Command) -> None:
        self._set_loop(LoopMode(str(command.value)))
        self._publish()
        self._spawn(self._prefetch_neighbours())

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
        self._direction, self._failures = 1, 0
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


def _file_options(start: float, ref: MediaRef | None) -> str:
    """loadfile's per-file options: where to start, and the backend's credentials."""
    options = [f"start={start:.3f}"] if start > 0 else []
    if ref is not None and ref.authorization:
        # A JWT has no comma, which would split mpv's option list.
        options.append(f"http-header-fields=Authorization: {ref.authorization}")
    return ",".join(options)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("player task failed", exc_info=task.exception())
