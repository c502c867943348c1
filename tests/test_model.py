"""The wire contract: any payload parses into a valid command or is refused with a reason;
a serialised state never holds NaN, Infinity, negative times or a missing field."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headunit.model import (
    WIRE_COMMANDS,
    Command,
    CommandError,
    CommandName,
    PlaybackState,
    parse_command,
    parse_playback_state,
)

huge = st.integers(min_value=10**308, max_value=10**400)
json_scalars = st.none() | st.booleans() | st.integers() | huge | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
commands = st.sampled_from([*(str(c) for c in CommandName), "PLAY", "", "skip", "seek "])
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries({"command": commands | json_values}, optional={"value": json_values}),
)


@given(payloads)
def test_any_payload_parses_into_a_valid_command_or_is_refused_with_a_reason(payload) -> None:
    try:
        command, reason = parse_command(payload), ""
    except CommandError as exc:
        command, reason = None, str(exc)
    if command is None:
        assert 0 < len(reason) < 200  # one log line, even for a huge payload
        return
    assert command.name in WIRE_COMMANDS
    if command.name is CommandName.SEEK:
        assert isinstance(command.value, int | float)
        assert math.isfinite(command.value)
        assert command.value >= 0
    else:
        assert command.value is None
    assert parse_command(command.to_wire()) == command  # round trip


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"command": "seek"}, "finite number"),
        ({"command": "seek", "value": float("nan")}, "finite number"),
        ({"command": "seek", "value": -1}, ">= 0"),
        ({"command": "seek", "value": "42"}, "finite number"),
        ({"command": "seek", "value": True}, "finite number"),
        ({"command": "seek", "value": 10**400}, "finite number"),
        ({"command": "volume", "value": 50}, "unknown command"),
        ({"command": "rm -rf"}, "unknown command"),
        (["play"], "object"),
    ],
)
def test_refusals_say_why(payload: object, reason: str) -> None:
    with pytest.raises(CommandError, match=reason):
        parse_command(payload)


def test_the_rest_bodys_null_value_is_accepted() -> None:
    assert parse_command({"command": "play", "value": None}) == Command(CommandName.PLAY)
    assert parse_command({"command": "seek", "value": 42}) == Command(CommandName.SEEK, 42)


times = st.floats(allow_nan=True, allow_infinity=True) | st.none()


@given(
    user=st.integers(min_value=0, max_value=2**53),
    playing=st.booleans(),
    current=times,
    duration=times,
    media=st.none() | st.integers(min_value=0, max_value=2**53),
    title=st.none() | st.text(max_size=30),
)
def test_a_serialised_state_is_always_valid_json(user, playing, current, duration, media, title):
    state = PlaybackState(
        userId=user,
        isPlaying=playing,
        currentTime=current,  # type: ignore[arg-type]
        duration=duration,  # type: ignore[arg-type]
        mediaId=media,
        mediaTitle=title,
        extra={"updatedAt": 1},
    )
    wire = state.to_wire()
    text = json.dumps(wire, allow_nan=False)  # raises on NaN/Infinity
    for key in ("userId", "isPlaying", "currentTime", "duration", "mediaId"):
        assert key in wire
    assert wire["currentTime"] >= 0
    assert wire["duration"] >= 0
    assert parse_playback_state(json.loads(text)).to_wire() == wire


def test_a_received_state_with_a_bad_field_is_refused() -> None:
    good = {"userId": 7, "isPlaying": True, "currentTime": 1.5, "duration": 10, "mediaId": 3}
    assert parse_playback_state(good).mediaId == 3
    for key, bad in [
        ("userId", "7"),
        ("isPlaying", 1),
        ("currentTime", -1),
        ("duration", None),
        ("mediaType", "podcast"),
        ("mediaTitle", 5),
    ]:
        with pytest.raises(CommandError, match=key):
            parse_playback_state({**good, key: bad})
