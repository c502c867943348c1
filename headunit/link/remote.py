"""The remote role (Android Auto style): the car mirrors the client that plays.

`RemoteMirror` is the controller's Target: its state comes from the peers'
`playback_state`, and the commands that reach it (MPRIS, CLI, keys) leave as a
`carplay_command`, which the backend relays to the client that plays. What the wire
cannot say (volume, shuffle, open...) is refused, not faked (docs/protocol.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from headunit.controller import SnapshotTarget
from headunit.link.peers import Peer
from headunit.model import Command, CommandError, CommandName
from headunit.state import PlayerState, Status, Track

# A remote position this far from where the mirror expected it is a seek, not drift.
SEEK_TOLERANCE = 2.0

Send = Callable[[dict[str, Any]], Awaitable[bool]]


def _track_key(peer: Peer) -> tuple[object, ...]:
    state = peer.state
    if state.mediaId is not None:
        return ("media", state.mediaId)
    return ("untracked", state.mediaTitle, state.mediaArtist, state.mediaAlbum)


class RemoteMirror(SnapshotTarget):
    def __init__(self) -> None:
        super().__init__(PlayerState())
        self._send: Send | None = None
        self._entries: dict[tuple[object, ...], int] = {}

    # Target -------------------------------------------------------------------------------
    async def execute(self, command: Command) -> None:
        payload = self._wire(command)
        if self._send is None or self._state.track is None:
            raise CommandError("no remote player is known")
        if not await self._send(payload):
            raise CommandError("the backend is not connected")

    # Link side ----------------------------------------------------------------------------
    def attach(self, send: Send) -> None:
        """Where commands go: the link's emitter of `carplay_command`."""
        self._send = send

    def show(self, peer: Peer | None) -> None:
        """Mirror `peer` (the active client), or nothing when no client is known."""
        previous = self._state
        state = self._mirror(peer)
        jumped = (
            peer is not None
            and previous.track is not None
            and state.track is not None
            and previous.track.entry_id == state.track.entry_id
            and abs(previous.position_at(peer.arrived) - state.position) > SEEK_TOLERANCE
        )
        self._report(state, seeked=jumped)

    def forget(self) -> None:
        self.show(None)

    def _mirror(self, peer: Peer | None) -> PlayerState:
        if peer is None:
            return PlayerState()
        remote = peer.state
        key = _track_key(peer)
        entry = self._entries.setdefault(key, len(self._entries) + 1)
        track = Track(
            entry_id=entry,
            uri="",
            title=remote.mediaTitle or "",
            artist=(remote.mediaArtist,) if remote.mediaArtist else (),
            album=remote.mediaAlbum,
            duration=remote.duration or None,
            media_type=remote.mediaType or "music",
            media_id=remote.mediaId,
        )
        return PlayerState(
            status=Status.PLAYING if remote.isPlaying else Status.PAUSED,
            track=track,
            position=peer.position(peer.arrived),
            clock=peer.arrived,
            can_next=True,
            can_previous=True,
            can_seek=True,
            can_play=True,
            can_pause=True,
        )

    def _wire(self, command: Command) -> dict[str, Any]:
        """The `carplay_command` payload for `command`; toggle and relative seeks resolve here."""
        name = command.name
        if name is CommandName.TOGGLE:
            playing = self._state.status is Status.PLAYING
            command = Command(CommandName.PAUSE if playing else CommandName.PLAY)
        elif name is CommandName.SEEK_BY:
            target = max(0.0, self.position() + command.number())
            command = Command(CommandName.SEEK, target)
        try:
            return command.to_wire()
        except CommandError:
            raise CommandError(f"{name} is not supported in the remote role") from None
