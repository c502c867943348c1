"""Memory of the player looping over a broken file, in one run.

    .venv/bin/python bench/broken_loop.py [--seconds 150] [--warm-up 30] [--checkout PATH]

The real player (libmpv, null audio output, the daemon's mpv options: prefetching the
next entry on) plays a looping queue of one short good track and one broken file (a
.flac of random bytes), for `--seconds`. Printed every 5 s: the process's resident
memory (VmRSS) and how many times the broken file was skipped so far; then the growth
after the warm-up and the peak. Each pass that opens or prefetches the broken file again shows in
both. `--checkout` picks the headunit to measure (another worktree, to compare).
Needs sox.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVERY = 5.0


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def make_media(folder: Path) -> list[str]:
    good = folder / "1 good.flac"
    subprocess.run(
        ["sox", "-n", "-r", "44100", "-c", "2", str(good), "synth", "2", "sine", "440"],
        check=True,
    )
    broken = folder / "2 broken.flac"
    broken.write_bytes(os.urandom(2 * 1024 * 1024))
    return [str(good), str(broken)]


async def measure(uris: list[str], art: Path, seconds: float, warm_up: float) -> None:
    from headunit.config import PlayerConfig
    from headunit.demo import _SkipCounter  # counts the player's "skipped" lines
    from headunit.model import Command, CommandName
    from headunit.player import Player
    from headunit.resume import plan

    skips = _SkipCounter()
    logging.getLogger("headunit").setLevel(logging.WARNING)
    logging.getLogger("headunit").propagate = False  # the figures alone on the terminal
    logging.getLogger("headunit").addHandler(skips)
    player = Player(PlayerConfig(audio_output="null"), plan(None, uris, "play"), art_dir=art)
    await player.start()
    await player.execute(Command(CommandName.LOOP, "playlist"))
    began = time.monotonic()
    warm: tuple[int, int] | None = None
    peak = rss = 0
    try:
        while (elapsed := time.monotonic() - began) < seconds:
            await asyncio.sleep(EVERY)
            elapsed = time.monotonic() - began
            rss = rss_kib()
            peak = max(peak, rss)
            print(f"{elapsed:5.0f} s  RSS {rss / 1024:6.1f} MB  skipped {skips.count}", flush=True)
            if warm is None and elapsed >= warm_up:
                warm = (rss, skips.count)
    finally:
        await player.close()
    if warm is not None:
        # The last sample while it played: closing the player gives mpv's memory back.
        skipped = skips.count
        print(
            f"after the {warm_up:g} s warm-up: RSS {warm[0] / 1024:.1f} -> {rss / 1024:.1f} MB "
            f"({(rss - warm[0]) / 1024:+.1f}), peak {peak / 1024:.1f} MB; the broken file "
            f"skipped {skipped - warm[1]} more times"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=150.0)
    parser.add_argument("--warm-up", type=float, default=30.0)
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the headunit to measure")
    args = parser.parse_args()
    sys.path.insert(0, str(args.checkout.resolve()))
    print(f"broken_loop: {args.seconds:g} s, checkout {args.checkout}", flush=True)
    with tempfile.TemporaryDirectory(prefix="headunit-broken-") as name:
        folder = Path(name)
        asyncio.run(measure(make_media(folder), folder / "art", args.seconds, args.warm_up))
    return 0


if __name__ == "__main__":
    sys.exit(main())
