"""systemd integration: sd_notify over the plain datagram protocol, and the watchdog.

No libsystemd: the protocol is one datagram of `KEY=value` lines to the socket named
by $NOTIFY_SOCKET (a leading '@' means the abstract namespace). Every send is
non-blocking and dropped when the socket is full: the kernel queues only a few
datagrams, and a daemon must never stall because nobody drains them.

The component is started last by the daemon, so `READY=1` means mpv and the MPRIS
name are up; it pings the watchdog from a task on the daemon's own loop, so a loop
that stalls stops the pings and systemd restarts the service.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import time
from collections.abc import Mapping

from headunit.component import Context
from headunit.controller import Controller
from headunit.state import PlayerState, Status
from headunit.tasks import Background

log = logging.getLogger(__name__)

STATUS_MIN_INTERVAL = 1.0  # seconds between STATUS= updates: a skip burst sends one
STATUS_MAX_CHARS = 200  # systemctl status shows one line; keep the datagram small


def socket_address(value: str) -> str | None:
    """$NOTIFY_SOCKET as an AF_UNIX address, or None when it is not one we can use."""
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # e.g. vsock: (VMs); not a case for a head unit


class Notifier:
    """Sends sd_notify datagrams; a no-op when the service manager gave no socket."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        raw = environ.get("NOTIFY_SOCKET", "")
        self._address = socket_address(raw) if raw else None
        if raw and self._address is None:
            log.warning("NOTIFY_SOCKET %r is not a unix socket; not notifying systemd", raw)
        self._socket: socket.socket | None = None
        self._failed = False  # log a broken socket once, not on every ping

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, *lines: str) -> bool:
        """Send one datagram of `KEY=value` lines; False when it was dropped or not sent."""
        if self._address is None:
            return False
        if self._socket is None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        payload = "\n".join(lines).encode("utf-8", "replace")
        try:
            self._socket.sendto(payload, socket.MSG_DONTWAIT, self._address)
        except BlockingIOError:
            log.debug("notify socket full, dropped %s", lines[0].split("=", 1)[0])
            return False
        except OSError as exc:
            if not self._failed:
                log.warning("cannot notify systemd: %s", os.strerror(exc.errno or errno.EIO))
                self._failed = True
            return False
        self._failed = False
        return True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def watchdog_interval(
    environ: Mapping[str, str] = os.environ, pid: int | None = None
) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), or None when off.

    WATCHDOG_PID, when set, names the process the watchdog is meant for: a child that
    inherited the environment must not ping on its parent's behalf.
    """
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    owner = environ.get("WATCHDOG_PID")
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    return usec / 2 / 1_000_000 if usec > 0 else None


def describe(state: PlayerState) -> str:
    """What `systemctl status` shows: the status and the current track, on one line."""
    if state.track is None or state.status is Status.STOPPED:
        text = "Stopped" if state.queue_length == 0 else f"Stopped, {state.queue_length} queued"
    else:
        track = state.track
        who = ", ".join(track.artist)
        text = f"{state.status}: {track.title}" + (f" - {who}" if who else "")
    text = " ".join(text.split())  # a title with a newline must not end the STATUS= line
    return text if len(text) <= STATUS_MAX_CHARS else text[: STATUS_MAX_CHARS - 3] + "..."


class SystemdNotify:
    """The daemon component: READY=1, STATUS=, WATCHDOG=1 and STOPPING=1."""

    def __init__(
        self,
        controller: Controller,
        notifier: Notifier,
        watchdog: float | None,
        status_interval: float = STATUS_MIN_INTERVAL,
    ) -> None:
        self._controller = controller
        self._notifier = notifier
        self._watchdog = watchdog
        self._status_interval = status_interval
        self._watchdog_task = Background()
        self._status_sent = ""
        self._status_at = -float("inf")  # time.monotonic() of the last STATUS= sent
        self._status_timer: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        self._status_sent = describe(self._controller.state)
        self._status_at = time.monotonic()
        self._notifier.send("READY=1", f"STATUS={self._status_sent}")
        self._controller.subscribe(self)
        if self._watchdog is not None:
            self._watchdog_task.spawn(self._ping(self._watchdog), "watchdog")
        log.debug("told systemd READY=1 (watchdog every %s s)", self._watchdog)

    async def stop(self) -> None:
        self._notifier.send("STOPPING=1", "STATUS=Stopping")
        self._controller.unsubscribe(self)
        if self._status_timer is not None:
            self._status_timer.cancel()
            self._status_timer = None
        await self._watchdog_task.stop()
        self._notifier.close()

    async def _ping(self, interval: float) -> None:
        # Ping first: the first deadline runs from the service's start, not from READY=1.
        while True:
            self._notifier.send("WATCHDOG=1")
            await asyncio.sleep(interval)

    # StateSink -----------------------------------------------------------------------

    def state_changed(self, state: PlayerState, changed: frozenset[str]) -> None:
        if changed & {"status", "track", "queue_length"}:
            self._schedule_status()

    def seeked(self, state: PlayerState) -> None:
        """A seek changes nothing `STATUS=` shows."""

    def _schedule_status(self) -> None:
        if self._status_timer is not None:
            return  # the pending update reads the state when it fires
        wait = self._status_at + self._status_interval - time.monotonic()
        if wait <= 0:
            self._send_status()
        else:
            self._status_timer = asyncio.get_running_loop().call_later(wait, self._send_status)

    def _send_status(self) -> None:
        self._status_timer = None
        text = describe(self._controller.state)
        if text != self._status_sent:
            self._status_sent = text
            self._status_at = time.monotonic()
            self._notifier.send(f"STATUS={text}")


def create(context: Context) -> SystemdNotify | None:
    """The notify component, or None when not started by systemd with Type=notify."""
    notifier = Notifier()
    if not notifier.enabled:
        log.debug("no NOTIFY_SOCKET: not running under systemd Type=notify")
        return None
    return SystemdNotify(context.controller, notifier, watchdog_interval())
