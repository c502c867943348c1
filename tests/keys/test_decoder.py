"""Key events -> Commands, on synthetic event streams (no hardware)."""

from __future__ import annotations

import pytest

from headunit.config import ConfigError, KeysConfig
from headunit.keys import KEY_DOWN, KEY_REPEAT, KEY_UP, Action, KeyDecoder, parse_keymap
from headunit.model import Command, CommandName

PLAYPAUSE, NEXTSONG, PREVIOUSSONG, VOLUMEUP, VOLUMEDOWN, KEY_A = 164, 163, 165, 115, 114, 30
KEYMAP = {
    PLAYPAUSE: Action.TOGGLE,
    NEXTSONG: Action.NEXT,
    PREVIOUSSONG: Action.PREVIOUS,
    VOLUMEUP: Action.VOLUME_UP,
    VOLUMEDOWN: Action.VOLUME_DOWN,
}
Event = tuple[int, int, float]  # (code, value, timestamp), as KeyDevice feeds them
NEXT = Command(CommandName.NEXT)
PREVIOUS = Command(CommandName.PREVIOUS)
TOGGLE = Command(CommandName.TOGGLE)


def seek_by(seconds: float) -> Command:
    return Command(CommandName.SEEK_BY, seconds)


def volume(percent: float) -> Command:
    return Command(CommandName.VOLUME, percent)


def decoder(player_volume: float = 60.0) -> KeyDecoder:
    return KeyDecoder(
        KEYMAP, long_press=0.6, seek_step=10.0, volume=lambda: player_volume, repeat=0.4
    )


def press(
    code: int, down: float, up: float, autorepeat: bool = False
) -> list[tuple[int, int, float]]:
    """One press as the kernel reports it; with `autorepeat`, the keyboard's own
    repeats (value 2) from 250 ms on, every 33 ms, as many USB keyboards send them."""
    events = [(code, KEY_DOWN, down)]
    if autorepeat:
        at = down + 0.25
        while at < up:
            events.append((code, KEY_REPEAT, at))
            at += 0.033
    return [*events, (code, KEY_UP, up)]


def decode(events: list[Event], player_volume: float = 60.0) -> list[Command]:
    """Feed the events only (a device that is read, no timer), as `KeyDevice` would."""
    keys = decoder(player_volume)
    return [command for event in events for command in keys.feed(*event)]


def test_short_next_and_previous_skip_on_release() -> None:
    keys = decoder()
    assert keys.feed(NEXTSONG, KEY_DOWN, 10.0) == []  # nothing yet: it may become a seek
    assert keys.feed(NEXTSONG, KEY_UP, 10.2) == [NEXT]
    assert decode(press(PREVIOUSSONG, 0.0, 0.5)) == [PREVIOUS]


def test_held_next_seeks_forward_repeatedly_instead_of_skipping() -> None:
    keys = decoder()
    keys.feed(NEXTSONG, KEY_DOWN, 0.0)
    assert keys.deadline == pytest.approx(0.6)
    assert keys.due(0.5) == []
    assert keys.due(0.6) == [seek_by(10.0)]
    assert keys.due(1.5) == [seek_by(10.0), seek_by(10.0)]  # at 1.0 and 1.4
    assert keys.feed(NEXTSONG, KEY_UP, 1.6) == []  # released after seeking: no skip
    assert keys.deadline is None


def test_held_previous_seeks_backward() -> None:
    assert decode(press(PREVIOUSSONG, 0.0, 1.1)) == [seek_by(-10.0), seek_by(-10.0)]


def test_keyboard_autorepeat_changes_nothing() -> None:
    """Adapters that autorepeat and adapters that do not behave the same."""
    for autorepeat in (False, True):
        assert decode(press(NEXTSONG, 0.0, 0.3, autorepeat)) == [NEXT]
        assert decode(press(NEXTSONG, 0.0, 1.1, autorepeat)) == [seek_by(10.0)] * 2
        assert decode(press(PLAYPAUSE, 0.0, 2.0, autorepeat)) == [TOGGLE]


def test_toggle_acts_on_key_down() -> None:
    keys = decoder()
    assert keys.feed(PLAYPAUSE, KEY_DOWN, 0.0) == [TOGGLE]
    assert keys.feed(PLAYPAUSE, KEY_UP, 0.1) == []
    assert keys.deadline is None  # holding play/pause repeats nothing


def test_unmapped_keys_are_ignored() -> None:
    assert decode(press(KEY_A, 0.0, 0.1) + press(KEY_A, 1.0, 3.0)) == []


def test_volume_steps_from_the_player_volume_and_repeats_while_held() -> None:
    keys = decoder(player_volume=60.0)
    assert keys.feed(VOLUMEUP, KEY_DOWN, 0.0) == [volume(65.0)]
    assert keys.due(1.0) == [volume(70.0), volume(75.0)]  # held: at 0.6 and 1.0
    assert keys.feed(VOLUMEUP, KEY_UP, 1.1) == []


def test_quick_volume_presses_build_on_each_other() -> None:
    """The player reports the new volume later; two quick presses still make two steps."""
    events = press(VOLUMEDOWN, 0.0, 0.1) + press(VOLUMEDOWN, 0.3, 0.4)
    assert decode(events, player_volume=60.0) == [volume(55.0), volume(50.0)]


def test_a_later_volume_press_reads_the_player_again() -> None:
    current = 60.0
    keys = KeyDecoder(KEYMAP, 0.6, 10.0, volume=lambda: current)
    assert keys.feed(VOLUMEUP, KEY_DOWN, 0.0) == [volume(65.0)]
    keys.feed(VOLUMEUP, KEY_UP, 0.1)
    current = 20.0  # changed meanwhile from the phone
    assert keys.feed(VOLUMEUP, KEY_DOWN, 10.0) == [volume(25.0)]


def test_volume_stays_within_0_and_100() -> None:
    assert decode(press(VOLUMEUP, 0.0, 0.1), player_volume=98.0) == [volume(100.0)]
    assert decode(press(VOLUMEDOWN, 0.0, 0.1), player_volume=3.0) == [volume(0.0)]


def test_two_keys_at_once() -> None:
    events = [
        (NEXTSONG, KEY_DOWN, 0.0),
        (PLAYPAUSE, KEY_DOWN, 0.1),
        (PLAYPAUSE, KEY_UP, 0.2),
        (NEXTSONG, KEY_UP, 0.3),
    ]
    assert decode(events) == [TOGGLE, NEXT]


def test_device_gone_mid_press_forgets_the_key() -> None:
    keys = decoder()
    keys.feed(NEXTSONG, KEY_DOWN, 0.0)
    keys.release_all()  # unplugged while held
    assert keys.deadline is None
    assert keys.feed(NEXTSONG, KEY_UP, 5.0) == []  # a stray release after replugging


def test_keymap_by_name_or_code() -> None:
    codes = {"KEY_NEXTSONG": NEXTSONG, "KEY_PLAYPAUSE": PLAYPAUSE}
    keymap = parse_keymap({"KEY_NEXTSONG": "next", "248": "stop"}, codes)
    assert keymap == {NEXTSONG: Action.NEXT, 248: Action.STOP}


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"KEY_NOPE": "next"}, "keys.map.KEY_NOPE: unknown key name"),
        ({"KEY_NEXTSONG": "skip"}, "keys.map.KEY_NEXTSONG: expected one of toggle, play,"),
    ],
)
def test_keymap_errors_name_the_key(mapping: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_keymap(mapping, {"KEY_NEXTSONG": NEXTSONG})


def test_default_keymap_resolves_with_evdev() -> None:
    evdev = pytest.importorskip("evdev")
    keymap = parse_keymap(KeysConfig().map, evdev.ecodes.ecodes)
    assert keymap[evdev.ecodes.KEY_NEXTSONG] is Action.NEXT
    assert set(keymap.values()) == set(Action)
