"""TOML configuration -> typed, validated settings; every error names its key.

Each section is a frozen dataclass whose fields carry a checker in their metadata; the
loader walks them, so adding a key is one line and its validation comes with it.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

EX_CONFIG = 78  # sysexits.h: configuration error
SYSTEM_CONFIG = Path("/etc/headunit/config.toml")

Checker = Callable[[Any], Any]


class ConfigError(ValueError):
    """A bad configuration; the message starts with the key (`section.key: ...`)."""


class _Bad(ValueError):
    """Raised by a checker; the loader prefixes the key."""


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if not isinstance(value, dict | list) else type(value).__name__


def integer(low: int, high: int) -> Checker:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _Bad(f"expected an integer {low}..{high}, got {_describe(value)}")
        return int(value)

    return check


def number(low: float, high: float) -> Checker:
    def check(value: Any) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not low <= value <= high
        ):
            raise _Bad(f"expected a number {low:g}..{high:g}, got {_describe(value)}")
        return float(value)

    return check


def choice(*options: str) -> Checker:
    def check(value: Any) -> str:
        if value not in options:
            raise _Bad(f"expected one of {', '.join(options)}, got {_describe(value)}")
        return str(value)

    return check


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"expected a string, got {_describe(value)}")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"expected true or false, got {_describe(value)}")
    return value


def path(value: Any) -> Path:
    return Path(text(value)).expanduser()


def optional_path(value: Any) -> Path | None:
    return path(value) if text(value) else None


def text_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad(f"expected a list of strings, got {_describe(value)}")
    return tuple(value)


def text_table(value: Any) -> Mapping[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _Bad(f"expected a table of strings, got {_describe(value)}")
    return dict(value)


def option_table(value: Any) -> Mapping[str, str]:
    """A table of command-line style options: strings, numbers and booleans (yes/no)."""
    if not isinstance(value, dict):
        raise _Bad(f"expected a table, got {_describe(value)}")
    options = {}
    for key, item in value.items():
        if isinstance(item, bool):
            options[key] = "yes" if item else "no"
        elif isinstance(item, str | int | float):
            options[key] = str(item)
        else:
            raise _Bad(f"{key}: expected a string, number or boolean, got {_describe(item)}")
    return options


def name_part(value: Any) -> str:
    """A D-Bus bus-name element: [A-Za-z0-9_], not starting with a digit."""
    name = text(value)
    if not name or name[0].isdigit() or not all(c.isalnum() or c == "_" for c in name):
        raise _Bad(
            f"expected letters, digits and _ (not starting with a digit), got {_describe(name)}"
        )
    if not name.isascii():
        raise _Bad(f"expected ASCII letters, digits and _, got {_describe(name)}")
    return name


def setting(default: Any, check: Checker, **kwargs: Any) -> Any:
    if isinstance(default, list | dict):
        return field(default_factory=lambda: check(default), metadata={"check": check})
    return field(default=check(default), metadata={"check": check}, **kwargs)


@dataclass(frozen=True)
class MediaConfig:
    paths: tuple[str, ...] = setting(["~/Music", "/media/usb"], text_list)


@dataclass(frozen=True)
class PlayerConfig:
    audio_output: str = setting("auto", text)
    startup_volume_max: int = setting(60, integer(0, 100))
    volume_max: int = setting(100, integer(1, 100))
    resume: str = setting("play", choice("play", "pause", "off"))
    previous_restarts_after: float = setting(3.0, number(0, 3600))
    network_timeout: float = setting(10.0, number(1, 600))
    stream_cache_mib: int = setting(32, integer(1, 1024))
    replaygain: str = setting("track", choice("off", "track", "album"))
    replaygain_preamp: float = setting(0.0, number(-15, 15))  # dB, mpv's own range
    replaygain_clip_protection: bool = setting(True, boolean)
    replaygain_fallback: float = setting(0.0, number(-200, 60))  # dB, for untagged files
    mpv_options: Mapping[str, str] = setting({}, option_table)


@dataclass(frozen=True)
class StateConfig:
    dir: Path = setting("~/.local/state/headunit", path)
    save_seconds: float = setting(5.0, number(0.2, 300))


@dataclass(frozen=True)
class MprisConfig:
    bus: str = setting("session", choice("session", "system"))
    name: str = setting("headunit", name_part)
    open_uri: str = setting("media", choice("media", "any", "off"))


@dataclass(frozen=True)
class BackendConfig:
    url: str = setting("", text)
    token_file: Path | None = setting("/etc/headunit/token", optional_path)
    token: str = setting("", text, repr=False)
    role: str = setting("player", choice("player", "remote"))
    device_name: str = setting("headunit", text)
    heartbeat_seconds: float = setting(5.0, number(0.5, 3600))
    ping_seconds: float = setting(25.0, number(1, 3600))
    timeout_seconds: float = setting(10.0, number(0.1, 600))  # connect, and pong after ping
    backoff_min_seconds: float = setting(0.5, number(0.05, 3600))
    backoff_max_seconds: float = setting(15.0, number(0.1, 3600))
    auth_backoff_seconds: float = setting(60.0, number(0.1, 86400))
    follow: bool = setting(False, boolean)
    media_url: str = setting("", text)


@dataclass(frozen=True)
class KeysConfig:
    devices: tuple[str, ...] = setting([], text_list)
    map: Mapping[str, str] = setting(
        {
            "KEY_PLAYPAUSE": "toggle",
            "KEY_PLAYCD": "play",
            "KEY_PAUSECD": "pause",
            "KEY_STOPCD": "stop",
            "KEY_NEXTSONG": "next",
            "KEY_PREVIOUSSONG": "previous",
            "KEY_VOLUMEUP": "volume_up",
            "KEY_VOLUMEDOWN": "volume_down",
        },
        text_table,
    )
    long_press_seconds: float = setting(0.6, number(0.1, 10))
    seek_step_seconds: float = setting(10.0, number(1, 600))


def name_patterns(value: Any) -> tuple[str, ...]:
    """Shell-style patterns (`*`, `?`, `[...]`) for MPRIS bus names after
    `org.mpris.MediaPlayer2.`; an empty list yields to nobody."""
    patterns = text_list(value)
    for pattern in patterns:
        if not pattern or pattern.startswith("org.mpris.MediaPlayer2."):
            raise _Bad(
                "expected patterns for the part after org.mpris.MediaPlayer2. "
                f'(e.g. "*" or "bluez*"), got {_describe(pattern)}'
            )
    return patterns


@dataclass(frozen=True)
class SourcesConfig:
    players: tuple[str, ...] = setting(["*"], name_patterns)
    resume_after: bool = setting(True, boolean)
    settle: float = setting(10.0, number(0, 3600))


@dataclass(frozen=True)
class LogConfig:
    level: str = setting("info", choice("debug", "info", "warning", "error"))


@dataclass(frozen=True)
class Config:
    media: MediaConfig = field(default_factory=MediaConfig)
    player: PlayerConfig = field(default_factory=PlayerConfig)
    state: StateConfig = field(default_factory=StateConfig)
    mpris: MprisConfig = field(default_factory=MprisConfig)
    backend: BackendConfig = field(default_factory=BackendConfig)
    keys: KeysConfig = field(default_factory=KeysConfig)
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    log: LogConfig = field(default_factory=LogConfig)
    source: Path | None = None  # the file it came from, if any


SECTIONS: dict[str, type] = {
    "media": MediaConfig,
    "player": PlayerConfig,
    "state": StateConfig,
    "mpris": MprisConfig,
    "backend": BackendConfig,
    "keys": KeysConfig,
    "sources": SourcesConfig,
    "log": LogConfig,
}
# The reference backend's section (headunit/backend/config.py): one file may serve both
# programs, as in a demo or a test, so the car leaves it to `headunit backend`.
OTHER_PROGRAMS = frozenset({"server"})


def section(cls: type, name: str, table: Any) -> Any:
    """The dataclass `cls` from the TOML table `name`; a ConfigError names a bad key."""
    if not isinstance(table, dict):
        raise ConfigError(f"{name}: expected a table, got {_describe(table)}")
    known = {f.name: f for f in fields(cls)}
    for key in table:
        if key not in known:
            raise ConfigError(f"{name}.{key}: unknown key")
    values = {}
    for key, value in table.items():
        try:
            values[key] = known[key].metadata["check"](value)
        except _Bad as exc:
            raise ConfigError(f"{name}.{key}: {exc}") from None
    return cls(**values)


def parse(document: Mapping[str, Any], source: Path | None = None) -> Config:
    values: dict[str, Any] = {}
    for name, table in document.items():
        if name in OTHER_PROGRAMS:
            continue
        if name not in SECTIONS:
            raise ConfigError(f"{name}: unknown section")
        values[name] = section(SECTIONS[name], name, table)
    config = Config(**values, source=source)
    _check_cross(config)
    return config


def _check_cross(config: Config) -> None:
    backend = config.backend
    if backend.backoff_min_seconds > backend.backoff_max_seconds:
        raise ConfigError(
            "backend.backoff_min_seconds: must not exceed backend.backoff_max_seconds "
            f"({backend.backoff_min_seconds:g} > {backend.backoff_max_seconds:g})"
        )
    if backend.url and not backend.url.startswith(("http://", "https://", "ws://", "wss://")):
        raise ConfigError(
            f"backend.url: expected an http(s) or ws(s) URL, got {_describe(backend.url)}"
        )
    if backend.follow and "{mediaId}" not in backend.media_url:
        raise ConfigError("backend.media_url: backend.follow needs a URL template with {mediaId}")


def read_toml(path_: Path) -> dict[str, Any]:
    try:
        with path_.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path_}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{path_}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path_}: not valid TOML: {exc}") from None


def load(path_: Path) -> Config:
    return parse(read_toml(path_), source=path_)


def find(explicit: str | None, environ: Mapping[str, str] = os.environ) -> Path | None:
    """The file to read: --config, then $HEADUNIT_CONFIG, /etc, the XDG config dir."""
    if explicit:
        return Path(explicit).expanduser()
    if environ.get("HEADUNIT_CONFIG"):
        return Path(environ["HEADUNIT_CONFIG"]).expanduser()
    if SYSTEM_CONFIG.exists():
        return SYSTEM_CONFIG
    xdg = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    candidate = xdg / "headunit" / "config.toml"
    return candidate if candidate.exists() else None


def resolve(explicit: str | None) -> Config:
    """Load the configured file, or the defaults when there is none."""
    found = find(explicit)
    return load(found) if found else Config()
