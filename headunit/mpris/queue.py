"""com.headunit.Queue: the queue as `headunit queue` and `headunit jump` see it, and
the player's health as `headunit status --json` shows it (watchdog recoveries).

A small interface of our own beside MPRIS rather than MPRIS TrackList (see
docs/mpris.md): TrackList announces every change of a 20,000-entry queue as signals
with full metadata, which no car client uses; this one answers when asked.
"""

# No `from __future__ import annotations`: dbus-fast reads `-> None` as "no reply
# arguments" only when the annotation is the real None, not the string "None".

from collections.abc import Callable
from typing import Annotated, Any

from dbus_fast.annotations import DBusSignature, DBusUInt32
from dbus_fast.constants import ErrorType
from dbus_fast.errors import DBusError
from dbus_fast.service import ServiceInterface, dbus_method

from headunit.controller import Controller
from headunit.model import CommandName
from headunit.mpris.player import run_command

QUEUE_INTERFACE = "com.headunit.Queue"
UNKNOWN = -1  # D-Bus has no null: no entry playing, a length not known yet

# (index of the entry playing, every entry's URL in play order,
#  index -> (title, artists, length in seconds) for the entries described so far)
QueueReply = Annotated[list[Any], DBusSignature("(iasa{u(sasd)})")]


class QueueInterface(ServiceInterface):
    def __init__(self, controller: Controller, recoveries: Callable[[], int]) -> None:
        super().__init__(QUEUE_INTERFACE)
        self._controller = controller
        self._recoveries = recoveries

    @dbus_method()
    def WatchdogRecoveries(self) -> DBusUInt32:
        """Stalls the player's watchdog repaired since start; each one is a bug."""
        return self._recoveries()

    @dbus_method()
    def List(self) -> QueueReply:
        listing = self._controller.queue()
        known = {
            pos: [
                info.title,
                list(info.artist),
                UNKNOWN if info.duration is None else info.duration,
            ]
            for pos, info in listing.known.items()
        }
        current = UNKNOWN if listing.current is None else listing.current
        return [current, listing.uris, known]

    @dbus_method()
    async def Jump(self, position: DBusUInt32) -> None:
        """Play the entry at `position` (1-based, in play order)."""
        ids = self._controller.queue().ids
        if not 1 <= position <= len(ids):
            raise DBusError(
                ErrorType.INVALID_ARGS, f"the queue has {len(ids)} entries, not {position}"
            )
        await run_command(self._controller, CommandName.JUMP, ids[position - 1])
