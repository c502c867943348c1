"""Cover art for a track as a file:// URI (MPRIS mpris:artUrl; never a data: URI).

Embedded art (ID3 APIC, FLAC and Vorbis pictures, MP4 covr) is extracted once into a
cache dir, named by its content hash, so one album's tracks share one file; else a
cover.jpg / folder.jpg / front.* beside the file. `find_art` blocks (it reads tags and
lists a directory): the player runs it in a worker thread when a track loads.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mutagen
from mutagen.flac import Picture

from headunit.files import write_atomically
from headunit.media import image_suffix, to_local_path

log = logging.getLogger(__name__)

FRONT_COVER = 3  # the ID3/FLAC picture type for "Cover (front)"
MAX_PICTURE_BYTES = 16 * 1024 * 1024
SIDECAR_STEMS = ("cover", "folder", "front")
SIDECAR_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


def find_art(uri: str, cache_dir: Path | str) -> str | None:
    """A file:// URI of the cover for `uri` (a path or file:// URI), or None.

    Never raises: a track without readable art simply has none.
    """
    path = to_local_path(uri)
    if path is None:
        return None
    path = path.absolute()  # as_uri() needs it
    try:
        cached = _embedded(path, Path(cache_dir))
    except Exception as exc:  # mutagen raises many types on odd files
        log.debug("no embedded art in %s: %s", path, exc)
        cached = None
    found = cached or _sidecar(path)
    return found.as_uri() if found else None


def _embedded(path: Path, cache_dir: Path) -> Path | None:
    audio = mutagen.File(path)
    if audio is None:
        return None
    pictures = sorted(_pictures(audio), key=lambda p: p[0] != FRONT_COVER)
    for _, data in pictures:
        if (suffix := image_suffix(data)) and len(data) <= MAX_PICTURE_BYTES:
            return _cache(data, suffix, cache_dir)
    return None


def _pictures(audio: Any) -> Iterator[tuple[int, bytes]]:
    """(picture type, bytes) for every picture the tags hold, whatever the format."""
    for picture in getattr(audio, "pictures", ()):  # FLAC
        yield picture.type, picture.data
    tags = audio.tags
    if tags is None:
        return
    if hasattr(tags, "getall"):  # ID3 (MP3, AIFF, WAV)
        for frame in tags.getall("APIC"):
            yield frame.type, frame.data
        return
    for cover in tags.get("covr", ()) if hasattr(tags, "get") else ():  # MP4
        yield FRONT_COVER, bytes(cover)
    for encoded in _vorbis_values(tags, "metadata_block_picture"):  # Ogg Vorbis/Opus
        with contextlib.suppress(binascii.Error, ValueError, mutagen.MutagenError):
            picture = Picture(base64.b64decode(encoded))
            yield picture.type, picture.data


def _vorbis_values(tags: Any, key: str) -> list[str]:
    try:
        values = tags.get(key, [])
    except (KeyError, ValueError, TypeError):
        return []
    return [v for v in values if isinstance(v, str)]


def _cache(data: bytes, suffix: str, cache_dir: Path) -> Path:
    """Write `data` once under its content hash; later calls find it there."""
    target = cache_dir / f"{hashlib.sha256(data).hexdigest()[:32]}{suffix}"
    if target.exists():
        return target
    # Atomic: a reader (a media widget) never sees half a picture. 0644: clients of
    # another user (mpris-proxy) read it.
    write_atomically(target, data, mode=0o644)
    return target


def _sidecar(path: Path) -> Path | None:
    """cover.jpg / folder.jpg / front.* beside the file (any case), in that order."""
    try:
        names = {entry.name.lower(): entry.path for entry in os.scandir(path.parent)}
    except OSError:
        return None
    for stem in SIDECAR_STEMS:
        for suffix in SIDECAR_EXTENSIONS:
            if (found := names.get(stem + suffix)) is not None:
                return Path(found)
    return None
