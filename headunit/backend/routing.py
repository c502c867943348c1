"""How an emit reaches the sockets it is for: python-socketio's client managers, with
the per-message costs that showed in the fleet's profile taken out (BENCHMARKS.md).

- `DirectManager` (one process): a room's packet is encoded once and handed to each
  recipient's queue in turn. The library's manager starts a task per recipient and
  waits for them all, though handing a packet over never blocks (the queue has no
  bound; `SlowReaders` in pressure.py is what bounds it).
- `RoomRedisManager` (several processes): each room has a Redis channel of its own, and
  a process subscribes to the channels of the rooms its own sockets are in (a socket's
  own room included). An emit to a room is published on that room's channel only, so a
  process receives and decodes only what is for its sockets; python-socketio's Redis
  manager publishes every emit on one channel that every process decodes, which made
  two processes slower than one. An emit to a socket of this process, and what a
  process publishes to itself, never go through Redis. Broadcasts to everyone,
  disconnects of another process's socket and callbacks keep the library's one channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

from headunit.backend.cache import Outage

log = logging.getLogger(__name__)

RETRY_MAX = 60.0  # seconds between attempts to reach Redis, at most


class DirectManager(socketio.AsyncManager):  # type: ignore[misc]
    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            # a packet per recipient (its own ack id): the library's way
            await super().emit(event, data, namespace, room, skip_sid, callback, **kwargs)
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        frames = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid not in skip:
                for frame in frames:
                    await self.server._send_eio_packet(eio_sid, frame)


class RoomRedisManager(socketio.AsyncRedisManager, DirectManager):  # type: ignore[misc]
    """python-socketio's Redis manager, routed per room (module docstring)."""

    name = "headunit-rooms"
    connected: bool  # the library's: whether `redis` is set up

    def __init__(self, url: str, channel: str = "socketio") -> None:
        super().__init__(url, channel=channel)
        # Rooms whose local membership changed, and barriers (futures) to resolve once
        # the changes before them are sent: `_follow_rooms` consumes them in order.
        self._changed: asyncio.Queue[tuple[str, Any] | asyncio.Future[None]] = asyncio.Queue()
        self._marker = self.host_id.encode()  # what this process publishes starts with
        self._following = Outage("follow the rooms")  # said once, not once per room
        self._publishing = Outage("publish")
        self._listening: Any = None  # the listener's PubSub (a publish may reconnect `pubsub`)
        self._outbox: list[tuple[str, bytes]] = []  # published in order by `_send_outbox`
        self._posted = asyncio.Event()

    def initialize(self) -> None:
        super().initialize()
        self._workers = [  # held here: the loop keeps only weak references to tasks
            self.server.start_background_task(self._follow_rooms),
            self.server.start_background_task(self._send_outbox),
        ]

    def room_channel(self, namespace: str, room: Any) -> str:
        return f"{self.channel}#{namespace}#{room}"

    # -- which channels this process listens to ------------------------------------------
    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: Any = None) -> None:
        first = room not in self.rooms.get(namespace, {})
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        if first and room is not None:
            self._changed.put_nowait((namespace, room))

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        if room is not None and room not in self.rooms.get(namespace, {}):
            self._changed.put_nowait((namespace, room))

    async def enter_room(self, sid: str, namespace: str, room: Any, eio_sid: Any = None) -> None:
        """Returns once the room's subscription is sent to Redis, ahead of what the
        socket is sent next (the user's cached state, read from Redis), so the state it
        is greeted with and the emits after it leave no gap between them."""
        await super().enter_room(sid, namespace, room, eio_sid=eio_sid)
        barrier = asyncio.get_running_loop().create_future()
        self._changed.put_nowait(barrier)
        await barrier

    def _local_rooms(self) -> set[tuple[str, Any]]:
        return {
            (namespace, room)
            for namespace, rooms in self.rooms.items()
            for room in rooms
            if room is not None
        }

    async def _follow_rooms(self) -> None:
        """The one owner of the subscriptions: each room whose local membership changed
        is made to match what it is now (so an enter and a leave in quick succession
        end as the room is, whatever the order they are seen in). Without a connection
        yet, the listener subscribes to every local room when it connects."""
        while True:
            change = await self._changed.get()
            if isinstance(change, asyncio.Future):
                if not change.done():
                    change.set_result(None)
                continue
            if self._listening is None:
                continue
            namespace, room = change
            channel = self.room_channel(namespace, room)
            try:
                if room in self.rooms.get(namespace, {}):
                    await self._listening.subscribe(channel)
                else:
                    await self._listening.unsubscribe(channel)
                self._following.ok()
            except Exception as exc:  # the listener reconnects and subscribes them all
                self._following.failed(exc)
            _stop_if_cancelled()

    # -- sending -------------------------------------------------------------------------
    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room, namespace = to or room, namespace or "/"
        if isinstance(room, str) and self.is_connected(room, namespace):
            kwargs["ignore_queue"] = True  # a socket of this process: nobody else has it
        await super().emit(
            event, data, namespace=namespace, room=room, skip_sid=skip_sid,
            callback=callback, **kwargs,
        )  # fmt: skip

    async def _publish(self, data: Any) -> None:
        """Queued for `_send_outbox`: an emit does not wait for Redis, and nothing waits
        for a connection of its own (redis-py's pool refuses a 101st at once)."""
        room = data.get("room") if data.get("method") == "emit" else None
        if isinstance(room, str) and data.get("callback") is None:
            channel = self.room_channel(data["namespace"], room)
            self._outbox.append((channel, self._marker + self.json.dumps(data).encode()))
        else:  # every process: the library's channel and format
            self._outbox.append((self.channel, self.json.dumps(data).encode()))
        self._posted.set()

    async def _send_outbox(self) -> None:
        """The one publisher: what queued up meanwhile goes in one pipeline, in order.
        Redis unreachable: the batch is dropped (the clients' own state resent on
        reconnect is what the backend relies on), said once until it works again."""
        while True:
            await self._posted.wait()
            self._posted.clear()
            batch, self._outbox = self._outbox, []
            try:
                if not self.connected:
                    self._redis_connect()
                async with self.redis.pipeline(transaction=False) as pipe:
                    for channel, message in batch:
                        pipe.publish(channel, message)
                    await pipe.execute()
                self._publishing.ok()
            except Exception as exc:
                self.connected = False
                self._publishing.failed(exc)
            _stop_if_cancelled()

    # -- receiving -----------------------------------------------------------------------
    async def _listen(self) -> AsyncIterator[Any]:
        """What other processes publish for this one's rooms (and on the library's
        channel), with their own retry: a new connection subscribes to every room this
        process holds."""
        retry = 1.0
        while True:
            try:
                self._redis_connect()
                pubsub, rooms = self.pubsub, self._local_rooms()
                await pubsub.subscribe(self.channel, *(self.room_channel(*r) for r in rooms))
                # Only now may the follower use it: a PubSub's first commands, sent from
                # two tasks, open two connections and one of them is never read.
                self._listening = pubsub
                for changed in rooms ^ self._local_rooms():  # entered or left meanwhile
                    self._changed.put_nowait(changed)
                retry = 1.0
                async for message in pubsub.listen():
                    if message["type"] != "message":
                        continue
                    body = message["data"]
                    if message["channel"] == self.channel.encode():
                        yield body  # the library's format; its host_id says whose
                    elif not body.startswith(self._marker):
                        yield body[len(self._marker) :]
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _stop_if_cancelled()
                self._listening = None
                log.error("cannot receive from Redis, again in %g s: %s", retry, exc)
                await asyncio.sleep(retry)
                retry = min(RETRY_MAX, retry * 2)


def _stop_if_cancelled() -> None:
    """redis-py can swallow a cancellation that arrives during a command (it returns,
    or raises an error of its own): a task told to stop must stop, not go on."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
