"""Footprint of the daemon beside `mpv --idle` with Debian's mpv-mpris, in one run.

    /tmp/venv/bin/python bench/footprint.py [--seconds 60]

Both play the same generated tracks (FLAC, 44.1 kHz stereo) with null audio output,
resumed at track 2, 30 s in (headunit from its resume state file, mpv from
--playlist-start/--start), on a private session bus. Printed:

- time from process start to READY=1 (headunit; mpv has none) and to the MPRIS name,
- time from process start to audio playing (MPRIS Position advancing past 30 s),
- resident memory after `--seconds` of playing (VmRSS; libmpv is in-process in both),
- CPU seconds used over `--seconds` playing and over `--seconds` paused,
- messages the daemon sends to the backend (the reference backend, counted per
  Socket.IO event) per minute while playing and while paused.

Needs sox, mpv and mpv-mpris, dbus-daemon. The CPU figures are for this machine,
shared with whatever else runs: run it on an idle machine and read them as such.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support import DBusDaemon, dbus_call, write_config  # noqa: E402

from headunit.backend.auth import Verifier, mint  # noqa: E402
from headunit.backend.server import Backend, serve  # noqa: E402
from headunit.media import scan  # noqa: E402
from headunit.model import LoopMode  # noqa: E402
from headunit.resume import ResumeState  # noqa: E402
from headunit.store import Store  # noqa: E402

TRACKS = 4
TRACK_SECONDS = 400  # long enough for the resume point plus both windows
RESUME_AT = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MPRIS_PATH = "/org/mpris/MediaPlayer2"
PLAYER_IFACE = "org.mpris.MediaPlayer2.Player"
SECRET = "footprint bench secret, 32 bytes or more"


@dataclass
class Figures:
    name: str
    ready: float | None = None
    on_bus: float | None = None
    playing: float | None = None
    rss_mib: float = 0.0
    cpu_playing: float = 0.0
    cpu_paused: float = 0.0
    msgs_playing: float | None = None
    msgs_paused: float | None = None
    notes: list[str] = field(default_factory=list)


def make_tracks(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    tracks = []
    for n in range(1, TRACKS + 1):
        path = folder / f"{n:02d} Track {n}.flac"
        subprocess.run(
            [
                "sox",
                "-n",
                "-r",
                "44100",
                "-c",
                "2",
                "--add-comment",
                f"TITLE=Track {n}",
                str(path),
                "synth",
                str(TRACK_SECONDS),
                "sine",
                str(200 + 50 * n),
            ],
            check=True,
        )
        tracks.append(path)
    return tracks


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Mpris:
    """Raw MPRIS calls on the private bus (no introspection: the name may not exist yet)."""

    def __init__(self, bus: MessageBus, name: str) -> None:
        self.bus, self.name = bus, name

    async def call(self, interface: str, member: str, signature: str = "", body: Any = ()) -> Any:
        reply = await dbus_call(self.bus, self.name, MPRIS_PATH, interface, member, signature, body)
        if reply.message_type == MessageType.ERROR:
            return None
        return reply.body

    async def position(self) -> float | None:
        body = await self.call(
            "org.freedesktop.DBus.Properties", "Get", "ss", (PLAYER_IFACE, "Position")
        )
        return body[0].value / 1e6 if body else None

    async def pause(self) -> None:
        await self.call(PLAYER_IFACE, "Pause")


async def until(predicate: Callable[[], Awaitable[bool]], started: float, limit: float) -> float:
    """Seconds from `started` until `predicate` holds, polled every 5 ms."""
    while time.monotonic() - started < limit:
        if await predicate():
            return time.monotonic() - started
        await asyncio.sleep(0.005)
    raise TimeoutError("not within the limit")


async def name_owned(bus: MessageBus, name: str) -> bool:
    reply = await bus.call(
        Message(
            destination="org.freedesktop.DBus",
            path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus",
            member="NameHasOwner",
            signature="s",
            body=[name],
        )
    )
    return bool(reply and reply.body and reply.body[0])


async def window(pid: int, seconds: float, counter: Callable[[], int]) -> tuple[float, float]:
    """CPU seconds used by `pid`, and backend messages per minute, over `seconds`."""
    cpu, msgs = cpu_seconds(pid), counter()
    await asyncio.sleep(seconds)
    return cpu_seconds(pid) - cpu, (counter() - msgs) * 60 / seconds


async def measure(
    figures: Figures,
    proc: subprocess.Popen[bytes],
    started: float,
    mpris: Mpris,
    seconds: float,
    counter: Callable[[], int],
) -> None:
    figures.on_bus = await until(lambda: name_owned(mpris.bus, mpris.name), started, 30)

    async def past_resume_point() -> bool:
        position = await mpris.position()
        return position is not None and position > RESUME_AT + 0.05

    figures.playing = await until(past_resume_point, started, 30)
    await asyncio.sleep(2)  # past start-up work (scan, first save) before the windows
    figures.cpu_playing, figures.msgs_playing = await window(proc.pid, seconds, counter)
    figures.rss_mib = rss_mib(proc.pid)
    await mpris.pause()
    await asyncio.sleep(1)
    figures.cpu_paused, figures.msgs_paused = await window(proc.pid, seconds, counter)


async def run_headunit(
    tmp: Path, music: Path, env: dict[str, str], bus: MessageBus, seconds: float, python: str
) -> Figures:
    figures = Figures("headunit")
    backend = Backend(Verifier(SECRET, "HS256"))
    sent = [0]
    for event, handler in list(backend.sio.handlers["/"].items()):
        if event not in ("connect", "disconnect"):
            backend.sio.on(event, counted(handler, sent))
    running = await serve(backend)
    token = tmp / "token"
    token.write_text(mint(SECRET, 1))
    token.chmod(0o600)
    state = tmp / "state"
    save_resume_state(state, music)
    config = write_config(
        tmp / "headunit.toml",
        {
            "media": {"paths": [str(music)]},
            "player": {"audio_output": "null", "resume": "play"},
            "state": {"dir": str(state)},
            "mpris": {"bus": "session", "name": "headunit"},
            "backend": {"url": running.url, "token_file": str(token)},
        },
    )
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    address = f"headunit-bench-{uuid.uuid4().hex}"
    notify.bind("\0" + address)
    notify.setblocking(False)
    log = (tmp / "headunit.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [python, "-m", "headunit", "run", "--config", str(config)],  # this tree's code (cwd)
        env=env | {"NOTIFY_SOCKET": "@" + address},
        stdout=log,
        stderr=log,
        cwd=ROOT,
    )
    try:
        loop = asyncio.get_running_loop()
        while b"READY=1" not in await asyncio.wait_for(loop.sock_recv(notify, 4096), 30):
            pass
        figures.ready = time.monotonic() - started
        await measure(figures, proc, started, Mpris(bus, "org.mpris.MediaPlayer2.headunit"),
                      seconds, lambda: sent[0])  # fmt: skip
    finally:
        stop(proc)
        notify.close()
        log.close()
        await running.stop()
    return figures


def counted(handler: Callable[..., Any], sent: list[int]) -> Callable[..., Any]:
    async def count(*args: Any) -> Any:
        sent[0] += 1
        result = handler(*args)
        return await result if asyncio.iscoroutine(result) else result

    return count


def save_resume_state(state: Path, music: Path) -> None:
    """What a previous run left: track 2 of the folder, 30 s in, playing."""
    uris = scan([str(music)])
    order = list(range(len(uris)))
    Store(state).save(
        ResumeState(
            uris=uris,
            order=order,
            position_in_order=1,
            position=RESUME_AT,
            volume=50.0,
            shuffle=False,
            loop=LoopMode.NONE,
            paused=False,
        )
    )


async def run_mpv(
    tmp: Path, tracks: list[Path], env: dict[str, str], bus: MessageBus, seconds: float
) -> Figures:
    figures = Figures("mpv + mpv-mpris")
    log = (tmp / "mpv.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            "mpv",
            "--idle=yes",
            "--ao=null",
            "--vo=null",
            "--no-terminal",
            "--playlist-start=1",
            f"--start={RESUME_AT:g}",
            *map(str, tracks),
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        await measure(figures, proc, started, Mpris(bus, "org.mpris.MediaPlayer2.mpv"), seconds,
                      lambda: 0)  # fmt: skip
    finally:
        stop(proc)
        log.close()
    figures.msgs_playing = figures.msgs_paused = None
    figures.notes.append("mpv has no READY=1 and no backend")
    return figures


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def show(value: float | None, unit: str, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} {unit}"


def report(ours: Figures, mpv: Figures, seconds: float) -> None:
    rows = [
        ("process start -> READY=1", show(ours.ready, "s"), show(mpv.ready, "s")),
        ("process start -> MPRIS name", show(ours.on_bus, "s"), show(mpv.on_bus, "s")),
        ("process start -> playing (resumed)", show(ours.playing, "s"), show(mpv.playing, "s")),
        (f"RSS after {seconds:g} s playing", show(ours.rss_mib, "MiB", 1),
         show(mpv.rss_mib, "MiB", 1)),
        (f"CPU over {seconds:g} s playing", show(ours.cpu_playing, "s"),
         show(mpv.cpu_playing, "s")),
        (f"CPU over {seconds:g} s paused", show(ours.cpu_paused, "s"), show(mpv.cpu_paused, "s")),
        ("backend messages/min playing", show(ours.msgs_playing, "", 1),
         show(mpv.msgs_playing, "", 1)),
        ("backend messages/min paused", show(ours.msgs_paused, "", 1),
         show(mpv.msgs_paused, "", 1)),
    ]  # fmt: skip
    print(f"| measure | {ours.name} | {mpv.name} |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    paused_pct = 100 * ours.cpu_paused / seconds
    playing_gap = 100 * (ours.cpu_playing - mpv.cpu_playing) / seconds
    print()
    print("targets:")
    print(f"  READY within 1.0 s: {ours.ready:.2f} s -> {verdict(ours.ready or 99, 1.0)}")
    print(f"  playing within 1.5 s: {ours.playing:.2f} s -> {verdict(ours.playing or 99, 1.5)}")
    extra = ours.rss_mib - mpv.rss_mib
    print(f"  RSS within mpv+mpv-mpris + 30 MB: +{extra:.1f} MiB -> {verdict(extra, 30)}")
    print(f"  paused CPU under 0.2% of a core: {paused_pct:.3f}% -> {verdict(paused_pct, 0.2)}")
    print(
        f"  playing CPU within 2 points of mpv's: {playing_gap:+.2f} points "
        f"-> {verdict(playing_gap, 2.0)}"
    )
    for note in ours.notes + mpv.notes:
        print(f"  note: {note}")


def verdict(value: float, limit: float) -> str:
    return "met" if value <= limit else "MISSED"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each window")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter that runs the daemon, e.g. /opt/headunit/venv/bin/python "
        "(a car install: no dev/test packages such as redis or cryptography)",
    )
    args = parser.parse_args()
    for tool in ("sox", "mpv", "dbus-daemon"):
        if shutil.which(tool) is None:
            sys.exit(f"footprint: {tool} is needed")
    with tempfile.TemporaryDirectory(prefix="footprint-") as name:
        tmp = Path(name)
        tracks = make_tracks(tmp / "music")
        dbus = DBusDaemon(tmp / "bus")
        home = tmp / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")}
        env |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "DBUS_SESSION_BUS_ADDRESS": dbus.address}  # fmt: skip
        bus = await MessageBus(bus_address=dbus.address).connect()
        try:
            ours = await run_headunit(tmp, tmp / "music", env, bus, args.seconds, args.python)
            mpv = await run_mpv(tmp, tracks, env, bus, args.seconds)
        finally:
            bus.disconnect()
            dbus.stop()
        print(
            f"footprint: {TRACKS} FLAC tracks of {TRACK_SECONDS} s, resumed at track 2, "
            f"{RESUME_AT:g} s; windows of {args.seconds:g} s; {os.cpu_count()} CPUs; "
            f"daemon run by {args.python}\n"
        )
        report(ours, mpv, args.seconds)


if __name__ == "__main__":
    asyncio.run(main())
