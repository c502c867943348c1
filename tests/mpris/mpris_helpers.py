"""Helpers for the MPRIS tests: a D-Bus client of the player, tracks, a sink."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from support import DaemonProcess, FakeTarget, async_wait_for, dbus_call

from headunit.controller import Controller
from headunit.mpris.server import MprisServer
from headunit.state import PlayerState, Track

OBJECT_PATH = "/org/mpris/MediaPlayer2"
ROOT = "org.mpris.MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
PROPERTIES = "org.freedesktop.DBus.Properties"


@dataclass
class Signal:
    member: str
    body: list[Any]


class MprisClient:
    """A D-Bus client of one MPRIS player: calls, properties and recorded signals."""

    def __init__(self, bus: MessageBus, name: str) -> None:
        self.bus = bus
        self.name = name
        self.owner = ""
        self.signals: list[Signal] = []

    @classmethod
    async def connect(cls, address: str, name: str) -> MprisClient:
        bus = await MessageBus(bus_address=address).connect()
        client = cls(bus, name)
        bus.add_message_handler(client._on_message)
        await client.bus_call("AddMatch", "s", f"type='signal',path='{OBJECT_PATH}'")
        client.owner = (await client.bus_call("GetNameOwner", "s", name)).body[0]
        return client

    def _on_message(self, msg: Message) -> None:
        if msg.message_type is MessageType.SIGNAL and msg.sender == self.owner:
            self.signals.append(Signal(msg.member, msg.body))

    async def bus_call(self, member: str, signature: str = "", *args: Any) -> Message:
        return await self._send(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            member, signature, args,
        )  # fmt: skip

    async def _send(
        self, dest: str, path: str, iface: str, member: str, sig: str, args: Any
    ) -> Message:
        return await dbus_call(self.bus, dest, path, iface, member, sig, args)

    async def call(
        self, member: str, signature: str = "", *args: Any, iface: str = PLAYER
    ) -> Message:
        """Call a method; the reply (maybe an error) is returned, not raised."""
        return await self._send(self.name, OBJECT_PATH, iface, member, signature, args)

    async def ok(self, member: str, signature: str = "", *args: Any) -> None:
        reply = await self.call(member, signature, *args)
        assert reply.message_type is MessageType.METHOD_RETURN, reply.body

    async def get(self, prop: str, iface: str = PLAYER) -> Variant:
        reply = await self.call("Get", "ss", iface, prop, iface=PROPERTIES)
        assert reply.message_type is MessageType.METHOD_RETURN, reply.body
        return reply.body[0]

    async def value(self, prop: str, iface: str = PLAYER) -> Any:
        return (await self.get(prop, iface)).value

    async def get_all(self, iface: str = PLAYER) -> dict[str, Variant]:
        reply = await self.call("GetAll", "s", iface, iface=PROPERTIES)
        assert reply.message_type is MessageType.METHOD_RETURN, reply.body
        return reply.body[0]

    async def set(self, prop: str, signature: str, value: Any, iface: str = PLAYER) -> Message:
        return await self.call(
            "Set", "ssv", iface, prop, Variant(signature, value), iface=PROPERTIES
        )

    def changes(self) -> list[dict[str, Variant]]:
        """The changed-properties maps of every PropertiesChanged received so far."""
        return [s.body[1] for s in self.signals if s.member == "PropertiesChanged"]

    def seeks(self) -> list[int]:
        return [s.body[0] for s in self.signals if s.member == "Seeked"]

    async def wait_for(self, check: Callable[[], Any], within: float = 10.0) -> Any:
        """Wait until `check()` (over the signals received) is truthy; return it."""
        return await async_wait_for(check, within, "signals from the player")

    async def wait_property(self, prop: str, value: Any, within: float = 10.0) -> None:
        """Wait for a PropertiesChanged carrying prop=value (or for it to read so)."""
        if (await self.value(prop)) == value:
            return
        await self.wait_for(
            lambda: any(c[prop].value == value for c in self.changes() if prop in c), within
        )

    async def settle(self) -> None:
        """Round-trip to the player: signals it sent before are in by the time this returns."""
        await self.call("Ping", iface="org.freedesktop.DBus.Peer")

    async def close(self) -> None:
        self.bus.disconnect()


def make_tracks(count: int, duration: float = 120.0) -> list[Track]:
    return [
        Track(
            entry_id=i + 1,
            uri=f"/music/track{i + 1}.flac",
            title=f"Track {i + 1}",
            artist=("Artist",),
            album="Album",
            genre=("Rock",),
            track_number=i + 1,
            disc_number=1,
            duration=duration,
        )
        for i in range(count)
    ]


class RecordingSink:
    """A second sink beside MPRIS: what every sink hears."""

    def __init__(self) -> None:
        self.changes: list[tuple[PlayerState, frozenset[str]]] = []
        self.seeks: list[PlayerState] = []

    def state_changed(self, state: PlayerState, changed: frozenset[str]) -> None:
        self.changes.append((state, changed))

    def seeked(self, state: PlayerState) -> None:
        self.seeks.append(state)


async def until(client: MprisClient, prop: str, check: Callable[[Any], bool]) -> Any:
    """Re-read `prop` until `check` accepts it (the daemon is another process)."""

    async def accepted() -> tuple[Any] | None:
        value = await client.value(prop)
        return (value,) if check(value) else None

    (value,) = await async_wait_for(accepted, what=f"{prop} to be accepted")
    return value


async def title(client: MprisClient) -> str:
    meta = await until(client, "Metadata", lambda m: "xesam:title" in m)
    return meta["xesam:title"].value


async def trackid(client: MprisClient) -> str:
    return (await client.value("Metadata"))["mpris:trackid"].value


NAME = "org.mpris.MediaPlayer2.headunit"
Start = Callable[..., DaemonProcess]


@dataclass
class Surface:
    """The MPRIS surface over a fake target, with a client and a second sink."""

    target: FakeTarget
    controller: Controller
    server: MprisServer
    client: MprisClient
    sink: RecordingSink
    shutdowns: list[bool] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
