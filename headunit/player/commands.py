"""What each command does to the queue and to mpv.

`HANDLERS` maps a command to its handler; the actor (`actor.py`) runs one at a time, in
the inbox's order, each whole: it reads the player's state and commands mpv with no
`await` in between, and a `CommandError` it raises is the caller's answer. `expand_open`
expands what an Open command points at in a worker thread, before the command joins
the inbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from headunit.media import OPEN_BOUNDS, SUPPORTED_URI_SCHEMES, expand, is_stream, playlist_titles
from headunit.model import Command, CommandError, CommandName, LoopMode, MediaRef
from headunit.player.core import PlayerCore
from headunit.player.inbox import Expanded
from headunit.player.playqueue import Entry
from headunit.state import Status


def _play(player: PlayerCore, _command: Command, _expanded: Expanded | None) -> None:
    if player._queue.current is None:
        raise CommandError("the queue is empty")
    player._set_paused(False)
    if player._loader.entry is None:
        player._load(player._queue.position or 0)
    elif player._loader.waiting:
        player._retry_output()  # the user asks: try the output (or the file) now
    else:
        player._publish()  # at once: mpv's observer would tell us a little later


def _pause(player: PlayerCore, _command: Command, _expanded: Expanded | None) -> None:
    if player._loader.entry is not None:
        player._set_paused(True)
        player._publish()


def _toggle(player: PlayerCore, command: Command, expanded: Expanded | None) -> None:
    if player._status() is Status.PLAYING:
        _pause(player, command, expanded)
    else:
        _play(player, command, expanded)


def _stop(player: PlayerCore, _command: Command, _expanded: Expanded | None) -> None:
    if player._loader.entry is not None:
        player._stopped()


def _next(player: PlayerCore, _command: Command, _expanded: Expanded | None) -> None:
    player._advance(1, user=True)


def _previous(player: PlayerCore, _command: Command, _expanded: Expanded | None) -> None:
    restart = player.position() > player._config.previous_restarts_after
    if player._loader.entry is not None and restart:
        player._seek_to(0.0)
    else:
        player._advance(-1, user=True)


def _seek(player: PlayerCore, command: Command, _expanded: Expanded | None) -> None:
    _seek_or_skip(player, command.number())


def _seek_by(player: PlayerCore, command: Command, _expanded: Expanded | None) -> None:
    _seek_or_skip(player, player.position() + command.number())


def _seek_or_skip(player: PlayerCore, target: float) -> None:
    entry = player._loader.entry
    if entry is None or not _seekable(player, entry):
        raise CommandError("nothing seekable is playing")
    info = player._infos.get(entry.uri)
    duration = info.duration if info else None
    if duration is not None and target >= duration:
        player._advance(1, user=False)
        return
    player._seek_to(max(0.0, target))


def _seekable(player: PlayerCore, entry: Entry) -> bool:
    """What mpv says of the open file; a file still opening (a skip just sent) is
    seekable unless it is a stream: the seek waits for it (`Loader.seek`)."""
    if player._loader.confirmed and player._state.track is not None:
        return player._state.can_seek
    return not is_stream(entry.uri)


def _volume(player: PlayerCore, command: Command, _expanded: Expanded | None) -> None:
    player._set_volume(command.number())


def _shuffle(player: PlayerCore, command: Command, _expanded: Expanded | None) -> None:
    player._queue.set_shuffle(bool(command.value))
    player._publish()
    player._refresh_next()


def _loop(player: PlayerCore, command: Command, _expanded: Expanded | None) -> None:
    player._set_loop(LoopMode(str(command.value)))
    player._publish()
    player._refresh_next()


def _open(player: PlayerCore, _command: Command, expanded: Expanded | None) -> None:
    assert expanded is not None
    player._titles.update(expanded.titles)
    if expanded.ref.media_id is not None or expanded.ref.authorization:
        player._refs[expanded.ref.uri] = expanded.ref
    pos = player._queue.insert_next(expanded.uris)
    assert pos is not None
    player._set_paused(False)
    player._loader.travel(1, user=True)
    player._load(pos)


def _jump(player: PlayerCore, command: Command, _expanded: Expanded | None) -> None:
    entry_id = command.value
    pos = player._queue.find(entry_id) if isinstance(entry_id, int) else None
    if pos is None:
        raise CommandError(f"no queue entry {command.value}")
    player._set_paused(False)
    player._loader.travel(1, user=True)
    player._load(pos)


HANDLERS: dict[CommandName, Callable[[PlayerCore, Command, Expanded | None], None]] = {
    CommandName.PLAY: _play,
    CommandName.PAUSE: _pause,
    CommandName.TOGGLE: _toggle,
    CommandName.STOP: _stop,
    CommandName.NEXT: _next,
    CommandName.PREVIOUS: _previous,
    CommandName.SEEK: _seek,
    CommandName.SEEK_BY: _seek_by,
    CommandName.VOLUME: _volume,
    CommandName.SHUFFLE: _shuffle,
    CommandName.LOOP: _loop,
    CommandName.OPEN: _open,
    CommandName.JUMP: _jump,
}


async def expand_open(command: Command) -> Expanded:
    """What an Open command points at, expanded in a worker thread (it reads folders and
    playlists) before the command joins the inbox; refused when nothing is playable."""
    ref = command.value if isinstance(command.value, MediaRef) else MediaRef(str(command.value))
    uri = ref.uri
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else "file"
    if scheme not in SUPPORTED_URI_SCHEMES:
        raise CommandError(f"unsupported URI scheme {scheme!r}")
    uris = await asyncio.to_thread(expand, uri, OPEN_BOUNDS)
    titles = await asyncio.to_thread(playlist_titles, [uri])
    if not uris:
        raise CommandError(f"nothing playable at {uri}")
    return Expanded(ref, uris, titles)
