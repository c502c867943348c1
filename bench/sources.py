"""One source at a time: how fast headunit yields to the phone and takes back over.

    .venv/bin/python bench/sources.py [--runs 20]

The real daemon (mpv with ao=null, MPRIS on a private session bus) plays a generated
60 s track; a fake phone player shaped like BlueZ's mpris-proxy (tests/fake_players.py:
there is no Bluetooth radio here) joins the bus in this process. Per run:

- yield:     the phone signals PlaybackStatus=Playing -> headunit's MPRIS signals
             PlaybackStatus=Paused
- take-back: the phone leaves the bus (a phone driving out of range: its connection
             closes) -> headunit's MPRIS signals PlaybackStatus=Playing

The clock stops when a D-Bus client of the private bus receives headunit's signal.
Targets (issue 16): yield p50 <= 0.5 s, take-back <= 2 s. Needs sox and dbus-daemon.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]

from fake_players import FakePlayer  # noqa: E402
from mpris_latency import bus_call  # noqa: E402
from support import (  # noqa: E402
    DaemonProcess,
    DBusDaemon,
    async_wait_for,
    daemon_env,
    make_tone,
    write_config,
)

NAME, MPRIS_PATH = "org.mpris.MediaPlayer2.headunit", "/org/mpris/MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
TARGET_YIELD, TARGET_TAKE_BACK = 0.5, 2.0  # seconds


class Statuses:
    """headunit's PlaybackStatus signals, with their arrival times."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str]] = []
        self.arrived = asyncio.Event()
        self.owner = ""

    def on_message(self, msg: Message) -> None:
        if msg.message_type is not MessageType.SIGNAL or msg.sender != self.owner:
            return
        if msg.member == "PropertiesChanged" and msg.body[0] == PLAYER:
            status = msg.body[1].get("PlaybackStatus")
            if status is not None:
                self.seen.append((time.perf_counter(), status.value))
                self.arrived.set()

    async def next(self, since: int, status: str, within: float = 10.0) -> float:
        """When the first `status` signal after index `since` arrived."""
        index = since
        async with asyncio.timeout(within):
            while True:
                while index < len(self.seen):
                    at, seen = self.seen[index]
                    index += 1
                    if seen == status:
                        return at
                self.arrived.clear()
                await self.arrived.wait()


def start_daemon(tmp: Path, bus: str) -> DaemonProcess:
    config = write_config(
        tmp / "config.toml",
        {
            "media": {"paths": [str(tmp / "music")]},
            "player": {"audio_output": "null"},
            "state": {"dir": str(tmp / "state")},
        },
    )
    return DaemonProcess(config, tmp / "daemon.log", daemon_env(bus, tmp)).start(wait_ready=False)


async def watch_headunit(address: str) -> tuple[MessageBus, Statuses]:
    bus = await MessageBus(bus_address=address).connect()
    statuses = Statuses()
    bus.add_message_handler(statuses.on_message)
    await bus_call(bus, "AddMatch", "s", f"type='signal',path='{MPRIS_PATH}'")

    async def started() -> bool:
        return bool((await bus_call(bus, "NameHasOwner", "s", NAME))[0])

    await async_wait_for(started, within=20, what="headunit on the bus")
    statuses.owner = (await bus_call(bus, "GetNameOwner", "s", NAME))[0]
    return bus, statuses


async def one_run(address: str, statuses: Statuses) -> tuple[float, float]:
    phone = await FakePlayer.phone().join(address)
    await asyncio.sleep(0.2)  # the daemon has read the new player (its first GetAll)
    since = len(statuses.seen)
    start = time.perf_counter()
    phone.player.play()
    yielded = await statuses.next(since, "Paused") - start
    await asyncio.sleep(0.2)
    since = len(statuses.seen)
    start = time.perf_counter()
    await phone.leave()
    taken_back = await statuses.next(since, "Playing") - start
    await asyncio.sleep(0.2)
    return yielded, taken_back


def describe(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    ms = [x * 1000 for x in (cuts[49], cuts[89], max(samples))]
    return "p50 {:7.1f}  p90 {:7.1f}  max {:7.1f} ms".format(*ms)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="headunit-sources-") as name:
        tmp = Path(name)
        await asyncio.to_thread(make_tone, tmp / "music" / "Car Song.flac", 60.0)
        dbus = DBusDaemon(tmp / "bus")
        daemon = start_daemon(tmp, dbus.address)
        try:
            bus, statuses = await watch_headunit(dbus.address)
            await asyncio.sleep(1.0)  # playing, and the daemon's parts are up
            runs = [await one_run(dbus.address, statuses) for _ in range(args.runs)]
            bus.disconnect()
        finally:
            daemon.stop()
            dbus.stop()
    yields, take_backs = [r[0] for r in runs], [r[1] for r in runs]
    print(f"{platform.node()}, Python {platform.python_version()}, {args.runs} runs")
    print(f"yield     (phone plays -> headunit Paused):  {describe(yields)}")
    print(f"take-back (phone leaves -> headunit Playing): {describe(take_backs)}")
    ok = statistics.median(yields) <= TARGET_YIELD and max(take_backs) <= TARGET_TAKE_BACK
    print(f"targets: yield p50 <= {TARGET_YIELD} s, take-back <= {TARGET_TAKE_BACK} s:", ok)


if __name__ == "__main__":
    asyncio.run(main())
