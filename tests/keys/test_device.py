"""KeyDevice and the keys component, with pipes standing in for /dev/input devices.

What these cannot show without hardware: that a real adapter's events arrive through
python-evdev as (EV_KEY, code, value), which EvdevSource reads; see docs/car.md.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from key_pipes import CODES, NEXTSONG, PLAYPAUSE, PipeSource, Plugs
from support import FakeTarget, async_wait_for

from headunit import keys
from headunit.component import Context
from headunit.config import Config, KeysConfig
from headunit.controller import Controller
from headunit.model import Command, CommandName


async def wait_commands(received: list[Command], count: int) -> list[Command]:
    await async_wait_for(lambda: len(received) >= count, what=f"{count} commands")
    return received


def plug(path: Path, present: bool) -> None:
    """The udev symlink appears or disappears."""
    if present:
        path.touch()
    else:
        path.unlink()


@pytest.fixture
def device_path(tmp_path: Path) -> Path:
    path = tmp_path / "usb-Steering_Wheel-event-kbd"
    path.touch()
    return path


async def run_device(
    path: Path, plugs: Plugs, received: list[Command], long_press: float = 5.0
) -> AsyncIterator[asyncio.Task[None]]:
    keymap = {NEXTSONG: keys.Action.NEXT, PLAYPAUSE: keys.Action.TOGGLE}
    decoder = keys.KeyDecoder(keymap, long_press, 10.0, volume=lambda: 50.0, repeat=long_press)
    device = keys.KeyDevice(str(path), decoder, received.append, plugs, poll=0.02)
    task = asyncio.create_task(device.run())
    yield task
    task.cancel()


@pytest.fixture
async def started(device_path: Path) -> AsyncIterator[tuple[Plugs, list[Command]]]:
    plugs, received = Plugs(), []
    async for _ in run_device(device_path, plugs, received):
        yield plugs, received


async def test_presses_become_commands(started: tuple[Plugs, list[Command]]) -> None:
    plugs, received = started
    pipe = await plugs.wait_open(1)
    pipe.send(PLAYPAUSE, 1)
    pipe.send(PLAYPAUSE, 0)
    pipe.send(NEXTSONG, 1)
    pipe.send(NEXTSONG, 0)
    assert await wait_commands(received, 2) == [
        Command(CommandName.TOGGLE),
        Command(CommandName.NEXT),
    ]


async def test_unplugged_device_is_read_again_when_it_returns(
    device_path: Path, started: tuple[Plugs, list[Command]]
) -> None:
    plugs, received = started
    first = await plugs.wait_open(1)
    plug(device_path, False)
    first.unplug()
    await plugs.wait_tried()  # it looks for the device while it is away
    plug(device_path, True)
    second = await plugs.wait_open(2)
    second.send(PLAYPAUSE, 1)
    assert await wait_commands(received, 1) == [Command(CommandName.TOGGLE)]


async def test_device_absent_at_start_is_picked_up_later(tmp_path: Path) -> None:
    path, plugs, received = tmp_path / "later", Plugs(), []
    async for _ in run_device(path, plugs, received):
        await plugs.wait_tried()  # it looked, found nothing, and keeps looking
        plug(path, True)
        (await plugs.wait_open(1)).send(PLAYPAUSE, 1)
        assert await wait_commands(received, 1) == [Command(CommandName.TOGGLE)]


async def hold_next(plugs: Plugs, received: list[Command], seeks: int) -> PipeSource:
    """Press next and keep it down until `seeks` commands came from the hold."""
    pipe = await plugs.wait_open(1)
    pipe.send(NEXTSONG, 1)
    await wait_commands(received, seeks)
    return pipe


async def test_held_key_seeks_without_further_events(device_path: Path) -> None:
    """Adapters without autorepeat send one down and one up: the seeks come from a timer."""
    plugs, received = Plugs(), []
    async for _ in run_device(device_path, plugs, received, long_press=0.05):
        pipe = await hold_next(plugs, received, 2)
        pipe.send(NEXTSONG, 0)
        pipe.send(PLAYPAUSE, 1)  # the marker: a skip on release would come before it
        await async_wait_for(lambda: Command(CommandName.TOGGLE) in received)
        *held, marker = received
        assert set(held) == {Command(CommandName.SEEK_BY, 10.0)}  # no skip after a seek
        assert marker == Command(CommandName.TOGGLE)


async def test_unplugged_mid_hold_stops_seeking(device_path: Path) -> None:
    plugs, received = Plugs(), []
    async for _ in run_device(device_path, plugs, received, long_press=0.05):
        pipe = await hold_next(plugs, received, 1)
        plug(device_path, False)
        pipe.unplug()
        await plugs.wait_tried()  # the unplug is noticed
        count = len(received)
        await asyncio.sleep(0.2)  # four seek periods pass
        plug(device_path, True)
        (await plugs.wait_open(2)).send(PLAYPAUSE, 1)  # the marker
        await wait_commands(received, count + 1)
        assert received[count:] == [Command(CommandName.TOGGLE)]


def context(devices: list[str]) -> tuple[Context, FakeTarget]:
    recorder = FakeTarget()
    config = Config(keys=KeysConfig(devices=tuple(devices)))
    return Context(Controller(recorder), config, request_shutdown=lambda: None), recorder


async def test_component_sends_commands_to_the_controller(device_path: Path) -> None:
    ctx, recorder = context([str(device_path)])
    plugs = Plugs()
    component = keys.Keys(ctx.controller, ctx.config.keys, plugs, CODES)
    await component.start()
    (await plugs.wait_open(1)).send(PLAYPAUSE, 1)
    assert await wait_commands(recorder.commands, 1) == [Command(CommandName.TOGGLE)]
    await component.stop()


def test_bad_key_name_turns_keys_off_not_the_daemon(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("evdev")
    ctx, _ = context(["/dev/input/event0"])
    bad = KeysConfig(devices=("/dev/input/event0",), map={"KEY_NEXTSONGG": "next"})
    with caplog.at_level(logging.ERROR):
        assert keys.create(Context(ctx.controller, Config(keys=bad), lambda: None)) is None
    assert "keys.map.KEY_NEXTSONGG: unknown key name" in caplog.text


def test_no_devices_no_component() -> None:
    assert keys.create(context([])[0]) is None


def test_without_evdev_one_line_and_no_component(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "evdev", None)  # import evdev raises ImportError
    with caplog.at_level(logging.INFO):
        assert keys.create(context(["/dev/input/event0"])[0]) is None
    assert len(caplog.records) == 1
    assert "python-evdev is not installed" in caplog.text


def test_with_evdev_a_component() -> None:
    pytest.importorskip("evdev")
    assert isinstance(keys.create(context(["/dev/input/event0"])[0]), keys.Keys)
