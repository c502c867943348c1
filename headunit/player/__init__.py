"""The local player: libmpv driven by our own queue, as one ordered actor.

- `actor.py`: the `Player`; one task consumes its inbox in order and hands each
  message to its transition, which decides and calls into mpv with no `await` between.
- `commands.py`: what each command does to the queue and mpv.
- `transitions.py`: what mpv's events and properties, and tag reads, change.
- `timer.py`: each tick's checks: output retries, late tags, the watchdog.
- `rescan.py`: what a rescan of the media changes (a stick plugged or pulled).
- `core.py`: the state they all read, and the moves they are made of (load an entry,
  step through the queue, keep mpv's next entry, publish a snapshot).
- `inbox.py`: what the inbox carries (mpv's events, commands, ticks, tag reads).
- `mpvbridge.py`: libmpv's options and creation, and its event thread's hand-over.
- `malloc.py`: glibc's allocator kept from hoarding the large blocks libmpv frees.
- `pull.py`: a pulled stick told apart from a broken file, and which mount a file is on.
- `loading.py`: what mpv's events mean for our entries (a pure state machine).
- `watchdog.py`: notices when mpv stops doing what the player intends.
- `snapshot.py`: the state the sinks see, built from the queue and the tags.
- `playqueue.py`, `tags.py`, `artwork.py`, `libmpv.py`: the queue, what an entry is,
  its cover, and what the running libmpv accepts.

`Player` is imported lazily: the queue and libmpv checks are used without mpv (the
resume planner, the CLI), and the reference backend must not load the car's player.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headunit.player.actor import Player

__all__ = ["Player"]


def __getattr__(name: str) -> Any:
    if name == "Player":
        from headunit.player.actor import Player

        return Player
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
