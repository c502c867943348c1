"""What the running libmpv accepts, read from the library itself.

mpv's command syntax moves between releases: 0.38 put an insertion index between
`loadfile`'s flags and its per-file options, so a call written for 0.35 has its options
read as the index (and refused) on 0.38 and newer. The form is taken from what the loaded
library reports at run time (its `command-list` property names each command's
arguments), never from a guess or from the python-mpv version: a Raspberry Pi OS image
and a Debian PC can pair the same Python package with different libraries.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# libmpv 0.35 (Debian 12) is the oldest we test. Its client API is 2.0; 0.34 and older
# are 1.x, whose loadfile does not return the playlist entry id end-file is matched on.
MIN_CLIENT_API = (2, 0)
MIN_RELEASE = "0.35"


class UnsupportedLibmpv(RuntimeError):
    """The installed libmpv is too old for headunit; the message says what to install."""


def client_api_version(library: ctypes.CDLL) -> tuple[int, int]:
    """The client API version of a loaded libmpv: (major, minor)."""
    fn = library.mpv_client_api_version
    fn.restype = ctypes.c_ulong
    value = int(fn())
    return value >> 16, value & 0xFFFF


def check_client_api(version: tuple[int, int], release: str = "") -> None:
    if version < MIN_CLIENT_API:
        name = f"libmpv {release}" if release else "libmpv"
        raise UnsupportedLibmpv(
            f"{name} (client API {version[0]}.{version[1]}) is too old: "
            f"headunit needs libmpv {MIN_RELEASE} or newer "
            f"(client API {MIN_CLIENT_API[0]}.{MIN_CLIENT_API[1]}); "
            "on Debian or Raspberry Pi OS install libmpv2 from bookworm or later"
        )


@dataclass(frozen=True)
class LoadfileSyntax:
    """How the running libmpv wants `loadfile <url> <flags> [<index>] <options>`."""

    has_index: bool

    @classmethod
    def from_command_list(cls, commands: Iterable[Mapping[str, Any]]) -> LoadfileSyntax:
        """Read loadfile's argument names from mpv's `command-list` property."""
        for command in commands:
            if command.get("name") == "loadfile":
                names = [arg.get("name") for arg in command.get("args") or ()]
                if "options" not in names:
                    raise UnsupportedLibmpv(f"this libmpv's loadfile takes no options: {names}")
                return cls(has_index="index" in names)
        raise UnsupportedLibmpv("this libmpv has no loadfile command")

    def args(self, url: str, flags: str, options: str) -> list[str]:
        """The command's arguments; -1 as the index means "where the flags say"."""
        if self.has_index:
            return ["loadfile", url, flags, "-1", options]
        return ["loadfile", url, flags, options]
