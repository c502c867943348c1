"""One source at a time: the real player, the watcher on the private bus, and fake
other players (tests/fake_players.py: there is no Bluetooth radio here, so the phone's
mpris-proxy player is a fake with its shape)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from fake_players import FakePlayer, HostilePlayer
from key_pipes import CODES, NEXTSONG, Plugs
from support import async_wait_for

from headunit import keys
from headunit.component import Context
from headunit.config import parse
from headunit.model import Command, CommandName
from headunit.state import Status

C = CommandName


def status_of(car: Any) -> Status:
    return car.rig.controller.state.status


async def yielded(car: Any, phone: FakePlayer) -> None:
    """The phone starts playing; headunit pauses and the active source is the phone."""
    phone.player.play()
    await async_wait_for(lambda: status_of(car) is Status.PAUSED, what="headunit paused")
    await async_wait_for(lambda: car.active.state.source == phone.identity, what="phone active")


async def test_a_phone_that_starts_playing_pauses_headunit_marked_interrupted(make_sourced):
    car = await make_sourced()
    phone = await car.join(FakePlayer.phone())
    assert status_of(car) is Status.PLAYING  # a phone that is there but silent changes nothing
    await yielded(car, phone)
    assert car.sources.active == "Pixel 7"
    assert car.sources.mark(car.rig.player.resume_snapshot()).interrupted
    # headunit's own controller (its MPRIS) still shows headunit, paused
    assert car.rig.controller.state.track.title == "Car Song"
    assert car.rig.controller.state.source is None


async def test_the_published_state_is_the_phones(make_sourced):
    car = await make_sourced()
    phone = await car.join(FakePlayer.phone())
    phone.player.jump_to(42.0)
    await yielded(car, phone)
    state = car.active.state
    assert state.status is Status.PLAYING
    assert state.track.title == "Phone Song"
    assert state.track.artist == ("Phone Band",)
    assert state.track.album == "Phone Album"
    assert state.track.duration == 200.0
    # Position is never signalled by this player: read on request, after the change.
    await async_wait_for(lambda: car.active.position() >= 42.0, what="the phone's position")


async def test_keys_and_backend_commands_reach_the_phone(make_sourced):
    car = await make_sourced()
    phone = await car.join(FakePlayer.phone())
    await yielded(car, phone)
    await car.active.execute(Command(C.NEXT), "keys")
    await async_wait_for(lambda: car.active.state.track.title == "Second Phone Song")
    await car.active.execute(Command(C.SEEK, 30.0), "backend")
    await car.active.execute(Command(C.SEEK_BY, 5.0), "keys")
    await car.active.execute(Command(C.TOGGLE), "keys")
    assert phone.player.calls == ["Next", "SetPosition 30000000", "Seek 5000000", "PlayPause"]
    assert status_of(car) is Status.PAUSED  # none of it reached headunit's own player
    await async_wait_for(lambda: car.active.state.status is Status.PAUSED)


async def test_headunit_takes_back_at_the_same_position_when_the_phone_leaves(make_sourced):
    car = await make_sourced()
    phone = await car.join(FakePlayer.phone())
    await yielded(car, phone)
    paused_at = car.rig.controller.position()
    left = time.monotonic()
    await phone.leave()
    await async_wait_for(lambda: status_of(car) is Status.PLAYING, what="headunit playing")
    # On from where it paused: not before it, and no further than the time since.
    position = car.rig.controller.position()
    assert paused_at - 0.5 <= position <= paused_at + (time.monotonic() - left) + 0.5
    assert car.active.state.source is None
    assert not car.sources.interrupted


async def test_a_phone_paused_for_settle_seconds_hands_back(make_sourced):
    car = await make_sourced(settle=0.2)
    phone = await car.join(FakePlayer.phone())
    await yielded(car, phone)
    phone.player.pause()
    await async_wait_for(lambda: status_of(car) is Status.PLAYING, what="headunit playing")
    assert car.sources.active == "headunit"


async def test_a_stopped_phone_hands_back_at_once_unless_resume_after_is_off(make_sourced):
    car = await make_sourced(resume_after=False)
    phone = await car.join(FakePlayer.phone())
    await yielded(car, phone)
    phone.player.stop()
    await async_wait_for(lambda: car.sources.active == "headunit")
    assert status_of(car) is Status.PAUSED


async def test_a_user_pause_is_not_undone_when_the_phone_leaves(make_sourced):
    car = await make_sourced()
    await car.rig.controller.execute(Command(C.PAUSE), "mpris")
    await async_wait_for(lambda: status_of(car) is Status.PAUSED)
    phone = await car.join(FakePlayer.phone())
    phone.player.play()
    await async_wait_for(lambda: car.sources.active == "Pixel 7")
    assert not car.sources.interrupted
    await phone.leave()
    await async_wait_for(lambda: car.sources.active == "headunit")
    assert status_of(car) is Status.PAUSED


async def test_playing_headunit_pauses_the_phone(make_sourced):
    car = await make_sourced()
    phone = await car.join(FakePlayer.phone())
    await yielded(car, phone)
    await car.rig.controller.execute(Command(C.PLAY), "mpris")  # its MPRIS, the CLI
    await async_wait_for(lambda: phone.player.status == "Paused", what="the phone paused")
    assert phone.player.calls == ["Pause"]
    assert car.sources.active == "headunit"
    assert status_of(car) is Status.PLAYING


async def test_of_two_other_players_the_one_that_started_last_wins(make_sourced):
    car = await make_sourced()
    phone = await car.join(FakePlayer.phone())
    desktop = await car.join(FakePlayer.desktop())
    await yielded(car, phone)
    desktop.player.play()
    await async_wait_for(lambda: car.sources.active == "Desktop Player")
    await async_wait_for(lambda: phone.player.status == "Paused", what="the phone paused")
    await car.active.execute(Command(C.NEXT), "keys")
    assert desktop.player.calls == ["Next"]
    assert phone.player.calls == ["Pause"]
    await desktop.leave()
    await async_wait_for(lambda: status_of(car) is Status.PLAYING, what="headunit playing")


async def test_a_player_already_playing_when_it_appears_is_yielded_to(make_sourced):
    car = await make_sourced()
    desktop = FakePlayer.desktop()
    desktop.player.play()
    await car.join(desktop)
    await async_wait_for(lambda: status_of(car) is Status.PAUSED, what="headunit paused")
    assert car.active.state.source == "Desktop Player"


async def test_players_outside_the_configured_patterns_are_not_yielded_to(make_sourced, caplog):
    car = await make_sourced(players=["Pixel*"])
    desktop = await car.join(FakePlayer.desktop())
    desktop.player.play()
    phone = await car.join(FakePlayer.phone())
    await yielded(car, phone)  # the phone, after the desktop: the desktop was never watched
    assert desktop.player.calls == []


async def test_playerctld_mirroring_headunit_is_not_another_source(make_sourced):
    car = await make_sourced()
    mirror = await car.join(FakePlayer.desktop("playerctld", "playerctld"))
    mirror.player.play()  # as it shows whatever plays, headunit included
    phone = await car.join(FakePlayer.phone())
    await yielded(car, phone)  # the phone, after the mirror: the mirror was never watched
    assert mirror.player.calls == []


@pytest.mark.parametrize("mode", ["types", "slow", "vanish"])
async def test_a_hostile_player_changes_nothing(make_sourced, caplog, mode):
    caplog.set_level(logging.INFO, "headunit")
    car = await make_sourced()
    hostile = await car.join(HostilePlayer(mode))
    await async_wait_for(
        lambda: any(
            "ignoring org.mpris.MediaPlayer2.hostile" in r.getMessage() for r in caplog.records
        ),
        what="the hostile player ignored",
    )
    hostile.playing()  # now a correct signal: still ignored
    phone = await car.join(FakePlayer.phone())  # and the watcher still works
    assert status_of(car) is Status.PLAYING
    assert car.sources.active == "headunit"
    await yielded(car, phone)
    warnings = [r for r in caplog.records if "hostile" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]


async def test_a_player_that_turns_hostile_while_active_is_dropped(make_sourced, caplog):
    car = await make_sourced()
    phone = await car.join(FakePlayer.phone())
    await yielded(car, phone)
    phone.player.emit_properties_changed({"PlaybackStatus": "Blasting"})
    await async_wait_for(lambda: status_of(car) is Status.PLAYING, what="headunit playing")
    assert any("ignoring org.mpris.MediaPlayer2.Pixel_7" in r.getMessage() for r in caplog.records)


async def test_a_steering_wheel_key_reaches_the_phone(make_sourced, tmp_path):
    car = await make_sourced()
    phone = await car.join(FakePlayer.phone())
    await yielded(car, phone)
    path = tmp_path / "usb-Steering_Wheel-event-kbd"
    path.touch()
    plugs = Plugs()
    config = parse({"keys": {"devices": [str(path)]}})
    # The context as the daemon hands it to the parts that follow the active source.
    context = Context(
        car.rig.controller, config, lambda: None, sources=car.sources, active=car.active
    )
    component = keys.Keys(context.following().controller, config.keys, plugs, CODES)
    await component.start()
    try:
        pipe = await plugs.wait_open(1)
        pipe.send(NEXTSONG, 1)
        pipe.send(NEXTSONG, 0)
        await async_wait_for(lambda: phone.player.calls == ["Next"], what="Next on the phone")
        assert status_of(car) is Status.PAUSED
        assert car.rig.controller.state.track.title == "Car Song"
    finally:
        await component.stop()
