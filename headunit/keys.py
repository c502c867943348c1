"""Steering-wheel keys: evdev input devices -> Commands (optional extra `keys`).

Many steering-wheel adapters appear as a USB keyboard that sends media keys. The
decoding is a pure class, `KeyDecoder`, fed with (code, value, timestamp) tuples, so
the mapping and the long-press logic are tested on synthetic streams. `KeyDevice`
does the hardware side: it opens a configured device when it exists, reads it from
the event loop, and opens it again when it comes back after vanishing (USB).

Press semantics: play/pause/toggle/stop act on key down (no delay). next/previous act
on release when short; held past `long_press_seconds` they seek by
`seek_step_seconds` instead, repeatedly while held. Volume keys step at once and
repeat while held. The kernel's own autorepeat events are ignored: adapters differ in
whether they send them, so the repeats come from our own clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from headunit.component import Context
from headunit.config import ConfigError, KeysConfig
from headunit.controller import Controller
from headunit.model import Command, CommandError, CommandName
from headunit.tasks import Background

log = logging.getLogger(__name__)

REPEAT_SECONDS = 0.4  # between repeats (seek or volume) once a key counts as held
VOLUME_STEP = 5.0  # percent per press or repeat
VOLUME_FRESH_SECONDS = 1.5  # steps this close together build on our own last target
REOPEN_POLL_SECONDS = 1.0  # how often a missing device is looked for

KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2  # evdev EV_KEY values


class Action(StrEnum):
    TOGGLE = "toggle"
    PLAY = "play"
    PAUSE = "pause"
    STOP = "stop"
    NEXT = "next"
    PREVIOUS = "previous"
    VOLUME_UP = "volume_up"
    VOLUME_DOWN = "volume_down"


INSTANT = {
    Action.TOGGLE: CommandName.TOGGLE,
    Action.PLAY: CommandName.PLAY,
    Action.PAUSE: CommandName.PAUSE,
    Action.STOP: CommandName.STOP,
}
SKIPS = {Action.NEXT: (CommandName.NEXT, 1.0), Action.PREVIOUS: (CommandName.PREVIOUS, -1.0)}
VOLUMES = {Action.VOLUME_UP: 1.0, Action.VOLUME_DOWN: -1.0}


def parse_keymap(mapping: Mapping[str, str], codes: Mapping[str, int]) -> dict[int, Action]:
    """`[keys] map` -> {key code: action}; `codes` is evdev's name -> code table.

    A key is named as evdev names it (KEY_NEXTSONG) or by its decimal code, for
    adapters that send codes without a name.
    """
    keymap: dict[int, Action] = {}
    for name, word in mapping.items():
        if name.isdigit():
            code = int(name)
        elif name in codes:
            code = codes[name]
        else:
            raise ConfigError(f"keys.map.{name}: unknown key name (see `evtest` for names)")
        try:
            keymap[code] = Action(word)
        except ValueError:
            words = ", ".join(Action)
            raise ConfigError(f'keys.map.{name}: expected one of {words}, got "{word}"') from None
    return keymap


@dataclass
class _Held:
    action: Action
    next_at: float  # when the held key next acts (first: the long-press threshold)
    long: bool = False  # it has acted as held; its release does nothing


class KeyDecoder:
    """Key events in, Commands out; holds no I/O and reads no clock of its own.

    `volume` returns the player's current volume (percent), read when a volume key
    starts a new run of steps.
    """

    def __init__(
        self,
        keymap: Mapping[int, Action],
        long_press: float,
        seek_step: float,
        volume: Callable[[], float],
        repeat: float = REPEAT_SECONDS,
        volume_step: float = VOLUME_STEP,
    ) -> None:
        self._keymap = dict(keymap)
        self._long_press = long_press
        self._seek_step = seek_step
        self._volume = volume
        self._repeat = repeat
        self._volume_step = volume_step
        self._held: dict[int, _Held] = {}
        self._volume_target: float | None = None
        self._volume_at = -float("inf")

    @property
    def deadline(self) -> float | None:
        """When `due` next has something to do (a held key), or None."""
        return min((held.next_at for held in self._held.values()), default=None)

    def feed(self, code: int, value: int, timestamp: float) -> list[Command]:
        commands = self.due(timestamp)  # a hold that ran out before this event counts
        action = self._keymap.get(code)
        if action is None or value == KEY_REPEAT:
            return commands
        if value == KEY_DOWN:
            commands += self._press(code, action, timestamp)
        elif value == KEY_UP:
            commands += self._release(code)
        return commands

    def due(self, now: float) -> list[Command]:
        """The repeats of held keys up to `now`."""
        commands = []
        for held in self._held.values():
            while held.next_at <= now:
                commands.append(self._hold_command(held.action, held.next_at))
                held.long = True
                held.next_at += self._repeat
        return commands

    def release_all(self) -> None:
        """The device went away mid-press: forget held keys without acting on them."""
        self._held.clear()

    def _press(self, code: int, action: Action, now: float) -> list[Command]:
        if action in INSTANT:
            return [Command(INSTANT[action])]
        if action in SKIPS:
            self._held[code] = _Held(action, now + self._long_press)
            return []
        self._held[code] = _Held(action, now + self._long_press)
        return [self._volume_command(action, now)]

    def _release(self, code: int) -> list[Command]:
        held = self._held.pop(code, None)
        if held is None or held.long or held.action not in SKIPS:
            return []
        return [Command(SKIPS[held.action][0])]

    def _hold_command(self, action: Action, at: float) -> Command:
        if action in SKIPS:
            return Command(CommandName.SEEK_BY, SKIPS[action][1] * self._seek_step)
        return self._volume_command(action, at)

    def _volume_command(self, action: Action, now: float) -> Command:
        # The player reports its volume a moment after a change: quick steps build on
        # the last target, or two presses would both send "current + 5".
        fresh = self._volume_target is not None and now - self._volume_at < VOLUME_FRESH_SECONDS
        base = self._volume_target if fresh and self._volume_target is not None else self._volume()
        target = min(100.0, max(0.0, base + VOLUMES[action] * self._volume_step))
        self._volume_target, self._volume_at = target, now
        return Command(CommandName.VOLUME, target)


class EventSource(Protocol):
    """An open input device: readable on `fileno()`, key events by `read_keys()`."""

    name: str

    def fileno(self) -> int: ...

    def read_keys(self) -> list[tuple[int, int]]:
        """(code, value) of the pending EV_KEY events; BlockingIOError when none,
        another OSError when the device is gone."""
        ...

    def close(self) -> None: ...


class EvdevSource:
    """An evdev InputDevice, filtered to key events."""

    def __init__(self, path: str) -> None:
        import evdev  # the optional extra; create() checked it is there

        self._ev_key = evdev.ecodes.EV_KEY
        self._device = evdev.InputDevice(path)
        self.name = self._device.name

    def fileno(self) -> int:
        return self._device.fileno()

    def read_keys(self) -> list[tuple[int, int]]:
        return [(e.code, e.value) for e in self._device.read() if e.type == self._ev_key]

    def close(self) -> None:
        self._device.close()


Opener = Callable[[str], EventSource]


class KeyDevice:
    """One configured device path, served while it exists and reopened when it returns."""

    def __init__(
        self,
        path: str,
        decoder: KeyDecoder,
        emit: Callable[[Command], None],
        opener: Opener,
        poll: float = REOPEN_POLL_SECONDS,
    ) -> None:
        self.path = path
        self._decoder = decoder
        self._emit = emit
        self._opener = opener
        self._poll = poll
        self._timer: asyncio.TimerHandle | None = None

    async def run(self) -> None:
        while True:
            source = await self._open()
            try:
                await self._serve(source)
            finally:
                self._decoder.release_all()
                if self._timer is not None:
                    self._timer.cancel()
                source.close()
            log.warning("keys: %s is gone; waiting for it to come back", self.path)

    async def _open(self) -> EventSource:
        reported: int | None = None
        while True:
            try:
                source = self._opener(self.path)
            except OSError as exc:
                if exc.errno != reported:  # one line per kind of failure, not per poll
                    reported = exc.errno
                    log.warning("keys: cannot open %s (%s); retrying", self.path, exc.strerror)
            else:
                log.info("keys: reading %s (%s)", self.path, source.name)
                return source
            await asyncio.sleep(self._poll)

    async def _serve(self, source: EventSource) -> None:
        loop = asyncio.get_running_loop()
        gone: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            try:
                events = source.read_keys()
            except BlockingIOError:
                return
            except OSError:
                if not gone.done():
                    gone.set_result(None)
                return
            for code, value in events:
                self._send(self._decoder.feed(code, value, loop.time()))
            self._arm(loop)

        loop.add_reader(source.fileno(), readable)
        try:
            await gone
        finally:
            loop.remove_reader(source.fileno())

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake up when a held key is next due (nothing runs while no key is held)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self._decoder.deadline
        if deadline is not None:
            self._timer = loop.call_at(deadline, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        self._send(self._decoder.due(loop.time()))
        self._arm(loop)

    def _send(self, commands: Iterable[Command]) -> None:
        for command in commands:
            self._emit(command)


class Keys:
    """The daemon component: one KeyDevice per configured path, commands run in order."""

    def __init__(
        self, controller: Controller, config: KeysConfig, opener: Opener, codes: Mapping[str, int]
    ) -> None:
        self._controller = controller
        self._opener = opener
        self._config = config
        self._keymap = parse_keymap(config.map, codes)
        self._queue: asyncio.Queue[Command] = asyncio.Queue()
        self._tasks = Background()

    async def start(self) -> None:
        for path in self._config.devices:
            decoder = KeyDecoder(
                self._keymap,
                self._config.long_press_seconds,
                self._config.seek_step_seconds,
                volume=lambda: self._controller.state.volume,
            )
            device = KeyDevice(path, decoder, self._queue.put_nowait, self._opener)
            self._tasks.spawn(device.run(), f"keys {path}")
        self._tasks.spawn(self._execute(), "keys commands")

    async def stop(self) -> None:
        await self._tasks.stop()

    async def _execute(self) -> None:
        while True:
            command = await self._queue.get()
            try:
                await self._controller.execute(command, "keys")
            except CommandError:
                pass  # the controller logged it; a key has nobody to answer
            except Exception:
                log.exception("keys: %s failed", command.name)


def create(context: Context) -> Keys | None:
    """The keys component, or None when no device is configured or evdev is missing."""
    config = context.config.keys
    if not config.devices:
        return None
    try:
        import evdev
    except ImportError:
        log.warning(
            "keys: [keys] devices are set but python-evdev is not installed "
            "(pip install 'headunit[keys]'); steering-wheel keys are off"
        )
        return None
    codes = {name: code for name, code in evdev.ecodes.ecodes.items() if isinstance(code, int)}
    try:
        return Keys(context.controller, config, EvdevSource, codes)
    except ConfigError as exc:
        # The music matters more than the keys: a typo in the key map (found only here,
        # where evdev's names are known) must not stop the daemon, at start or reload.
        log.error("keys: %s; steering-wheel keys are off", exc)
        return None
