"""The media service's backend in Python: auth, one room per user, cache, relays, REST.

It does what docs/protocol.md says and nothing more, so the head unit tested against
it works against the service's own backend too:
- `playback_state_update` -> cached for the user, relayed as `playback_state` to the
  user's other sockets; a new socket gets the cached state on connect.
- `carplay_command` from a socket -> the user's other sockets.
- `POST /api/carplay/control` -> every socket of the user; `GET /api/carplay/now-playing`.
- `ping` -> `pong`; anything invalid -> an `error` event, and the socket stays.

Beside it, headunit's own extension (headunit/extension.py) for the phone page served at
`/` (web.py): the car's queue and library cached and relayed, a selection relayed to the
car, the car's presence, and cover art (art.py). The per-user memory is a `UserCache`,
shared through Redis when the processes share rooms through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

import engineio.json
import socketio
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from headunit import extension
from headunit.backend import web as page
from headunit.backend.art import ArtRoutes
from headunit.backend.auth import AuthError, Verifier, bearer_user
from headunit.backend.cache import MemoryCache, UserCache
from headunit.backend.pressure import SlowReaders, Throttle
from headunit.backend.routing import DirectManager
from headunit.model import CommandError, parse_command, parse_playback_state
from headunit.tasks import Background

log = logging.getLogger(__name__)

REFUSALS = ("connect_error", "error_event")
STATE_RATE = 20.0  # states a second from one socket; a car sends a few at most
SEND_LIMIT = 1000  # packets waiting for one socket before it is disconnected
_ERROR_EVENT_DELAY = 0.05  # let the CONNECT packet go out before the `error` event
NO_STORE = {"Cache-Control": "private, no-store"}  # a user's answers, for nobody else
STATE = "state"  # the UserCache kinds
# What the car publishes through the extension: the cache kind and the relayed event.
_CAR_UPDATES = {
    extension.QUEUE_UPDATE: (extension.QUEUE, extension.parse_queue),
    extension.LIBRARY_UPDATE: (extension.LIBRARY, extension.parse_library),
}


def _room(user_id: int) -> str:
    return f"user:{user_id}"


class Backend:
    def __init__(
        self,
        verifier: Verifier,
        refusal: str = "connect_error",
        client_manager: socketio.AsyncManager | None = None,
        cache: UserCache | None = None,
        *,
        compress: bool = False,
        websocket_only: bool = False,
        state_rate: float = STATE_RATE,
        send_limit: int = SEND_LIMIT,
        json_module: Any = None,  # python-socketio's codec (launch: runtime.Json)
    ) -> None:
        if refusal not in REFUSALS:
            raise ValueError(f"refusal must be one of {REFUSALS}")
        self._verifier = verifier
        self._refusal = refusal
        self._users: dict[str, int] = {}  # sid -> userId, for this process's sockets
        self._cache: UserCache = cache if cache is not None else MemoryCache()
        self._seen: dict[int, dict[str, Any]] = {}  # the last state this process received
        self._cars: dict[str, int] = {}  # sid -> userId, of this process's car sockets
        self._tasks = Background()
        self._expiry: dict[str, asyncio.TimerHandle] = {}  # sid -> its token's end
        self.refused = 0  # sockets refused since start (a tight-looping client shows here)
        self._transports: dict[str, asyncio.Transport] = {}  # sid -> its connection
        self._throttle = Throttle(state_rate, self._accept_state, self._spawn)
        self.slow_readers = SlowReaders(send_limit, self._backlogs, self._hang_up)
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            client_manager=client_manager if client_manager is not None else DirectManager(),
            cors_allowed_origins="*",
            logger=False,
            engineio_logger=False,
            # A socket's events run in its own reader, in order: no task per event (the
            # library's default spends more on scheduling than on relaying).
            async_handlers=False,
            **({} if json_module is None else {"json": json_module}),
            # Several processes behind one port cannot keep a long-polling session on the
            # process that opened it (no sticky sessions): websocket only, then.
            transports=["websocket"] if websocket_only else ["polling", "websocket"],
        )
        self.app = web.Application(middlewares=[] if compress else [_without_deflate])
        self.sio.attach(self.app)
        self.app.cleanup_ctx.append(self._sweeping)
        self.app.router.add_post("/api/carplay/control", self._rest_control)
        self.app.router.add_get("/api/carplay/now-playing", self._rest_now_playing)
        ArtRoutes(self._cache, self._rest_user).add_to(self.app)
        page.add_routes(self.app)
        for event in ("connect", "disconnect", "playback_state_update", "carplay_command", "ping"):
            self.sio.on(event, getattr(self, f"_on_{event}"))
        for event, (kind, parse) in _CAR_UPDATES.items():
            self.sio.on(event, self._car_update(kind, parse))
        self.sio.on(extension.SELECT, self._on_select)

    def cached(self, user_id: int) -> dict[str, Any] | None:
        """The user's last state as this process received it (shared ones: `_cache`)."""
        return self._seen.get(user_id)

    async def disconnect_user(self, user_id: int) -> None:
        """Hang up every socket of `user_id` on this process (revocation, maintenance)."""
        for sid in [sid for sid, user in self._users.items() if user == user_id]:
            await self.sio.disconnect(sid)

    # -- Socket.IO ----------------------------------------------------------------------
    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            user_id, expires = self._verifier.identify(token)
        except AuthError as exc:
            self.refused += 1
            log.info("refused a socket: %s", exc)
            if self._refusal == "connect_error":
                raise socketio.exceptions.ConnectionRefusedError(str(exc)) from None
            self._spawn(self._refuse(sid, str(exc)))
            return True
        self._users[sid] = user_id
        request = environ.get("aiohttp.request")
        if request is not None and request.transport is not None:
            self._transports[sid] = request.transport
        if expires is not None:  # the token's end is the socket's end
            delay = max(0.0, expires - time.time())
            self._expiry[sid] = asyncio.get_running_loop().call_later(
                delay, lambda: self._spawn(self._expire(sid))
            )
        await self.sio.enter_room(sid, _room(user_id))
        self._spawn(self._send_cached(sid, user_id))
        return True

    async def _send_cached(self, sid: str, user_id: int) -> None:
        """What a new socket needs to show the car at once: state, queue, library, presence."""
        for kind, event in (
            (STATE, "playback_state"),
            (extension.QUEUE, extension.QUEUE),
            (extension.LIBRARY, extension.LIBRARY),
            (extension.CAR, extension.CAR),
        ):
            value = await self._cache.get(kind, user_id)
            if value is not None:
                await self.sio.emit(event, value, to=sid)

    async def _refuse(self, sid: str, message: str) -> None:
        """The other refusal style: accept, emit `error`, hang up."""
        await asyncio.sleep(_ERROR_EVENT_DELAY)
        await self.sio.emit("error", {"message": message}, to=sid)
        await self.sio.disconnect(sid)

    async def _expire(self, sid: str) -> None:
        if sid in self._users:
            log.info("token expired: disconnecting a socket of user %s", self._users[sid])
            await self.sio.disconnect(sid)

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._users.pop(sid, None)
        self._transports.pop(sid, None)
        self._throttle.forget(sid)
        expiry = self._expiry.pop(sid, None)
        if expiry is not None:
            expiry.cancel()
        car_user = self._cars.pop(sid, None)
        if car_user is not None and car_user not in self._cars.values():
            await self._presence(car_user, online=False)

    async def _presence(self, user_id: int, online: bool) -> None:
        """Tell the user's sockets (and later ones, through the cache) whether the car is
        reachable; a car is a socket that publishes its state."""
        presence = {"online": online, "since": int(time.time() * 1000)}
        await self._cache.put(extension.CAR, user_id, presence)
        await self.sio.emit(extension.CAR, presence, room=_room(user_id))

    async def _validated(
        self, sid: str, data: Any, parse: Callable[[Any], Any], what: str
    ) -> tuple[int, Any] | None:
        """The socket's user and the parsed payload; or an `error` event, and None."""
        user_id = self._users.get(sid)
        if user_id is None:
            return None
        try:
            return user_id, parse(data)
        except CommandError as exc:
            await self.sio.emit("error", {"message": f"invalid {what}: {exc}"}, to=sid)
            return None

    async def _on_playback_state_update(self, sid: str, data: Any = None) -> None:
        await self._throttle.offer(sid, data)

    async def _accept_state(self, sid: str, data: Any) -> None:
        valid = await self._validated(sid, data, parse_playback_state, "playback state")
        if valid is None:
            return
        user_id, state = valid
        # The socket's user, never the one the payload claims.
        wire = dataclasses.replace(state, userId=user_id).to_wire()
        self._seen[user_id] = wire
        await self._cache.put(STATE, user_id, wire)
        if sid not in self._cars:
            self._cars[sid] = user_id
            await self._presence(user_id, online=True)
        await self.sio.emit("playback_state", wire, room=_room(user_id), skip_sid=sid)

    def _car_update(
        self, kind: str, parse: Callable[[Any], dict[str, Any]]
    ) -> Callable[[str, Any], Any]:
        async def handle(sid: str, data: Any = None) -> None:
            valid = await self._validated(sid, data, parse, kind.removeprefix("headunit_"))
            if valid is None:
                return
            user_id, payload = valid
            await self._cache.put(kind, user_id, payload)
            await self.sio.emit(kind, payload, room=_room(user_id), skip_sid=sid)

        return handle

    async def _on_select(self, sid: str, data: Any = None) -> None:
        valid = await self._validated(sid, data, extension.parse_select, "selection")
        if valid is not None:
            user_id, selection = valid
            await self.sio.emit(extension.SELECT, selection, room=_room(user_id), skip_sid=sid)

    async def _on_carplay_command(self, sid: str, data: Any = None) -> None:
        valid = await self._validated(sid, data, parse_command, "command")
        if valid is None:
            return
        user_id, command = valid
        await self.sio.emit("carplay_command", command.to_wire(), room=_room(user_id), skip_sid=sid)

    async def _on_ping(self, sid: str, data: Any = None) -> None:
        await self.sio.emit("pong", to=sid)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        self._tasks.spawn(coroutine, "backend-emit")

    # -- pressure -----------------------------------------------------------------------
    async def _sweeping(self, app: web.Application) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(self.slow_readers.run(), name="backend-slow-readers")
        yield
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper

    def _engine_socket(self, sid: str) -> Any:
        return self.sio.eio.sockets.get(self.sio.manager.eio_sid_from_sid(sid, "/"))

    def _backlogs(self) -> Iterator[tuple[str, int]]:
        for sid in list(self._users):
            socket = self._engine_socket(sid)
            if socket is not None:
                yield sid, socket.queue.qsize()

    async def _hang_up(self, sid: str) -> None:
        socket = self._engine_socket(sid)
        transport = self._transports.get(sid)
        if socket is None:
            return
        if socket.upgraded and transport is not None:
            transport.abort()  # the library's own close would wait for the queue to drain
        else:  # long-polling: the queue goes with the socket
            await socket.close(wait=False, abort=True)

    # -- REST ---------------------------------------------------------------------------
    def _rest_user(self, request: web.Request) -> int:
        try:
            return bearer_user(self._verifier, request.headers.get("Authorization", ""))
        except AuthError as exc:
            raise web.HTTPUnauthorized(
                text=json.dumps({"error": str(exc)}), content_type="application/json"
            ) from None

    async def _rest_control(self, request: web.Request) -> web.Response:
        user_id = self._rest_user(request)
        try:
            # engine.io's decoder: the same guard against huge integers as the sockets
            body = await request.json(loads=engineio.json.loads)
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        try:
            command = parse_command(body)
        except CommandError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        await self.sio.emit("carplay_command", command.to_wire(), room=_room(user_id))
        return web.json_response({"success": True, "command": command.to_wire()}, headers=NO_STORE)

    async def _rest_now_playing(self, request: web.Request) -> web.Response:
        user_id = self._rest_user(request)
        return web.json_response(await self._cache.get(STATE, user_id), headers=NO_STORE)


@web.middleware
async def _without_deflate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse websocket compression by not seeing the offer: aiohttp accepts
    permessage-deflate whenever a client offers it (Node's socket.io-client does), which
    costs a zlib context per socket (about 100 KiB) and CPU per message for payloads of
    a few hundred bytes. `server.compress = true` lets the offer through."""
    if hdrs.SEC_WEBSOCKET_EXTENSIONS in request.headers:
        headers = request.headers.copy()
        del headers[hdrs.SEC_WEBSOCKET_EXTENSIONS]
        request = request.clone(headers=headers)
    return await handler(request)


class Running:
    """A backend served by aiohttp; `port` is the one bound (ask for 0 in tests)."""

    def __init__(self, backend: Backend, runner: web.AppRunner, port: int) -> None:
        self.backend = backend
        self.port = port
        self._runner = runner

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        await self._runner.cleanup()


async def serve(
    backend: Backend, host: str = "127.0.0.1", port: int = 0, *, reuse_port: bool = False
) -> Running:
    """`reuse_port`: share the port with the other workers (SO_REUSEPORT)."""
    runner = web.AppRunner(backend.app, shutdown_timeout=0.5, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return Running(backend, runner, bound)
