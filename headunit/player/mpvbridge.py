"""libmpv: the options it starts with, its creation, and the bridge from its thread.

python-mpv runs every observer, event and log callback on mpv's own event thread. The
bridge only copies plain values into messages and hands them to the player's inbox
(`post` is thread-safe); it decides nothing. time-pos changes many times a second: the
bridge keeps the latest for the end-file that follows (mpv has closed the file by
then) and passes it on a few times a second, enough to see that the position
advances.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import mpv

from headunit.config import ConfigError, PlayerConfig
from headunit.model import MediaRef
from headunit.player import malloc
from headunit.player.inbox import Heard, Message, MpvEvent, MpvProperty
from headunit.player.libmpv import LoadfileSyntax, check_client_api, client_api_version

log = logging.getLogger(__name__)
mpv_log = logging.getLogger("headunit.mpv")

# mpv's "auto" would fail on a car with no sound server yet, or a server with no card:
# try the usual outputs, then play silently rather than not at all.
AUTO_AO = "pulse,alsa,null"
_EVENTS = frozenset(
    {
        mpv.MpvEventID.START_FILE,
        mpv.MpvEventID.END_FILE,
        mpv.MpvEventID.FILE_LOADED,
        mpv.MpvEventID.PLAYBACK_RESTART,
        mpv.MpvEventID.SEEK,
    }
)
# Not volume nor pause: only the player sets them, and an observation of an older value
# arriving after a newer command would undo it.
OBSERVED = ("duration", "seekable", "metadata", "idle-active")
# mpv's own complaints reach the journal, each distinct line once a minute at most.
_MPV_LOG_LEVELS = {"fatal": logging.ERROR, "error": logging.WARNING, "warn": logging.WARNING}
MPV_LOG_EVERY = 60.0
# Seconds between the positions passed on (each a message to the player).
HEARD_EVERY = 0.25


def mpv_options(config: PlayerConfig) -> dict[str, Any]:
    cache = config.stream_cache_mib
    return {
        "ao": AUTO_AO if config.audio_output == "auto" else config.audio_output,
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
        **replaygain(config),
        **config.mpv_options,  # last: the user's word on mpv is final
    }


def replaygain(config: PlayerConfig) -> dict[str, Any]:
    """As mpv names them: set as options at start, as properties on reload."""
    return {
        "replaygain": "no" if config.replaygain == "off" else config.replaygain,
        "replaygain-preamp": config.replaygain_preamp,
        "replaygain-clip": config.replaygain_clip_protection,
        "replaygain-fallback": config.replaygain_fallback,
    }


def file_options(start: float, ref: MediaRef | None) -> str:
    """loadfile's per-file options: where to start, and the backend's credentials."""
    options = [f"start={start:.3f}"] if start > 0 else []
    if ref is not None and ref.authorization:
        # A JWT has no comma, which would split mpv's option list.
        options.append(f"http-header-fields=Authorization: {ref.authorization}")
    return ",".join(options)


class Bridge:
    """mpv's thread -> the player's inbox. Blocking to create: call from a worker thread."""

    def __init__(self, config: PlayerConfig, post: Callable[[Message], None]) -> None:
        self._post = post
        self._heard: float | None = None  # mpv's thread alone touches these
        self._passed_on = 0.0
        self._logged = _OncePerMinute()
        api = client_api_version(mpv.backend)
        check_client_api(api)
        _declare_music_role(os.environ)
        malloc.tune()  # before mpv's threads allocate anything
        player = _new_mpv(self._log, mpv_options(config), config.mpv_options)
        try:
            self.loadfile = LoadfileSyntax.from_command_list(player.command_list)
        except Exception:
            player.terminate()
            raise
        log.info(
            "%s (client API %d.%d, %s)",
            player.mpv_version,
            *api,
            player.ffmpeg_version or "FFmpeg version unknown",
        )
        player.register_event_callback(self._event)
        for name in OBSERVED:
            player.observe_property(name, self._property)
        player.observe_property("time-pos", self._time)
        self.mpv = player

    def _event(self, event: mpv.MpvEvent) -> None:
        if event.event_id.value not in _EVENTS:
            return
        values = event.as_dict(decoder=mpv.lazy_decoder)
        if event.event_id.value == mpv.MpvEventID.END_FILE:
            # In order with time-pos: the next file's time has not come yet.
            values["heard"], self._heard = self._heard, None
        self._post(MpvEvent(values))

    def _property(self, name: str, value: Any) -> None:
        self._post(MpvProperty(name, value))

    def _time(self, _name: str, value: float | None) -> None:
        if value is None:
            return
        self._heard = float(value)
        now = time.monotonic()
        if now - self._passed_on >= HEARD_EVERY:
            self._passed_on = now
            self._post(Heard(float(value)))

    def _log(self, level: str, prefix: str, text: str) -> None:
        message = f"{prefix}: {text.strip()}"
        severity = _MPV_LOG_LEVELS.get(level, logging.DEBUG)
        if severity >= logging.WARNING and not self._logged.first(message):
            severity = logging.DEBUG  # said within the minute: kept out of the journal
        mpv_log.log(severity, "%s", message)


class _OncePerMinute:
    """Which lines were said lately; each distinct one passes once per MPV_LOG_EVERY."""

    def __init__(self) -> None:
        self._said: dict[str, float] = {}
        self._lock = threading.Lock()  # mpv may log from more than one thread

    def first(self, line: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._said.get(line, -MPV_LOG_EVERY) < MPV_LOG_EVERY:
                return False
            if len(self._said) > 1000:  # a flood of distinct lines: forget the old ones
                self._said = {k: t for k, t in self._said.items() if now - t < MPV_LOG_EVERY}
            self._said[line] = now
            return True


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
