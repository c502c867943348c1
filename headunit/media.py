"""Turning `media.paths` into a queue of URIs: folders, playlists, files and streams.

A queue entry is a string: an absolute file path or a URL. Folders are scanned
recursively, a folder's own files first, then its subfolders, all in natural order
("Track 2" before "Track 10"), as car stereos play a USB stick. Playlists inside a
scanned folder are not expanded (their files are already in the folder).
"""

from __future__ import annotations

import configparser
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = frozenset(
    {"aac", "aif", "aiff", "alac", "ape", "flac", "m4a", "mka", "mp2", "mp3", "mpc"}
    | {"oga", "ogg", "opus", "spx", "wav", "wma", "wv"}
)
VIDEO_EXTENSIONS = frozenset(
    {"3gp", "avi", "flv", "m2ts", "m4v", "mkv", "mov", "mp4", "mpeg", "mpg", "ogv", "ts"}
    | {"webm", "wmv"}
)
PLAYLIST_EXTENSIONS = frozenset({"m3u", "m3u8", "pls"})
MEDIA_EXTENSIONS = AUDIO_EXTENSIONS | VIDEO_EXTENSIONS

STREAM_SCHEMES = ("http", "https")
SUPPORTED_URI_SCHEMES = ("file", *STREAM_SCHEMES)
SUPPORTED_MIME_TYPES = (
    "audio/mpeg",
    "audio/flac",
    "audio/x-flac",
    "audio/ogg",
    "audio/x-vorbis+ogg",
    "audio/opus",
    "audio/aac",
    "audio/mp4",
    "audio/x-m4a",
    "audio/wav",
    "audio/x-wav",
    "audio/x-ms-wma",
    "audio/x-mpegurl",
    "audio/x-scpls",
    "video/mp4",
    "video/x-matroska",
    "video/webm",
    "video/quicktime",
    "video/x-msvideo",
)

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders embedded numbers by value, case-insensitively."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold())
        for part in _DIGITS.split(name)
        if part
    )


def is_stream(uri: str) -> bool:
    return urlsplit(uri).scheme.lower() in STREAM_SCHEMES


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def title_from_name(uri: str) -> str:
    """A readable title when there are no tags: the file name without its extension."""
    if not uri.startswith("/") and is_stream(uri):  # a queued file's path is absolute
        parts = urlsplit(uri)
        name = unquote(PurePosixPath(parts.path).name)
        return name or parts.netloc or uri
    # os.path, not Path: `headunit queue` names 20,000 entries this way.
    stem = os.path.splitext(os.path.basename(uri))[0]
    return stem or uri


def to_local_path(uri: str) -> Path | None:
    """The file a `file://` URI or a plain path names; None for a URL."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme == "" or (len(parts.scheme) == 1 and os.name == "nt"):
        return Path(uri).expanduser()
    return None


@dataclass(frozen=True)
class Bounds:
    """How far a folder walk may go: an opened `file:///` must not walk the whole disk."""

    depth: int
    entries: int


UNBOUNDED = Bounds(depth=10_000, entries=10**9)
# What one open (MPRIS OpenUri, the backend) may queue from a folder.
OPEN_BOUNDS = Bounds(depth=8, entries=5_000)


def scan(paths: Iterable[str]) -> list[str]:
    """The queue for `media.paths`; a missing path is one log line, never an error."""
    queue: list[str] = []
    for item in paths:
        queue.extend(expand(item))
    return queue


def expand(item: str, bounds: Bounds = UNBOUNDED) -> list[str]:
    """One configured or opened item: a URL, a file, a playlist or a folder.

    Only regular files are queued: a FIFO or a device would block whoever opens it.
    """
    if is_stream(item):
        return [item]
    local = to_local_path(item)
    if local is None:
        log.warning("media: unsupported URI scheme in %s", item)
        return []
    local = local.absolute()
    if local.is_dir():
        return list(_walk(local, bounds.depth, [bounds.entries]))
    if not local.is_file():
        log.info("media: %s is not there (or not a regular file), skipped", local)
        return []
    if extension(local.name) in PLAYLIST_EXTENSIONS:
        return read_playlist(local)[: bounds.entries]
    return [str(local)]


def _walk(folder: Path, depth: int, budget: list[int]) -> Iterator[str]:
    """Media files below `folder`; `budget` ([entries left]) is shared by the whole walk."""
    try:
        children = sorted(os.scandir(folder), key=lambda e: natural_key(e.name))
    except OSError as exc:
        log.warning("media: cannot read %s: %s", folder, exc.strerror)
        return
    subfolders = []
    for entry in children:
        if budget[0] <= 0:
            return
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            subfolders.append(Path(entry.path))
        elif _playable_file(entry):
            budget[0] -= 1
            yield entry.path
    if depth > 0:
        for sub in subfolders:
            yield from _walk(sub, depth - 1, budget)


def _playable_file(entry: os.DirEntry[str]) -> bool:
    """A readable regular media file; FIFOs, devices and unreadable files are skipped."""
    if extension(entry.name) not in MEDIA_EXTENSIONS:
        return False
    try:
        regular = entry.is_file()
    except OSError:
        return False
    if not regular or not os.access(entry.path, os.R_OK):
        log.info("media: %s is not a readable regular file, skipped", entry.path)
        return False
    return True


def folders(paths: Iterable[str]) -> list[Path]:
    """The folders a scan of `paths` reads (the hot-plug watch sets inotify on these)."""
    found: list[Path] = []
    for item in paths:
        local = None if is_stream(item) else to_local_path(item)
        if local is not None and local.is_dir():
            found.append(local)
            for top, dirs, _ in os.walk(local):
                dirs[:] = [d for d in dirs if not d.startswith(".")]  # as the scan does
                found.extend(Path(top, d) for d in dirs)
    return found


def read_playlist(playlist: Path) -> list[str]:
    """Entries of an .m3u/.m3u8/.pls file, relative paths resolved against its folder."""
    return [uri for uri, _title in read_playlist_entries(playlist)]


def playlist_titles(paths: Iterable[str]) -> dict[str, str]:
    """The titles the configured playlists give their entries (#EXTINF, TitleN), for
    entries whose files have no tags."""
    titles: dict[str, str] = {}
    for item in paths:
        local = None if is_stream(item) else to_local_path(item)
        if local is not None and extension(local.name) in PLAYLIST_EXTENSIONS and local.is_file():
            titles.update((uri, title) for uri, title in read_playlist_entries(local) if title)
    return titles


def read_playlist_entries(playlist: Path) -> list[tuple[str, str | None]]:
    """(entry, its title in the playlist or None), in the playlist's order."""
    try:
        content = decode_text(playlist.read_bytes())
    except OSError as exc:
        log.warning("media: cannot read playlist %s: %s", playlist, exc.strerror)
        return []
    pairs = _pls_entries(content) if extension(playlist.name) == "pls" else _m3u_entries(content)
    entries = []
    for line, title in pairs:
        entry = _resolve(line, playlist.parent)
        if entry is not None:
            entries.append((entry, title))
    return entries


def decode_text(raw: bytes) -> str:
    """UTF-8, else Windows-1252: what a playlist made on Windows is in (not replacement
    characters in every accented title)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # five bytes cp1252 leaves undefined
    return text.lstrip("\ufeff")


def _m3u_entries(content: str) -> list[tuple[str, str | None]]:
    entries: list[tuple[str, str | None]] = []
    title = None
    for raw_line in content.splitlines():
        line = raw_line.strip()
        if line.upper().startswith("#EXTINF:"):
            # #EXTINF:<seconds>[ attributes],<title>
            title = line.partition(",")[2].strip() or None
        elif line and not line.startswith("#"):
            entries.append((line, title))
            title = None
    return entries


def _pls_entries(content: str) -> list[tuple[str, str | None]]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(content)
    except configparser.Error as exc:
        log.warning("media: malformed .pls playlist: %s", str(exc).splitlines()[0])
        return []
    section = next((s for s in parser.sections() if s.lower() == "playlist"), None)
    if section is None:
        return []
    values = dict(parser.items(section))
    numbered = []
    for key, value in values.items():
        match = re.fullmatch(r"file(\d+)", key)
        if match:
            title = values.get(f"title{match.group(1)}", "").strip() or None
            numbered.append((int(match.group(1)), value.strip(), title))
    return [(value, title) for _, value, title in sorted(numbered)]


_DRIVE = re.compile(r"[A-Za-z]:(?=[\\/])")


def _resolve(line: str, base: Path) -> str | None:
    if is_stream(line):
        return line
    if "\\" in line or _DRIVE.match(line):
        return _resolve_windows(line, base)
    local = to_local_path(line)
    if local is None:
        log.warning("media: unsupported entry %s in a playlist, skipped", line)
        return None
    return str(local if local.is_absolute() else (base / local).resolve())


def _resolve_windows(line: str, base: Path) -> str:
    """A path written on Windows: backslashes, maybe a drive letter. A rooted one
    (`\\Music\\a.mp3`, `E:\\Music\\a.mp3`) starts at the stick's root, which is
    the nearest folder above the playlist where the file is."""
    rooted = bool(_DRIVE.match(line)) or line.startswith("\\")
    parts = [p for p in _DRIVE.sub("", line, count=1).replace("\\", "/").split("/") if p]
    relative = Path(*parts)
    if not rooted:
        return str((base / relative).resolve())
    found = next((f / relative for f in (base, *base.parents) if (f / relative).exists()), None)
    return str(found or base / relative)


# Sniff the bytes: a tag's MIME field is often missing or wrong.
_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"GIF8", ".gif"),
)


def image_suffix(data: bytes) -> str | None:
    """The file suffix of a picture, sniffed from its first bytes; None if not one."""
    for magic, suffix in _IMAGE_MAGIC:
        if data.startswith(magic):
            return suffix
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return None
