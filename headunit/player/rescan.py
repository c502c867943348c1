"""What the player does when `media.paths` was scanned again (a stick plugged or pulled).

A silent car with nothing to play starts the media found, resuming where it was; one
stopped by a pull starts only when the held track is back, there (any other rescan,
like a second event of the same pull, starts nothing: stopped means stopped).
Otherwise the queue is merged without interrupting the entry that plays, unless that
one is gone: then where it was is kept, and a re-plug of its media resumes it there.
A stick that keeps failing without being unmounted is given up the same way
(`give_up_held`, from the timer). Run by the actor (`actor.py`) from its one task,
with no `await`, like every other transition.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from headunit import resume
from headunit.player import pull
from headunit.player.core import PlayerCore
from headunit.resume import ResumePoint

log = logging.getLogger(__name__)

# Seconds after a track ended short of its length within which its media going means
# that a pull cut it (the reads fail a moment before the stick is unmounted).
CUT_WITHIN = 15.0


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
    waits = len(player._queue) == 0 or player._held is not None
    if player._loader.entry is None and waits and _start_found(player, scanned):
        return
    _merge(player, scanned, resume.available)


def give_up_held(player: PlayerCore, after: float) -> None:
    """The held entry's medium stays mounted but its reads have kept failing for
    `after` s: play on without that medium, as after a pull (a re-plug resumes the
    track). The medium is read from the mount table; a file on the root filesystem
    that keeps failing is a bad file, and goes alone."""
    entry = player._loader.entry
    assert entry is not None
    points = pull.mount_points()
    medium = pull.medium(entry.uri, points)
    log.warning("%s kept failing for %g s: playing on without %s", entry.uri, after, medium or "it")
    player._held_since = player._recheck_at = None

    def keep(uri: str) -> bool:
        return uri != entry.uri and (medium is None or not pull.on(uri, medium, points))

    _merge(player, [uri for uri in player._queue.uris if keep(uri)], keep)


def _merge(player: PlayerCore, scanned: list[str], keep: Callable[[str], bool]) -> None:
    """Adopt `scanned`, without the entries `keep` refuses; when the entry that plays
    is gone, keep where it was (for a re-plug) and play on with what is left."""
    _cut_by_a_pull(player, scanned, keep)
    before = player.resume_snapshot()
    gone = player._queue.current
    merged = player._queue.merge(scanned, keep, loop=player._state.loop)
    if not merged.current_gone:
        if merged.added or merged.removed:
            log.info("media: %d entries added, %d gone", merged.added, merged.removed)
        if not _replugged(player, scanned):
            player._publish()
            player._refresh_next()  # what comes next may have changed
        return
    if player._loader.entry is None:
        # Stopped already (by the user, or by an earlier pull, whose held track stays
        # held): nothing plays to hold, and a re-plug must not start the music.
        player._publish()
        return
    if gone is not None:
        point = ResumePoint(gone.uri, before.position)
        player._pulled = list(resume.with_point(player._pulled, point))
    if merged.ran_out:
        log.info("media: %s is gone and nothing after it is left; stopped", gone and gone.uri)
        player._held = before  # what the car resumes when the stick is back
        player._stopped()
        return
    first = player._queue.position or 0
    pos: int | None = first
    if player._queue.entry_at(first).uri in player._broken:
        pos = player._step_from(first, 1)  # known broken: not opened again
    if pos is None:
        player._stop_at_end(first)
        return
    log.info("media: %s is gone; playing on with what is left", gone and gone.uri)
    player._load(pos)


def _cut_by_a_pull(player: PlayerCore, scanned: list[str], keep: Callable[[str], bool]) -> None:
    """The track that ended short of its length a moment ago is gone with its media: a
    pull cut it, so a re-plug resumes it where it ended, as it would the one playing."""
    if player._cut is None:
        return
    point, at = player._cut
    if time.monotonic() - at > CUT_WITHIN:
        player._cut = None
    elif point.uri not in scanned or not keep(point.uri):
        player._cut = None
        player._pulled = list(resume.with_point(player._pulled, point))


def _replugged(player: PlayerCore, scanned: list[str]) -> bool:
    """A pulled track whose media is back while the queue played on without it: the
    newest such is resumed where it was pulled. False if none is back."""
    found = set(scanned)
    back = [p for p in player._pulled if p.uri in found]
    if not back or player._loader.entry is None:
        return False  # stopped by the user: a re-plug does not start the music
    player._pulled = [p for p in player._pulled if p.uri not in found]
    point = back[-1]
    entries = player._queue.in_order()
    pos = next((i for i, e in enumerate(entries) if e.uri == point.uri), None)
    if pos is None:
        return False
    log.info("media: %s is back; resuming it at %.1f s", point.uri, point.position)
    player._loader.travel(1, user=True)
    player._load(pos, start=point.position)
    return True


def _start_found(player: PlayerCore, scanned: list[str]) -> bool:
    """A silent car starts the held track, back, where it was; or, if it had nothing to
    play, the media found. False when neither: a car stopped by a pull stays stopped
    until its track is back (a rescan that finds the rest again, like the second event
    of the same pull, starts nothing by itself)."""
    mode = player._config.resume
    try:
        plan = resume.plan(player._held, scanned, mode)
    except resume.StaleState:
        if len(player._queue):
            return False
        plan = resume.plan(None, scanned, mode)  # other media: its track stays pulled
    found = set(scanned)
    player._pulled = [p for p in player._pulled if p.uri not in found]  # resumed, if held
    if plan.queue.current is None:
        return True
    log.info("media: found %d entries; %s", len(plan.queue), "paused" if plan.paused else "playing")
    player._queue = plan.queue
    player._set_paused(plan.paused)
    player._load(plan.queue.position or 0, start=plan.position)
    return True
