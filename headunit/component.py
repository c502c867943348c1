"""What the daemon starts beside the player: MPRIS, the backend link, systemd, keys.

Each lives in its own module and exposes a factory `create(context) -> Component | None`
(None when the configuration turns it off), so the daemon wires them without any of
them knowing about the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, replace
from typing import TYPE_CHECKING, Protocol

from headunit.config import Config
from headunit.controller import Controller

if TYPE_CHECKING:
    from headunit.sources import Sources


class Component(Protocol):
    async def start(self) -> None:
        """Start serving; raise when it cannot (the bus is gone, say): the daemon logs
        the reason in one line and plays on without this component."""
        ...

    async def stop(self) -> None:
        """Stop promptly (a car never waits on the network to power off)."""
        ...


def _none() -> int:
    return 0


@dataclass(frozen=True)
class Context:
    controller: Controller
    config: Config
    request_shutdown: Callable[[], None]  # a clean exit, as SIGTERM would (MPRIS Quit)
    _: KW_ONLY  # what only some parts use is named, so two additions cannot swap places
    # Stalls the player's watchdog repaired since start (none in the remote role,
    # where nothing plays here): `headunit status --json` shows them.
    recoveries: Callable[[], int] = _none
    # Headunit or another player, whichever plays (headunit/sources.py); None in the
    # remote role, which plays nothing of its own to yield.
    sources: Sources | None = None
    # The controller of the active source, for the parts that follow it (keys, the
    # link); `controller` (headunit's own) when there are no sources.
    active: Controller | None = None

    def following(self) -> Context:
        """This context as the parts that follow the active source see it."""
        if self.active is None:
            return self
        return replace(self, controller=self.active, active=None)
