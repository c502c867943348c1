"""Cover art out to the backend, so the phone can show it (player role).

The car's cover is a file:// URI no phone can open. When the track's cover changes, the
picture is uploaded once per connection (`PUT /api/headunit/art/<sha256>`, with the
socket's token) and its hash goes out in the state as `artId`. A backend without the
route answers 404: the state then simply has no `artId`, as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable

import aiohttp

from headunit.controller import Controller
from headunit.extension import MAX_ART_BYTES
from headunit.link.supervisor import Supervisor
from headunit.media import image_suffix, to_local_path
from headunit.state import PlayerState
from headunit.tasks import Worker

log = logging.getLogger(__name__)

_TIMEOUT = aiohttp.ClientTimeout(total=15)


def _read(art_url: str) -> bytes | None:
    path = to_local_path(art_url)
    if path is None:
        return None
    try:
        with path.open("rb") as f:
            data = f.read(MAX_ART_BYTES + 1)
    except OSError:
        return None
    return data if len(data) <= MAX_ART_BYTES and image_suffix(data) else None


class ArtUploader(Worker):
    """A StateSink; `art_id(art_url)` is the uploaded picture's hash, once it is there."""

    task_name = "backend-art"

    def __init__(
        self, controller: Controller, supervisor: Supervisor, url: str, uploaded: Callable[[], None]
    ) -> None:
        super().__init__()
        self._controller = controller
        self._supervisor = supervisor
        self._route = url.rstrip("/") + "/api/headunit/art/"
        self._uploaded = uploaded
        self._ids: dict[str, str | None] = {}  # art_url -> its hash; None: not uploadable
        self._dirty = asyncio.Event()
        supervisor.on_connect(self._connected)

    def art_id(self, art_url: str | None) -> str | None:
        return self._ids.get(art_url) if art_url else None

    def state_changed(self, state: PlayerState, changed: frozenset[str]) -> None:
        if "track" in changed:
            self._dirty.set()

    def seeked(self, state: PlayerState) -> None:
        """A seek does not change the cover."""

    def _connected(self) -> None:
        self._ids.clear()  # the backend may have restarted and forgotten the pictures
        self._dirty.set()

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            track = self._controller.state.track
            art_url = track.art_url if track else None
            if art_url and art_url not in self._ids and self._supervisor.connected:
                self._ids[art_url] = await self._upload(art_url)
                if self._ids[art_url]:
                    self._uploaded()

    async def _upload(self, art_url: str) -> str | None:
        data = await asyncio.to_thread(_read, art_url)
        token = self._supervisor.token
        if data is None or token is None:
            return None
        digest = hashlib.sha256(data).hexdigest()
        headers = {"Authorization": f"Bearer {token.value}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=_TIMEOUT) as http,
                http.put(self._route + digest, data=data, headers=headers) as response,
            ):
                if response.status == 200:
                    return digest
                log.debug("the backend took no cover art: HTTP %d", response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.debug("cover art upload failed: %s", exc)
        return None
