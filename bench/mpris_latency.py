"""MPRIS latency: headunit against `mpv --idle` with Debian's mpv-mpris, in one run.

    /tmp/venv/bin/python bench/mpris_latency.py [--calls 200] [--tracks 6]

Both players play the same generated tracks (FLAC, 44.1 kHz stereo, ao=null) on a
private session bus, looping the playlist. For each player, from the moment a method
call is sent to the moment the signal that shows its effect arrives:

- PlayPause -> PropertiesChanged(PlaybackStatus)
- Next      -> PropertiesChanged(Metadata) with the new track
- Seek      -> Seeked (±5 s while paused; mpv's own seek is most of it)

p50/p90/p99 over `--calls` calls each (after 10 warm-up calls), 20 ms apart (`--gap`:
one key press at a time; with `--gap 0` each call also waits for the after-effects of
the one before, such as headunit's resume-state save after a seek), and Position reads
per second (sequential Get round trips for 2 s). Ratios are mpv-mpris / headunit.
Needs sox, mpv, mpv-mpris, dbus-daemon.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support import DBusDaemon, dbus_call, make_tone, write_config  # noqa: E402

MPRIS_PATH = "/org/mpris/MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
PROPERTIES = "org.freedesktop.DBus.Properties"
MPV_MPRIS = ("/etc/mpv/scripts/mpris.so", "/usr/lib/mpv-mpris/mpris.so")
WARMUP = 10
GAP = 0.02  # default seconds between calls (--gap)
TRACK_SECONDS = 60
# The targets (ms), for headunit.
TARGET_P50, TARGET_P99, SEEK_MARGIN = 3.0, 10.0, 0.5


class Player:
    """One MPRIS player seen by a benchmark client: calls, property reads, signal waits."""

    def __init__(self, label: str, bus: MessageBus, name: str, owner: str, gap: float) -> None:
        self.label, self.bus, self.name, self.owner, self.gap = label, bus, name, owner, gap
        self._waiters: list[tuple[Callable[[Message], bool], asyncio.Future[float]]] = []
        bus.add_message_handler(self._on_message)

    def _on_message(self, msg: Message) -> None:
        if msg.message_type is not MessageType.SIGNAL or msg.sender != self.owner:
            return
        arrived = time.perf_counter()
        for waiter in list(self._waiters):
            check, future = waiter
            if not future.done() and check(msg):
                future.set_result(arrived)
                self._waiters.remove(waiter)

    def expect(self, check: Callable[[Message], bool]) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append((check, future))
        return future

    async def call(self, member: str, signature: str = "", *args: Any, iface: str = PLAYER) -> Any:
        reply = await dbus_call(self.bus, self.name, MPRIS_PATH, iface, member, signature, args)
        if reply.message_type is MessageType.ERROR:
            raise RuntimeError(f"{self.label}: {member}: {reply.error_name} {reply.body}")
        return reply.body

    async def get(self, prop: str) -> Any:
        return (await self.call("Get", "ss", PLAYER, prop, iface=PROPERTIES))[0].value

    async def set(self, prop: str, signature: str, value: Any) -> None:
        await self.call("Set", "ssv", PLAYER, prop, Variant(signature, value), iface=PROPERTIES)

    async def timed(self, member: str, signature: str, args: tuple, check: Any) -> float:
        """ms from sending `member` to the first signal `check` accepts."""
        await asyncio.sleep(self.gap)  # calls apart like key presses, not queued behind the last
        arrived = self.expect(check)
        sent = time.perf_counter()
        reply = asyncio.ensure_future(self.call(member, signature, *args))
        async with asyncio.timeout(10):
            at = await arrived
        await reply
        return (at - sent) * 1000


def changed(prop: str, accept: Callable[[Any], bool] = lambda v: True) -> Callable[..., bool]:
    def check(msg: Message) -> bool:
        return (
            msg.member == "PropertiesChanged"
            and msg.body[0] == PLAYER
            and prop in msg.body[1]
            and accept(msg.body[1][prop].value)
        )

    return check


def is_seeked(msg: Message) -> bool:
    return msg.member == "Seeked"


async def bench_playpause(player: Player, calls: int) -> list[float]:
    samples = []
    status = await player.get("PlaybackStatus")
    for _ in range(calls + WARMUP):
        want = "Paused" if status == "Playing" else "Playing"
        samples.append(
            await player.timed("PlayPause", "", (), changed("PlaybackStatus", want.__eq__))
        )
        status = want
    return samples[WARMUP:]


async def bench_next(player: Player, calls: int) -> list[float]:
    samples = []
    for _ in range(calls + WARMUP):
        url = (await player.get("Metadata")).get("xesam:url")
        now = url.value if url else None

        def new_track(meta: dict[str, Variant], before: Any = now) -> bool:
            return "xesam:url" in meta and meta["xesam:url"].value != before

        samples.append(await player.timed("Next", "", (), changed("Metadata", new_track)))
    return samples[WARMUP:]


async def bench_seek(player: Player, calls: int) -> list[float]:
    if await player.get("PlaybackStatus") == "Playing":
        await player.call("Pause")
    await asyncio.sleep(0.3)
    samples = []
    for i in range(calls + WARMUP):
        offset = 5_000_000 if i % 2 == 0 else -5_000_000
        samples.append(await player.timed("Seek", "x", (offset,), is_seeked))
    await player.call("Play")
    return samples[WARMUP:]


async def position_reads(player: Player, seconds: float = 2.0) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        await player.get("Position")
        count += 1
    return count / (time.perf_counter() - start)


@dataclass
class Results:
    playpause: list[float]
    next: list[float]
    seek: list[float]
    reads_per_second: float


async def measure(player: Player, calls: int) -> Results:
    await player.set("LoopStatus", "s", "Playlist")  # Next is always possible
    await asyncio.sleep(0.5)
    playpause = await bench_playpause(player, calls)
    if await player.get("PlaybackStatus") != "Playing":
        await player.call("Play")
    nexts = await bench_next(player, calls)
    seeks = await bench_seek(player, calls)
    return Results(playpause, nexts, seeks, await position_reads(player))


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[89], cuts[98]


# the two players -------------------------------------------------------------------


async def bus_call(bus: MessageBus, member: str, signature: str = "", *args: Any) -> list[Any]:
    """A call to the bus daemon itself."""
    message = Message(
        destination="org.freedesktop.DBus",
        path="/org/freedesktop/DBus",
        interface="org.freedesktop.DBus",
        member=member,
        signature=signature,
        body=list(args),
    )
    reply = await bus.call(message)
    assert reply is not None
    return reply.body


async def wait_name(bus: MessageBus, prefix: str, within: float = 20.0) -> tuple[str, str]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        (names,) = await bus_call(bus, "ListNames")
        found = [n for n in names if n == prefix or n.startswith(prefix + ".instance")]
        if found:
            (owner,) = await bus_call(bus, "GetNameOwner", "s", found[0])
            return found[0], owner
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{prefix} did not appear on the bus")


async def open_player(label: str, bus: MessageBus, prefix: str, gap: float) -> Player:
    name, owner = await wait_name(bus, prefix)
    rule = f"type='signal',sender='{owner}',path='{MPRIS_PATH}'"
    await bus_call(bus, "AddMatch", "s", rule)
    player = Player(label, bus, name, owner, gap)
    deadline = time.monotonic() + 20
    while not (await player.get("Metadata")).get("xesam:url"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{label} never loaded a track")
        await asyncio.sleep(0.05)
    return player


def start_headunit(tmp: Path, music: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    config = write_config(
        tmp / "headunit.toml",
        {
            "media": {"paths": [str(music)]},
            "player": {"audio_output": "null", "startup_volume_max": 100, "resume": "off"},
            "state": {"dir": str(tmp / "state")},
            "mpris": {"bus": "session", "name": "headunit"},
            "sources": {"players": []},  # mpv playing beside it must not make it yield
            "log": {"level": "warning"},
        },
    )
    with (tmp / "headunit.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "headunit", "run", "--config", str(config)],
            stdout=log, stderr=log, env=env, cwd=ROOT,
        )  # fmt: skip


def start_mpv(tmp: Path, tracks: list[Path], env: dict[str, str]) -> subprocess.Popen[bytes]:
    script = next((p for p in MPV_MPRIS if Path(p).exists()), None)
    if script is None:
        raise SystemExit("mpv-mpris is not installed (apt-get install mpv-mpris)")
    with (tmp / "mpv.log").open("wb") as log:
        return subprocess.Popen(
            [
                "mpv", "--idle=yes", "--ao=null", "--vo=null", "--no-config",
                "--no-terminal", "--loop-playlist=inf", f"--script={script}",
                *map(str, tracks),
            ],
            stdout=log, stderr=log, env=env,
        )  # fmt: skip


async def run_one(
    label: str,
    start: Callable[[], subprocess.Popen[bytes]],
    prefix: str,
    address: str,
    calls: int,
    gap: float,
) -> Results:
    proc = start()
    bus = await MessageBus(bus_address=address).connect()
    try:
        player = await open_player(label, bus, prefix, gap)
        return await measure(player, calls)
    finally:
        bus.disconnect()
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if proc.poll() is None:
            proc.kill()


def report(results: dict[str, Results], calls: int, gap: float) -> None:
    hu, mpv = results["headunit"], results["mpv-mpris"]
    print(
        f"\nMPRIS latency, {calls} calls each, {gap * 1000:g} ms apart"
        " (ms from call to the signal showing its effect)"
    )
    print(f"{'':22}{'headunit p50/p90/p99':>26}{'mpv-mpris p50/p90/p99':>28}{'ratio p50':>11}")
    for label, ours, theirs in (
        ("PlayPause->Status", hu.playpause, mpv.playpause),
        ("Next->Metadata", hu.next, mpv.next),
        ("Seek->Seeked", hu.seek, mpv.seek),
    ):
        a, b = percentiles(ours), percentiles(theirs)
        fmt = "{:7.2f} {:7.2f} {:7.2f}"
        print(f"{label:22}{fmt.format(*a):>26}{fmt.format(*b):>28}{b[0] / a[0]:>10.1f}x")
    print(
        f"{'Position reads/s':22}{hu.reads_per_second:>26.0f}{mpv.reads_per_second:>28.0f}"
        f"{hu.reads_per_second / mpv.reads_per_second:>10.2f}x (headunit/mpv)"
    )
    print("\nTargets (headunit):")
    for label, samples in (("PlayPause", hu.playpause), ("Next", hu.next)):
        p50, _, p99 = percentiles(samples)
        ok = p50 <= TARGET_P50 and p99 <= TARGET_P99
        print(f"  {label}: p50 {p50:.2f} <= {TARGET_P50} and p99 {p99:.2f} <= {TARGET_P99} ms: "
              f"{'met' if ok else 'NOT met'}")  # fmt: skip
    ours, theirs = percentiles(hu.seek)[0], percentiles(mpv.seek)[0]
    ok = ours <= theirs + SEEK_MARGIN
    print(f"  Seek: p50 {ours:.2f} within {SEEK_MARGIN} ms of mpv-mpris's {theirs:.2f}: "
          f"{'met' if ok else 'NOT met'}")  # fmt: skip


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{platform.node()}: {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="measured calls per method")
    parser.add_argument("--tracks", type=int, default=6)
    parser.add_argument(
        "--gap", type=float, default=GAP, help="seconds between calls (0: back to back)"
    )
    args = parser.parse_args()
    for tool in ("sox", "mpv", "dbus-daemon"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed")
    print(machine())
    with tempfile.TemporaryDirectory(prefix="mpris-bench-") as name:
        tmp = Path(name)
        music = tmp / "music"
        tracks = [
            make_tone(music / f"{n:02d}.flac", TRACK_SECONDS, 200.0 + 50 * n,
                      {"TITLE": f"Track {n}", "ARTIST": "Bench"}, rate=44100)
            for n in range(1, args.tracks + 1)
        ]  # fmt: skip
        bus = DBusDaemon(tmp / "bus")
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET",)}
        env |= {"DBUS_SESSION_BUS_ADDRESS": bus.address, "HOME": str(tmp)}
        try:
            runs: dict[str, tuple[Callable[[], subprocess.Popen[bytes]], str]] = {
                "headunit": (
                    lambda: start_headunit(tmp, music, env),
                    "org.mpris.MediaPlayer2.headunit",
                ),
                "mpv-mpris": (lambda: start_mpv(tmp, tracks, env), "org.mpris.MediaPlayer2.mpv"),
            }
            results = {}
            for label, (start, prefix) in runs.items():
                print(f"measuring {label}...", flush=True)
                results[label] = await run_one(
                    label, start, prefix, bus.address, args.calls, args.gap
                )
        finally:
            bus.stop()
    report(results, args.calls, args.gap)


if __name__ == "__main__":
    asyncio.run(main())
