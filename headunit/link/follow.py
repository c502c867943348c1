"""Handoff (`backend.follow`): the idle car continues what another client starts playing.

Only a transition counts (a client starts playing, or plays another media), never a
heartbeat of the same media: a car the user paused is not restarted every few seconds.
"""

from __future__ import annotations

import logging

from headunit.controller import Controller
from headunit.link.peers import Peer, Peers
from headunit.link.token import TokenProblem, TokenSource
from headunit.model import Command, CommandError, CommandName, MediaRef
from headunit.state import Status
from headunit.tasks import Background

log = logging.getLogger(__name__)

_MIN_SEEK = 1.0  # closer to the start than this, starting from 0 is as good


class Follower:
    def __init__(
        self, controller: Controller, peers: Peers, media_url: str, tokens: TokenSource
    ) -> None:
        self._controller = controller
        self._template = media_url
        self._tokens = tokens  # the media host wants the same Bearer token as the socket
        self._seen: dict[str, int | None] = {}  # per client: the media it was playing
        self._handoffs = Background()
        peers.listen(self._on_peer)

    def _on_peer(self, peer: Peer) -> None:
        playing = peer.state.mediaId if peer.state.isPlaying else None
        before = self._seen.get(peer.name)
        self._seen[peer.name] = playing
        if playing is None or playing == before:
            return
        if self._controller.state.status is Status.PLAYING:
            return  # the car is busy: the user chose what it plays
        self._handoffs.spawn(self._follow(peer), "backend-handoff")

    async def _follow(self, peer: Peer) -> None:
        uri = self._template.replace("{mediaId}", str(peer.state.mediaId))
        position = peer.position()
        log.info(
            "handoff: continuing media %s from %s at %.0f s",
            peer.state.mediaId,
            peer.name,
            position,
        )
        media = MediaRef(uri, peer.state.mediaId, self._authorization())
        try:
            await self._controller.execute(Command(CommandName.OPEN, media), source="handoff")
            if position >= _MIN_SEEK:
                await self._controller.execute(Command(CommandName.SEEK, position), "handoff")
        except CommandError:
            pass  # the controller logged it; the car stays as it was

    def _authorization(self) -> str | None:
        try:
            return f"Bearer {self._tokens.read().value}"
        except TokenProblem:
            return None  # the supervisor reports the token; the media may be public

    async def stop(self) -> None:
        await self._handoffs.stop()
