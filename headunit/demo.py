"""`headunit demo`: the daemon's main job on an embedded default, for a first run.

No car, no media and no backend needed: it makes three short tracks, uses a private
session bus when there is none, plays the queue once through mpv (silently where
there is no sound card) and prints each change and what to try meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headunit import buses, logs
from headunit.component import Component, Context
from headunit.config import BackendConfig, Config, MediaConfig, PlayerConfig, StateConfig
from headunit.state import PlayerState, Status

if TYPE_CHECKING:
    from headunit.backend.local import LocalBackend

TRACKS = (("A4", 440.0, "Dawn Chorus"), ("C5", 523.25, "Open Road"), ("E5", 659.25, "Last Exit"))
RATE = 22050


def make_tracks(folder: Path, seconds: float) -> list[Path]:
    """Three tagged FLAC tracks with sox when it is installed, else plain WAV."""
    folder.mkdir(parents=True, exist_ok=True)
    sox = shutil.which("sox")
    made = []
    for number, (note, freq, title) in enumerate(TRACKS, 1):
        name = f"{number:02d} {title}"
        if sox:
            path = folder / f"{name}.flac"
            tags = [f"TITLE={title}", "ARTIST=headunit", "ALBUM=Demo", f"TRACKNUMBER={number}"]
            cmd = [sox, "-n", "-r", str(RATE), "-c", "1", *_comments(tags), str(path)]
            subprocess.run([*cmd, "synth", str(seconds), "sine", str(freq)], check=True)
        else:
            path = folder / f"{name} ({note}).wav"
            _write_wav(path, freq, seconds)
        made.append(path)
    return made


def _comments(tags: list[str]) -> list[str]:
    return [arg for tag in tags for arg in ("--add-comment", tag)]


def _write_wav(path: Path, freq: float, seconds: float) -> None:
    frames = int(RATE * seconds)
    samples = (int(8000 * math.sin(2 * math.pi * freq * i / RATE)) for i in range(frames))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))


def private_bus(run_dir: Path) -> subprocess.Popen[str] | None:
    """Start a session dbus-daemon when the environment has no session bus we can reach
    (a stale address, from an ssh session whose bus is gone, counts as none)."""
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        stale = asyncio.run(buses.problem("session"))
        if stale is None:
            return None
        print(f"headunit demo: {stale}; starting a private one", file=sys.stderr)
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        print("no session bus and no dbus-daemon: MPRIS is off for this demo", file=sys.stderr)
        return None
    proc = subprocess.Popen(
        [daemon, "--session", "--nofork", "--print-address=1", f"--address=unix:dir={run_dir}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # it warns about fd limits it may not raise as a user
        text=True,
    )
    assert proc.stdout is not None
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = proc.stdout.readline().strip()
    return proc


@dataclass
class Narrator:
    """Prints each change of track and status; ends the demo when the queue is done."""

    context: Context
    played: bool = False

    async def start(self) -> None:
        self.context.controller.subscribe(self)
        self.state_changed(self.context.controller.state, frozenset({"status"}))

    async def stop(self) -> None:
        self.context.controller.unsubscribe(self)

    def state_changed(self, state: PlayerState, changed: frozenset[str]) -> None:
        if not changed & {"status", "track"}:
            return
        if state.track is not None:
            self.played = True
            artist = f" - {', '.join(state.track.artist)}" if state.track.artist else ""
            length = f" ({state.track.duration:.0f} s)" if state.track.duration else ""
            print(f"  {state.status:<8} {state.track.title}{artist}{length}", flush=True)
        elif state.status is Status.STOPPED and self.played:
            print("  queue finished: the demo is over.", flush=True)
            self.context.request_shutdown()

    def seeked(self, state: PlayerState) -> None:
        print(f"  seeked to {state.position:.1f} s", flush=True)


def _narrator(context: Context) -> Component:
    return Narrator(context)


def demo_config(
    media: Path, state: Path, audio_output: str, backend: LocalBackend | None
) -> Config:
    link = BackendConfig()
    if backend is not None:
        link = BackendConfig(
            url=backend.url, token_file=backend.token_file, device_name="headunit demo"
        )
    return Config(
        media=MediaConfig(paths=(str(media),)),
        player=PlayerConfig(audio_output=audio_output, startup_volume_max=60, resume="off"),
        state=StateConfig(dir=state),
        backend=link,
    )


HINTS = """\
headunit demo: playing {count} generated tracks through mpv (audio output: {ao}).
While it plays, from another terminal:
{bus}  headunit status            # what is playing, as MPRIS shows it
  headunit next | pause | play | seek +5
  playerctl -p headunit metadata   # any MPRIS client works (steering-wheel keys, Bluetooth)
{phone}Ctrl-C stops it.
"""
PHONE = """A reference backend runs on {url}; open the phone page in a browser:
  {page}
or skip the track as the driver's phone would:
  {curl}
"""


def audio_output(requested: str) -> str:
    """ "auto" on a machine with no sound card nor sound server means silence: say so
    once instead of letting ALSA complain at every track."""
    if requested != "auto":
        return requested
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent"))
    servers = (runtime / "pulse" / "native", runtime / "pipewire-0")
    if Path("/dev/snd").exists() or any(p.exists() for p in servers):
        return requested
    return "null"


def main(args: argparse.Namespace) -> int:
    logs.setup("warning" if not args.verbose else "info")
    ao = audio_output(args.audio_output)

    work = Path(tempfile.mkdtemp(prefix="headunit-demo-"))
    bus = private_bus(work)
    try:
        tracks = make_tracks(work / "music", args.seconds)
        export = (
            f"  export DBUS_SESSION_BUS_ADDRESS='{os.environ['DBUS_SESSION_BUS_ADDRESS']}'\n"
            if bus
            else ""
        )
        shown = ao if ao == args.audio_output else "null: no sound card found, playing silently"
        hints = {"count": len(tracks), "ao": shown, "bus": export}
        return asyncio.run(_play(work, ao, hints, with_backend=not args.no_backend))
    finally:
        if bus is not None:
            bus.terminate()
            bus.wait()
        shutil.rmtree(work, ignore_errors=True)


async def _play(work: Path, ao: str, hints: dict[str, Any], with_backend: bool) -> int:
    """The daemon on the demo tracks, beside a reference backend on loopback."""
    from headunit import daemon

    backend = None
    if with_backend:
        from headunit.backend.local import start_local

        backend = await start_local(work / "backend")
    phone = (
        PHONE.format(url=backend.url, page=backend.page_url(), curl=backend.curl("next"))
        if backend
        else ""
    )
    print(HINTS.format(**hints, phone=phone), flush=True)
    config = demo_config(work / "music", work / "state", ao, backend)
    skipped = _SkipCounter()
    logging.getLogger("headunit.player").addHandler(skipped)
    try:
        status = await daemon.run(config, (*daemon.PARTS, daemon.Part("demo", (), _narrator)))
    finally:
        logging.getLogger("headunit.player").removeHandler(skipped)
        if backend is not None:
            await backend.stop()
    if status == 0 and skipped.count:
        # The queue "finished", but by skipping what mpv could not play: not a demo.
        print(f"headunit demo: {skipped.count} track(s) could not be played", file=sys.stderr)
        return 1
    return status


class _SkipCounter(logging.Handler):
    """Counts the tracks the player skipped as unplayable (it logs each one)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("skipped "):
            self.count += 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("demo", help="play generated tracks: a first run, no setup")
    p.add_argument("--seconds", type=float, default=8.0, help="length of each track")
    p.add_argument("--audio-output", default="auto", help='mpv ao ("null" for silence)')
    p.add_argument("--verbose", action="store_true", help="log what the daemon does")
    p.add_argument("--no-backend", action="store_true", help="no reference backend beside it")
    p.set_defaults(func=main)
