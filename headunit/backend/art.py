"""Cover art for the phone: the car uploads a picture keyed by its SHA-256, the phone
fetches it with its own token. Keyed by user as well, so user 8 never sees user 7's.

`PUT /api/headunit/art/<sha256>` (the car) and `GET /api/headunit/art/<sha256>` (the
page, which turns the answer into a blob: URL, so the token never goes in a URL).
Neither answer may be cached by anyone but the browser that asked for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from aiohttp import web

from headunit.backend.cache import UserCache
from headunit.extension import ART_ID_PATTERN, MAX_ART_BYTES
from headunit.media import image_suffix

CONTENT_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
                 ".webp": "image/webp"}  # fmt: skip
PRIVATE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
ROUTE = "/api/headunit/art/{art_id}"


class ArtRoutes:
    def __init__(self, cache: UserCache, user_of: Callable[[web.Request], int]) -> None:
        self._cache = cache
        self._user_of = user_of

    def add_to(self, app: web.Application) -> None:
        app.router.add_put(ROUTE, self._put)
        app.router.add_get(ROUTE, self._get)

    async def _put(self, request: web.Request) -> web.Response:
        user_id = self._user_of(request)
        art_id = _art_id(request)
        if request.content_length is not None and request.content_length > MAX_ART_BYTES:
            return _error(413, f"a picture is at most {MAX_ART_BYTES} bytes")
        data = await request.content.read(MAX_ART_BYTES + 1)
        if len(data) > MAX_ART_BYTES:
            return _error(413, f"a picture is at most {MAX_ART_BYTES} bytes")
        if image_suffix(data) is None:
            return _error(415, "not a JPEG, PNG, GIF or WebP picture")
        if hashlib.sha256(data).hexdigest() != art_id:
            return _error(400, "the picture's SHA-256 is not the one in the path")
        await self._cache.put_art(user_id, art_id, data)
        return web.json_response({"success": True}, headers=PRIVATE)

    async def _get(self, request: web.Request) -> web.Response:
        user_id = self._user_of(request)
        data = await self._cache.get_art(user_id, _art_id(request))
        if data is None:
            return _error(404, "no such picture")
        suffix = image_suffix(data) or ".jpg"
        return web.Response(body=data, content_type=CONTENT_TYPES[suffix], headers=PRIVATE)


def _art_id(request: web.Request) -> str:
    art_id = request.match_info["art_id"]
    if not ART_ID_PATTERN.fullmatch(art_id):
        raise web.HTTPNotFound(text='{"error": "no such picture"}', content_type="application/json")
    return art_id


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=PRIVATE)
