"""How a part of the daemon stops: its tasks cancelled and waited for, within the
daemon's budget, so the queue is saved and mpv closed even when one part hangs."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from headunit.tasks import Worker


class Stubborn(Worker):
    """A part whose work loses the first cancel (as a connect attempt can) and then
    takes its time; a second cancel ends it."""

    def __init__(self) -> None:
        super().__init__()
        self.running = asyncio.Event()
        self.ended = asyncio.Event()

    async def _run(self) -> None:
        self.running.set()
        with contextlib.suppress(asyncio.CancelledError):  # lost
            await asyncio.sleep(3600)
        try:
            await asyncio.sleep(3600)
        finally:
            self.ended.set()


class Saving(Worker):
    """A part that saves on its way out."""

    def __init__(self) -> None:
        super().__init__()
        self.running = asyncio.Event()
        self.saved = False

    async def _run(self) -> None:
        self.running.set()
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.1)  # the write
            self.saved = True


async def test_a_part_that_hangs_runs_out_its_budget_and_says_so() -> None:
    """The daemon gives its parts a budget to stop, then logs the ones that did not. A
    part that lost its cancel used to make the stop wait on it, and return as if clean."""
    part = Stubborn()
    part.start()
    await part.running.wait()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(part.stop(), 0.2)
    await asyncio.wait_for(part.ended.wait(), 5)  # the budget's cancel reached it


async def test_a_stop_returns_once_the_part_has_finished_its_cleanup() -> None:
    part = Saving()
    part.start()
    await part.running.wait()
    await part.stop()
    assert part.saved


async def test_a_part_that_fails_as_it_stops_is_reported() -> None:
    class Failing(Saving):
        async def _run(self) -> None:
            self.running.set()
            try:
                await asyncio.sleep(3600)
            finally:
                raise OSError("the state file's disk is gone")

    part = Failing()
    part.start()
    await part.running.wait()
    with pytest.raises(OSError, match="disk is gone"):
        await part.stop()
