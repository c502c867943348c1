"""Incoming `carplay_command` (and the extension's `headunit_select`) -> the controller
(player role).

Each payload is validated by the model; an invalid one costs one log line and nothing
else. Valid ones run one at a time, in arrival order, off the socket's task, so a slow
command never stalls the connection and `next, next, pause` is never reordered, whichever
event brought them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from headunit.controller import Controller
from headunit.link.supervisor import Supervisor
from headunit.model import Command, CommandError, parse_command
from headunit.tasks import Worker

log = logging.getLogger(__name__)

QUEUE_LIMIT = 64  # a flood beyond this is dropped, not buffered without bound


class CommandReceiver(Worker):
    task_name = "backend-commands"

    def __init__(self, controller: Controller, supervisor: Supervisor) -> None:
        super().__init__()
        self._controller = controller
        self._queue: asyncio.Queue[Command] = asyncio.Queue(QUEUE_LIMIT)
        self._supervisor = supervisor
        self.accept("carplay_command", parse_command)

    def accept(self, event: str, parse: Callable[[object], Command]) -> None:
        """Take commands from `event` too, into the same ordered queue."""
        self._supervisor.on(event, lambda payload: self.received(payload, parse, event))

    def received(
        self,
        payload: object,
        parse: Callable[[object], Command] = parse_command,
        event: str = "carplay_command",
    ) -> None:
        try:
            command = parse(payload)
        except CommandError as exc:
            log.warning("dropped a %s from the backend: %s", event, exc)
            return
        try:
            self._queue.put_nowait(command)
        except asyncio.QueueFull:
            log.warning(
                "dropped %s from the backend: %d commands already waiting",
                command.name,
                QUEUE_LIMIT,
            )

    async def _run(self) -> None:
        while True:
            command = await self._queue.get()
            try:
                await self._controller.execute(command, source="backend")
            except CommandError:
                pass  # the controller logged the refusal once
            except Exception:
                log.exception("%s from the backend failed", command.name)
