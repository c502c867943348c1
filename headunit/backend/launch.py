"""`headunit backend`: one process serving, or a supervisor and `server.workers` of them
behind one port (workers.py), each tuned for thousands of sockets (runtime.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from multiprocessing.connection import Connection

import socketio

from headunit import logs
from headunit.backend import runtime
from headunit.backend.auth import AuthError, Verifier, verifier_from
from headunit.backend.cache import RedisCache, UserCache
from headunit.backend.config import ServerConfig, ServerSettings
from headunit.backend.routing import RoomRedisManager
from headunit.backend.server import Backend, serve
from headunit.backend.workers import Supervisor, reserve_port
from headunit.config import EX_CONFIG


def worker_count(server: ServerConfig) -> int:
    """`server.workers`, 0 being one per core."""
    return server.workers or len(os.sched_getaffinity(0))


def launch(config: ServerSettings, host: str, port: int) -> int:
    server = config.server
    count = worker_count(server)
    if count > 1 and not server.redis_url:
        print("headunit: server.workers: more than one needs server.redis_url", file=sys.stderr)
        return EX_CONFIG
    try:
        verifier = verifier_from(server)
        _shared(server.redis_url)  # the redis extra is there: said now, not by each worker
    except AuthError as exc:
        print(f"headunit: {exc}", file=sys.stderr)
        return EX_CONFIG
    logs.setup(config.log.level)
    try:
        if count == 1:
            runtime.run(_serve_until_signal(_backend(verifier, server), host, port))
            return 0
        return _supervise(verifier, server, host, port, count)
    except OSError as exc:  # the address is taken, or not this host's
        print(f"headunit: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1


def _supervise(verifier: Verifier, server: ServerConfig, host: str, port: int, count: int) -> int:
    with reserve_port(host, port) as holder:
        bound = holder.getsockname()[1]

        def worker(port: int, ready: Connection) -> None:
            backend = _backend(verifier, server)
            runtime.run(_serve_until_signal(backend, host, port, ready, reuse_port=True))

        def listening() -> None:
            print(f"headunit backend listening on http://{host}:{bound} ({count} workers)",
                  flush=True)  # fmt: skip

        return Supervisor(count, worker, bound).run(listening)


def _backend(verifier: Verifier, server: ServerConfig) -> Backend:
    manager, cache = _shared(server.redis_url)
    return Backend(
        verifier,
        server.refusal,
        manager,
        cache,
        compress=server.compress,
        websocket_only=worker_count(server) > 1,
        json_module=runtime.Json,
    )


def _shared(redis_url: str) -> tuple[socketio.AsyncManager | None, UserCache | None]:
    """The Socket.IO manager and the per-user cache, both shared through Redis when
    `redis_url` is set, so every process behind one port answers alike."""
    if not redis_url:
        return None, None
    try:
        return RoomRedisManager(redis_url), RedisCache(redis_url)
    except (ImportError, RuntimeError) as exc:
        raise AuthError(f"server.redis_url needs the redis extra ({exc})") from None


async def _serve_until_signal(
    backend: Backend,
    host: str,
    port: int,
    ready: Connection | None = None,
    reuse_port: bool = False,
) -> None:
    running = await serve(backend, host, port, reuse_port=reuse_port)
    runtime.settle_collector()
    if ready is None:
        print(f"headunit backend listening on http://{host}:{running.port}", flush=True)
    else:
        ready.send(running.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(asyncio.CancelledError):
        await stop.wait()
    await running.stop()
