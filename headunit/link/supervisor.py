"""The connect loop: one Socket.IO session at a time, our own backoff, never a tight loop.

python-socketio's own reconnection is off: its retries come in lock-step across a fleet,
and it does not reconnect after a server-side disconnect. Each attempt reads the token afresh and
builds a fresh client; a refusal (either style) or an expired token waits much longer,
but wakes at once when the token file changes. The rest of the link plugs in through
`on(event, handler)`, `on_connect(callback)` and `emit()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import aiohttp
import socketio

from headunit.config import BackendConfig
from headunit.link.token import Token, TokenProblem, TokenSource
from headunit.tasks import Worker

log = logging.getLogger(__name__)

# An `error` event this close to a server-side disconnect is the backend's second refusal
# style ("emit error, then disconnect"), whatever its message says.
_REFUSAL_WINDOW = 2.0
_AUTH_WORDS = ("auth", "token", "jwt", "unauthori", "forbidden", "expired")
_TOKEN_POLL = 1.0  # how often a waiting supervisor looks for a new token file


class Outcome(enum.Enum):
    NO_TOKEN = "no usable token"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    ENDED = "ended"


def backoff_delay(attempt: int, low: float, high: float, rand: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(high, low * 2**attempt)], so a fleet spreads out."""
    return rand() * min(high, low * 2.0 ** min(attempt, 32))


def _message(data: object) -> str:
    if isinstance(data, dict):
        data = data.get("message", data)
    return str(data)[:200]


class SessionHost(Protocol):
    """What a session tells the supervisor; all a session knows about it."""

    def report(self, outcome: Outcome, message: str) -> None:
        """Why we are not connected (logged once per outage)."""

    def warn_once(self, message: str) -> None: ...

    def opened(self, session: _Session) -> None:
        """The session is connected: emit through it, tell the listeners."""

    def closed(self) -> None:
        """The connected session is gone, whatever comes next."""

    def ended(self, reason: str) -> None:
        """A real session ended without a refusal: the next outage is news again."""

    def measured(self, round_trip: float) -> None: ...


class Supervisor(Worker):
    task_name = "backend-link"

    def __init__(
        self,
        config: BackendConfig,
        tokens: TokenSource,
        rand: Callable[[], float] = random.random,
    ) -> None:
        super().__init__()
        self._config = config
        self._tokens = tokens
        self._rand = rand
        self._handlers: dict[str, Callable[[Any], None]] = {}
        self._connect_callbacks: list[Callable[[], None]] = []
        self._disconnect_callbacks: list[Callable[[], None]] = []
        self._problem_callbacks: list[Callable[[], None]] = []
        self._session: _Session | None = None  # the connected one
        self._reported: set[str] = set()
        self.token: Token | None = None
        self.rtt: float | None = None  # seconds, from the last ping/pong
        self.connected_since: float | None = None  # time.time()
        self.problem: str | None = None  # the last reason we are not connected
        self.sessions = 0  # successful connects since start
        self._stopping = False

    # -- wiring -------------------------------------------------------------------------
    def on(self, event: str, handler: Callable[[Any], None]) -> None:
        """`handler(data)` runs on the loop for each `event`; it must not block."""
        self._handlers[event] = handler

    def on_connect(self, callback: Callable[[], None]) -> None:
        self._connect_callbacks.append(callback)

    def on_disconnect(self, callback: Callable[[], None]) -> None:
        self._disconnect_callbacks.append(callback)

    def on_problem(self, callback: Callable[[], None]) -> None:
        """Called when the reason we are not connected changes (for the status)."""
        self._problem_callbacks.append(callback)

    @property
    def connected(self) -> bool:
        return self._session is not None and self._session.connected

    async def emit(self, event: str, data: Any = None) -> bool:
        """Send now if connected; False when offline (nothing is queued here)."""
        session = self._session
        return session is not None and await session.emit(event, data)

    def status(self) -> dict[str, Any]:
        return {
            "url": self._config.url,
            "connected": self.connected,
            "since": self.connected_since if self.connected else None,
            "user_id": self.token.user_id if self.token else None,
            "round_trip_ms": None if self.rtt is None else round(self.rtt * 1000, 1),
            "problem": None if self.connected else self.problem,
        }

    # -- SessionHost ----------------------------------------------------------------------
    def report(self, outcome: Outcome, message: str) -> None:
        """Log each distinct problem once per outage, not once per attempt."""
        if message != self.problem:
            self.problem = message
            for callback in tuple(self._problem_callbacks):
                callback()
        self.warn_once(f"backend {outcome.value}: {message}")

    def warn_once(self, message: str) -> None:
        if message not in self._reported:
            self._reported.add(message)
            log.warning("%s", message)

    def opened(self, session: _Session) -> None:
        self._session = session
        self.connected_since = time.time()
        self.sessions += 1
        for callback in tuple(self._connect_callbacks):
            callback()

    def closed(self) -> None:
        self._session = None
        for callback in tuple(self._disconnect_callbacks):
            callback()

    def ended(self, reason: str) -> None:
        self.problem = f"disconnected ({reason})"
        self._reported.clear()

    def measured(self, round_trip: float) -> None:
        self.rtt = round_trip

    # -- lifecycle ----------------------------------------------------------------------
    async def stop(self) -> None:
        # The client library can lose the cancel that `stop` sends (one landing as a
        # connect attempt fails): the loop also ends on this flag, or it would go on
        # reconnecting after the daemon said "stopping", and hold up its exit.
        self._stopping = True
        await super().stop()

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                outcome, lasted = await self._attempt()
            except Exception:
                # A surprise from the client library must not end the link for good.
                log.exception("backend link attempt failed unexpectedly")
                outcome, lasted = Outcome.UNREACHABLE, 0.0
            if self._stopping:
                return
            if outcome in (Outcome.NO_TOKEN, Outcome.REFUSED):
                failures = 0
                await self._wait_for_token()
                continue
            if outcome is Outcome.ENDED and lasted >= self._config.backoff_max_seconds:
                failures = 0  # a connection that held counts as a success
            delay = backoff_delay(
                failures,
                self._config.backoff_min_seconds,
                self._config.backoff_max_seconds,
                self._rand,
            )
            failures += 1
            log.debug("reconnecting in %.2f s", delay)
            await asyncio.sleep(delay)

    async def _wait_for_token(self) -> None:
        """Sleep the long auth backoff (jittered), or until the token file changes."""
        deadline = time.monotonic() + self._config.auth_backoff_seconds * (0.5 + self._rand() / 2)
        stamp = self._tokens.stamp()
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(_TOKEN_POLL, left))
            if self._tokens.stamp() != stamp:
                log.info("the token file changed; connecting again")
                return

    async def _attempt(self) -> tuple[Outcome, float]:
        try:
            token = self._tokens.read()
        except TokenProblem as exc:
            self.report(Outcome.NO_TOKEN, str(exc))
            return Outcome.NO_TOKEN, 0.0
        if token.expired():
            expiry = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(token.expires))
            self.report(
                Outcome.NO_TOKEN,
                f"the token expired at {expiry}; put a new one in {self._tokens.describe()}",
            )
            return Outcome.NO_TOKEN, 0.0
        self.token = token
        return await _Session(self._config, token, self._handlers, self).run()


class _Probe:
    """The host of a test session (`headunit doctor`): keeps what happened, logs nothing."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.message = ""
        self.accepted = False

    def report(self, outcome: Outcome, message: str) -> None:
        self.message = message

    def warn_once(self, message: str) -> None:
        self.message = message

    def opened(self, session: _Session) -> None:
        # A backend may accept, then refuse with an `error` and a hang-up: wait a little.
        self.accepted = True
        asyncio.get_running_loop().call_later(self.grace, session.end)

    def closed(self) -> None:
        pass

    def ended(self, reason: str) -> None:
        pass

    def measured(self, round_trip: float) -> None:
        pass


async def probe(config: BackendConfig, token: Token, grace: float = 0.3) -> tuple[Outcome, str]:
    """One test connection: ENDED (accepted, then closed by us), REFUSED or UNREACHABLE,
    with the backend's message. Bounded by config.timeout_seconds plus `grace`."""
    host = _Probe(grace)
    outcome, _ = await _Session(config, token, {}, host).run()
    return outcome, host.message


class _Session:
    """One client from connect to disconnect; the supervisor decides what comes next."""

    def __init__(
        self,
        config: BackendConfig,
        token: Token,
        handlers: Mapping[str, Callable[[Any], None]],
        host: SessionHost,
    ) -> None:
        self._config = config
        self._token = token
        self._host = host
        self._client = socketio.AsyncClient(
            reconnection=False, handle_sigint=False, logger=False, engineio_logger=False
        )
        self._ended = asyncio.Event()
        self._pong = asyncio.Event()
        self._refusal: str | None = None
        self._last_error: tuple[float, str] | None = None
        self._end_reason = "server disconnect"
        for event, handler in handlers.items():
            self._client.on(event, handler)
        self._client.on("connect_error", self._on_connect_error)
        self._client.on("disconnect", self._on_disconnect)
        self._client.on("error", self._on_error)
        self._client.on("pong", self._on_pong)

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    async def emit(self, event: str, data: Any = None) -> bool:
        try:
            await self._client.emit(event, data)
        except (socketio.exceptions.SocketIOError, ConnectionError, aiohttp.ClientError) as exc:
            log.debug("emit %s failed: %s", event, exc)
            return False
        return True

    def end(self) -> None:
        """Close the session from our side."""
        self._end_reason = "closed by the car"
        self._ended.set()

    def _on_connect_error(self, data: object = None) -> None:
        self._refusal = _message(data)

    def _on_disconnect(self, reason: object = None) -> None:
        if reason is not None:
            self._end_reason = str(reason)
        self._ended.set()

    def _on_error(self, data: object = None) -> None:
        message = _message(data)
        self._last_error = (time.monotonic(), message)
        self._host.warn_once(f"backend error: {message}")

    def _on_pong(self, data: object = None) -> None:
        self._pong.set()

    async def run(self) -> tuple[Outcome, float]:
        timeout = self._config.timeout_seconds
        try:
            async with asyncio.timeout(timeout + 1):
                await self._client.connect(
                    self._config.url,
                    auth={"token": self._token.value},
                    transports=["websocket"],
                    wait_timeout=timeout,
                )
        except asyncio.CancelledError:
            # Stopped mid-handshake: close the half-open HTTP session, or aiohttp
            # complains about it in the log after the daemon said "stopped".
            await self._discard()
            raise
        except (socketio.exceptions.ConnectionError, TimeoutError, OSError, aiohttp.ClientError):
            await self._discard()
            if self._refusal is not None and self._client.failed_namespaces:
                self._host.report(Outcome.REFUSED, f"{self._refusal} (user {self._token.user_id})")
                return Outcome.REFUSED, 0.0
            self._host.report(Outcome.UNREACHABLE, f"cannot connect to {self._config.url}")
            return Outcome.UNREACHABLE, 0.0
        return await self._connected()

    async def _connected(self) -> tuple[Outcome, float]:
        start = time.monotonic()
        log.info("connected to %s as user %s", self._config.url, self._token.user_id)
        self._host.opened(self)
        pinger = asyncio.create_task(self._ping_loop(), name="backend-ping")
        try:
            await self._ended.wait()
        finally:
            pinger.cancel()
            self._host.closed()
            await self._discard()
        lasted = time.monotonic() - start
        if self._refused_after_connect():
            message = self._last_error[1] if self._last_error else "refused"
            self._host.report(Outcome.REFUSED, f"{message} (user {self._token.user_id})")
            return Outcome.REFUSED, lasted
        log.info("disconnected from the backend (%s)", self._end_reason)
        self._host.ended(self._end_reason)
        return Outcome.ENDED, lasted

    def _refused_after_connect(self) -> bool:
        """The second refusal style: an `error` event, then the server hangs up."""
        if self._last_error is None:
            return False
        at, message = self._last_error
        recent = time.monotonic() - at <= _REFUSAL_WINDOW
        return recent or any(word in message.lower() for word in _AUTH_WORDS)

    async def _ping_loop(self) -> None:
        interval = self._config.ping_seconds
        while True:
            await asyncio.sleep(interval)
            self._pong.clear()
            sent = time.monotonic()
            if not await self.emit("ping"):
                return
            try:
                await asyncio.wait_for(self._pong.wait(), self._config.timeout_seconds)
            except TimeoutError:
                log.warning(
                    "no pong from the backend in %.1f s; reconnecting",
                    self._config.timeout_seconds,
                )
                self._end_reason = "no pong"
                self._ended.set()
                return
            self._host.measured(time.monotonic() - sent)

    async def _discard(self) -> None:
        """Drop the client without waiting on the network (a car never waits to stop)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._client.eio.disconnect(abort=True), 1.0)
