"""The system-bus policy in systemd/: who may own the player's name, who may call it.

A private dbus-daemon of type system, with the default deny-all policy of a real
system bus, includes the shipped file (or a copy naming the test's own user as the
service user, to see the allow side too).
"""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbus_fast import BusType, DBusError
from dbus_fast.aio import MessageBus
from dbus_fast.constants import NameFlag, RequestNameReply
from mpris_helpers import make_tracks
from support import DBusDaemon, FakeTarget

from headunit.component import Context
from headunit.config import parse
from headunit.controller import Controller
from headunit.mpris.server import MprisServer, MprisUnavailable

POLICY = Path(__file__).parents[2] / "systemd" / "org.mpris.MediaPlayer2.headunit.conf"
NAME = "org.mpris.MediaPlayer2.headunit"
OBJECT = "/org/mpris/MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"

# The part of Debian's /usr/share/dbus-1/system.conf that decides these questions.
DEFAULT_SYSTEM_POLICY = """<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
</busconfig>
"""

ME = pwd.getpwuid(os.getuid()).pw_name
IS_ROOT = os.getuid() == 0


def system_bus(policy_text: str) -> Iterator[DBusDaemon]:
    """A private system-type bus: the default deny-all policy, then the file under test."""
    # Its socket goes in a world-traversable directory: the caller may run as nobody.
    tmp = Path(tempfile.mkdtemp(prefix="headunit-policy-"))
    tmp.chmod(0o755)
    default, policy = tmp / "default.conf", tmp / "policy.conf"
    default.write_text(DEFAULT_SYSTEM_POLICY)
    policy.write_text(policy_text)
    daemon = DBusDaemon(tmp, "system", includes=[default, policy])
    yield daemon
    daemon.stop()
    shutil.rmtree(tmp)


@pytest.fixture
def shipped_policy_bus() -> Iterator[DBusDaemon]:
    yield from system_bus(POLICY.read_text())


@pytest.fixture
def own_user_policy_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[DBusDaemon]:
    """The shipped file with this test's user as the service user."""
    text = POLICY.read_text()
    assert 'user="headunit"' in text
    for daemon in system_bus(text.replace('user="headunit"', f'user="{ME}"')):
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", daemon.address)
        yield daemon


async def request(address: str, name: str) -> RequestNameReply:
    bus = await MessageBus(bus_address=address, bus_type=BusType.SYSTEM).connect()
    try:
        return await bus.request_name(name, NameFlag.DO_NOT_QUEUE)
    finally:
        bus.disconnect()


@pytest.mark.skipif(ME == "headunit", reason="the test user is the service user")
async def test_only_the_service_user_may_own_the_name(shipped_policy_bus: DBusDaemon) -> None:
    with pytest.raises(DBusError, match="not allowed to own"):
        await request(shipped_policy_bus.address, NAME)


async def test_the_service_user_owns_the_name_and_instances_only(
    own_user_policy_bus: DBusDaemon,
) -> None:
    address = own_user_policy_bus.address
    assert await request(address, NAME) is RequestNameReply.PRIMARY_OWNER
    assert await request(address, f"{NAME}.instance4242") is RequestNameReply.PRIMARY_OWNER
    for other in ("org.mpris.MediaPlayer2.headunitx", "org.mpris.MediaPlayer2.vlc"):
        with pytest.raises(DBusError, match="not allowed to own"):
            await request(address, other)


async def run_as_caller(*argv: str) -> tuple[int, str]:
    """Run a D-Bus client as another user when we can (root -> nobody), else as us."""

    def drop() -> None:
        os.setgid(65534)
        os.setuid(65534)

    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        preexec_fn=drop if IS_ROOT else None,
        env={**os.environ, "HOME": "/nonexistent"} if IS_ROOT else None,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_anyone_may_call_the_player_on_the_system_bus(
    own_user_policy_bus: DBusDaemon,
) -> None:
    config = parse({"mpris": {"bus": "system"}})
    target = FakeTarget(make_tracks(2))
    server = MprisServer(Context(Controller(target), config, lambda: None))
    await server.start()
    try:
        assert server.bus_name == NAME
        send = ["dbus-send", "--system", "--print-reply", f"--dest={NAME}"]
        status, out = await run_as_caller(
            *send, "/org/mpris/MediaPlayer2", "org.freedesktop.DBus.Properties.Get",
            "string:org.mpris.MediaPlayer2.Player", "string:PlaybackStatus",
        )  # fmt: skip
        assert status == 0, out
        assert '"Stopped"' in out
        status, out = await run_as_caller(
            *send, "/org/mpris/MediaPlayer2", "org.mpris.MediaPlayer2.Player.PlayPause"
        )
        assert status == 0, out
        assert [c.name for c in target.commands] == ["toggle"]
        # ... but a caller cannot take the name over.
        status, out = await run_as_caller(
            *send[:3], "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus", "org.freedesktop.DBus.RequestName",
            f"string:{NAME}.instance1", "uint32:4",
        )  # fmt: skip
        if IS_ROOT:  # the caller ran as nobody
            assert status != 0
            assert "AccessDenied" in out
    finally:
        await server.stop()


@pytest.mark.skipif(ME == "headunit", reason="the test user is the service user")
async def test_a_refused_name_stops_the_start_with_the_reason(
    shipped_policy_bus: DBusDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", shipped_policy_bus.address)
    controller = Controller(FakeTarget(make_tracks(1)))
    config = parse({"mpris": {"bus": "system"}})
    server = MprisServer(Context(controller, config, lambda: None))
    with pytest.raises(MprisUnavailable, match=re.escape(f"refuses {NAME}")):
        await server.start()
    assert controller._sinks == []  # nothing left subscribed


@pytest.mark.skipif(not IS_ROOT, reason="telling callers apart needs root (to run as nobody)")
@pytest.mark.parametrize("nobody_in_group", [False, True])
async def test_open_uri_and_property_writes_are_for_root_and_the_headunit_group(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, nobody_in_group: bool
) -> None:
    text = POLICY.read_text().replace('user="headunit"', f'user="{ME}"')
    if nobody_in_group:  # nobody's own group stands in for the headunit group
        text = text.replace('group="headunit"', f'group="{grp.getgrgid(65534).gr_name}"')
    for daemon in system_bus(text):
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", daemon.address)
        song = tmp_path / "song.flac"
        song.write_bytes(b"")
        config = parse({"mpris": {"bus": "system"}, "media": {"paths": [str(tmp_path)]}})
        target = FakeTarget(make_tracks(2))
        server = MprisServer(Context(Controller(target), config, lambda: None))
        await server.start()
        try:
            send = ["dbus-send", "--system", "--print-reply", f"--dest={NAME}", OBJECT]
            open_uri = [*send, f"{PLAYER}.OpenUri", f"string:{song.as_uri()}"]
            set_volume = [
                *send, "org.freedesktop.DBus.Properties.Set",
                f"string:{PLAYER}", "string:Volume", "variant:double:0.5",
            ]  # fmt: skip
            for argv in (open_uri, set_volume):
                status, out = await run_as_caller(*argv)
                if nobody_in_group:
                    assert status == 0, out
                else:
                    assert status != 0
                    assert "AccessDenied" in out
            status, out = await run_as_caller(*send, f"{PLAYER}.Next")
            assert status == 0, out  # the plain controls stay open to everyone
            as_root = await asyncio.create_subprocess_exec(*open_uri)
            assert await as_root.wait() == 0
        finally:
            await server.stop()
