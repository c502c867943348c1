"""The phone page's Up next and library (player role), through headunit's extension
events (headunit/extension.py).

Out: the next queue entries whenever they change, and the folders and playlists on every
(re)connect. In: `headunit_select`, which plays an entry, folder or playlist, through
the same ordered command queue as `carplay_command`. A backend that does not know these
events drops them, and nothing else changes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from headunit import extension
from headunit.controller import Controller
from headunit.library import LibraryItem, list_library
from headunit.link.commands import CommandReceiver
from headunit.link.supervisor import Supervisor
from headunit.model import Command, CommandError, CommandName
from headunit.state import PlayerState
from headunit.tasks import Worker

log = logging.getLogger(__name__)


class Browse(Worker):
    """A StateSink for `up_next`; one task sends, so bursts coalesce."""

    task_name = "backend-browse"

    def __init__(
        self,
        controller: Controller,
        supervisor: Supervisor,
        commands: CommandReceiver,
        media_paths: tuple[str, ...],
    ) -> None:
        super().__init__()
        self._controller = controller
        self._supervisor = supervisor
        self._paths = media_paths
        self._library: dict[str, LibraryItem] = {}
        self._dirty = asyncio.Event()
        self._library_due = True
        supervisor.on_connect(self._connected)
        commands.accept(extension.SELECT, self.command_for)

    # StateSink ---------------------------------------------------------------------------
    def state_changed(self, state: PlayerState, changed: frozenset[str]) -> None:
        if "up_next" in changed:
            self._dirty.set()

    def seeked(self, state: PlayerState) -> None:
        """The position is not part of Up next."""

    # ------------------------------------------------------------------------------------
    def command_for(self, payload: object) -> Command:
        """The command a `headunit_select` asks for; CommandError for what was not offered."""
        selection = extension.parse_select(payload)
        if selection["kind"] == "queue":
            return Command(CommandName.JUMP, selection["id"])
        item = self._library.get(selection["id"])
        if item is None:
            raise CommandError(f"no library item {selection['id']}")
        return Command(CommandName.OPEN, item.path)

    def _connected(self) -> None:
        self._library_due = True
        self._dirty.set()

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if self._library_due:
                self._library_due = False
                items = await asyncio.to_thread(list_library, self._paths)
                self._library = {item.id: item for item in items}
                await self._emit(extension.LIBRARY_UPDATE, {"items": [i.to_wire() for i in items]})
            entries = [
                {"id": item.entry_id, "title": item.title, "artist": item.artist}
                for item in self._controller.state.up_next
            ]
            await self._emit(extension.QUEUE_UPDATE, {"entries": entries})

    async def _emit(self, event: str, payload: dict[str, Any]) -> None:
        if not await self._supervisor.emit(event, payload):
            log.debug("%s not sent: offline", event)
