"""The daemon's links: the D-Bus bus its MPRIS name lives on, and the backend."""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
import shutil
import socket
import ssl
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from headunit import buses
from headunit.config import BackendConfig, MprisConfig
from headunit.doctor.car import SERVICE_USER
from headunit.doctor.report import Finding, fail, ok, warn
from headunit.link.supervisor import Outcome, probe
from headunit.link.token import Token, TokenProblem, mode_problem, read_claims, read_file
from headunit.mpris.server import NAME_PREFIX

NETWORK_SECONDS = 1.5  # each network step; the doctor answers within 3 s when all is well
EXPIRY_WARN_DAYS = 7


async def bus(config: MprisConfig) -> list[Finding]:
    try:
        connection = await buses.connect(config.bus, NETWORK_SECONDS)
    except buses.BusUnreachable as exc:
        fix = (
            "run headunit in the user's session (the user service), or set mpris.bus = system"
            if config.bus == "session"
            else "install and start dbus (apt-get install dbus)"
        )
        return [fail("bus", str(exc), fix), avrcp(config)]
    try:
        name = NAME_PREFIX + config.name
        owner = await _call(connection, "GetNameOwner", name)
        where = f"the {config.bus} bus at {buses.address(config.bus)}"
        if owner is None:
            found = ok("bus", f"{where}: {name} is free (headunit is not running)")
        else:
            pid = await _call(connection, "GetConnectionUnixProcessID", str(owner))
            found = _owned(where, name, pid)
    finally:
        connection.disconnect()
    return [found, avrcp(config)]


async def _call(connection: MessageBus, member: str, argument: str) -> str | int | None:
    reply = await connection.call(
        Message(
            destination="org.freedesktop.DBus",
            path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus",
            member=member,
            signature="s",
            body=[argument],
        )
    )
    if reply is None or reply.message_type is MessageType.ERROR:
        return None
    value: str | int = reply.body[0]
    return value


def _owned(where: str, name: str, pid: str | int | None) -> Finding:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, UnicodeDecodeError):
        command = ""
    if "headunit" in command:
        return ok("bus", f"{where}: {name} is owned by the running daemon (pid {pid})")
    return warn(
        "bus",
        f"{where}: {name} is owned by another program (pid {pid}: {command.strip()[:60]})",
        "headunit would answer as its .instance name, which some clients miss: stop that "
        "program, or set mpris.name",
    )


def avrcp(config: MprisConfig) -> Finding:
    if shutil.which("mpris-proxy") is None:
        return warn(
            "avrcp",
            "mpris-proxy not found: Bluetooth remotes cannot reach headunit",
            "apt-get install bluez, then systemctl --user enable --now mpris-proxy",
        )
    if config.bus == "system":
        return warn(
            "avrcp",
            "mpris-proxy found, but it bridges session-bus players and mpris.bus is system",
            "run the user service (scripts/install --mode user) for Bluetooth AVRCP",
        )
    return ok("avrcp", "mpris-proxy found (BlueZ): Bluetooth remotes can reach headunit")


async def backend(config: BackendConfig) -> list[Finding]:
    if not config.url:
        return [ok("backend", "standalone: backend.url is not set")]
    token_found, token = read_token(config)
    reached = await reach(config.url)
    if reached.level == "fail" or token is None or token.expired():
        return [token_found, reached]
    bounded = replace(config, timeout_seconds=min(config.timeout_seconds, NETWORK_SECONDS))
    start = time.monotonic()
    outcome, message = await probe(bounded, token)
    took = (time.monotonic() - start) * 1000
    if outcome is Outcome.ENDED:
        answer = ok("backend", f"{reached.text}; a test connection was accepted ({took:.0f} ms)")
    elif outcome is Outcome.REFUSED:
        answer = fail(
            "backend",
            f"{reached.text}; the backend refused the token: {message}",
            f"put a valid token for this backend in {config.token_file or 'backend.token'}",
        )
    else:
        answer = fail("backend", f"{reached.text}; but Socket.IO did not answer: {message}")
    return [token_found, answer]


def read_token(config: BackendConfig) -> tuple[Finding, Token | None]:
    """The token file's mode, owner and claims; never the token."""
    where = str(config.token_file) if config.token_file else "backend.token"
    value, how, loose = config.token, "set inline in the config", None
    if config.token_file is not None and (config.token_file.exists() or not value):
        try:
            value, info = read_file(config.token_file)
        except OSError as exc:
            return fail("token", f"cannot read {where}: {exc.strerror}", _token_fix(where)), None
        except UnicodeDecodeError:
            return fail("token", f"{where} is not text", _token_fix(where)), None
        how = f"mode {info.st_mode & 0o777:o}, owner {_owner(info.st_uid, info.st_gid)}"
        loose = mode_problem(info, _service_groups())
    if not value:
        return fail("token", f"{where} is empty", _token_fix(where)), None
    try:
        token = read_claims(value)
    except TokenProblem as exc:
        return fail("token", f"{where}: {exc}", _token_fix(where)), None
    found = _describe(where, how, token)
    if loose and found.level == "ok":
        return warn("token", f"{found.text}; but it {loose}"), token
    return found, token


def _service_groups() -> set[int]:
    """The groups the daemon reads the token through: the service user's, else ours."""
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return {os.getegid(), *os.getgroups()}
    return set(os.getgrouplist(SERVICE_USER, user.pw_gid))


def _describe(where: str, how: str, token: Token) -> Finding:
    text = f"{where} ({how}): user {token.user_id}"
    if token.expires is None:
        return ok("token", f"{text}, never expires")
    days = (token.expires - time.time()) / 86400
    date = datetime.fromtimestamp(token.expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if days <= 0:
        return fail("token", f"{text}, expired on {date}", _token_fix(where))
    if days < EXPIRY_WARN_DAYS:
        return warn("token", f"{text}, expires in {days:.1f} days ({date})", _token_fix(where))
    return ok("token", f"{text}, expires in {days:.0f} days ({date})")


def _token_fix(where: str) -> str:
    return f"put a current token from the backend in {where}"


def _owner(uid: int, gid: int) -> str:
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return f"{user}:{group}"


async def reach(url: str) -> Finding:
    """A TCP connection to the backend's host, and for https/wss a verified TLS session."""
    parts = urlsplit(url)
    secure = parts.scheme in ("https", "wss")
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    context = ssl.create_default_context() if secure else None
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context), NETWORK_SECONDS
        )
    except ssl.SSLCertVerificationError as exc:
        return fail(
            "backend",
            f"{url}: the TLS certificate is not valid: {exc.verify_message}",
            "renew the backend's certificate, and check this machine's clock",
        )
    except TimeoutError:
        return fail("backend", f"{url}: no answer in {NETWORK_SECONDS:g} s", _net_fix())
    except (OSError, ssl.SSLError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return fail("backend", f"{url} is unreachable: {why}", _net_fix())
    tls = ""
    if secure:
        tls = f", TLS valid{_cert_days(writer.get_extra_info('peercert'))}"
    writer.close()
    return ok("backend", f"{url} reachable{tls}")


def _cert_days(cert: object) -> str:
    if not isinstance(cert, dict) or "notAfter" not in cert:
        return ""
    days = (ssl.cert_time_to_seconds(cert["notAfter"]) - time.time()) / 86400
    return f" (certificate for {days:.0f} more days)"


def _net_fix() -> str:
    return f"check backend.url and the network ({socket.gethostname()} must reach it)"
