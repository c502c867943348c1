"""The reference backend's settings: the `[server]` and `[log]` sections of its file.

The backend is a program of its own. The file it is given may also hold the car's
sections (one file for both, as in a demo or a test); those are `headunit run`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headunit.config import (
    LogConfig,
    boolean,
    choice,
    find,
    integer,
    optional_path,
    read_toml,
    section,
    setting,
    text,
)


@dataclass(frozen=True)
class ServerConfig:
    host: str = setting("127.0.0.1", text)
    port: int = setting(3000, integer(0, 65535))
    jwt_secret_file: Path | None = setting("", optional_path)
    jwt_public_key_file: Path | None = setting("", optional_path)
    redis_url: str = setting("", text)
    refusal: str = setting("connect_error", choice("connect_error", "error_event"))
    # Processes behind the port; 0: one per core. One by default: through Redis each
    # worker decodes every emit of every worker (BENCHMARKS.md).
    workers: int = setting(1, integer(0, 256))
    compress: bool = setting(False, boolean)  # websocket permessage-deflate


@dataclass(frozen=True)
class ServerSettings:
    server: ServerConfig = field(default_factory=ServerConfig)
    log: LogConfig = field(default_factory=LogConfig)


def parse(document: Mapping[str, Any]) -> ServerSettings:
    """Raises ConfigError naming the key at fault, as the car's configuration does."""
    return ServerSettings(
        server=section(ServerConfig, "server", document.get("server", {})),
        log=section(LogConfig, "log", document.get("log", {})),
    )


def resolve(explicit: str | None) -> ServerSettings:
    """The file `--config` names, else the one the car would read, else the defaults."""
    found = find(explicit)
    return parse(read_toml(found)) if found else ServerSettings()
