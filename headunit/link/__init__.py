"""The backend link: the car as one more Socket.IO client of the user's media service.

`create(context)` builds the daemon's component (None when `backend.url` is empty).
Player role: the car's state goes out (`Publisher`), commands come in (`CommandReceiver`),
the phone page's Up next, library and cover art go out (`Browse`, `ArtUploader`), and
optionally the car continues what another client starts (`Follower`). Remote role:
`remote_target()` makes the controller's target before the controller exists; the link
then feeds it the active client's state and carries its commands out.
"""

from __future__ import annotations

import logging
from typing import Any

from headunit.component import Context
from headunit.config import BackendConfig, Config
from headunit.link.art import ArtUploader
from headunit.link.browse import Browse
from headunit.link.commands import CommandReceiver
from headunit.link.follow import Follower
from headunit.link.peers import Peers
from headunit.link.publisher import Publisher
from headunit.link.remote import RemoteMirror
from headunit.link.status import StatusFile, describe, read_status, status_path
from headunit.link.supervisor import Supervisor
from headunit.link.token import TokenSource

log = logging.getLogger(__name__)

__all__ = ["Link", "RemoteMirror", "create", "describe", "read_status", "remote_target"]


def remote_target(config: Config) -> RemoteMirror | None:
    """The controller's target in the remote role (`backend.role = "remote"`); None in
    the player role, where the car plays itself."""
    if config.backend.role != "remote" or not config.backend.url:
        return None
    return RemoteMirror()


def create(context: Context) -> Link | None:
    """The link, in the role of the controller's target: a remote mirror makes the car
    a remote, anything else a player. A reload keeps the running role, as the target
    lives as long as the daemon."""
    if not context.config.backend.url:
        return None
    target = context.controller.target
    return Link(context, target if isinstance(target, RemoteMirror) else None)


def _tokens(config: BackendConfig) -> TokenSource:
    return TokenSource(config.token_file, config.token)


class Link:
    def __init__(self, context: Context, mirror: RemoteMirror | None = None) -> None:
        config = context.config.backend
        self._controller = context.controller
        tokens = _tokens(config)
        self.supervisor = Supervisor(config, tokens)
        self.peers = Peers(self.supervisor, config.device_name)
        self._status_file = StatusFile(status_path(context.config.state.dir), self.status)
        self.supervisor.on_connect(self._status_file.changed)
        self.supervisor.on_disconnect(self._status_file.changed)
        self.supervisor.on_problem(self._status_file.changed)
        self.peers.listen(lambda peer: self._status_file.changed())
        self.role = "remote" if mirror is not None else "player"
        self.publisher: Publisher | None = None
        self.commands: CommandReceiver | None = None
        self.browse: Browse | None = None
        self.art: ArtUploader | None = None
        self._follower: Follower | None = None
        if mirror is not None:
            # The car plays nothing: it shows the active client and sends commands out.
            mirror.attach(lambda payload: self.supervisor.emit("carplay_command", payload))
            self.peers.listen(lambda peer: mirror.show(self.peers.active()))
            self.supervisor.on_disconnect(mirror.forget)
            return
        self.art = ArtUploader(
            context.controller, self.supervisor, config.url, lambda: self._refresh_state()
        )
        self.publisher = Publisher(
            context.controller,
            self.supervisor,
            config.device_name,
            config.heartbeat_seconds,
            self.art.art_id,
        )
        self.commands = CommandReceiver(context.controller, self.supervisor)
        self.browse = Browse(
            context.controller, self.supervisor, self.commands, context.config.media.paths
        )
        if config.follow:
            self._follower = Follower(context.controller, self.peers, config.media_url, tokens)

    async def start(self) -> None:
        log.info("backend link: %s role, %s", self.role, self.supervisor.status()["url"])
        for sink in (self.publisher, self.browse, self.art):
            if sink is not None:
                self._controller.subscribe(sink)
                sink.start()
        if self.commands is not None:
            self.commands.start()
        self.supervisor.start()

    async def stop(self) -> None:
        await self.supervisor.stop()
        await self._status_file.stop()
        for part in (self.publisher, self.browse, self.art, self.commands, self._follower):
            if part is not None:
                await part.stop()
        for sink in (self.publisher, self.browse, self.art):
            if sink is not None:
                self._controller.unsubscribe(sink)

    def _refresh_state(self) -> None:
        if self.publisher is not None:
            self.publisher.refresh()

    def status(self) -> dict[str, Any]:
        """For `headunit status`: the connection, and what the user's other clients play."""
        return {**self.supervisor.status(), "role": self.role, "clients": self.peers.snapshot()}
