"""headunit's extension events to the backend's Socket.IO protocol (docs/backend.md).

The media service's protocol has no queue, no library and no presence; the phone page
needs them. These events carry them, and a backend that does not know them ignores them
(python-socketio and the Node server both drop an event nobody handles), so the car
works there exactly as without them. Parsed here, by the car and the reference backend
alike, so both sides agree on one shape:

- car -> backend: `headunit_queue_update` `{"entries": [{"id", "title", "artist"}]}`
  and `headunit_library_update` `{"items": [{"id", "title", "kind"}]}`; the backend
  caches each per user and relays it as `headunit_queue` / `headunit_library`.
- phone -> backend -> car: `headunit_select` `{"kind": "queue", "id": <entry id>}` or
  `{"kind": "library", "id": "<item id>"}`: play that entry, folder or playlist.
- backend -> the user's sockets: `headunit_car` `{"online": bool, "since": ms}`.
- in `playback_state_update`: an optional `artId`, the SHA-256 of the cover uploaded to
  `PUT /api/headunit/art/<artId>`, and an optional `source`: what plays, `"headunit"`
  or another player's name (the driver's phone over Bluetooth, say; headunit/sources.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from headunit.model import CommandError, whole_number

QUEUE_UPDATE, QUEUE = "headunit_queue_update", "headunit_queue"
LIBRARY_UPDATE, LIBRARY = "headunit_library_update", "headunit_library"
SELECT = "headunit_select"
CAR = "headunit_car"
ART_ID = "artId"
SOURCE = "source"
OWN_SOURCE = "headunit"  # `source` while headunit itself plays

MAX_ENTRIES = 50  # Up next: what fits a phone screen, several times over
MAX_ITEMS = 500  # folders and playlists
MAX_TEXT = 300
MAX_ART_BYTES = 4 * 1024 * 1024  # a cover picture, as uploaded for `artId`
_ITEM_ID = re.compile(r"[0-9a-f]{1,64}")
ART_ID_PATTERN = re.compile(r"[0-9a-f]{64}")
LibraryKind = Literal["folder", "playlist"]


def _text(value: object, what: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise CommandError(f"{what} must be a string")
    return value[:MAX_TEXT]


def _objects(payload: object, key: str, limit: int) -> list[Mapping[str, Any]]:
    if not isinstance(payload, Mapping):
        raise CommandError(f"the payload is an object, got {type(payload).__name__}")
    items = payload.get(key)
    if not isinstance(items, list) or len(items) > limit:
        raise CommandError(f"{key} must be a list of at most {limit}")
    if not all(isinstance(item, Mapping) for item in items):
        raise CommandError(f"each of {key} is an object")
    return items


def parse_queue(payload: object) -> dict[str, Any]:
    entries = []
    for entry in _objects(payload, "entries", MAX_ENTRIES):
        entry_id = whole_number(entry.get("id"))
        if entry_id is None or entry_id < 0:
            raise CommandError("a queue entry's id must be a whole number >= 0")
        title = _text(entry.get("title"), "a queue entry's title")
        artist = _text(entry.get("artist"), "a queue entry's artist", optional=True)
        entries.append({"id": entry_id, "title": title, "artist": artist})
    return {"entries": entries}


def parse_library(payload: object) -> dict[str, Any]:
    items = []
    for item in _objects(payload, "items", MAX_ITEMS):
        item_id = item.get("id")
        if not isinstance(item_id, str) or not _ITEM_ID.fullmatch(item_id):
            raise CommandError("a library item's id must be hexadecimal")
        if item.get("kind") not in ("folder", "playlist"):
            raise CommandError("a library item's kind must be folder or playlist")
        title = _text(item.get("title"), "a library item's title")
        items.append({"id": item_id, "title": title, "kind": item["kind"]})
    return {"items": items}


def parse_select(payload: object) -> dict[str, Any]:
    if not isinstance(payload, Mapping):
        raise CommandError("a selection is an object")
    kind = payload.get("kind")
    if kind == "queue":
        entry_id = whole_number(payload.get("id"))
        if entry_id is None or entry_id < 0:
            raise CommandError("a queue selection needs a whole-number id")
        return {"kind": kind, "id": entry_id}
    if kind == "library":
        item_id = payload.get("id")
        if not isinstance(item_id, str) or not _ITEM_ID.fullmatch(item_id):
            raise CommandError("a library selection needs a hexadecimal id")
        return {"kind": kind, "id": item_id}
    raise CommandError("a selection's kind must be queue or library")
