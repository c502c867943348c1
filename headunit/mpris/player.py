"""org.mpris.MediaPlayer2.Player: the D-Bus surface of the controller.

Each member guards on its Can* property (as the spec says), then makes one
`controller.execute` call. Nothing here signals: the frontend does, when the
controller reports the state the command produced.
"""

# No `from __future__ import annotations`: dbus-fast reads `-> None` as "no reply
# arguments" only when the annotation is the real None, not the string "None".

import asyncio
import logging
import math

from dbus_fast import DBusError
from dbus_fast.annotations import (
    DBusBool,
    DBusDict,
    DBusDouble,
    DBusInt64,
    DBusObjectPath,
    DBusStr,
)
from dbus_fast.constants import ErrorType, PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property, dbus_signal

from headunit.controller import Controller
from headunit.model import Command, CommandError, CommandName, LoopMode
from headunit.mpris.metadata import length_us, position_us, to_metadata, trackid
from headunit.openuri import OpenPolicy, Refused, Unsupported
from headunit.state import PlayerState, Status

log = logging.getLogger(__name__)

PLAYER_INTERFACE = "org.mpris.MediaPlayer2.Player"
LOOP_TO_MPRIS = {LoopMode.NONE: "None", LoopMode.TRACK: "Track", LoopMode.PLAYLIST: "Playlist"}
LOOP_FROM_MPRIS = {name: mode for mode, name in LOOP_TO_MPRIS.items()}
SOURCE = "mpris"


async def run_command(
    controller: Controller, name: CommandName, value: float | bool | str | None = None
) -> None:
    """One controller call; a refusal becomes a D-Bus error for the caller."""
    try:
        await controller.execute(Command(name, value), source=SOURCE)
    except CommandError as exc:
        raise DBusError(ErrorType.INVALID_ARGS, str(exc)) from None


class PlayerInterface(ServiceInterface):
    def __init__(self, controller: Controller, open_policy: OpenPolicy) -> None:
        super().__init__(PLAYER_INTERFACE)
        self._controller = controller
        self._open_policy = open_policy

    @property
    def _state(self) -> PlayerState:
        return self._controller.state

    async def _execute(self, name: CommandName, value: float | bool | str | None = None) -> None:
        await run_command(self._controller, name, value)

    # Methods ---------------------------------------------------------------------------

    @dbus_method()
    async def Play(self) -> None:
        if self._state.can_play:
            await self._execute(CommandName.PLAY)

    @dbus_method()
    async def Pause(self) -> None:
        if self._state.can_pause:
            await self._execute(CommandName.PAUSE)

    @dbus_method()
    async def PlayPause(self) -> None:
        state = self._state
        # Playing -> pause needs CanPause; paused or stopped -> play needs CanPlay.
        allowed = state.can_pause if state.status is Status.PLAYING else state.can_play
        if allowed:
            await self._execute(CommandName.TOGGLE)

    @dbus_method()
    async def Stop(self) -> None:
        await self._execute(CommandName.STOP)

    @dbus_method()
    async def Next(self) -> None:
        if self._state.can_next:
            await self._execute(CommandName.NEXT)

    @dbus_method()
    async def Previous(self) -> None:
        if self._state.can_previous:
            await self._execute(CommandName.PREVIOUS)

    @dbus_method()
    async def Seek(self, offset: DBusInt64) -> None:
        # The player clamps before 0 and moves on to the next track past the end.
        if self._state.can_seek:
            await self._execute(CommandName.SEEK_BY, offset / 1_000_000)

    @dbus_method()
    async def SetPosition(self, track_id: DBusObjectPath, position: DBusInt64) -> None:
        state = self._state
        if not state.can_seek or track_id != trackid(state.track):
            return  # a stale trackid: the client meant another track
        if state.track is None or position < 0:
            return
        length = length_us(state.track)
        if length is not None and position > length:
            return
        await self._execute(CommandName.SEEK, position / 1_000_000)

    @dbus_method()
    async def OpenUri(self, uri: DBusStr) -> None:
        # In a thread: resolving and stat-ing a path can hang on a dying USB stick.
        try:
            target = await asyncio.to_thread(self._open_policy.check, uri)
        except Unsupported as exc:
            raise DBusError(ErrorType.NOT_SUPPORTED, str(exc)) from None
        except Refused as exc:
            log.warning("OpenUri refused: %s", exc)
            raise DBusError(ErrorType.ACCESS_DENIED, str(exc)) from None
        except FileNotFoundError as exc:
            raise DBusError(ErrorType.INVALID_ARGS, str(exc)) from None
        await self._execute(CommandName.OPEN, target)

    # Signals ---------------------------------------------------------------------------

    @dbus_signal()
    def Seeked(self, position: int) -> DBusInt64:
        return position

    # Properties ------------------------------------------------------------------------

    @dbus_property(access=PropertyAccess.READ)
    def PlaybackStatus(self) -> DBusStr:
        return str(self._state.status)

    @dbus_property()
    def LoopStatus(self) -> DBusStr:
        return LOOP_TO_MPRIS[self._state.loop]

    @LoopStatus.setter
    async def LoopStatus(self, value: DBusStr) -> None:
        if value not in LOOP_FROM_MPRIS:
            raise DBusError(
                ErrorType.INVALID_ARGS, f"LoopStatus is one of None, Track, Playlist: {value!r}"
            )
        await self._execute(CommandName.LOOP, str(LOOP_FROM_MPRIS[value]))

    @dbus_property()
    def Rate(self) -> DBusDouble:
        return 1.0  # fixed: a car plays at normal speed, and Rate never reads 0

    @Rate.setter
    async def Rate(self, value: DBusDouble) -> None:
        # The spec: setting Rate to 0 is like Pause; other rates are out of range (ignored).
        if value == 0.0 and self._state.can_pause:
            await self._execute(CommandName.PAUSE)

    @dbus_property()
    def Shuffle(self) -> DBusBool:
        return self._state.shuffle

    @Shuffle.setter
    async def Shuffle(self, value: DBusBool) -> None:
        await self._execute(CommandName.SHUFFLE, bool(value))

    @dbus_property(access=PropertyAccess.READ)
    def Metadata(self) -> DBusDict:
        return to_metadata(self._state.track)

    @dbus_property()
    def Volume(self) -> DBusDouble:
        return self._state.volume / 100

    @Volume.setter
    async def Volume(self, value: DBusDouble) -> None:
        if math.isnan(value):
            raise DBusError(ErrorType.INVALID_ARGS, "Volume is a number 0.0..1.0, got NaN")
        # Negative gives 0; above 1.0 is the most the player allows.
        # Rounded: 0.55 * 100 is 55.00000000000001 in binary floating point.
        percent = round(min(100.0, max(0.0, value * 100)), 2)
        await self._execute(CommandName.VOLUME, percent)

    @dbus_property(access=PropertyAccess.READ)
    def Position(self) -> DBusInt64:
        return position_us(self._state, self._controller.position())

    @dbus_property(access=PropertyAccess.READ)
    def MinimumRate(self) -> DBusDouble:
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    def MaximumRate(self) -> DBusDouble:
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    def CanGoNext(self) -> DBusBool:
        return self._state.can_next

    @dbus_property(access=PropertyAccess.READ)
    def CanGoPrevious(self) -> DBusBool:
        return self._state.can_previous

    @dbus_property(access=PropertyAccess.READ)
    def CanPlay(self) -> DBusBool:
        return self._state.can_play

    @dbus_property(access=PropertyAccess.READ)
    def CanPause(self) -> DBusBool:
        return self._state.can_pause

    @dbus_property(access=PropertyAccess.READ)
    def CanSeek(self) -> DBusBool:
        return self._state.can_seek

    @dbus_property(access=PropertyAccess.READ)
    def CanControl(self) -> DBusBool:
        return True  # headunit is always controllable, so this never changes
