"""The local player as one ordered actor: libmpv, driven by our own queue.

Everything that can change the player is a message in one inbox (`inbox.py`): mpv's
events and property changes (handed over from mpv's thread by `mpvbridge.py`), commands,
timer ticks, the results of tag reads and file checks, rescans. One task takes them out
in order and hands each to its transition: a command to its handler (`commands.py`),
mpv's word and tag reads to `transitions.py`, a tick to `timer.py`, a rescan to
`rescan.py`. Every transition reads the state and commands mpv with no `await` in
between (the moves they share are `core.py`'s), so no two of them interleave. The
blocking work (creating mpv, reading tags, expanding an opened URI, terminating mpv)
runs in worker threads; what it finds comes back as a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from headunit.config import PlayerConfig
from headunit.model import Command, CommandError, CommandName
from headunit.player import commands, rescan, snapshot, timer, transitions
from headunit.player.core import PlayerCore
from headunit.player.inbox import (
    Call,
    Checked,
    Go,
    Heard,
    Message,
    MpvEvent,
    MpvProperty,
    Rescanned,
    TagsRead,
    Tick,
)
from headunit.player.loading import Effect
from headunit.player.mpvbridge import Bridge, mpv_options, replaygain
from headunit.player.snapshot import describe_entry

log = logging.getLogger(__name__)

TICK = 0.5  # seconds between the timer's messages


class Player(PlayerCore):
    """The player the controller drives: `PlayerCore`'s state and moves, run by one
    task that consumes the inbox."""

    # -- Target protocol (the rest is PlayerCore's and SnapshotTarget's) -----------

    async def execute(self, command: Command) -> None:
        """Queue `command` behind what came before it, and wait for its outcome. An
        `open` is queued once its URI is expanded (a folder walk, off the loop): a
        command of another kind sent while it walks can run first."""
        if command.name not in commands.HANDLERS:
            raise CommandError(f"{command.name} is not supported by the player")
        done = asyncio.get_running_loop().create_future()
        if command.name is CommandName.OPEN:
            await self._open_in_turn(command, done)
        else:
            self._inbox.put_nowait(Call(command, done))
        await done

    async def _open_in_turn(self, command: Command, done: asyncio.Future[None]) -> None:
        """Expand an open's URI, and queue it after the opens sent before it, whichever
        walk ends first: the driver's last choice is what plays."""
        turn = asyncio.get_running_loop().create_future()
        before, self._open_turn = self._open_turn, turn
        try:
            expanded = await commands.expand_open(command)
            if before is not None:
                await before
            self._inbox.put_nowait(Call(command, done, expanded))
        finally:
            turn.set_result(None)

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start mpv and apply the resume plan: volume cap, shuffle, loop, track, position."""
        self._loop = asyncio.get_running_loop()
        bridge = await asyncio.to_thread(Bridge, self._config, self._post)
        self._mpv, self._loadfile = bridge.mpv, bridge.loadfile
        plan = self._plan
        wanted = plan.volume if plan.volume is not None else 100.0
        self._volume = min(wanted, float(self._config.startup_volume_max))
        bridge.mpv["volume"] = self._volume
        self._set_loop(plan.loop)
        bridge.mpv["pause"] = plan.paused
        current = self._queue.current
        if current is None:
            self._publish()
        else:
            # Read before anything runs (no race): the queue is at this entry already,
            # so it is announced with its load, as the start-up status shows it.
            title = self._titles.get(current.uri)
            info, final = await asyncio.to_thread(describe_entry, current.uri, title, self._art_dir)
            if final:
                self._infos[current.uri] = info
                self._read_once.add(current.uri)
            self._load(self._queue.position or 0, start=plan.position)
            self._publish(track=snapshot.track_for(current, info, self._refs.get(current.uri)))
        self._tasks.spawn(self._consume(), "player")
        self._tasks.spawn(self._tick(), "player-tick")

    async def close(self) -> None:
        await self._tasks.stop()
        # Whoever still waits for a command or a rescan is not left waiting forever.
        while not self._inbox.empty():
            message = self._inbox.get_nowait()
            if isinstance(message, Call | Rescanned):
                message.done.cancel()
        if self._mpv is not None:
            player, self._mpv = self._mpv, None
            await asyncio.to_thread(player.terminate)

    def reconfigure(self, config: PlayerConfig) -> None:
        """A new [player] section on reload: the volume cap, ReplayGain and the output
        apply at once (mpv_options at the next start). On the loop, with no await: no
        message of the inbox runs meanwhile."""
        old, self._config = self._config, config
        if self._mpv is None:
            return
        for name, value in replaygain(config).items():
            self._mpv[name] = value
        if self._volume > config.volume_max:
            self._set_volume(float(config.volume_max))
        if config.audio_output != old.audio_output:
            try:
                self._mpv["ao"] = mpv_options(config)["ao"]
                self._mpv.command("ao-reload")
            except (SystemError, RuntimeError) as exc:
                log.warning("audio output %s refused by mpv: %s", config.audio_output, exc)
            else:
                log.info("audio output: %s", config.audio_output)

    async def media_changed(self, scanned: list[str], titles: Mapping[str, str]) -> None:
        done = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(Rescanned(scanned, titles, done))
        await done

    # -- the inbox -------------------------------------------------------------------

    def _post(self, message: Message) -> None:
        """From any thread: into the inbox, in order."""
        loop = self._loop
        if loop is None:
            return
        # RuntimeError: the loop is closed, the daemon is shutting down.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._inbox.put_nowait, message)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            self._inbox.put_nowait(Tick())

    async def _consume(self) -> None:
        while True:
            message = await self._inbox.get()
            try:
                self._handle(message)
            except Exception:
                # One bad transition must not end the player: log it and go on.
                log.exception("player: %s failed", type(message).__name__)

    def _handle(self, message: Message) -> None:
        match message:
            case MpvEvent(values):
                transitions.on_event(self, values)
            case Heard(position):
                transitions.on_heard(self, position)
            case MpvProperty(name, value):
                transitions.on_property(self, name, value)
            case Call():
                self._on_call(message)
            case Rescanned(scanned, titles, done):
                try:
                    rescan.rescanned(self, scanned, titles)
                finally:
                    # Even when it failed (logged by _consume): the rescans that
                    # follow wait for this one.
                    _settle(done, None)
            case TagsRead(uri, info, final):
                transitions.on_tags(self, uri, info, final)
            case Checked(entry, vanished):
                transitions.carry_out(self, self._loader.checked(entry, vanished, len(self._queue)))
            case Go(direction, slot):
                if slot is not None and slot is self._loader.current:
                    self._advance(direction, user=False)
            case Tick():
                timer.on_tick(self)

    def _on_call(self, call: Call) -> None:
        try:
            commands.HANDLERS[call.command.name](self, call.command, call.expanded)
        except CommandError as exc:
            _settle(call.done, exc)
        except Exception as exc:
            # A bug, logged by _consume: its caller is answered, not left waiting.
            _settle(call.done, CommandError(f"the player failed: {exc!r}"))
            raise
        else:
            _settle(call.done, None)

    def _carry_out(self, effects: list[Effect]) -> None:
        transitions.carry_out(self, effects)


def _settle(done: asyncio.Future[None], error: CommandError | None) -> None:
    """Answer whoever waits on `done`, unless it no longer waits (cancelled)."""
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
