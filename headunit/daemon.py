"""The daemon: builds the player and the controller, starts the components, and stops.

Wiring only. The order is the data flow: the target (the local player), the controller,
the sinks (the resume store, then MPRIS, the backend link, keys, and systemd last, so
READY=1 is sent once everything else is up). SIGTERM saves and exits within two
seconds whatever the network does; SIGHUP reloads the configuration without stopping
the music.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from headunit import keys, logs, media, resume, source_status, systemd
from headunit.component import Component, Context
from headunit.config import Config, ConfigError, PlayerConfig, resolve
from headunit.controller import Controller, Target
from headunit.hotplug import MediaWatch
from headunit.mpris import others
from headunit.mpris import server as mpris_server
from headunit.player import Player
from headunit.sources import Sources
from headunit.state import Status
from headunit.store import Store, StoreSink
from headunit.tasks import Background

if TYPE_CHECKING:
    from headunit.link import RemoteMirror

log = logging.getLogger(__name__)

STOP_BUDGET_SECONDS = 1.5  # for all components together; mpv and the save come after


@dataclass(frozen=True)
class Part:
    """A component, the config sections it depends on (a reload restarts it when they
    change), and its factory."""

    name: str
    sections: tuple[str, ...]
    create: Callable[[Context], Component | None]
    follows: bool = False  # driven by, and publishing, the active source (sources.py)


def create_link(context: Context) -> Component | None:
    """The backend link, imported only when configured: Socket.IO, aiohttp and PyJWT
    cost a standalone car about 25 MiB it has no use for."""
    if not context.config.backend.url:
        return None
    from headunit import link

    return link.create(context)


# Started in this order, stopped in reverse.
PARTS = (
    Part("mpris", ("mpris", "media"), mpris_server.create),  # media.paths confine OpenUri
    Part("sources", ("sources", "mpris"), others.create),
    Part("source-status", ("sources", "state"), source_status.create, follows=True),
    Part("link", ("backend",), create_link, follows=True),
    Part("keys", ("keys",), keys.create, follows=True),
    Part("systemd", (), systemd.create),
)


async def build_player(config: Config, store: Store) -> Player:
    scanned = await asyncio.to_thread(media.scan, config.media.paths)
    saved = await asyncio.to_thread(store.load)
    held = None
    try:
        plan = resume.plan(saved, scanned, config.player.resume)
    except resume.StaleState as exc:
        assert saved is not None
        # The stick may be mounted a second after boot, or was pulled just before the
        # power went: a re-plug resumes its track there, and the driver's volume, loop
        # mode and pause stay.
        if scanned:
            log.info("resume state's track is away, playing what is there: %s", exc)
        else:
            log.info("resume state waits for its media: %s", exc)
            held = saved
        plan = resume.elsewhere(saved, scanned, config.player.resume)
    _log_plan(plan, config.player)
    titles = await asyncio.to_thread(media.playlist_titles, config.media.paths)
    player = Player(config.player, plan, config.state.dir / "art", held=held, titles=titles)
    await player.start()
    return player


def _log_plan(plan: resume.Plan, config: PlayerConfig) -> None:
    current = plan.queue.current
    if current is None:
        log.info("queue is empty: nothing found in media.paths")
        return
    log.info(
        "queue: %d entries; %s %s at %.1f s (resume=%s)",
        len(plan.queue),
        "restoring paused" if plan.paused else "playing",
        current.uri,
        plan.position,
        config.resume,
    )


class Rescan:
    """One rescan of `media.paths` at a time, whether a hot-plug or SIGHUP asked."""

    def __init__(self, player: Player) -> None:
        self._player = player
        self._lock = asyncio.Lock()

    async def __call__(self, paths: tuple[str, ...]) -> None:
        async with self._lock:
            scanned = await asyncio.to_thread(media.scan, paths)
            titles = await asyncio.to_thread(media.playlist_titles, paths)
            await self._player.media_changed(scanned, titles)


class Components:
    """The running components, by name; a reload swaps the ones whose config changed."""

    def __init__(self, context: Context, parts: tuple[Part, ...]) -> None:
        self.context = context
        self._parts = parts
        self._running: dict[str, Component] = {}

    @property
    def names(self) -> list[str]:
        return list(self._running)

    async def start(self, parts: tuple[Part, ...] | None = None) -> None:
        for part in self._parts if parts is None else parts:
            component = part.create(self.context.following() if part.follows else self.context)
            if component is None:
                continue
            try:
                await component.start()
            except Exception as exc:
                # The music matters more than any one way of controlling it.
                log.error("%s unavailable, playing on without it: %s", part.name, exc)
                continue
            self._running[part.name] = component

    async def stop(self, names: list[str] | None = None) -> None:
        names = names if names is not None else [p.name for p in self._parts]
        stopping = [self._running.pop(n) for n in reversed(names) if n in self._running]
        results = await asyncio.gather(
            *(asyncio.wait_for(c.stop(), STOP_BUDGET_SECONDS) for c in stopping),
            return_exceptions=True,
        )
        for component, result in zip(stopping, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("%s did not stop cleanly: %r", type(component).__name__, result)

    async def reload(self, config: Config) -> None:
        old, self.context = self.context.config, replace(self.context, config=config)
        changed = tuple(
            p for p in self._parts if any(getattr(old, s) != getattr(config, s) for s in p.sections)
        )
        if changed:
            log.info("reload restarts: %s", ", ".join(p.name for p in changed))
            await self.stop([p.name for p in changed])
            await self.start(changed)


def remote_target(config: Config) -> RemoteMirror | None:
    """The phone's mirror in the remote role, else None (the car plays). Asked of the
    link only when there is a backend, for the same 25 MiB as `create_link`."""
    if not config.backend.url:
        return None
    from headunit import link

    return link.remote_target(config)


async def run(config: Config, parts: tuple[Part, ...] = PARTS) -> int:
    """Run until SIGTERM/SIGINT or a shutdown request; `parts` lets the demo add its own."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    store = Store(config.state.dir)
    player: Player | None = None
    target: Target | None = remote_target(config)
    if target is None:
        target = player = await build_player(config, store)
    controller = Controller(target)
    store_sink: StoreSink | None = None
    sources: Sources | None = None
    active: Controller | None = None
    if player is not None:  # the remote role plays nothing, so it has nothing to resume
        sources = Sources(controller, config.sources)
        active = Controller(sources)
        store_sink = StoreSink(store, _marked(player, sources), config.state.save_seconds)
        controller.subscribe(store_sink)
        store_sink.start(playing=controller.state.status is Status.PLAYING)

    def recoveries() -> int:
        return 0 if player is None else player.watchdog_recoveries

    components = Components(
        Context(
            controller, config, stop.set, recoveries=recoveries, sources=sources, active=active
        ),
        parts,
    )
    reloads = Background()
    rescan = Rescan(player) if player is not None else None
    watch = MediaWatch(config.media.paths, rescan) if rescan is not None else None

    def on_hup() -> None:
        reloads.spawn(_reload(components, player, rescan, watch), "reload")

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, on_hup)
    try:
        if watch is not None:
            await watch.start()
        await components.start()
        log.info("ready: %s", ", ".join(components.names) or "player only")
        await stop.wait()
        log.info("stopping")
    finally:
        await reloads.stop()
        await components.stop()
        if sources is not None:
            await sources.close()
        if watch is not None:
            await watch.stop()
        if store_sink is not None:
            await store_sink.close()
        if player is not None:
            await player.close()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
    log.info("stopped")
    return 0


def _marked(player: Player, sources: Sources) -> Callable[[], resume.ResumeState]:
    """The player's resume snapshot with the sources' interrupted mark."""
    return lambda: sources.mark(player.resume_snapshot())


async def _reload(
    components: Components,
    player: Player | None,
    rescan: Rescan | None,
    watch: MediaWatch | None,
) -> None:
    """SIGHUP: read the config again (on error keep the running one, and say why), and
    scan `media.paths` again."""
    source = components.context.config.source
    try:
        config = resolve(str(source) if source else None)
    except ConfigError as exc:
        log.error("reload refused, keeping the running configuration: %s", exc)
        return
    logs.setup(config.log.level)
    if player is not None:
        player.reconfigure(config.player)
    if components.context.sources is not None:
        components.context.sources.reconfigure(config.sources)
    await components.reload(config)
    log.info("configuration reloaded from %s", config.source or "defaults")
    if watch is not None and rescan is not None:
        await watch.follow(config.media.paths)
        await rescan(config.media.paths)
