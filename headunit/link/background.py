"""One named asyncio task per part of the link, started and cancelled the same way."""

from __future__ import annotations

import asyncio
import contextlib


class Background:
    """Subclasses implement `_run`; `start` spawns it, `stop` cancels it and waits."""

    task_name = "backend"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError
