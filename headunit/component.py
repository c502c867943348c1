"""What the daemon starts beside the player: MPRIS, the backend link, systemd, keys.

Each lives in its own module and exposes a factory `create(context) -> Component | None`
(None when the configuration turns it off), so the daemon wires them without any of
them knowing about the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from headunit.config import Config
from headunit.controller import Controller


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
    # Stalls the player's watchdog repaired since start (none in the remote role,
    # where nothing plays here): `headunit status --json` shows them.
    recoveries: Callable[[], int] = _none
