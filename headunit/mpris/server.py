"""Owns the D-Bus connection and the MPRIS bus name; the daemon's MPRIS component.

The name is `org.mpris.MediaPlayer2.<mpris.name>`, or `<that>.instance<pid>` when
another process holds it (docs/mpris.md, Names), on the session bus or, with
`mpris.bus = "system"`, on the system bus (see systemd/ for the policy).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from dbus_fast import AuthError, BusType, DBusError
from dbus_fast.aio import MessageBus
from dbus_fast.constants import NameFlag, RequestNameReply

from headunit.component import Context
from headunit.controller import Controller
from headunit.mpris.frontend import MprisFrontend
from headunit.mpris.player import PlayerInterface
from headunit.mpris.queue import QueueInterface
from headunit.mpris.root import RootInterface
from headunit.openuri import OpenPolicy
from headunit.tasks import Background

log = logging.getLogger(__name__)

OBJECT_PATH = "/org/mpris/MediaPlayer2"
NAME_PREFIX = "org.mpris.MediaPlayer2."
IDENTITY = "headunit"
_OWNED = (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER)
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 30.0


class MprisUnavailable(RuntimeError):
    """The bus cannot be reached or refuses the name; the message says which and why."""


class MprisServer:
    def __init__(self, context: Context, bus_address: str | None = None) -> None:
        self._controller: Controller = context.controller
        self._config = context.config.mpris
        self._bus_address = bus_address
        policy = OpenPolicy.of(self._config.open_uri, context.config.media.paths)
        self._root = RootInterface(IDENTITY, context.request_shutdown, policy.schemes)
        self._player = PlayerInterface(self._controller, policy)
        self._queue = QueueInterface(self._controller, context.recoveries)
        self._frontend = MprisFrontend(self._player, self._controller.state)
        self._bus: MessageBus | None = None
        self._watch = Background()
        self.bus_name: str | None = None

    async def start(self) -> None:
        # Subscribed first: a change while the name is being claimed is not lost (with
        # no bus yet, the frontend's signals go nowhere, but it keeps count).
        self._controller.subscribe(self._frontend)
        try:
            self._bus = await self._connect()
        except BaseException:
            self._controller.unsubscribe(self._frontend)
            raise
        self._watch.spawn(self._keep_connected(), "mpris-bus")
        log.info("MPRIS: %s on the %s bus", self.bus_name, self._config.bus)

    async def _connect(self) -> MessageBus:
        """Connect, export the object, take the name: one usable bus, or MprisUnavailable."""
        bus_type = BusType.SYSTEM if self._config.bus == "system" else BusType.SESSION
        try:
            bus = await MessageBus(bus_address=self._bus_address, bus_type=bus_type).connect()
        except (OSError, ValueError, AuthError, DBusError) as exc:
            raise MprisUnavailable(
                f"mpris: cannot connect to the {self._config.bus} bus: {exc}"
            ) from None
        # Export before taking the name: a client reacting to NameOwnerChanged at once
        # must find the object there.
        bus.export(OBJECT_PATH, self._root)
        bus.export(OBJECT_PATH, self._player)
        bus.export(OBJECT_PATH, self._queue)
        try:
            self.bus_name = await self._claim_name(bus)
        except BaseException:
            bus.disconnect()
            raise
        return bus

    async def _keep_connected(self) -> None:
        """Reconnect when the bus drops us: media keys must not die with one connection.

        dbus-fast closes the connection on any socket error (EAGAIN on a full send
        buffer included), and a session bus may restart; the daemon carries on.
        """
        while self._bus is not None:
            try:
                # Shielded: cancelling this watch must not cancel the bus's own future.
                await asyncio.shield(self._bus.wait_for_disconnect())
                reason = "closed"
            except Exception as exc:
                reason = repr(exc)
            log.error("MPRIS: lost the %s bus (%s); reconnecting", self._config.bus, reason)
            self._bus = await self._reconnect()
            log.info("MPRIS: %s on the %s bus again", self.bus_name, self._config.bus)

    async def _reconnect(self) -> MessageBus:
        delay = RECONNECT_FIRST_SECONDS
        while True:
            try:
                return await self._connect()
            except MprisUnavailable as exc:
                log.warning("%s; retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _claim_name(self, bus: MessageBus) -> str:
        preferred = NAME_PREFIX + self._config.name
        for name in (preferred, f"{preferred}.instance{os.getpid()}"):
            try:
                reply = await bus.request_name(name, NameFlag.DO_NOT_QUEUE)
            except DBusError as exc:
                raise MprisUnavailable(
                    f"mpris: the {self._config.bus} bus refuses {name}: {exc.text} "
                    "(on the system bus, install systemd/org.mpris.MediaPlayer2.headunit.conf "
                    "and run as the headunit user)"
                ) from None
            if reply in _OWNED:
                return name
            log.info("MPRIS: %s is taken, trying the per-process name", name)
        raise MprisUnavailable(f"mpris: cannot own {preferred} nor its .instance name")

    async def stop(self) -> None:
        self._controller.unsubscribe(self._frontend)
        await self._watch.stop()
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.disconnect()
            with contextlib.suppress(Exception):
                await bus.wait_for_disconnect()


def create(context: Context) -> MprisServer:
    return MprisServer(context)
