"""The car's folders and playlists, as the phone's browse list shows them.

From `media.paths`: each configured folder, the folders directly inside it (an album,
an artist) and the playlists beside them; each configured playlist. One level deep,
so a USB stick with thousands of folders is listed in one `scandir` per path. Ids are
a hash of the path: the phone sends an id back, never a path, so it can only ask for
what the car offered. Blocking file I/O: run it in a worker thread.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from headunit.extension import MAX_ITEMS, LibraryKind
from headunit.media import PLAYLIST_EXTENSIONS, extension, is_stream, natural_key, to_local_path


@dataclass(frozen=True, slots=True)
class LibraryItem:
    id: str
    title: str
    kind: LibraryKind
    path: str

    def to_wire(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "kind": self.kind}


def _item(path: Path, kind: LibraryKind) -> LibraryItem:
    digest = hashlib.sha256(str(path).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    title = path.stem if kind == "playlist" else path.name
    return LibraryItem(digest, title or str(path), kind, str(path))


def _children(folder: Path) -> list[LibraryItem]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: natural_key(e.name))
    except OSError:
        return []
    items = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            items.append(_item(Path(entry.path), "folder"))
        elif extension(entry.name) in PLAYLIST_EXTENSIONS:
            items.append(_item(Path(entry.path), "playlist"))
    return items


def list_library(paths: tuple[str, ...]) -> list[LibraryItem]:
    items: list[LibraryItem] = []
    for configured in paths:
        if is_stream(configured):
            continue
        local = to_local_path(configured)
        if local is None:
            continue
        local = local.expanduser().absolute()
        if local.is_dir():
            items.append(_item(local, "folder"))
            items.extend(_children(local))
        elif local.is_file() and extension(local.name) in PLAYLIST_EXTENSIONS:
            items.append(_item(local, "playlist"))
    unique = {item.id: item for item in items}  # a path configured twice is listed once
    return list(unique.values())[:MAX_ITEMS]
