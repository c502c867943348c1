"""Tasks a part of the daemon runs beside its work, kept and stopped the same way.

The event loop keeps only weak references to tasks, so a task nobody holds can vanish
mid-way; and a part that stops must cancel what it started and wait until it has ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class Background:
    def __init__(self, on_done: Callable[[asyncio.Task[None]], None] | None = None) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_done = on_done

    def spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self._on_done is not None:
            task.add_done_callback(self._on_done)
        return task

    def busy(self) -> bool:
        return any(not task.done() for task in self._tasks)

    async def stop(self) -> None:
        """Cancel every task, and return once each has ended; raise what one failed with
        as it ended. A cancel of the stop itself (the daemon's budget running out) is
        passed on to the tasks still running (one may have lost the first) and raised,
        not swallowed: the stop did not finish."""
        tasks = tuple(self._tasks)
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        try:
            await asyncio.wait(tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            raise
        failures = [exc for task in tasks if not task.cancelled() and (exc := task.exception())]
        if failures:
            raise failures[0]


class Worker:
    """A part whose work is one long `_run`: `start` spawns it, `stop` cancels it and
    waits until it has ended."""

    task_name = "worker"

    def __init__(self) -> None:
        self._background = Background()

    def start(self) -> None:
        self._background.spawn(self._run(), self.task_name)

    async def stop(self) -> None:
        await self._background.stop()

    async def _run(self) -> None:
        raise NotImplementedError
