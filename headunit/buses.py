"""Reaching a D-Bus bus within a bounded wait, and saying which one and why not.

An address in the environment is no promise: an ssh session whose bus is gone, or a
`sudo -E`, leaves a DBUS_SESSION_BUS_ADDRESS that nothing listens on. The demo and
`headunit doctor` ask here before they count on one.
"""

from __future__ import annotations

import asyncio
import os

from dbus_fast import AuthError, BusType, DBusError
from dbus_fast.aio import MessageBus

SYSTEM_DEFAULT = "unix:path=/run/dbus/system_bus_socket"  # the D-Bus specification's


class BusUnreachable(RuntimeError):
    """The bus cannot be reached; the message says which address and why."""


def address(kind: str) -> str:
    """The address a client of the `session` or `system` bus would use ("" if none)."""
    if kind == "system":
        return os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or SYSTEM_DEFAULT
    return os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")


async def connect(kind: str, within: float = 1.0) -> MessageBus:
    """A connected bus of `kind`, or BusUnreachable within `within` seconds."""
    where = address(kind)
    if not where:
        raise BusUnreachable(f"no {kind} bus: DBUS_SESSION_BUS_ADDRESS is not set")
    bus_type = BusType.SYSTEM if kind == "system" else BusType.SESSION
    try:
        return await asyncio.wait_for(MessageBus(bus_type=bus_type).connect(), within)
    except TimeoutError:
        raise BusUnreachable(f"the {kind} bus at {where} did not answer in {within:g} s") from None
    except (OSError, ValueError, AuthError, DBusError) as exc:
        raise BusUnreachable(f"the {kind} bus at {where} cannot be reached: {exc}") from None


async def problem(kind: str, within: float = 1.0) -> str | None:
    """Why the bus of `kind` cannot be used, or None when a connection works."""
    try:
        bus = await connect(kind, within)
    except BusUnreachable as exc:
        return str(exc)
    bus.disconnect()
    return None
