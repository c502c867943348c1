"""A big library: start-up, `headunit queue`, memory and resume-state writes at 20,000 files.

    .venv/bin/python bench/library.py [--files 20000] [--seconds 60] [--checkout PATH]

Builds a tree of `--files` tracks (200 folders; a few generated 20-second FLAC files,
hardlinked) and a 3-track library, and runs the daemon on each (null audio output, a
private session bus, no resume state at first). Printed, for both libraries:

- process start -> sound: until MPRIS Position has advanced past 0 while Playing,
- `headunit queue --json`: the CLI's wall time (a Python start included) and the
  D-Bus List call alone,
- resident memory (VmRSS) after 5 s of playing, and again once the queue was listed,
- bytes written into `state.dir` while playing for `--seconds` (every new version of
  every file there, seen by inotify as it is renamed into place), as MB per hour.

`--checkout` runs another checkout's daemon (main, say) for a before/after figure;
its `headunit queue` may not exist, and is then reported as missing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from asyncinotify import Inotify, Mask
from dbus_fast.aio import MessageBus
from footprint import PLAYER_IFACE, Mpris, rss_mib, until

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support import DBusDaemon, daemon_env, make_tone, write_config  # noqa: E402

FOLDERS = 200
NAME = "org.mpris.MediaPlayer2.headunit"
QUEUE_IFACE = "com.headunit.Queue"


@dataclass
class Figures:
    files: int
    sound: float = 0.0
    queue_cli: float | None = None
    queue_call: float | None = None
    rss_mib: float = 0.0
    rss_after_list_mib: float = 0.0
    mb_per_hour: float = 0.0
    versions: int = 0


def make_library(folder: Path, files: int, sources: list[Path]) -> Path:
    per_folder = max(1, -(-files // FOLDERS))
    for n in range(files):
        target = folder / f"Album {n // per_folder:03d}" / f"{n % per_folder + 1:03d} Track.flac"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(sources[n % len(sources)], target)
    return folder


async def writes(state: Path, seconds: float) -> tuple[int, int]:
    """Bytes and file versions renamed into `state` over `seconds` (atomic writes)."""
    total = versions = 0
    with Inotify() as inotify:
        inotify.add_watch(state, Mask.MOVED_TO | Mask.CLOSE_WRITE)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = await asyncio.wait_for(inotify.get(), left)
            except TimeoutError:
                break
            if event.name is None or event.name.name.startswith("."):
                continue  # the temporary file: counted once, as it is renamed
            if event.mask & Mask.MOVED_TO or event.mask & Mask.CLOSE_WRITE:
                try:
                    total += (state / event.name).stat().st_size
                    versions += 1
                except FileNotFoundError:
                    pass
    return total, versions


async def timed_queue(env: dict[str, str], python: str, checkout: Path) -> float | None:
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        python, "-m", "headunit", "queue", "--json", env=env, cwd=checkout,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    return time.monotonic() - started if await proc.wait() == 0 else None


async def run(
    tmp: Path, music: Path, files: int, seconds: float, bus: DBusDaemon, checkout: Path
) -> Figures:
    figures = Figures(files)
    state = tmp / f"state-{files}"
    state.mkdir()
    config = write_config(
        tmp / f"config-{files}.toml",
        {
            "media": {"paths": [str(music)]},
            "player": {"audio_output": "null"},
            "state": {"dir": str(state)},
            "mpris": {"bus": "session", "name": "headunit"},
            "backend": {"url": ""},
        },
    )
    env = daemon_env(bus.address, tmp) | {"HEADUNIT_CONFIG": str(config)}
    client = await MessageBus(bus_address=bus.address).connect()
    mpris = Mpris(client, NAME)
    log = (tmp / f"daemon-{files}.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "headunit", "run", "--config", str(config)],
        env=env, stdout=log, stderr=log, cwd=checkout,
    )  # fmt: skip
    try:

        async def sounding() -> bool:
            position = await mpris.position()
            return position is not None and position > 0

        figures.sound = await until(sounding, started, 60)
        await asyncio.sleep(max(0.0, 5 - (time.monotonic() - started)))
        figures.rss_mib = rss_mib(proc.pid)
        figures.queue_cli = await timed_queue(env, sys.executable, checkout)
        call_started = time.monotonic()
        if await mpris.call(QUEUE_IFACE, "List") is not None:
            figures.queue_call = time.monotonic() - call_started
        figures.rss_after_list_mib = rss_mib(proc.pid)
        total, figures.versions = await writes(state, seconds)
        figures.mb_per_hour = total * 3600 / seconds / 1e6
        await mpris.call(PLAYER_IFACE, "Pause")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        client.disconnect()
    return figures


def show(value: float | None, scale: float = 1000, unit: str = "ms") -> str:
    return "missing" if value is None else f"{value * scale:.0f} {unit}"


def report(small: Figures, big: Figures, seconds: float, checkout: Path) -> None:
    print(f"\nheadunit library bench ({checkout}), {seconds:g} s of playing per library\n")
    print(f"| figure | {small.files} files | {big.files} files | limit |")
    print("|---|---|---|---|")
    print(f"| process start -> sound | {show(small.sound)} | {show(big.sound)} | 1500 ms |")
    print(
        f"| `headunit queue --json` (CLI wall time) | {show(small.queue_cli)} "
        f"| {show(big.queue_cli)} | 500 ms |"
    )
    print(f"| D-Bus List call alone | {show(small.queue_call)} | {show(big.queue_call)} | |")
    print(
        f"| VmRSS after 5 s | {small.rss_mib:.1f} MiB | {big.rss_mib:.1f} MiB "
        f"| +15 MB: {big.rss_mib - small.rss_mib:+.1f} MiB |"
    )
    print(
        f"| VmRSS after the queue was listed | {small.rss_after_list_mib:.1f} MiB "
        f"| {big.rss_after_list_mib:.1f} MiB | |"
    )
    print(
        f"| written into state.dir | {small.mb_per_hour:.3f} MB/h ({small.versions} versions) "
        f"| {big.mb_per_hour:.3f} MB/h ({big.versions} versions) | 5 MB/h |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the daemon to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="headunit-library-") as name:
        tmp = Path(name)
        sources = [
            make_tone(tmp / "src" / f"{n}.flac", 20, 220.0 + 40 * n, {"TITLE": f"Tone {n}"})
            for n in range(4)
        ]
        small = make_library(tmp / "small", 3, sources)
        big = make_library(tmp / "big", args.files, sources)
        bus = DBusDaemon(tmp / "bus")
        try:
            figures = [
                await run(tmp, music, files, args.seconds, bus, args.checkout.resolve())
                for music, files in ((small, 3), (big, args.files))
            ]
        finally:
            bus.stop()
    report(*figures, args.seconds, args.checkout)


if __name__ == "__main__":
    asyncio.run(main())
