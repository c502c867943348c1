"""What keeps one socket from costing the others: a flood of state updates is thinned
to the latest, and a reader that cannot keep up is hung up on.

- `Throttle`: each socket may publish `rate` states a second (a burst of `rate` first).
  Beyond that the updates are coalesced: the latest waits for the next token and the
  ones it replaces are dropped, which loses nothing a viewer could see (a state is the
  whole state). Only that socket waits; the others never queue behind it.
- `SlowReaders`: python-engineio queues every packet for a socket without bound and its
  writer waits for the socket to drain. Once a second, each socket whose queue holds more
  than `limit` packets is disconnected, with the reason in the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0


@dataclass
class _Bucket:
    rate: float
    tokens: float
    stamp: float = field(default_factory=time.monotonic)

    def refill(self, now: float) -> None:
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self) -> bool:
        self.refill(time.monotonic())
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait(self) -> float:
        """Seconds until the next token."""
        self.refill(time.monotonic())
        return max(0.0, (1.0 - self.tokens) / self.rate)


_NOTHING = object()


@dataclass
class _Sender:
    bucket: _Bucket
    pending: Any = _NOTHING  # the latest update waiting for a token
    draining: bool = False  # a task hands the pending updates over, in order
    noted: bool = False  # the flood is in the log once per socket


class Throttle:
    """Per socket: `apply(sid, data)` at most `rate` times a second, the latest winning.
    An update is applied inline while the socket is within its rate; once it is not,
    every later one goes through the socket's drain task, so the order holds."""

    def __init__(
        self,
        rate: float,
        apply: Callable[[str, Any], Awaitable[None]],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self._rate = rate
        self._apply = apply
        self._spawn = spawn
        self._senders: dict[str, _Sender] = {}

    async def offer(self, sid: str, data: Any) -> None:
        sender = self._senders.get(sid)
        if sender is None:
            sender = self._senders[sid] = _Sender(_Bucket(self._rate, self._rate))
        if not sender.draining and sender.bucket.take():
            await self._apply(sid, data)
            return
        sender.pending = data
        if not sender.noted:
            sender.noted = True
            log.warning(
                "a socket sends more than %g states a second: keeping the latest", self._rate
            )
        if not sender.draining:
            sender.draining = True
            self._spawn(self._drain(sid, sender))

    def forget(self, sid: str) -> None:
        self._senders.pop(sid, None)

    async def _drain(self, sid: str, sender: _Sender) -> None:
        try:
            while sender.pending is not _NOTHING and self._senders.get(sid) is sender:
                await asyncio.sleep(sender.bucket.wait())
                if not sender.bucket.take():
                    continue
                data, sender.pending = sender.pending, _NOTHING
                await self._apply(sid, data)
        finally:
            sender.draining = False


class SlowReaders:
    """`backlogs()`: each socket and how many packets wait for it; `hang_up(sid)`: end
    that socket's connection at once (a graceful close would wait for the backlog)."""

    def __init__(
        self,
        limit: int,
        backlogs: Callable[[], Iterable[tuple[str, int]]],
        hang_up: Callable[[str], Awaitable[None]],
    ) -> None:
        self._limit = limit
        self._backlogs = backlogs
        self._hang_up = hang_up

    async def sweep(self) -> int:
        """Disconnect every socket over the limit; how many there were."""
        over = [(sid, queued) for sid, queued in self._backlogs() if queued > self._limit]
        for sid, queued in over:
            log.warning(
                "disconnecting socket %s, which does not read: %d messages wait for it (limit %d)",
                sid,
                queued,
                self._limit,
            )
            await self._hang_up(sid)
        return len(over)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            await self.sweep()
