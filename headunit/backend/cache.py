"""What the reference backend remembers per user: the last state, queue, library and
presence of the car, and its cover pictures.

In memory for one process; in Redis when `server.redis_url` is set, so every process
behind one port answers a phone with the same state. Everything is keyed by user: no
call reads another user's entries.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from typing import Any, Protocol

log = logging.getLogger(__name__)

WRITE_RETRY = 1.0  # seconds before writing again to a Redis that failed
ART_LIMIT = 256  # pictures kept in memory (one process), least recently used dropped
ART_SECONDS = 7 * 86400  # how long Redis keeps a picture nobody uploads again


class UserCache(Protocol):
    async def get(self, kind: str, user_id: int) -> Any: ...

    async def put(self, kind: str, user_id: int, value: Any) -> None: ...

    async def get_art(self, user_id: int, art_id: str) -> bytes | None: ...

    async def put_art(self, user_id: int, art_id: str, data: bytes) -> None: ...


class MemoryCache:
    def __init__(self) -> None:
        self._values: dict[tuple[str, int], Any] = {}
        self._art: OrderedDict[tuple[int, str], bytes] = OrderedDict()

    async def get(self, kind: str, user_id: int) -> Any:
        return self._values.get((kind, user_id))

    async def put(self, kind: str, user_id: int, value: Any) -> None:
        self._values[(kind, user_id)] = value

    async def get_art(self, user_id: int, art_id: str) -> bytes | None:
        data = self._art.get((user_id, art_id))
        if data is not None:
            self._art.move_to_end((user_id, art_id))
        return data

    async def put_art(self, user_id: int, art_id: str, data: bytes) -> None:
        self._art[(user_id, art_id)] = data
        self._art.move_to_end((user_id, art_id))
        while len(self._art) > ART_LIMIT:
            self._art.popitem(last=False)


class Outage:
    """Redis failing is said once, then again only after it worked in between."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._down = False

    def ok(self) -> None:
        self._down = False

    def failed(self, exc: Exception) -> None:
        if not self._down:
            log.error("cannot %s in Redis: %s", self._what, exc)
        self._down = True


class RedisCache:
    """JSON values and raw pictures under `headunit:<kind>:<user>` keys.

    Values are written behind: `put` keeps the latest value of each key and one task
    writes what gathered meanwhile in one MSET, so a burst of states neither waits for
    Redis nor needs a connection each (redis-py's pool refuses a 101st at once). This
    process reads its own pending writes; the others see them a round trip later."""

    def __init__(self, url: str) -> None:
        from redis import asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url)
        self._pending: dict[str, str] = {}
        self._writer: asyncio.Task[None] | None = None
        self._outage = Outage("write the cache")

    async def get(self, kind: str, user_id: int) -> Any:
        key = f"headunit:{kind}:{user_id}"
        raw: str | bytes | None = self._pending.get(key)
        if raw is None:
            raw = await self._redis.get(key)
        return None if raw is None else json.loads(raw)

    async def put(self, kind: str, user_id: int, value: Any) -> None:
        self._pending[f"headunit:{kind}:{user_id}"] = json.dumps(value)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="redis-cache-writer")

    async def _write(self) -> None:
        try:
            while self._pending:
                batch = self._pending.copy()
                try:
                    await self._redis.mset(batch)
                    self._outage.ok()
                except Exception as exc:  # the cars resend their state on reconnect
                    self._outage.failed(exc)
                    await asyncio.sleep(WRITE_RETRY)
                    continue
                for key, raw in batch.items():  # unless a newer value came meanwhile
                    if self._pending.get(key) is raw:
                        del self._pending[key]
        finally:
            self._writer = None

    async def get_art(self, user_id: int, art_id: str) -> bytes | None:
        data = await self._redis.get(f"headunit:art:{user_id}:{art_id}")
        return data if isinstance(data, bytes) else None

    async def put_art(self, user_id: int, art_id: str, data: bytes) -> None:
        await self._redis.set(f"headunit:art:{user_id}:{art_id}", data, ex=ART_SECONDS)
