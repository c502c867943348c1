"""Other MPRIS players on the tests' private bus, built with dbus-fast.

They are fakes because what they stand in for cannot run here: the phone's player comes
from a Bluetooth device through BlueZ's mpris-proxy, and there is no radio. `PhonePlayer`
has mpris-proxy's shape (its properties and their types, Position never signalled,
only read on request, Seeked on a jump; Identity the phone's name), `DesktopPlayer` is a
well-behaved player that signals everything, and `HostilePlayer` breaks the contract
(wrong types, slow replies, vanishing mid-call).
"""

# No `from __future__ import annotations`: dbus-fast reads the annotations themselves.

import asyncio
import time
from typing import Any

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import (
    DBusBool,
    DBusDict,
    DBusDouble,
    DBusInt64,
    DBusObjectPath,
    DBusStr,
)
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property, dbus_signal

from headunit.mpris.root import RootInterface

OBJECT_PATH = "/org/mpris/MediaPlayer2"
PREFIX = "org.mpris.MediaPlayer2."
PLAYER = "org.mpris.MediaPlayer2.Player"
PROPERTIES = "org.freedesktop.DBus.Properties"

SONGS = [
    {"title": "Phone Song", "artist": ["Phone Band"], "album": "Phone Album", "length": 200.0},
    {
        "title": "Second Phone Song",
        "artist": ["Phone Band"],
        "album": "Phone Album",
        "length": 180.0,
    },
]


class Player(ServiceInterface):
    """org.mpris.MediaPlayer2.Player with mpris-proxy's property set; what changes is
    signalled, except Position (read on request, as mpris-proxy does)."""

    signals_position = False

    def __init__(self) -> None:
        super().__init__(PLAYER)
        self.status = "Stopped"
        self.song = 0
        self.calls: list[str] = []
        self._position = 0.0
        self._clock = time.monotonic()
        self.volume = 1.0

    # The model ----------------------------------------------------------------------------
    def position(self) -> float:
        extra = time.monotonic() - self._clock if self.status == "Playing" else 0.0
        return self._position + extra

    def _set_status(self, status: str) -> None:
        self._position, self._clock = self.position(), time.monotonic()
        self.status = status
        self.emit_properties_changed({"PlaybackStatus": status})

    def metadata(self) -> dict[str, Variant]:
        song = SONGS[self.song]
        return {
            "mpris:trackid": Variant("o", f"/org/bluez/hci0/dev_00_11/player0/track{self.song}"),
            "xesam:title": Variant("s", song["title"]),
            "xesam:artist": Variant("as", song["artist"]),
            "xesam:album": Variant("s", song["album"]),
            "xesam:genre": Variant("as", []),
            "xesam:trackNumber": Variant("i", self.song + 1),
            "mpris:length": Variant("x", round(song["length"] * 1e6)),
        }

    def play(self) -> None:
        self._set_status("Playing")

    def pause(self) -> None:
        self._set_status("Paused")

    def stop(self) -> None:
        self._set_status("Stopped")

    def jump_to(self, seconds: float) -> None:
        self._position, self._clock = seconds, time.monotonic()
        self.Seeked(round(seconds * 1e6))

    # D-Bus methods ------------------------------------------------------------------------
    @dbus_method()
    def Play(self) -> None:
        self.calls.append("Play")
        self.play()

    @dbus_method()
    def Pause(self) -> None:
        self.calls.append("Pause")
        self.pause()

    @dbus_method()
    def PlayPause(self) -> None:
        self.calls.append("PlayPause")
        self.pause() if self.status == "Playing" else self.play()

    @dbus_method()
    def Stop(self) -> None:
        self.calls.append("Stop")
        self.stop()

    @dbus_method()
    def Next(self) -> None:
        self.calls.append("Next")
        self.song = (self.song + 1) % len(SONGS)
        self._position, self._clock = 0.0, time.monotonic()
        self.emit_properties_changed({"Metadata": self.metadata()})

    @dbus_method()
    def Previous(self) -> None:
        self.calls.append("Previous")

    @dbus_method()
    def Seek(self, offset: DBusInt64) -> None:
        self.calls.append(f"Seek {offset}")
        self.jump_to(max(0.0, self.position() + offset / 1e6))

    @dbus_method()
    def SetPosition(self, track: DBusObjectPath, position: DBusInt64) -> None:
        self.calls.append(f"SetPosition {position}")
        self.jump_to(position / 1e6)

    @dbus_signal()
    def Seeked(self, position: int) -> DBusInt64:
        return position

    # D-Bus properties ---------------------------------------------------------------------
    @dbus_property(access=PropertyAccess.READ)
    def PlaybackStatus(self) -> DBusStr:
        return self.status

    @dbus_property(access=PropertyAccess.READ)
    def LoopStatus(self) -> DBusStr:
        return "None"

    @dbus_property(access=PropertyAccess.READ)
    def Rate(self) -> DBusDouble:
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    def Shuffle(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Metadata(self) -> DBusDict:
        return self.metadata()

    @dbus_property()
    def Volume(self) -> DBusDouble:
        return self.volume

    @Volume.setter
    def Volume(self, value: DBusDouble) -> None:
        self.calls.append(f"Volume {value:g}")
        self.volume = value

    @dbus_property(access=PropertyAccess.READ)
    def Position(self) -> DBusInt64:
        return round(self.position() * 1e6)

    @dbus_property(access=PropertyAccess.READ)
    def MinimumRate(self) -> DBusDouble:
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    def MaximumRate(self) -> DBusDouble:
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    def CanGoNext(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def CanGoPrevious(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def CanPlay(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def CanPause(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def CanSeek(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def CanControl(self) -> DBusBool:
        return True


class DesktopPlayer(Player):
    """A well-behaved desktop player: it signals its position too, with every change."""

    def _set_status(self, status: str) -> None:
        super()._set_status(status)
        self.emit_properties_changed({"Position": round(self.position() * 1e6)})


class FakePlayer:
    """A player on its own connection to the bus, under org.mpris.MediaPlayer2.<name>."""

    def __init__(self, name: str, identity: str, player: Player) -> None:
        self.bus_name = PREFIX + name
        self.identity = identity
        self.player = player
        self.bus: MessageBus | None = None

    @classmethod
    def phone(cls, name: str = "Pixel_7", identity: str = "Pixel 7") -> "FakePlayer":
        return cls(name, identity, Player())

    @classmethod
    def desktop(cls, name: str = "desktop", identity: str = "Desktop Player") -> "FakePlayer":
        return cls(name, identity, DesktopPlayer())

    async def join(self, address: str) -> "FakePlayer":
        self.bus = await MessageBus(bus_address=address).connect()
        # The root interface is headunit's own: only its Identity matters here.
        self.bus.export(OBJECT_PATH, RootInterface(self.identity, lambda: None, ()))
        self.bus.export(OBJECT_PATH, self.player)
        await self.bus.request_name(self.bus_name)
        return self

    async def leave(self) -> None:
        """Off the bus at once, as a phone driving out of range."""
        if self.bus is not None:
            self.bus.disconnect()
            await self.bus.wait_for_disconnect()
            self.bus = None


class HostilePlayer:
    """A player that answers by hand, wrongly: `mode` is "types" (PlaybackStatus an
    integer), "slow" (answers after `delay` s), or "vanish" (leaves the bus instead of
    answering). Whatever it is asked, it then signals that it plays."""

    def __init__(self, mode: str, name: str = "hostile", delay: float = 5.0) -> None:
        self.mode = mode
        self.bus_name = PREFIX + name
        self.delay = delay
        self.bus: MessageBus | None = None
        self.asked = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def join(self, address: str) -> "HostilePlayer":
        self.bus = await MessageBus(bus_address=address).connect()
        self.bus.add_message_handler(self._on_message)
        await self.bus.request_name(self.bus_name)
        return self

    def _on_message(self, msg: Message) -> Any:
        if msg.message_type is not MessageType.METHOD_CALL or msg.path != OBJECT_PATH:
            return None
        self.asked.set()
        task = asyncio.ensure_future(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True  # answered (or not) by the task

    async def _answer(self, msg: Message) -> None:
        assert self.bus is not None
        if self.mode == "vanish":
            self.bus.disconnect()
            return
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        body = {
            "PlaybackStatus": Variant(
                "i" if self.mode == "types" else "s", 1 if self.mode == "types" else "Playing"
            ),
            "Metadata": Variant("a{sv}", {"xesam:title": Variant("s", "Hostile")}),
            "CanControl": Variant("b", True),
        }
        self.bus.send(Message.new_method_return(msg, "a{sv}", [body]))
        self.playing()

    def playing(self) -> None:
        """Signal, correctly this time, that it plays."""
        if self.bus is None or not self.bus.connected:
            return
        changed = {"PlaybackStatus": Variant("s", "Playing")}
        self.bus.send(
            Message.new_signal(
                OBJECT_PATH, PROPERTIES, "PropertiesChanged", "sa{sv}as", [PLAYER, changed, []]
            )
        )

    async def leave(self) -> None:
        for task in tuple(self._tasks):
            task.cancel()
        if self.bus is not None and self.bus.connected:
            self.bus.disconnect()
        self.bus = None
