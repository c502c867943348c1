"""One user's clients never reach another user's car."""

from __future__ import annotations

import os

import pytest
from link_helpers import link_config, make_token, rest
from support import async_wait_for

from headunit.link.token import TokenProblem, TokenSource, read_claims
from headunit.model import Command, CommandName


async def test_user_8_never_reaches_user_7s_car(backend, token_file, make_car, make_phone):
    car = await make_car(link_config(backend.url, token_file))
    await async_wait_for(lambda: car.supervisor.connected)
    intruder = await make_phone(backend.url, user=8)
    owner = await make_phone(backend.url, user=7)
    await intruder.sio.emit("carplay_command", {"command": "next"})
    await intruder.sio.emit(
        "playback_state_update",
        {
            "userId": 7,
            "isPlaying": True,
            "currentTime": 1,
            "duration": 2,
            "mediaId": 666,
            "deviceName": "intruder",
        },
    )
    assert (await rest(backend.url, 8, {"command": "next", "value": None}))[0] == 200
    assert (await rest(backend.url, 8, {"command": "seek", "value": 99}))[0] == 200
    # The owner's command arrives; had any of user 8's, it would have arrived before it.
    await owner.sio.emit("carplay_command", {"command": "pause"})
    await async_wait_for(lambda: bool(car.player.commands))
    assert car.player.commands == [Command(CommandName.PAUSE)]
    assert car.link.peers.snapshot() == []  # the intruder's state, stamped as user 7, too
    assert all(state["userId"] == 7 for state in owner.states)
    assert intruder.states == []  # and user 8 sees nothing of user 7
    assert backend.backend.cached(7)["mediaId"] != 666


def test_token_claims_without_the_token_in_its_repr(tmp_path):
    token = make_token(7, exp=2_000_000_000)
    claims = read_claims(token)
    assert (claims.user_id, claims.expires) == (7, 2_000_000_000.0)
    assert token not in repr(claims)
    assert token not in str(claims)


@pytest.mark.parametrize("user", ["7", True, 7.5, 10**400, None])
def test_a_token_without_a_whole_number_user_is_a_clear_problem(user):
    with pytest.raises(TokenProblem, match="userId"):
        read_claims(make_token(user))


def test_a_huge_expiry_reads_as_none_not_a_crash():
    assert read_claims(make_token(7, exp=10**400)).expires is None


def test_token_file_wins_and_falls_back_to_the_inline_token(tmp_path, caplog):
    inline, from_file = make_token(1), make_token(2)
    path = tmp_path / "token"
    source = TokenSource(path, inline)
    assert source.read().user_id == 1  # no file yet
    path.write_text(from_file + "\n")
    path.chmod(0o600)
    assert source.read().user_id == 2


def mode_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "the token file" in r.getMessage()]


def test_a_world_readable_token_is_warned_about_once(tmp_path, caplog):
    path = tmp_path / "token"
    path.write_text(make_token(2))
    path.chmod(0o644)
    source = TokenSource(path, "")
    assert source.read().user_id == 2  # still used: the warning is advice, not a refusal
    source.read()
    assert len(mode_warnings(caplog)) == 1
    assert "readable by others (mode 644); chmod o-rwx it" in mode_warnings(caplog)[0]


def test_group_read_by_the_daemons_own_group_is_how_the_installer_wants_it(tmp_path, caplog):
    """0640 root:<service group>, as scripts/install makes it: the daemon reads it
    through its group, so there is nothing to warn about."""
    path = tmp_path / "token"
    path.write_text(make_token(2))
    path.chmod(0o640)
    os.chown(path, -1, os.getegid())
    assert TokenSource(path, "").read().user_id == 2
    assert mode_warnings(caplog) == []


def test_group_read_by_a_group_the_daemon_is_not_in_is_warned_about(tmp_path, caplog):
    foreign = next(gid for gid in range(65534, 0, -1) if gid not in {os.getegid(), *os.getgroups()})
    path = tmp_path / "token"
    path.write_text(make_token(2))
    path.chmod(0o640)
    try:
        os.chown(path, -1, foreign)
    except PermissionError:
        pytest.skip("giving a file to another group takes root")
    assert TokenSource(path, "").read().user_id == 2
    (warning,) = mode_warnings(caplog)
    assert "which this daemon does not run in (mode 640)" in warning
