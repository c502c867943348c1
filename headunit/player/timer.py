"""What the player does on each tick of its timer: retry a lost output, check a held
entry's file again, announce a confirmed entry whose tags are late, and have the stall
watchdog (`watchdog.py`) check that mpv agrees with what the player intends.

Run by the actor (`actor.py`) from its one task, with no `await`, like every other
transition; built from the player's moves (`core.py`) and the carrying out of the load
state machine's effects (`transitions.py`).
"""

from __future__ import annotations

import logging
import time

from headunit.media import is_stream
from headunit.player import rescan, transitions, watchdog
from headunit.player.core import OUTPUT_OPEN_TIMEOUT_MOST, PlayerCore
from headunit.player.loading import Phase

log = logging.getLogger(__name__)

# Seconds a held entry's file may keep failing while its medium stays mounted before
# the player gives up on that medium and plays on without it, as for a pull. A pulled
# stick is unmounted within a second or two, and a stick that hiccups answers again at
# one of the re-checks; past this, a driver hears only silence from a stick that
# will not come back by itself.
HOLD_GIVE_UP_SECONDS = 10.0


def on_tick(player: PlayerCore) -> None:
    now = time.monotonic()
    loader = player._loader
    if loader.phase is Phase.OUTPUT_LOST:
        if player._retry_at is not None and now >= player._retry_at:
            player._retry_output()
    elif loader.phase is Phase.HELD:
        held_since = player._held_since
        if held_since is not None and now - held_since >= HOLD_GIVE_UP_SECONDS:
            rescan.give_up_held(player, HOLD_GIVE_UP_SECONDS)
        elif player._recheck_at is not None and now >= player._recheck_at:
            transitions.carry_out(player, loader.recheck())
    elif loader.outage and now - player._attempt_at >= player._open_timeout:
        # The retry opened nothing that plays: bounded, and tried again.
        log.debug("no sound %g s after a retry: trying again", player._open_timeout)
        player._open_timeout = min(2 * player._open_timeout, OUTPUT_OPEN_TIMEOUT_MOST)
        loader.still_lost()
        transitions.halt_for_retry(player)
    player._show()
    waited = player._watchdog.stalled(now, _expecting_progress(player))
    if waited is None:
        return
    # mpv has our file open and says nothing is wrong, but its position stands
    # still: the output no longer takes the sound (ALSA to a server that went
    # away). An outage, not a stall of the player's: retried like a failed output.
    heard = player._heard
    if heard is not None and player._loader.confirmed and not player._idle:
        transitions.carry_out(player, player._loader.output_stuck(heard))
    if not player._loader.outage:
        _recover(player, waited)


def _expecting_progress(player: PlayerCore) -> bool:
    """Intent playing, a local file to play, no outage being waited out."""
    entry = player._loader.entry
    return (
        entry is not None
        and not player._paused
        and not player._loader.outage
        and not player._loader.waiting
        and not is_stream(entry.uri)
    )


def _recover(player: PlayerCore, waited: float) -> None:
    """mpv shows nothing of the file we mean to play: load it again where it was."""
    entry = player._loader.entry
    assert entry is not None
    at = player._heard if player._heard is not None else player._loader.start
    watchdog.log.warning(
        "nothing from mpv for %.1f s while %s should play (phase %s, "
        "mpv %s, position %s): reloading it at %.1f s (recovery %d)",
        waited,
        entry.uri,
        player._loader.phase,
        "idle" if player._idle else "busy",
        "unheard" if player._heard is None else f"stuck at {player._heard:.1f} s",
        at,
        player._watchdog.recovered(),
    )
    pos = player._queue.find(entry.id)
    if pos is not None:
        player._load(pos, start=at)
