"""Remote-control latency: REST -> backend -> head unit executes -> backend has the new state.

    /tmp/venv/bin/python bench/remote_latency.py [--rounds 60]

The reference backend runs in this process; the real daemon (mpv with ao=null, MPRIS on
a private session bus) is a process of its own, connected over loopback. Each command
is `POST /api/carplay/control`; the clock stops when the backend receives the
`playback_state_update` that shows its effect:

- next   -> a state with the next track's title (mpv loads the file)
- pause  -> isPlaying false
- play   -> isPlaying true
- seek   -> currentTime at the target (±1 s)

`--rounds` rounds of the four (so 4 x rounds commands, >= 200 by default), after 5
warm-up rounds; p50/p90/p99 per command and overall. Then 50 skips with a quiet
period after each count the state updates one skip produces (heartbeats off for that
part, so only the skip's own updates are counted). Needs sox and dbus-daemon.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support import DBusDaemon, make_album, write_config  # noqa: E402

from headunit.backend.auth import Verifier, mint  # noqa: E402
from headunit.backend.server import Backend, serve  # noqa: E402

SECRET = "remote-latency-bench-secret-0123456789"
USER = 1
SKIPS = 50
SETTLE = 0.3  # quiet time after a skip in which late updates would still be counted


class TimedBackend(Backend):
    """The reference backend, noting when each state update arrives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.updates: list[tuple[float, dict[str, Any]]] = []
        self.arrived = asyncio.Event()

    async def _on_playback_state_update(self, sid: str, data: Any = None) -> None:
        self.updates.append((time.perf_counter(), data))
        self.arrived.set()
        await super()._on_playback_state_update(sid, data)


async def wait_state(backend: TimedBackend, since: int, test: Callable[[dict], bool]) -> float:
    """The arrival time of the first update after index `since` that passes `test`."""
    index = since
    while True:
        while index < len(backend.updates):
            at, state = backend.updates[index]
            index += 1
            if test(state):
                return at
        backend.arrived.clear()
        try:
            await asyncio.wait_for(backend.arrived.wait(), 10)
        except TimeoutError:
            raise SystemExit(f"no matching state; last updates: {backend.updates[-3:]}") from None


class Bench:
    def __init__(self, backend: TimedBackend, http: aiohttp.ClientSession, url: str) -> None:
        self.backend = backend
        self.http = http
        self.url = f"{url}/api/carplay/control"
        self.headers = {"Authorization": f"Bearer {mint(SECRET, USER)}"}

    def last(self) -> dict[str, Any]:
        return self.backend.updates[-1][1]

    async def ensure_playing(self) -> None:
        if not self.last()["isPlaying"]:
            await self.command("play")

    async def command(self, name: str, value: float | None = None) -> float:
        before = self.last()
        test = {
            "next": lambda s: s.get("mediaTitle") != before.get("mediaTitle"),
            "pause": lambda s: s["isPlaying"] is False,
            "play": lambda s: s["isPlaying"] is True,
            "seek": lambda s: abs(s["currentTime"] - (value or 0)) <= 1.0,
        }[name]
        since = len(self.backend.updates)
        start = time.perf_counter()
        async with self.http.post(
            self.url, json={"command": name, "value": value}, headers=self.headers
        ) as resp:
            assert resp.status == 200, await resp.text()
        return (await wait_state(self.backend, since, test)) - start


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    ms = [x * 1000 for x in (cuts[49], cuts[89], cuts[98], max(samples))]
    return "p50 {:6.2f}  p90 {:6.2f}  p99 {:6.2f}  max {:6.2f} ms".format(*ms)


def start_daemon(tmp: Path, url: str, bus: str, heartbeat: float) -> subprocess.Popen[bytes]:
    token = tmp / "token"
    token.write_text(mint(SECRET, USER))
    token.chmod(0o600)
    config = write_config(
        tmp / f"config-{heartbeat:g}.toml",
        {
            "media": {"paths": [str(tmp / "music")]},
            "player": {"audio_output": "null"},
            "state": {"dir": str(tmp / f"state-{heartbeat:g}")},
            "backend": {"url": url, "token_file": str(token), "heartbeat_seconds": heartbeat},
            "log": {"level": "warning"},
        },
    )
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus, "HOME": str(tmp)}
    with (tmp / "daemon.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "headunit", "run", "--config", str(config)],
            stdout=log,
            stderr=log,
            env=env,
            cwd=ROOT,
        )


async def run_daemon_phase(tmp: Path, bus: str, heartbeat: float, phase: Callable) -> Any:
    backend = TimedBackend(Verifier(SECRET, "HS256"))
    running = await serve(backend)
    proc = await asyncio.to_thread(start_daemon, tmp, running.url, bus, heartbeat)
    try:
        async with aiohttp.ClientSession() as http:
            bench = Bench(backend, http, running.url)
            await wait_state(backend, 0, lambda s: True)
            return await phase(bench)
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 10)
        await running.stop()


async def latency_phase(bench: Bench, rounds: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"next": [], "pause": [], "play": [], "seek": []}
    await bench.ensure_playing()
    for n in range(rounds + 5):
        for name in samples:
            value = 5.0 + (n % 20) if name == "seek" else None
            took = await bench.command(name, value)
            if n >= 5:
                samples[name].append(took)
    return samples


async def skip_phase(bench: Bench, skips: int = SKIPS) -> list[int]:
    await bench.ensure_playing()
    counts = []
    for _ in range(skips):
        since = len(bench.backend.updates)
        await bench.command("next")
        await asyncio.sleep(SETTLE)
        counts.append(len(bench.backend.updates) - since)
    return counts


@contextlib.asynccontextmanager
async def bench_folder(prefix: str, tracks: int) -> AsyncIterator[Path]:
    """A temporary folder with `tracks` generated 40 s tracks in music/Bench, what
    `start_daemon` plays."""
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        tmp = Path(name)
        titles = [f"Track {n}" for n in range(tracks)]
        await asyncio.to_thread(make_album, tmp / "music" / "Bench", titles, 40.0)
        yield tmp


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=60, help="rounds of next/pause/play/seek")
    args = parser.parse_args()
    tracks = max(args.rounds + 5, SKIPS) + 2  # every `next` lands on a new track
    async with bench_folder("remote-latency-", tracks) as tmp:
        dbus = DBusDaemon(tmp / "bus")
        try:
            samples = await run_daemon_phase(
                tmp, dbus.address, 5.0, lambda b: latency_phase(b, args.rounds)
            )
            counts = await run_daemon_phase(tmp, dbus.address, 3600.0, skip_phase)
        finally:
            dbus.stop()
    total = [x for values in samples.values() for x in values]
    print(f"REST command -> head unit -> new state at the backend ({len(total)} commands)")
    for name, values in samples.items():
        print(f"  {name:<6} n={len(values):<4} {percentiles(values)}")
    print(f"  {'all':<6} n={len(total):<4} {percentiles(total)}")
    spread = {n: counts.count(n) for n in sorted(set(counts))}
    print(f"state updates per skip over {len(counts)} skips: {spread} (max {max(counts)})")


if __name__ == "__main__":
    asyncio.run(main())
