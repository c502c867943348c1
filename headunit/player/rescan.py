"""What the player does when `media.paths` was scanned again (a stick plugged or pulled).

A silent car starts the media found, resuming where it was (or where the media that
went was held); otherwise the queue is merged without interrupting the entry that
plays, unless that one is gone. Run by the actor (`actor.py`) from its one task, with
no `await`, like every other transition.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from headunit import resume
from headunit.player.core import PlayerCore

log = logging.getLogger(__name__)


def rescanned(player: PlayerCore, scanned: list[str], titles: Mapping[str, str]) -> None:
    """`media.paths` was scanned again: a silent car starts the media found,
    resuming where it was; otherwise the queue is merged without interrupting the
    entry that plays, unless that one is gone."""
    player._titles.update(titles)
    # A broken file that went (its stick pulled) is tried again when it comes back.
    player._broken &= set(scanned)
    for uri in player._unsure & set(scanned):
        player._infos.pop(uri, None)  # back: its tags can be read now
    player._unsure.clear()
    if player._loader.entry is None and (len(player._queue) == 0 or player._held is not None):
        _start_found(player, scanned)
        return
    before = player.resume_snapshot()
    gone = player._queue.current
    merged = player._queue.merge(scanned, resume.available, loop=player._state.loop)
    if not merged.current_gone:
        if merged.added or merged.removed:
            log.info("media: %d entries added, %d gone", merged.added, merged.removed)
        player._publish()
        player._refresh_next()  # what comes next may have changed
        return
    player._held = before
    if merged.ran_out or player._loader.entry is None:
        log.info("media: %s is gone and nothing after it is left; stopped", gone and gone.uri)
        player._stopped()
    else:
        log.info("media: %s is gone; playing on with what is left", gone and gone.uri)
        player._load(player._queue.position or 0)


def _start_found(player: PlayerCore, scanned: list[str]) -> None:
    try:
        plan = resume.plan(player._held, scanned, "play")
    except resume.StaleState:
        plan = resume.plan(None, scanned, "play")  # other media: the held state waits
    else:
        player._held = None
    if plan.queue.current is None:
        return
    log.info("media: found %d entries; playing", len(plan.queue))
    player._queue = plan.queue
    player._set_paused(False)
    player._load(plan.queue.position or 0, start=plan.position)
