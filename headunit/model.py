"""The command vocabulary and the wire contract (docs/protocol.md).

Every control source (backend, MPRIS, CLI, keys) produces a `Command`; the backend's
`carplay_command` carries the five wire commands, the other sources may use the rest.
`PlaybackState` is what the head unit publishes as `playback_state_update` and what it
receives as `playback_state` from the user's other clients.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypeGuard

MediaType = Literal["music", "video"]


class CommandName(StrEnum):
    PLAY = "play"
    PAUSE = "pause"
    NEXT = "next"
    PREVIOUS = "previous"
    SEEK = "seek"  # absolute seconds
    # Not part of carplay_command; local sources (MPRIS, CLI, keys) only.
    TOGGLE = "toggle"
    STOP = "stop"
    SEEK_BY = "seek_by"  # relative seconds
    VOLUME = "volume"  # percent 0..100
    SHUFFLE = "shuffle"  # bool
    LOOP = "loop"  # LoopMode value
    OPEN = "open"  # URI or path
    JUMP = "jump"  # a queue entry, by its entry_id (the phone's "Up next")


WIRE_COMMANDS = frozenset(
    {CommandName.PLAY, CommandName.PAUSE, CommandName.NEXT, CommandName.PREVIOUS, CommandName.SEEK}
)


class LoopMode(StrEnum):
    NONE = "none"
    TRACK = "track"
    PLAYLIST = "playlist"


@dataclass(frozen=True, slots=True)
class MediaRef:
    """What OPEN plays when it is more than a URI: media the backend knows (handoff)."""

    uri: str
    media_id: int | None = None  # published as mediaId
    authorization: str | None = field(default=None, repr=False)  # HTTP header value; never logged


class CommandError(ValueError):
    """A command that cannot be executed; the message says why, for one log line."""


@dataclass(frozen=True, slots=True)
class Command:
    name: CommandName
    value: float | bool | str | MediaRef | None = None

    def __post_init__(self) -> None:
        _check_value(self.name, self.value)

    def number(self) -> float:
        """The value of seek, seek_by and volume: a finite number, checked when built."""
        if not is_number(self.value):
            raise CommandError(f"{self.name} carries no number")
        return float(self.value)

    def to_wire(self) -> dict[str, Any]:
        """The `carplay_command` payload; only the five wire commands have one."""
        if self.name not in WIRE_COMMANDS:
            raise CommandError(f"{self.name} has no carplay_command form")
        payload: dict[str, Any] = {"command": str(self.name)}
        if self.name is CommandName.SEEK:
            payload["value"] = self.value
        return payload


def is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number that fits a float (an int beyond float range is refused, not a crash)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def whole_number(value: object) -> int | None:
    """`value` as an int when it is a whole JSON number (a userId claim), else None."""
    if not is_number(value) or int(value) != value:
        return None
    return int(value)


def _check_value(name: CommandName, value: object) -> None:
    if name in (CommandName.SEEK, CommandName.SEEK_BY, CommandName.VOLUME):
        if not is_number(value):
            raise CommandError(f"{name} needs a finite number, got {_short(value)}")
        if name is CommandName.SEEK and value < 0:
            raise CommandError(f"seek needs a position >= 0, got {_short(value)}")
        if name is CommandName.VOLUME and not 0 <= value <= 100:
            raise CommandError(f"volume needs a percentage 0..100, got {_short(value)}")
    elif name is CommandName.SHUFFLE:
        if not isinstance(value, bool):
            raise CommandError(f"shuffle needs true or false, got {_short(value)}")
    elif name is CommandName.LOOP:
        if value not in tuple(LoopMode):
            raise CommandError(f"loop needs one of none, track, playlist, got {_short(value)}")
    elif name is CommandName.JUMP:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CommandError(f"jump needs a queue entry id, got {_short(value)}")
    elif name is CommandName.OPEN:
        uri = value.uri if isinstance(value, MediaRef) else value
        if not isinstance(uri, str) or not uri:
            raise CommandError(f"open needs a URI, got {_short(value)}")
    elif value is not None:
        raise CommandError(f"{name} takes no value, got {_short(value)}")


def parse_command(payload: object) -> Command:
    """Parse a `carplay_command` payload (any JSON-ish input) into a wire command.

    Raises CommandError with a reason fit for one log line.
    """
    if not isinstance(payload, Mapping):
        raise CommandError(f"a command is an object, got {type(payload).__name__}")
    raw_name = payload.get("command")
    if not isinstance(raw_name, str) or raw_name not in WIRE_COMMANDS:
        raise CommandError(f"unknown command {_short(raw_name)}")
    name = CommandName(raw_name)
    value = payload.get("value")
    if name is not CommandName.SEEK:
        # The backend's REST clients send "value": null with every command; a value on a
        # command that takes none carries no meaning, so it is ignored, not an error.
        value = None
    return Command(name, value)


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def finite_time(value: float | None) -> float:
    """A time fit for the wire: finite and >= 0 (unknown becomes 0)."""
    if value is None or not is_number(value) or value < 0:
        return 0.0
    return float(value)


@dataclass(frozen=True, slots=True)
class PlaybackState:
    """The wire `PlaybackState`; `extra` holds fields the head unit adds (updatedAt...)."""

    userId: int
    isPlaying: bool
    currentTime: float
    duration: float
    mediaId: int | None
    mediaTitle: str | None = None
    mediaArtist: str | None = None
    mediaAlbum: str | None = None
    mediaType: MediaType | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = dict(self.extra)
        wire.update(
            userId=self.userId,
            isPlaying=self.isPlaying,
            currentTime=finite_time(self.currentTime),
            duration=finite_time(self.duration),
            mediaId=self.mediaId,
        )
        for key in ("mediaTitle", "mediaArtist", "mediaAlbum", "mediaType"):
            value = getattr(self, key)
            if value is not None:
                wire[key] = value
        return wire


_OPTIONAL_TEXT = ("mediaTitle", "mediaArtist", "mediaAlbum")


def parse_playback_state(payload: object) -> PlaybackState:
    """Parse a `playback_state` from another client; raises CommandError on bad input."""
    if not isinstance(payload, Mapping):
        raise CommandError(f"a playback state is an object, got {type(payload).__name__}")
    user_id = whole_number(payload.get("userId"))
    if user_id is None:
        raise CommandError(f"userId must be a number, got {_short(payload.get('userId'))}")
    is_playing = payload.get("isPlaying")
    if not isinstance(is_playing, bool):
        raise CommandError(f"isPlaying must be a boolean, got {_short(is_playing)}")
    times = {}
    for key in ("currentTime", "duration"):
        value = payload.get(key)
        if not is_number(value) or value < 0:
            raise CommandError(f"{key} must be a finite number >= 0, got {_short(value)}")
        times[key] = float(value)
    media_id = payload.get("mediaId")
    if media_id is not None and not is_number(media_id):
        raise CommandError(f"mediaId must be a number or null, got {_short(media_id)}")
    texts = {}
    for key in _OPTIONAL_TEXT:
        value = payload.get(key)
        if value is not None and not isinstance(value, str):
            raise CommandError(f"{key} must be a string, got {_short(value)}")
        texts[key] = value
    media_type = payload.get("mediaType")
    if media_type not in (None, "music", "video"):
        raise CommandError(f"mediaType must be music or video, got {_short(media_type)}")
    known = {"userId", "isPlaying", "currentTime", "duration", "mediaId", "mediaType", *texts}
    return PlaybackState(
        userId=user_id,
        isPlaying=is_playing,
        currentTime=times["currentTime"],
        duration=times["duration"],
        mediaId=None if media_id is None else int(media_id),
        mediaType=media_type,
        extra={k: v for k, v in payload.items() if k not in known},
        **texts,
    )
