"""The other MPRIS players on the bus (the phone through BlueZ's mpris-proxy, a desktop
player), followed without polling, for headunit/sources.py to decide which one plays.

The daemon's `sources` component. It watches NameOwnerChanged for the names
`org.mpris.MediaPlayer2.*` that `[sources] players` matches (never headunit's own), reads
each new player's properties once, then follows its PropertiesChanged and Seeked signals.
Position is read only on request, after a change of status or track, because some
players (mpris-proxy among them) never signal it. A player that misbehaves (a property
of the wrong type, no reply within CALL_TIMEOUT, an error) is logged once and ignored
until it leaves the bus.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from dbus_fast import AuthError, BusType, DBusError, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from headunit.component import Component, Context
from headunit.config import Config
from headunit.model import Command, CommandError, CommandName
from headunit.mpris.server import NAME_PREFIX, OBJECT_PATH
from headunit.sources import Sources
from headunit.state import PlayerState, Status, Track
from headunit.tasks import Background

log = logging.getLogger(__name__)

PLAYER = "org.mpris.MediaPlayer2.Player"
ROOT = "org.mpris.MediaPlayer2"
PROPERTIES = "org.freedesktop.DBus.Properties"
DBUS = "org.freedesktop.DBus"
CALL_TIMEOUT = 2.0  # seconds; a player slower than this is taken for a broken one
NO_TRACK = "/org/mpris/MediaPlayer2/TrackList/NoTrack"
# playerctld mirrors the most recently active player, headunit included: yielding to it
# would be yielding to headunit itself (a pause that pauses the mirror that paused it).
MIRRORS = frozenset({NAME_PREFIX + "playerctld"})

# The properties read, and the D-Bus signatures they must have.
_EXPECTED = {
    "PlaybackStatus": "s",
    "Metadata": "a{sv}",
    "Position": "x",
    "Volume": "d",
    "CanControl": "b",
    "CanPlay": "b",
    "CanPause": "b",
    "CanGoNext": "b",
    "CanGoPrevious": "b",
    "CanSeek": "b",
}
_INTEGER = ("x", "t", "i", "u")  # mpris:length is an x, but int32s are common in the wild
_METADATA = {
    "mpris:trackid": ("o", "s"),
    "mpris:length": _INTEGER,
    "mpris:artUrl": ("s",),
    "xesam:title": ("s",),
    "xesam:artist": ("as", "s"),
    "xesam:album": ("s",),
    "xesam:url": ("s",),
}
_CALLS = {
    CommandName.PLAY: "Play",
    CommandName.PAUSE: "Pause",
    CommandName.TOGGLE: "PlayPause",
    CommandName.STOP: "Stop",
    CommandName.NEXT: "Next",
    CommandName.PREVIOUS: "Previous",
}


class Misbehaving(ValueError):
    """A player broke the MPRIS contract; the message says how, for one log line."""


def _check(props: Mapping[str, Variant]) -> dict[str, Any]:
    """The known properties' values; raises Misbehaving on a wrong type."""
    values: dict[str, Any] = {}
    for key, variant in props.items():
        expected = _EXPECTED.get(key)
        if expected is None:
            continue
        if not isinstance(variant, Variant) or variant.signature != expected:
            raise Misbehaving(f"{key} is not of type {expected}")
        values[key] = variant.value
    status = values.get("PlaybackStatus")
    if status is not None and status not in tuple(Status):
        raise Misbehaving(f"PlaybackStatus {status!r} is none of Playing, Paused, Stopped")
    for key, variant in values.get("Metadata", {}).items():
        allowed = _METADATA.get(key)
        if allowed is not None and variant.signature not in allowed:
            raise Misbehaving(f"Metadata {key} is not of type {allowed[0]}")
    return values


def _readable_art(url: object) -> str | None:
    """Cover art only where the car can read it; the link uploads the file:// ones."""
    return url if isinstance(url, str) and url.startswith(("file://", "https://")) else None


class OtherPlayer:
    """One other player: its properties as last read or signalled, as a snapshot, and
    the MPRIS calls the controls become."""

    def __init__(self, bus: MessageBus, bus_name: str, owner: str) -> None:
        self._bus = bus
        self.bus_name = bus_name
        self.owner = owner
        self._name = bus_name.removeprefix(NAME_PREFIX)
        self._props: dict[str, Any] = {}
        self._position = (0.0, time.monotonic())
        self._state = PlayerState(source=self._name)

    @property
    def name(self) -> str:
        return self._name

    @property
    def state(self) -> PlayerState:
        return self._state

    def position(self) -> float:
        return self._state.position_at()

    def named(self, identity: object) -> None:
        """Its root Identity (the phone's name, for mpris-proxy), when it gives one."""
        if isinstance(identity, Variant) and identity.signature == "s" and identity.value:
            self._name = identity.value
            self._refresh()

    def apply(self, props: Mapping[str, Variant]) -> bool:
        """Take in read or signalled properties; True when status or track changed
        (its position is worth asking then). Raises Misbehaving."""
        values = _check(props)
        before = (self._props.get("PlaybackStatus"), self._props.get("Metadata"))
        self._props.update(values)
        if "Position" in values:
            self._position = (values["Position"] / 1e6, time.monotonic())
        self._refresh()
        return before != (self._props.get("PlaybackStatus"), self._props.get("Metadata"))

    def moved(self, microseconds: int) -> None:
        """A Seeked signal or a Position read: where it is now."""
        self._position = (max(0, microseconds) / 1e6, time.monotonic())
        self._refresh()

    def _refresh(self) -> None:
        props = self._props
        status = Status(props.get("PlaybackStatus", Status.STOPPED))
        control = props.get("CanControl", True)
        position, clock = self._position
        self._state = PlayerState(
            status=status,
            track=self._track(props.get("Metadata", {})),
            position=position,
            clock=clock,
            volume=round(float(props.get("Volume", 1.0)) * 100, 1),
            can_next=control and props.get("CanGoNext", False),
            can_previous=control and props.get("CanGoPrevious", False),
            can_seek=control and props.get("CanSeek", False),
            can_play=control and props.get("CanPlay", False),
            can_pause=control and props.get("CanPause", False),
            source=self._name,
        )

    @staticmethod
    def _track(metadata: Mapping[str, Variant]) -> Track | None:
        values = {key: variant.value for key, variant in metadata.items()}
        title = values.get("xesam:title")
        if not title and "xesam:url" not in values:
            return None
        artist = values.get("xesam:artist", ())
        length = values.get("mpris:length")
        return Track(
            entry_id=0,  # another player's tracks are no entries of headunit's queue
            uri=values.get("xesam:url", ""),
            title=title or "",
            artist=(artist,) if isinstance(artist, str) else tuple(artist),
            album=values.get("xesam:album"),
            duration=length / 1e6 if length and length > 0 else None,
            art_url=_readable_art(values.get("mpris:artUrl")),
        )

    async def execute(self, command: Command) -> None:
        """The command as an MPRIS call on this player; CommandError when it refuses."""
        if not self._props.get("CanControl", True):
            raise CommandError(f"{self._name} cannot be controlled")
        name = command.name
        if name in _CALLS:
            await self.call(PLAYER, _CALLS[name])
        elif name in (CommandName.SEEK, CommandName.SEEK_BY):
            await self._seek(command)
        elif name is CommandName.VOLUME:
            volume = Variant("d", command.number() / 100)
            await self.call(PROPERTIES, "Set", "ssv", [PLAYER, "Volume", volume])
        else:
            raise CommandError(f"{name} is for headunit's own queue, not {self._name}")

    async def _seek(self, command: Command) -> None:
        if not self._state.can_seek:
            raise CommandError(f"{self._name} cannot seek")
        value = command.number()
        trackid = self._props.get("Metadata", {}).get("mpris:trackid")
        if command.name is CommandName.SEEK and trackid and trackid.value != NO_TRACK:
            await self.call(PLAYER, "SetPosition", "ox", [trackid.value, round(value * 1e6)])
            return
        offset = value - self.position() if command.name is CommandName.SEEK else value
        await self.call(PLAYER, "Seek", "x", [round(offset * 1e6)])

    async def call(
        self, interface: str, member: str, signature: str = "", body: list[Any] | None = None
    ) -> Message:
        """One method call, bounded by CALL_TIMEOUT; CommandError when it fails."""
        message = Message(
            destination=self.owner,
            path=OBJECT_PATH,
            interface=interface,
            member=member,
            signature=signature,
            body=body or [],
        )
        try:
            reply = await asyncio.wait_for(self._bus.call(message), CALL_TIMEOUT)
        except TimeoutError:
            raise CommandError(f"{self._name} did not answer {member}") from None
        except (OSError, EOFError, DBusError) as exc:
            raise CommandError(f"{self._name}: {member} failed: {exc}") from None
        if reply is None or reply.message_type is MessageType.ERROR:
            error = reply.error_name if reply is not None else "no reply"
            raise CommandError(f"{self._name} refused {member}: {error}")
        return reply


class OtherPlayers:
    """The watcher: which other players there are, and what each says."""

    def __init__(self, sources: Sources, config: Config, bus_address: str | None = None) -> None:
        self._sources = sources
        self._config = config
        self._bus_address = bus_address
        self._bus: MessageBus | None = None
        self._players: dict[str, OtherPlayer] = {}  # by owner (signals carry the owner)
        self._early: dict[str, list[Message]] = {}  # by owner: signals before its first read
        self._ignored: set[str] = set()  # owners that misbehaved
        self._reads = Background()
        own = NAME_PREFIX + config.mpris.name
        self._own = {own, f"{own}.instance{os.getpid()}"}

    async def start(self) -> None:
        kind = self._config.mpris.bus
        bus_type = BusType.SYSTEM if kind == "system" else BusType.SESSION
        try:
            bus = await MessageBus(bus_address=self._bus_address, bus_type=bus_type).connect()
        except (OSError, ValueError, AuthError, DBusError) as exc:
            raise RuntimeError(f"cannot connect to the {kind} bus: {exc}") from None
        self._bus = bus
        try:
            await self._follow(bus)
        except BaseException:
            self._bus = None
            bus.disconnect()
            raise
        log.info("sources: following the other players matching %s", self._config.sources.players)

    async def _follow(self, bus: MessageBus) -> None:
        """Subscribe to the signals first, then read who is there: no player is missed."""
        bus.add_message_handler(self._on_message)
        rules = (
            f"type='signal',sender='{DBUS}',member='NameOwnerChanged',"
            "arg0namespace='org.mpris.MediaPlayer2'",
            f"type='signal',interface='{PROPERTIES}',member='PropertiesChanged',"
            f"path='{OBJECT_PATH}',arg0='{PLAYER}'",
            f"type='signal',interface='{PLAYER}',member='Seeked',path='{OBJECT_PATH}'",
        )
        for rule in rules:
            await self._bus_call("AddMatch", "s", [rule])
        names = (await self._bus_call("ListNames")).body[0]
        for name in filter(self._wanted, names):
            try:
                owner = (await self._bus_call("GetNameOwner", "s", [name])).body[0]
            except RuntimeError:
                continue  # gone since the list was made
            self._appeared(name, owner)

    async def stop(self) -> None:
        await self._reads.stop()
        for player in self._players.values():
            self._sources.player_gone(player, resume=False)
        self._players.clear()
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None

    async def _bus_call(
        self, member: str, signature: str = "", body: list[Any] | None = None
    ) -> Message:
        assert self._bus is not None
        reply = await self._bus.call(
            Message(
                destination=DBUS,
                path="/org/freedesktop/DBus",
                interface=DBUS,
                member=member,
                signature=signature,
                body=body or [],
            )
        )
        if reply is None or reply.message_type is MessageType.ERROR:
            raise RuntimeError(f"the bus refused {member}: {reply and reply.body}")
        return reply

    def _wanted(self, name: str) -> bool:
        if not name.startswith(NAME_PREFIX) or name in self._own or name in MIRRORS:
            return False
        short = name.removeprefix(NAME_PREFIX)
        return any(fnmatch.fnmatchcase(short, p) for p in self._config.sources.players)

    # Signals ----------------------------------------------------------------------------
    def _on_message(self, msg: Message) -> None:
        if msg.message_type is not MessageType.SIGNAL:
            return
        if msg.member == "NameOwnerChanged" and msg.sender == DBUS:
            name, old, new = msg.body
            if self._wanted(name):
                if old:
                    self._vanished(old)
                if new:
                    self._appeared(name, new)
        elif msg.sender in self._early:
            self._early[msg.sender].append(msg)
        elif msg.sender in self._players:
            self._signalled(self._players[msg.sender], msg)

    def _signalled(self, player: OtherPlayer, msg: Message) -> None:
        try:
            if msg.member == "Seeked":
                if msg.signature != "x":
                    raise Misbehaving("Seeked does not carry an x")
                player.moved(msg.body[0])
                self._sources.player_seeked(player)
            elif msg.member == "PropertiesChanged" and msg.signature.startswith("sa{sv}"):
                was_playing = player.state.status is Status.PLAYING
                if player.apply(msg.body[1]):
                    self._ask_position(player)
                started = not was_playing and player.state.status is Status.PLAYING
                self._sources.player_changed(player, started)
        except Misbehaving as exc:
            self._misbehaved(player.owner, player.bus_name, str(exc))

    # Players coming and going ------------------------------------------------------------
    def _appeared(self, name: str, owner: str) -> None:
        if owner in self._ignored or owner in self._players or owner in self._early:
            return
        self._early[owner] = []
        self._reads.spawn(self._read(name, owner), f"read {name}")

    async def _read(self, name: str, owner: str) -> None:
        """The first read of a new player; its signals meanwhile are applied after."""
        assert self._bus is not None
        player = OtherPlayer(self._bus, name, owner)
        try:
            props = (await player.call(PROPERTIES, "GetAll", "s", [PLAYER])).body[0]
            root = (await player.call(PROPERTIES, "GetAll", "s", [ROOT])).body[0]
            player.named(root.get("Identity"))
            player.apply(props)
        except (CommandError, Misbehaving, IndexError, AttributeError) as exc:
            self._misbehaved(owner, name, str(exc))
            return
        early = self._early.pop(owner, None)
        if early is None:
            return  # it left the bus while being read
        self._players[owner] = player
        log.info("sources: %s (%s) is here, %s", player.name, name, player.state.status)
        self._sources.player_changed(player, player.state.status is Status.PLAYING)
        for msg in early:
            self._signalled(player, msg)
        self._ask_position(player)

    def _vanished(self, owner: str) -> None:
        self._early.pop(owner, None)
        self._ignored.discard(owner)
        player = self._players.pop(owner, None)
        if player is not None:
            log.info("sources: %s left the bus", player.name)
            self._sources.player_gone(player)

    def _misbehaved(self, owner: str, name: str, why: str) -> None:
        log.warning("sources: ignoring %s until it leaves the bus: %s", name, why)
        self._ignored.add(owner)
        self._early.pop(owner, None)
        player = self._players.pop(owner, None)
        if player is not None:
            self._sources.player_gone(player)

    def _ask_position(self, player: OtherPlayer) -> None:
        self._reads.spawn(self._read_position(player), f"position of {player.bus_name}")

    async def _read_position(self, player: OtherPlayer) -> None:
        try:
            reply = await player.call(PROPERTIES, "Get", "ss", [PLAYER, "Position"])
            position = reply.body[0]
        except CommandError as exc:
            log.debug("sources: no position from %s: %s", player.name, exc)
            return
        if self._players.get(player.owner) is not player:
            return  # gone meanwhile
        if not isinstance(position, Variant) or position.signature != "x":
            self._misbehaved(player.owner, player.bus_name, "Position is not of type x")
            return
        player.moved(position.value)
        self._sources.player_seeked(player)


def create(context: Context) -> Component | None:
    """The watcher, when there is a local player to yield and players to yield to."""
    if context.sources is None or not context.config.sources.players:
        return None
    return OtherPlayers(context.sources, context.config)
