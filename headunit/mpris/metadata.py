"""Track -> MPRIS Metadata a{sv}, with the exact types BlueZ and GNOME Shell accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dbus_fast import Variant

from headunit.state import PlayerState, Track

TRACK_PREFIX = "/com/headunit/track/"
NO_TRACK = "/org/mpris/MediaPlayer2/TrackList/NoTrack"
_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1


def trackid(track: Track | None) -> str:
    """The object path naming a queue entry: unique per entry, never under /org/mpris."""
    if track is None:
        return NO_TRACK
    # entry_id may in principle be negative; an object path element cannot hold '-'.
    return f"{TRACK_PREFIX}{'n' if track.entry_id < 0 else ''}{abs(track.entry_id)}"


def microseconds(seconds: float) -> int:
    """Seconds -> int64 µs, clamped to the int64 range (Python ints do not overflow)."""
    return max(-_INT64_MAX, min(_INT64_MAX, round(seconds * 1_000_000)))


def length_us(track: Track | None) -> int | None:
    if track is None or track.duration is None or track.duration <= 0:
        return None
    return microseconds(track.duration)


def position_us(state: PlayerState, seconds: float) -> int:
    """A position in µs within 0..length (docs/mpris.md, Position)."""
    position = max(0, microseconds(seconds))
    length = length_us(state.track)
    return position if length is None else min(position, length)


def as_uri(location: str) -> str:
    """A URI for xesam:url: URLs pass through, local paths become file:// URIs."""
    if urlsplit(location).scheme and "://" in location:
        return location
    return Path(location).absolute().as_uri()


def to_metadata(track: Track | None) -> dict[str, Variant]:
    """Metadata for `track`; an empty map without a current track (docs/mpris.md, Metadata)."""
    if track is None:
        return {}
    entries: dict[str, tuple[str, Any]] = {
        "mpris:trackid": ("o", trackid(track)),
        "xesam:title": ("s", track.title),
        "xesam:url": ("s", as_uri(track.uri)),
    }
    if (length := length_us(track)) is not None:
        entries["mpris:length"] = ("x", length)
    for key, names in (
        ("xesam:artist", track.artist),
        ("xesam:albumArtist", track.album_artist),
        ("xesam:genre", track.genre),
    ):
        if names:
            entries[key] = ("as", list(names))
    if track.album:
        entries["xesam:album"] = ("s", track.album)
    for key, number in (
        ("xesam:trackNumber", track.track_number),
        ("xesam:discNumber", track.disc_number),
    ):
        # BlueZ wants int32 here; a number that does not fit is better left out.
        if number is not None and 0 <= number <= _INT32_MAX:
            entries[key] = ("i", number)
    if track.art_url:
        entries["mpris:artUrl"] = ("s", track.art_url)
    return {key: Variant(signature, value) for key, (signature, value) in entries.items()}
