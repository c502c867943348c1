"""Gapless playback, measured: the silence at each join between files, recorded for real.

    .venv/bin/python bench/gapless.py [--checkout PATH] [--files 4] [-v]
                                      [--mpv-option gapless-audio=yes ...]

A private PipeWire (tests/support.py: pipewire, wireplumber, pipewire-pulse, a null sink
at 48 kHz) is started; `headunit run` (from `--checkout`, default this one: point it at
another worktree to measure another version) plays, with audio_output = "pipewire", a
queue of FLAC files cut from one continuous 440 Hz tone, while the sink's monitor is
recorded in real time with parec. Any run of more than 2 near-silent samples inside the
tone is a hole (a sine crosses zero within a sample or two); the tone lost is how much
shorter it came out than the files are (an output reopened at a join drops some). The
sink runs a large quantum (85 ms) so that a busy machine rarely underruns it: holes away
from the joins (-v shows where) are such underruns. Two queues: every file at 48 kHz stereo
(the same format), and files alternating 44.1 kHz and 48 kHz (a sample-rate change).
Needs sox, pipewire, wireplumber, pipewire-pulse, pulseaudio-utils and numpy.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support import PipeWire, cut_tone, read_recording, silences, write_config  # noqa: E402

VERBOSE = "-v" in sys.argv


@dataclass
class Result:
    holes: list[tuple[float, int]]  # (seconds into the tone, silent samples), > 2 samples
    lost: float  # seconds of the tone that never came out (a reopened output drops some)


def measure(samples: Any, rate: int, expected: float) -> Result:
    import numpy

    loud = numpy.flatnonzero(numpy.abs(samples) >= 0.01)
    start, stop = int(loud[0]), int(loud[-1]) + 1
    holes = [(at, n) for at, n in silences(samples) if n > 2]
    silent = sum(n for _, n in holes)
    played = (stop - start - silent) / rate
    return Result([(round((at - start) / rate, 3), n) for at, n in holes], expected - played)


def report(case: str, result: Result, rate: int, joins: int) -> None:
    longest = max((n for _, n in result.holes), default=0)
    print(
        f"{case}: {len(result.holes)} holes over {joins} joins, longest {longest} samples "
        f"({longest / rate * 1000:.1f} ms); tone lost: {result.lost * 1000:.0f} ms"
    )
    if VERBOSE:
        print("  holes (s into the tone, samples):", result.holes)


def play(
    pw: PipeWire, checkout: Path, files: list[Path], tmp: Path, mpv_options: dict[str, str]
) -> object:
    player = {"audio_output": "pipewire", "startup_volume_max": 100, "resume": "off"}
    if mpv_options:  # only then: an older checkout does not know the key
        player["mpv_options"] = mpv_options
    sections = {
        "media": {"paths": [str(f) for f in files]},
        "player": player,
        "state": {"dir": str(tmp / "state")},
    }
    config = write_config(tmp / "config.toml", sections)
    recording = tmp / "recording.raw"
    recorder = pw.record(recording)
    env = {**pw.env, "PYTHONPATH": str(checkout), "HOME": str(tmp)}
    log = (tmp / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "headunit", "run", "--config", str(config)],
        env=env,
        stdout=log,
        stderr=log,
        cwd=checkout,
    )
    time.sleep(len(files) * 2.0 + 4)  # the files' length at least, then some
    daemon.terminate()
    daemon.wait(timeout=10)
    recorder.terminate()
    recorder.wait(timeout=10)
    return read_recording(recording)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkout", type=Path, default=ROOT)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("-v", action="store_true", help="print every hole")
    parser.add_argument("--mpv-option", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    seconds = 2.0
    options = dict(o.split("=", 1) for o in args.mpv_option)
    with tempfile.TemporaryDirectory(prefix="headunit-gapless-") as name:
        tmp = Path(name)
        pw = PipeWire(tmp / "pipewire")
        try:
            print(f"checkout: {args.checkout}; mpv options: {options or 'none'}")
            print(f"PipeWire null sink at {pw.RATE} Hz; {args.files} files of {seconds:g} s")
            cases = {
                "same format (48 kHz)": [48000] * args.files,
                "44.1 <-> 48 kHz": [44100 if n % 2 == 0 else 48000 for n in range(args.files)],
            }
            for case, rates in cases.items():
                folder = tmp / case.split()[0]
                folder.mkdir()
                files = cut_tone(folder, rates, seconds)
                samples = play(pw, args.checkout.resolve(), files, folder, options)
                result = measure(samples, pw.RATE, len(files) * seconds)
                report(case, result, pw.RATE, len(files) - 1)
        finally:
            pw.close()


if __name__ == "__main__":
    main()
