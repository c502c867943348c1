"""What the player asked mpv to load and what mpv did with it: one state machine.

The player keeps two of our queue's entries in mpv's playlist: the `current` one, and
the `next` one appended ahead of time, so mpv's gapless audio goes on into it without
reopening the output. mpv's events (start-file, file-loaded, seek, playback-restart,
end-file) are matched here, by the playlist entry id each loadfile returned, to the
entry they are about; the machine answers with what the player must do. Pure logic, no
mpv: every transition is tested on its own (tests/player/test_loading.py).

    IDLE     ── loaded ──────────────────────> OPENING
    OPENING  ── start-file of our id ────────> OPENING   (mpv confirms it: Started)
    OPENING  ── end-file redirect (a playlist) > OPENING (what it names is ours now)
    OPENING  ── file-loaded of our id ───────> PLAYING   (a seek asked meanwhile is sent)
    PLAYING  ── seek ────────────────────────> SEEKING
    SEEKING  ── playback-restart ────────────> PLAYING   (reported as Seeked)
    PLAYING  ── end-file eof, a next entry ──> GOING_ON
    GOING_ON ── start-file of the next ──────> OPENING   (the next is current: WentOn)
    any      ── end-file: output failed ─────> OUTPUT_LOST ── retry (loaded) ──> OPENING
    PLAYING  ── position stuck (the player) ─> OUTPUT_LOST   (a server gone without a word)
    (outage) ── the position advances ───────> sound again (OUTPUT_BACK)
    any      ── end-file eof alone ──────────> (the player loads a neighbour: OPENING)
    PLAYING  ── end-file error, early eof ───> CHECKING  (is the file still readable?)
    PLAYING  ── eof in the last seconds ─────> (as any eof, told: EndedShort)
    CHECKING ── readable: broken or short ───> (skipped, or the next: OPENING)
    CHECKING ── unreadable (a pulled stick) ─> HELD   (entry and position kept)
    HELD     ── readable again (re-checked) ─> (reloaded where it was: OPENING)
    any      ── stop, all entries broken ────> IDLE

A file that fails, or ends well before its length (mpv reports a failed read as an
ordinary eof), may be broken, or on a stick being pulled: the player checks it off the
loop. A pulled one is held, with its position, and no vanished entry after it is
tried: the hot-plug rescan decides what plays next, and the saved state keeps it.
An eof in a track's last few seconds is its end (a track's length in its tags is not
exact to the second), but one short of the length is told: if the rescan of a pull
follows within seconds, the pull cut that track, and its point is kept all the same.

A file whose audio output cannot be opened is not a broken file: the entry and its
position are kept in OUTPUT_LOST and the player retries it until the output is back.
The outage lasts until the position advances: a playback-restart says nothing of sound
(mpv sends one for a stream the server never links), and while it lasts the position
stays where the sound was lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from headunit.player.playqueue import Entry

# mpv's message for MPV_ERROR_AO_INIT_FAILED, the end-file error of a lost output.
OUTPUT_FAILED = "audio output initialization failed"
# Seconds the position must go past where a retry started to count as sound again.
ADVANCED = 0.2
# Seconds before a track's length an eof is an early one, worth checking the file.
EARLY_EOF = 3.0
# Seconds short of its length an eof is the track's end all the same: mpv's time-pos is
# last heard a moment before the end.
AT_END = 0.5


class Phase(StrEnum):
    IDLE = "idle"  # nothing loaded: stopped
    OPENING = "opening"  # loadfile sent; seeks wait until mpv has opened the file
    PLAYING = "playing"  # open: seeks go straight to mpv
    GOING_ON = "going-on"  # ended; mpv goes on into the next entry by itself (no gap)
    SEEKING = "seeking"  # mpv is seeking; its playback-restart is reported as Seeked
    OUTPUT_LOST = "output-lost"  # the audio output failed; retried with entry and position
    CHECKING = "checking"  # failed or ended early: is the file still readable?
    HELD = "held"  # unreadable (a pulled stick): entry and position wait for the media


@dataclass(frozen=True, slots=True)
class Slot:
    """One of our entries in mpv's playlist, by the id mpv gave it."""

    entry: Entry
    mpv_id: int


# What the player must do after an event; at most a few per event, carried out in order.
class Notice(Enum):
    OPENED = "mpv has opened the current file (its tracks can be read)"
    SEEKED = "a seek (ours, or mpv's jump back when looping a track) has landed"
    ALL_BROKEN = "every entry of the queue failed in a row: stop"
    OUTPUT_BACK = "sound again after an outage"
    NEXT = "the file ended, or mpv went where the queue no longer goes: load its next"


@dataclass(frozen=True, slots=True)
class Started:
    """mpv's start-file confirms the entry we loaded: the queue may move to it."""

    entry: Entry


@dataclass(frozen=True, slots=True)
class SeekTo:
    seconds: float


@dataclass(frozen=True, slots=True)
class WentOn:
    """mpv went on to the next entry by itself, with no gap: announce it."""

    entry: Entry


@dataclass(frozen=True, slots=True)
class Skipped:
    """A broken file: go on in `direction`, the way the user went (0: all failed)."""

    entry: Entry
    error: str
    direction: int


@dataclass(frozen=True, slots=True)
class OutputLost:
    """Retry `entry` at `position` later; `first` for the failure that starts an outage."""

    entry: Entry
    position: float
    first: bool


@dataclass(frozen=True, slots=True)
class EndedShort:
    """`entry` ended at `position`, short of its length but too near its end to be
    worth a gap for a check: if its media goes a moment later, a pull cut it there."""

    entry: Entry
    position: float


@dataclass(frozen=True, slots=True)
class Check:
    """Find out, off the loop, whether `entry`'s file can still be read."""

    entry: Entry


@dataclass(frozen=True, slots=True)
class Held:
    """`entry`'s file vanished with its media: kept at `position`, nothing else tried;
    `first` for the check that found it."""

    entry: Entry
    position: float
    first: bool


@dataclass(frozen=True, slots=True)
class Reload:
    """A held entry's file can be read again: load it where it was."""

    entry: Entry
    position: float


Effect = (
    Notice | Started | SeekTo | WentOn | Skipped | OutputLost | EndedShort | Check | Held | Reload
)


class Loader:
    def __init__(self) -> None:
        self.phase = Phase.IDLE
        self.current: Slot | None = None
        self.next: Slot | None = None  # appended after current in mpv's playlist
        self.start = 0.0  # where the current file was asked to start
        self.pending_seek: float | None = None  # asked for while OPENING
        self.direction = 1  # of travel, to skip broken files the way the user went
        self.failures = 0  # consecutive broken entries, to stop when all are broken
        self._started: int | None = None  # the id of mpv's latest start-file
        self._dropped: set[int] = set()  # ids of next entries taken out of mpv's playlist
        self._outage = False  # between an output failure and the sound coming back
        self._error: str | None = None  # why the checked file failed; None: an early eof
        self._held = False  # the checked entry was found unreadable before

    @property
    def entry(self) -> Entry | None:
        """Our queue entry in mpv (or waiting for its output); None when stopped."""
        return self.current.entry if self.current else None

    @property
    def confirmed(self) -> bool:
        """mpv's latest start-file was the current entry's: mpv has it."""
        return self.current is not None and self._started == self.current.mpv_id

    @property
    def waiting(self) -> bool:
        """The entry and its position are kept while mpv has nothing open for it."""
        return self.phase in _WAITING

    @property
    def outage(self) -> bool:
        """The output failed and no sound has come since, whatever mpv is doing."""
        return self._outage

    def position(self, heard: float | None) -> float:
        """Where the current file is, given mpv's time-pos (`heard`, None if unknown)."""
        if self.phase is Phase.IDLE:
            return 0.0
        if self.phase is Phase.OPENING:
            return self.pending_seek if self.pending_seek is not None else self.start
        if self._outage or heard is None:
            return self.start
        return heard

    # -- what the player did -----------------------------------------------------------

    def travel(self, direction: int, user: bool) -> None:
        """The player moves through the queue; a user's skip forgives earlier failures."""
        self.direction = direction
        if user:
            self.failures = 0

    def loaded(self, entry: Entry, mpv_id: int, start: float) -> None:
        """loadfile ... replace: mpv's playlist is this entry alone."""
        self.current, self.next = Slot(entry, mpv_id), None
        self.phase, self.start, self.pending_seek = Phase.OPENING, start, None
        self._dropped.clear()

    def appended(self, entry: Entry, mpv_id: int) -> None:
        self.next = Slot(entry, mpv_id)

    def unappended(self) -> int | None:
        """The next entry is taken out of mpv's playlist; returns its id."""
        if self.next is None:
            return None
        dropped, self.next = self.next.mpv_id, None
        self._dropped.add(dropped)
        return dropped

    def seek(self, seconds: float) -> bool:
        """A seek is wanted: True to send it now, False when it waits for the file."""
        if self.phase is Phase.OPENING:
            self.pending_seek = seconds
            return False
        if self.phase in _WAITING:
            self.start = seconds  # where the retry starts
            return False
        self.pending_seek = None
        return True

    def stopped(self) -> None:
        self.phase, self.current, self.next = Phase.IDLE, None, None
        self._outage = False

    def output_stuck(self, position: float) -> list[Effect]:
        """The file is open but its position stopped at `position` (the player timed
        it): an output that went away without a word (ALSA to a vanished server)."""
        if self.current is None or self.phase not in (Phase.PLAYING, Phase.SEEKING):
            return []
        return [self._lose_output(self.current, position)]

    def _lose_output(self, slot: Slot, position: float) -> OutputLost:
        first = not self._outage
        self.phase, self.start, self.next = Phase.OUTPUT_LOST, position, None
        self._outage = True
        return OutputLost(slot.entry, position, first)

    def still_lost(self) -> None:
        """A retry brought no sound in time (an output open that blocks, a stream the
        server never links): back to waiting, to retry from the same position."""
        if self._outage and self.current is not None:
            self.phase, self.next = Phase.OUTPUT_LOST, None

    # -- what mpv did ------------------------------------------------------------------

    def on_start_file(self, mpv_id: int) -> list[Effect]:
        self._started = mpv_id
        if self.next is not None and mpv_id == self.next.mpv_id:
            self.current, self.next = self.next, None
            self.phase, self.start, self.pending_seek = Phase.OPENING, 0.0, None
            self.direction = 1
            return [WentOn(self.current.entry)]
        if self.current is not None and mpv_id == self.current.mpv_id:
            return [Started(self.current.entry)]
        if mpv_id in self._dropped:
            # mpv went on into an entry we had just taken out (shuffle, loop or the queue
            # changed as the file ended): load what the queue says comes next instead.
            self._dropped.discard(mpv_id)
            return [Notice.NEXT]
        return []

    def on_file_loaded(self) -> list[Effect]:
        if self.phase is not Phase.OPENING or self.current is None:
            return []
        if self._started != self.current.mpv_id:
            return []  # the file-loaded of a file we skipped away from, arriving late
        self.phase = Phase.PLAYING
        effects: list[Effect] = [Notice.OPENED]
        if self.pending_seek is not None:
            # Where the file is from now on, even if mpv refuses the seek (the output
            # failing as the file opens): a retry starts there.
            self.start = self.pending_seek
            effects.append(SeekTo(self.pending_seek))
            self.pending_seek = None
        return effects

    def on_seek(self) -> None:
        if self.phase is Phase.PLAYING:
            self.phase = Phase.SEEKING

    def on_playback_restart(self) -> list[Effect]:
        if self.phase is Phase.SEEKING:
            self.phase = Phase.PLAYING
            return [Notice.SEEKED]
        return []

    def on_heard(self, position: float) -> list[Effect]:
        """mpv's time-pos in the current file: past where a retry started, the sound is
        back."""
        if not self._outage or self.phase is not Phase.PLAYING or not self.confirmed:
            return []
        if position < self.start - ADVANCED:
            # It opened before where it was lost: a live stream (a radio) cannot be
            # joined where it was, and plays on from now. Sound is its advancing.
            self.start = position
        if position < self.start + ADVANCED:
            return []
        self._outage = False
        return [Notice.OUTPUT_BACK]

    def on_end_file(
        self,
        mpv_id: int,
        reason: str,
        error: str | None,
        heard: float | None,
        length: float | None = None,
        inserted: int = 0,
    ) -> list[Effect]:
        """`length`: the current track's length, if known, to tell an early eof;
        `inserted`: the id of what a playlist (`redirect`) put in its place."""
        slot = self.current
        if slot is None or mpv_id != slot.mpv_id or self.phase in _WAITING:
            return []
        if reason == "redirect" and inserted:
            # A station's URL that is a playlist (.m3u, .pls): mpv plays the stream it
            # names in its place, under a new id. That one is our entry now.
            self.current = Slot(slot.entry, inserted)
            return []
        if reason == "eof":
            if self._ended_before(heard, length, EARLY_EOF):
                return [self._check(slot, heard, None)]
            self.failures = 0
            # In the last seconds but short of the end: told, in case a pull cut it (no
            # check: it would cost the gapless join).
            effects: list[Effect] = []
            if heard is not None and self._ended_before(heard, length, AT_END):
                effects.append(EndedShort(slot.entry, heard))
            if self.next is None:
                return [*effects, Notice.NEXT]
            self.phase = Phase.GOING_ON  # mpv goes on by itself: start-file follows
            return effects
        if reason != "error":
            return []  # stopped or replaced by us
        if error == OUTPUT_FAILED:
            return [self._lose_output(slot, self.position(heard))]
        return [self._check(slot, heard, error or "cannot be played")]

    def _ended_before(self, heard: float | None, length: float | None, margin: float) -> bool:
        """The eof came more than `margin` s before the length, where no seek leaves the
        position unsure."""
        if heard is None or length is None or self.phase is not Phase.PLAYING:
            return False
        return heard < length - margin

    def _check(self, slot: Slot, heard: float | None, error: str | None) -> Check:
        # mpv goes on into our next entry by itself: it may be on the same pulled stick,
        # so nothing is tried before the check says what happened.
        self.start = self.position(heard)
        self.phase, self.next, self._error, self._held = Phase.CHECKING, None, error, False
        return Check(slot.entry)

    def checked(self, entry: Entry, vanished: bool, queue_length: int) -> list[Effect]:
        """The check of `entry`'s file: `vanished` (unreadable, gone with its media) or
        not (a broken or short file)."""
        slot = self.current
        if self.phase is not Phase.CHECKING or slot is None or slot.entry is not entry:
            return []  # the player has moved on meanwhile
        if vanished:
            first, self._held, self.phase = not self._held, True, Phase.HELD
            return [Held(entry, self.start, first)]
        if self._held:
            return [Reload(entry, self.start)]  # the media is back
        if self._error is None:
            self.failures = 0
            return [Notice.NEXT]  # shorter than its tags said: on to the next
        self.failures += 1
        if self.failures >= queue_length:
            self.stopped()
            return [Skipped(entry, self._error, 0), Notice.ALL_BROKEN]
        return [Skipped(entry, self._error, self.direction)]

    def recheck(self) -> list[Effect]:
        """Is a held entry's file back? (a stick that answers again without a rescan)"""
        if self.phase is not Phase.HELD or self.current is None:
            return []
        self.phase = Phase.CHECKING
        return [Check(self.current.entry)]


# Phases that keep an entry and its position while mpv has nothing open for it.
_WAITING = (Phase.OUTPUT_LOST, Phase.CHECKING, Phase.HELD)
