"""What a queue entry is: title, artists, album... read from its tags with mutagen.

Read before the file is loaded into mpv, so a skip can announce the new track at once
(MPRIS clients and the backend see it without waiting for mpv to open the file).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

import mutagen

from headunit.media import VIDEO_EXTENSIONS, extension, is_stream, title_from_name
from headunit.model import MediaType
from headunit.state import TrackInfo

log = logging.getLogger(__name__)


class Tags(Protocol):
    """mutagen's easy tags (EasyID3, VComment, EasyMP4...): each key holds a list."""

    def __getitem__(self, key: str, /) -> Iterable[object]: ...


def _number(values: Sequence[str]) -> int | None:
    """'3', '3/12' or ' 03 ' -> 3; anything else -> None."""
    if not values:
        return None
    head = str(values[0]).split("/", 1)[0].strip()
    return int(head) if head.isdigit() and int(head) < 2**31 else None


def _texts(tags: Tags, key: str) -> tuple[str, ...]:
    try:
        values = tags[key]
    except (KeyError, ValueError, TypeError):
        return ()
    return tuple(str(v) for v in values if str(v).strip())


def _first(tags: Tags, key: str) -> str | None:
    values = _texts(tags, key)
    return values[0] if values else None


def placeholder(uri: str, title: str | None = None) -> TrackInfo:
    """What is known of an entry before (or without) its tags: its name and kind."""
    media_type: MediaType = "video" if extension(uri) in VIDEO_EXTENSIONS else "music"
    return TrackInfo(title=title or title_from_name(uri), media_type=media_type)


def describe(uri: str, title: str | None = None) -> tuple[TrackInfo, bool]:
    """Blocking (file I/O): call from a worker thread. Never raises on bad media.
    `title` (a playlist's #EXTINF) stands in for a missing title tag. The flag says
    whether the answer is final: a read that failed (EIO from a pulled stick, a file
    not there yet) is not, so a re-plugged stick's track gets its real tags."""
    fallback = placeholder(uri, title)
    if is_stream(uri):
        return fallback, True
    try:
        audio = mutagen.File(uri, easy=True)
    except Exception as exc:  # mutagen raises many kinds on broken files
        log.debug("no tags in %s: %s", uri, exc)
        # mutagen wraps an I/O error in its own exception.
        return fallback, not any(isinstance(e, OSError) for e in (exc, exc.__context__))
    if audio is None:
        return fallback, True
    length = getattr(audio.info, "length", None)
    tags: Tags = audio.tags if audio.tags is not None else {}
    info = TrackInfo(
        title=_first(tags, "title") or fallback.title,
        artist=_texts(tags, "artist"),
        album=_first(tags, "album"),
        album_artist=_texts(tags, "albumartist"),
        genre=_texts(tags, "genre"),
        track_number=_number(_texts(tags, "tracknumber")),
        disc_number=_number(_texts(tags, "discnumber")),
        duration=float(length) if length and length > 0 else None,
        media_type=fallback.media_type,
    )
    return info, True
