"""The one place commands are executed, and the one place state fans out to sinks.

Sources (MPRIS, the backend link, the CLI through MPRIS, keys) call `execute`. The
target (the local mpv player, or the mirror of a phone in the remote role) reports
each new snapshot; the controller passes on only real changes, so a sink hears about
what changed and nothing else. No sink talks to another sink.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from headunit.model import Command, CommandError
from headunit.state import PlayerState, QueueListing, StateSink

log = logging.getLogger(__name__)


class Target(Protocol):
    """What commands act on: the local player, or the remote mirror."""

    @property
    def state(self) -> PlayerState: ...

    def position(self) -> float:
        """The current position in seconds, read now (not from the last snapshot)."""
        ...

    async def execute(self, command: Command) -> None:
        """Carry out one command; raises CommandError when it cannot."""
        ...

    def queue(self) -> QueueListing:
        """The queue in play order."""
        ...

    def bind(
        self,
        on_state: Callable[[PlayerState], None],
        on_seeked: Callable[[PlayerState], None],
    ) -> None:
        """Called once by the controller: where to report snapshots and position jumps."""
        ...


class SnapshotTarget:
    """A target that keeps the last snapshot it reported and the controller's callbacks.
    Its position runs on from that snapshot (the remote mirror, the tests' players);
    the local player reads it from mpv instead."""

    def __init__(self, state: PlayerState) -> None:
        self._state = state
        self._on_state: Callable[[PlayerState], None] = _ignore
        self._on_seeked: Callable[[PlayerState], None] = _ignore

    @property
    def state(self) -> PlayerState:
        return self._state

    def position(self) -> float:
        return self._state.position_at()

    def queue(self) -> QueueListing:
        """Only the local player has a queue of its own (a mirrored phone keeps its own)."""
        return QueueListing([], [], None, {})

    def bind(
        self,
        on_state: Callable[[PlayerState], None],
        on_seeked: Callable[[PlayerState], None],
    ) -> None:
        self._on_state, self._on_seeked = on_state, on_seeked

    def _report(self, state: PlayerState, seeked: bool = False) -> None:
        """Adopt `state` and tell the controller (as a position jump when `seeked`)."""
        self._state = state
        (self._on_seeked if seeked else self._on_state)(state)


def _ignore(_state: PlayerState) -> None:
    """Until the controller binds a target, nobody listens."""


class Controller:
    def __init__(self, target: Target) -> None:
        self._target = target
        self._state = target.state
        self._sinks: list[StateSink] = []
        target.bind(self._on_state, self._on_seeked)

    @property
    def state(self) -> PlayerState:
        return self._state

    @property
    def target(self) -> Target:
        return self._target

    def position(self) -> float:
        return self._target.position()

    def queue(self) -> QueueListing:
        return self._target.queue()

    def subscribe(self, sink: StateSink) -> None:
        self._sinks.append(sink)

    def unsubscribe(self, sink: StateSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    async def execute(self, command: Command, source: str) -> None:
        """Execute `command` from `source` (for the log). A refusal is logged here once
        and re-raised, so the source can answer its caller (a D-Bus error, say)."""
        log.debug("%s from %s", command, source)
        try:
            await self._target.execute(command)
        except CommandError as exc:
            log.warning("rejected %s from %s: %s", command.name, source, exc)
            raise

    def _on_state(self, state: PlayerState) -> None:
        changed = state.changed_fields(self._state)
        self._state = state
        if changed:
            self._fan_out(lambda sink: sink.state_changed(state, changed))

    def _on_seeked(self, state: PlayerState) -> None:
        self._on_state(state)
        self._fan_out(lambda sink: sink.seeked(state))

    def _fan_out(self, deliver: Callable[[StateSink], None]) -> None:
        for sink in tuple(self._sinks):
            try:
                deliver(sink)
            except Exception:
                # One broken sink must not silence the others, nor the player.
                log.exception("state sink %s failed", type(sink).__name__)
