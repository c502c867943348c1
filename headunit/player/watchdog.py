"""The stall watchdog: mpv must agree with what the player intends.

While the player means to play a file, mpv shows it is working on it: its events for
that file, a position that advances. When nothing of the kind came for `PATIENCE`
seconds, mpv is stuck where the player thinks it plays (the silences of issue 15: an
entry never loaded, an idle mpv, a frozen position), and the player reconciles. A
recovery is a bug to find, never a normal path: each is logged and counted, and the
tests fail on any.
"""

from __future__ import annotations

import logging

# Its own logger: the tests fail on any line of it.
log = logging.getLogger(__name__)
PATIENCE = 2.0  # seconds


class Watchdog:
    def __init__(self, patience: float = PATIENCE) -> None:
        self.patience = patience
        self.recoveries = 0  # since start: `headunit status --json` shows it
        self._since = 0.0  # when mpv last showed progress (or nothing was expected)

    def progress(self, now: float) -> None:
        """mpv did something for the intended file, or the player asked it something."""
        self._since = now

    def stalled(self, now: float, expecting: bool) -> float | None:
        """At a tick: how long mpv has shown nothing while the player expected progress,
        once that is past the patience; else None. The clock starts again: the player
        acts on it, and `recovered` counts it when it was a stall of the player's own."""
        if not expecting:
            self._since = now
            return None
        waited = now - self._since
        if waited < self.patience:
            return None
        self._since = now
        return waited

    def recovered(self) -> int:
        self.recoveries += 1
        return self.recoveries
