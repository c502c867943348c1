"""One source at a time: headunit, or another player on the bus (the driver's phone).

`Sources` stands between the controls and the players. It is the target of the
controller the keys and the backend link drive (so their commands reach whatever plays,
and the state they publish is its state), and a sink of headunit's own controller (which
MPRIS and the resume store keep following, so they stay honest about headunit).

The watcher (headunit/mpris/others.py) reports each change of another player; this
class alone decides, synchronously and in the order the changes arrive:

- another player starts playing: it becomes the active source; headunit pauses, marked
  interrupted when it was playing (the resume store saves the mark, so a power cut while
  the phone plays comes back paused); a previous other source is paused.
- the active player stops, leaves the bus, or stays paused for `settle` seconds:
  headunit takes back over, and plays on if it was interrupted and `resume_after` is on.
- headunit starts playing by any other way (its MPRIS, the CLI, a handoff): the other
  player is paused and headunit is the active source again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import Protocol

from headunit.config import SourcesConfig
from headunit.controller import Controller
from headunit.extension import OWN_SOURCE
from headunit.model import Command, CommandError, CommandName
from headunit.resume import ResumeState
from headunit.state import PlayerState, QueueListing, Status
from headunit.tasks import Background

log = logging.getLogger(__name__)

C = CommandName
# What the keys and the backend send to the active source; the rest (open, jump,
# shuffle, loop) only headunit understands, and playing headunit takes it back.
FOLLOWS_SOURCE = frozenset(
    {C.PLAY, C.PAUSE, C.TOGGLE, C.STOP, C.NEXT, C.PREVIOUS, C.SEEK, C.SEEK_BY, C.VOLUME}
)


class OtherPlayer(Protocol):
    """Another player as the watcher keeps it up to date."""

    @property
    def name(self) -> str:
        """Its identity, as shown and published (`source`)."""
        ...

    @property
    def state(self) -> PlayerState:
        """Its latest snapshot, with `source` set to its name."""
        ...

    def position(self) -> float: ...

    async def execute(self, command: Command) -> None:
        """One MPRIS call on it; raises CommandError when it refuses or fails."""
        ...


class Sources:
    def __init__(self, own: Controller, config: SourcesConfig) -> None:
        self._own = own
        self._config = config
        self._active: OtherPlayer | None = None  # None: headunit
        self._interrupted = False
        self._settle: asyncio.TimerHandle | None = None
        self._calls = Background()
        self._on_state: Callable[[PlayerState], None] = _ignore
        self._on_seeked: Callable[[PlayerState], None] = _ignore
        own.subscribe(self)

    def reconfigure(self, config: SourcesConfig) -> None:
        self._config = config

    @property
    def active(self) -> str:
        return OWN_SOURCE if self._active is None else self._active.name

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    def mark(self, saved: ResumeState) -> ResumeState:
        """The player's resume snapshot with the interrupted mark, for the store."""
        return replace(saved, interrupted=self._interrupted)

    # Target (of the controller the keys and the link drive) ------------------------------
    @property
    def state(self) -> PlayerState:
        return self._own.state if self._active is None else self._active.state

    def position(self) -> float:
        return self._own.position() if self._active is None else self._active.position()

    async def execute(self, command: Command) -> None:
        other = self._active
        if other is None or command.name not in FOLLOWS_SOURCE:
            await self._own.target.execute(command)
        else:
            await other.execute(command)

    def queue(self) -> QueueListing:
        return self._own.queue()

    def bind(
        self,
        on_state: Callable[[PlayerState], None],
        on_seeked: Callable[[PlayerState], None],
    ) -> None:
        self._on_state, self._on_seeked = on_state, on_seeked

    # StateSink (of headunit's own controller) --------------------------------------------
    def state_changed(self, state: PlayerState, changed: frozenset[str]) -> None:
        if self._active is not None and "status" in changed and state.status is Status.PLAYING:
            log.info("headunit plays again: pausing %s", self._active.name)
            self._pause_other(self._active)
            self._take_back(resume=False)
        elif self._active is None:
            self._on_state(state)

    def seeked(self, state: PlayerState) -> None:
        if self._active is None:
            self._on_seeked(state)

    # From the watcher --------------------------------------------------------------------
    def player_changed(self, player: OtherPlayer, started: bool) -> None:
        """`player` has a new snapshot; `started`: it has just begun to play."""
        if started and player is not self._active:
            self._yield_to(player)
        elif player is self._active:
            status = player.state.status
            if status is Status.STOPPED:
                log.info("%s stopped", player.name)
                self._take_back(resume=True)
                return
            self._follow_pause(status)
            self._on_state(player.state)

    def player_seeked(self, player: OtherPlayer) -> None:
        if player is self._active:
            self._on_seeked(player.state)

    def player_gone(self, player: OtherPlayer, resume: bool = True) -> None:
        """`player` left the bus (`resume`: as a phone driving away, not a reload)."""
        if player is self._active:
            log.info("%s is gone", player.name)
            self._take_back(resume=resume)

    # ------------------------------------------------------------------------------------
    def _yield_to(self, player: OtherPlayer) -> None:
        previous, self._active = self._active, player
        self._cancel_settle()
        log.info("yielding to %s", player.name)
        if previous is not None:
            self._pause_other(previous)
        elif self._own.state.status is Status.PLAYING:
            self._interrupted = True
            self._call(partial(self._own.target.execute, Command(C.PAUSE)), "pause headunit")
        self._on_state(player.state)

    def _take_back(self, resume: bool) -> None:
        self._active = None
        self._cancel_settle()
        resume = resume and self._interrupted and self._config.resume_after
        self._interrupted = False  # before the play, so the store saves it cleared
        log.info("headunit is the source again%s", " and plays on" if resume else "")
        self._on_state(self._own.state)
        if resume:
            self._call(partial(self._own.target.execute, Command(C.PLAY)), "resume headunit")

    def _follow_pause(self, status: Status) -> None:
        """A pause of the active player becomes a take-back once it lasts `settle` s."""
        if status is Status.PLAYING:
            self._cancel_settle()
        elif self._settle is None:
            loop = asyncio.get_running_loop()
            self._settle = loop.call_later(self._config.settle, self._settled)

    def _settled(self) -> None:
        self._settle = None
        if self._active is not None:
            log.info("%s stayed paused for %g s", self._active.name, self._config.settle)
            self._take_back(resume=True)

    def _cancel_settle(self) -> None:
        if self._settle is not None:
            self._settle.cancel()
            self._settle = None

    def _pause_other(self, player: OtherPlayer) -> None:
        if player.state.status is Status.PLAYING:
            self._call(partial(player.execute, Command(C.PAUSE)), f"pause {player.name}")

    def _call(self, call: Callable[[], Awaitable[None]], what: str) -> None:
        """Start a command without waiting for it: the decision is made, and a slow
        player must not hold the next event."""

        async def run() -> None:
            try:
                await call()
            except CommandError as exc:
                log.warning("could not %s: %s", what, exc)

        self._calls.spawn(run(), what)

    async def close(self) -> None:
        self._cancel_settle()
        await self._calls.stop()


def _ignore(_state: PlayerState) -> None:
    """Until the controller binds, nobody listens."""
