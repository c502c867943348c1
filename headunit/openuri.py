"""Which URIs OpenUri may open (`[mpris] open_uri`): the car's media, anything, or nothing.

Any local user may call OpenUri on the system bus, so by default ("media") it opens
only files and folders under the `media.paths` roots, after resolving symlinks, and
never a FIFO or a device (opening one blocks for ever). http(s) URLs, which make the
car fetch what the caller chooses, are opened only with "any" (a playlist naming one
too). The check is blocking (it stats and may read a playlist): run it off the loop.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from headunit.media import (
    PLAYLIST_EXTENSIONS,
    STREAM_SCHEMES,
    SUPPORTED_URI_SCHEMES,
    extension,
    is_stream,
    read_playlist,
    to_local_path,
)

POLICIES = ("media", "any", "off")


class Unsupported(ValueError):
    """A URI scheme headunit cannot play at all."""


class Refused(PermissionError):
    """A URI the policy does not let a caller open; the message says why."""


@dataclass(frozen=True)
class OpenPolicy:
    policy: str  # one of POLICIES
    roots: tuple[Path, ...]  # media.paths, symlinks resolved

    @classmethod
    def of(cls, policy: str, media_paths: Iterable[str]) -> OpenPolicy:
        roots = []
        for item in media_paths:
            local = None if is_stream(item) else to_local_path(item)
            if local is not None:
                roots.append(Path(os.path.realpath(local)))
        return cls(policy, tuple(roots))

    @property
    def schemes(self) -> tuple[str, ...]:
        """What MPRIS SupportedUriSchemes reports under this policy."""
        if self.policy == "off":
            return ()
        return SUPPORTED_URI_SCHEMES if self.policy == "any" else ("file",)

    def check(self, uri: str) -> str:
        """The URI to open (a local one as a resolved file:// URI); raises Unsupported,
        Refused or FileNotFoundError, each with a message for the caller."""
        scheme = urlsplit(uri).scheme.lower() or "file"
        if scheme not in SUPPORTED_URI_SCHEMES:
            raise Unsupported(
                f"unsupported URI scheme {scheme!r}; supported: {', '.join(SUPPORTED_URI_SCHEMES)}"
            )
        if self.policy == "off":
            raise Refused('OpenUri is turned off (mpris.open_uri = "off")')
        if scheme in STREAM_SCHEMES:
            self._require_any(f"{scheme} URLs")
            return uri
        local = to_local_path(uri)
        if local is None or not local.is_absolute():
            raise FileNotFoundError(
                f"cannot open {uri!r}: expected an absolute path or file:// URI"
            )
        return self._check_file(local).as_uri()

    def _check_file(self, local: Path) -> Path:
        try:
            resolved = Path(os.path.realpath(local, strict=True))
            mode = resolved.stat().st_mode
        except OSError as exc:
            raise FileNotFoundError(f"cannot open {local}: {exc.strerror}") from None
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise Refused(f"{local} is not a regular file or a folder")
        if self.policy == "media" and not any(_within(resolved, root) for root in self.roots):
            raise Refused(f'{local} is not under media.paths (mpris.open_uri = "media")')
        playlist = stat.S_ISREG(mode) and extension(resolved.name) in PLAYLIST_EXTENSIONS
        if playlist and any(is_stream(entry) for entry in read_playlist(resolved)):
            self._require_any(f"the playlist {local} names http(s) URLs, which")
        return resolved

    def _require_any(self, what: str) -> None:
        if self.policy != "any":
            raise Refused(f'{what} need mpris.open_uri = "any"')


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
