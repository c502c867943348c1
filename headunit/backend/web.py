"""The phone page: static files shipped in the package (`web/`), served by the backend.

No build step and nothing fetched at run time (car and phone may share a LAN with no
uplink): the socket.io browser client is vendored next to the page. Every answer carries
a Content-Security-Policy without inline scripts; the page and its files may be cached
by the browser and the service worker, API answers never are (see `server.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from importlib.resources.abc import Traversable

from aiohttp import web

# connect-src 'self' covers the websocket to the same host (CSP level 3: every current
# browser), so the page can talk to its own backend and nowhere else.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "sw.js": "text/javascript; charset=utf-8",
    "socket.io.min.js": "text/javascript; charset=utf-8",
    "manifest.webmanifest": "application/manifest+json",
    "icon.svg": "image/svg+xml",
    "icon-192.png": "image/png",
    "icon-512.png": "image/png",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _folder() -> Traversable:
    return resources.files("headunit.backend").joinpath("web")


def add_routes(app: web.Application) -> None:
    folder = _folder()
    page = _handler(folder.joinpath("index.html"), FILES["index.html"])
    app.router.add_get("/", page)
    for name, content_type in FILES.items():
        app.router.add_get(f"/{name}", _handler(folder.joinpath(name), content_type))


def _handler(
    file: Traversable, content_type: str
) -> Callable[[web.Request], Awaitable[web.Response]]:
    body = file.read_bytes()  # a few small files: read once, served from memory

    async def serve(request: web.Request) -> web.Response:
        # no-cache: the browser revalidates, so a new page reaches phones at once
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
        return web.Response(
            body=body,
            content_type=content_type.split(";")[0],
            charset=_charset(content_type),
            headers=headers,
        )

    return serve


def _charset(content_type: str) -> str | None:
    _, _, parameter = content_type.partition("charset=")
    return parameter or None
