"""A chaos drive: the real daemon through everything a car does to it, checked all along.

    .venv/bin/python bench/soak.py [--seed N] [--minutes 5] [--checkout PATH]

`headunit run` (from `--checkout`, default this one) plays, with audio_output =
"pipewire" and the queue looping, a local folder of generated tracks with one corrupt
file among them and two sticks: one bind-mounted (pulled with `umount -l`) and one on
the yanked-stick filesystem (tests/fusestick.py: EIO, then unmounted 1 to 3 s later).
A private PipeWire (tests/support.py) has its null sink's monitor recorded live; the
daemon's MPRIS is on a private dbus-daemon. Random actions, drawn from `--seed` (the
same seed replays the same actions): skips and rapid double skips, seeks to just
before the end (joins), jumps, pause/play, SIGHUP, sticks pulled and plugged back,
PipeWire stopped or SIGKILLed and restarted, the daemon SIGKILLed and restarted.

All along, every half second (over MPRIS, with playerctl) the invariants are checked:
intent playing means MPRIS Playing, a position that advances and sound on the sink;
intent paused means Paused; after a SIGKILL the same track within 6 s of where it was;
after a pull of the stick whose track plays, the saved state (state.json) keeps that
track within 6 s of where it was until the stick is plugged back, and then it plays
again from there. An action that takes the sound away for a while (a pull, a sound
server's outage, a restart) suspends the checks for as long as the daemon is promised
to take. A stall is an invariant broken for more than 3 s: it is printed at once, with
the last actions and the daemon's last log lines. At the end: a summary of the stalls,
the watchdog's recoveries (`watchdog_recoveries` of `headunit status --json`, where
the daemon has it), the SIGKILL resumes, the pulls and how many kept their resume
point, and the daemon's RSS and open-fd drift over its longest life after a warm-up
(WARM_UP). Exit status 1 if any stall, recovery, bad resume, lost resume point or
crash was seen.
Needs root (mounts, FUSE), sox, pipewire, wireplumber, pipewire-pulse,
pulseaudio-utils, playerctl, fuse3 and numpy (scripts/setup --test).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fusestick import FuseStick, mounted  # noqa: E402
from support import (  # noqa: E402
    DaemonProcess,
    DBusDaemon,
    PipeWire,
    daemon_env,
    make_album,
    write_config,
)

STALL = 3.0  # seconds an invariant may stay broken
RESUME_WITHIN = 6.0  # seconds from where it was, after a SIGKILL
# headunit/daemon.py's start-up line
RESUME_PLAN = re.compile(
    r"queue: \d+ entries; (?:playing|restoring paused) (?P<path>.+)"
    r" at (?P<position>[\d.]+) s \(resume="
)
SAMPLE = 0.5  # seconds between checks
LOUD = 0.01  # a sample peak above this is sound
HEARD_WITHIN = 1.0  # sound must have been heard in the last so many seconds
# A daemon's RSS and fds are a baseline once it has lived this many seconds and has
# done once what costs memory once: played a local track (8 kHz mono) and a stick's
# (44.1 kHz stereo: another decoder and resampler) and tried the broken file (tried
# once a life). Each of those first times keeps 0.3-1.4 MB that later passes reuse.
WARM_UP = 30.0
REPLUG_RESUMES_WITHIN = 10.0  # seconds for a re-plugged stick's track to play again
# A pull this close to a track's end may leave it nothing to cut: a bind pull
# (`umount -l`) leaves the open file readable, and a yank leaves what mpv has read
# ahead (2.2 s of these tracks, seen in a drive); an eof in a track's last 3 s counts
# as its end, and one within 0.5 s of it leaves no point (headunit/player/loading.py).
MAY_PLAY_OUT = 3.0
VERBOSE = "-v" in sys.argv
FORMAT = "{{status}}\t{{position}}\t{{mpris:length}}\t{{xesam:url}}\t{{xesam:title}}"


@dataclass(frozen=True)
class Sample:
    """What MPRIS says now."""

    status: str
    position: float
    duration: float | None
    url: str | None
    title: str | None


class Monitor:
    """The sink's monitor, live: parec writes into a FIFO and a thread keeps the peak
    level of every 0.1 s heard (a file would grow by 23 MB a minute)."""

    CHUNK = PipeWire.RATE // 10 * 2 * 4  # 0.1 s of stereo float32

    def __init__(self, pw: PipeWire, folder: Path) -> None:
        self.pw = pw
        self.fifo = folder / "monitor.fifo"
        os.mkfifo(self.fifo)
        self.levels: collections.deque[tuple[float, float]] = collections.deque(maxlen=600)
        self.recorder: subprocess.Popen[bytes] | None = None
        threading.Thread(target=self._read, daemon=True).start()
        self.restart()

    def restart(self) -> None:
        """Record again: a sound server's restart ends the recorder."""
        self.stop()
        self.recorder = self.pw.record(self.fifo)

    def stop(self) -> None:
        if self.recorder is not None:
            self.recorder.terminate()
            self.recorder.wait(timeout=10)
            self.recorder = None

    def _read(self) -> None:
        import numpy

        while True:
            with self.fifo.open("rb") as fifo:  # blocks until a recorder opens it
                while chunk := fifo.read(self.CHUNK):
                    samples = numpy.frombuffer(chunk[: len(chunk) // 4 * 4], dtype="<f4")
                    peak = float(numpy.abs(samples).max()) if len(samples) else 0.0
                    self.levels.append((time.monotonic(), peak))

    def heard_since(self, since: float) -> bool:
        return any(peak >= LOUD for at, peak in list(self.levels) if at >= since)


class BindStick:
    """A stick as the hot-plug tests make one: a bind mount, pulled with `umount -l`
    (files open before the pull stay readable)."""

    def __init__(self, source: Path, mountpoint: Path) -> None:
        self.mountpoint = mountpoint
        self.source = source
        mountpoint.mkdir(parents=True, exist_ok=True)
        self.plug()

    def plug(self) -> None:
        subprocess.run(["mount", "--bind", str(self.source), str(self.mountpoint)], check=True)

    def pull(self) -> None:
        subprocess.run(["umount", "-l", str(self.mountpoint)], check=True)

    def close(self) -> None:
        if mounted(self.mountpoint):
            self.pull()


class YankedStick(FuseStick):
    eio = 1.0  # seconds of failing reads before the unmount, drawn for each pull

    def pull(self) -> None:
        self.yank(after=self.eio)


@dataclass
class Life:
    """One run of the daemon, from start to SIGKILL or the end."""

    process: DaemonProcess
    started: float
    recoveries: int | None = None  # the daemon's own count, when it has one
    memory: list[tuple[float, int, int]] = field(default_factory=list)  # (age, RSS kB, fds)
    played: set[str] = field(default_factory=set)  # the kinds of media played so far
    warm_at: float | None = None  # the age at which the warm-up ended

    def warm_up(self, now: Sample | None, kind: Callable[[str], str | None]) -> None:
        """Count what has been played, until the warm-up ends (see WARM_UP)."""
        if self.warm_at is not None:
            return
        path = path_of(now.url) if now is not None and now.status == "Playing" else None
        if path is not None and (played := kind(path)) is not None:
            self.played.add(played)
        if "skipped " in self.process.log():
            self.played.add("broken")
        age = time.monotonic() - self.started
        if age >= WARM_UP and self.played >= {"local", "stick", "broken"}:
            self.warm_at = age

    def measure(self, now: float) -> None:
        """Every 5 s: RSS and open fds from /proc."""
        if self.memory and now - self.started - self.memory[-1][0] < 5:
            return
        assert self.process.proc is not None
        pid = self.process.proc.pid
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            return  # it has just exited: the caller finds out
        rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        self.memory.append((now - self.started, rss, fds))

    def drift(self) -> tuple[tuple[float, int, int], tuple[float, int, int]] | None:
        """The first measure after the warm-up and the last one."""
        if self.warm_at is None:
            return None
        warm = [m for m in self.memory if m[0] >= self.warm_at]
        return (warm[0], warm[-1]) if len(warm) >= 2 else None


def fd_peaks(life: Life, t0: float, t1: float) -> str:
    """A sample's fd count depends on the moment (PipeWire's fds go while the server is
    down, a stick's while it is away): a leak shows as the highest count growing."""
    window = min(600.0, (t1 - t0) / 4)
    first = max(m[2] for m in life.memory if t0 <= m[0] <= t0 + window)
    last = max(m[2] for m in life.memory if t1 - window <= m[0] <= t1)
    span = f"highest in the first and the last {window:.0f} s"
    return f"{span}: {first} -> {last} ({last - first:+d})"


class Car:
    """The daemon, its buses, its sound server, its media: everything the drive acts on."""

    def __init__(self, tmp: Path, checkout: Path) -> None:
        self.tmp = tmp
        self.pw = PipeWire(tmp / "pipewire")
        self.bus = DBusDaemon(tmp / "bus")
        self.monitor = Monitor(self.pw, tmp)
        local = tmp / "music"
        make_album(local, ["One", "Two", "Four", "Five"], seconds=20)
        # mpv cannot play it; on every pass of the loop it is met again.
        (local / "3 Broken.flac").write_bytes(b"fLaC\0\0\0\x22" + bytes(range(256)) * 16)
        # CD-sized files: read as they play, so a pull meets the reads.
        make_album(tmp / "bind-src", ["Bind A", "Bind B", "Bind C"], seconds=15, noisy=True)
        make_album(tmp / "fuse-src", ["Fuse A", "Fuse B", "Fuse C"], seconds=15, noisy=True)
        self.sticks: dict[str, BindStick | YankedStick] = {
            "bind": BindStick(tmp / "bind-src", tmp / "usb-bind"),
            "fuse": YankedStick(tmp / "fuse-src", tmp / "usb-fuse"),
        }
        self.plugged = {name: True for name in self.sticks}
        self.config = write_config(
            tmp / "config.toml",
            {
                "media": {"paths": [str(local), str(tmp / "usb-bind"), str(tmp / "usb-fuse")]},
                # cache: mpv caches whole files from any FUSE filesystem (it takes them
                # for network ones); a stick's vfat is read as it plays, and so is this.
                "player": {
                    "audio_output": "pipewire",
                    "startup_volume_max": 100,
                    "mpv_options": {"cache": "no"},
                },
                "state": {"dir": str(tmp / "state")},
                "mpris": {"bus": "session", "name": "headunit"},
                "backend": {"url": ""},
            },
        )
        self.env = {
            **daemon_env(self.bus.address, tmp),
            "XDG_RUNTIME_DIR": self.pw.env["XDG_RUNTIME_DIR"],
            "PYTHONPATH": str(checkout),
        }
        for name in ("PULSE_SERVER", "PIPEWIRE_REMOTE"):
            self.env.pop(name, None)
        self.checkout = checkout
        self.lives: list[Life] = []

    @property
    def life(self) -> Life:
        return self.lives[-1]

    def kind(self, path: str) -> str | None:
        """Which kind of media a played file is: "local" or "stick"."""
        if path.startswith(f"{self.tmp / 'music'}/"):
            return "local"
        on_stick = any(path.startswith(f"{s.mountpoint}/") for s in self.sticks.values())
        return "stick" if on_stick else None

    def start(self) -> None:
        log = self.tmp / f"daemon{len(self.lives)}.log"
        process = DaemonProcess(self.config, log, self.env, cwd=self.checkout)
        self.lives.append(Life(process, time.monotonic()))
        process.start()

    def kill(self) -> None:
        self.life.process.kill()

    def alive(self) -> bool:
        proc = self.life.process.proc
        return proc is not None and proc.poll() is None

    def resume_plan(self) -> tuple[str, float] | None:
        """The file and position this life's daemon said it resumes at."""
        found = RESUME_PLAN.search(self.life.process.log())
        return None if found is None else (found["path"], float(found["position"]))

    def log_tail(self, lines: int = 8) -> list[str]:
        return self.life.process.log().splitlines()[-lines:]

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`headunit VERB ...` against the daemon, as a user runs it."""
        return subprocess.run(
            [sys.executable, "-m", "headunit", *args, "--config", str(self.config)],
            env=self.env, cwd=self.checkout, capture_output=True, text=True, timeout=30,
        )  # fmt: skip

    def playerctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["playerctl", "-p", "headunit", *args],
            env=self.env, capture_output=True, text=True, timeout=10,
        )  # fmt: skip

    def sample(self) -> Sample | None:
        """MPRIS now; None when no player answers."""
        out = self.playerctl("metadata", "--format", FORMAT)
        if out.returncode != 0:  # no player, or no track: then only a status
            status = self.playerctl("status")
            return (
                Sample(status.stdout.strip(), 0.0, None, None, None)
                if not status.returncode
                else None
            )
        status, position, length, url, title = (out.stdout.rstrip("\n").split("\t") + [""] * 5)[:5]
        return Sample(
            status,
            int(position or 0) / 1e6,
            int(length) / 1e6 if length else None,
            url or None,
            title or None,
        )

    def queue(self) -> list[dict[str, Any]]:
        out = self.ctl("queue", "--json")
        return json.loads(out.stdout) if out.returncode == 0 else []

    def restart_sound(self, crash: bool, down: float) -> int:
        """Stop the sound server (SIGTERM, or SIGKILL as a crash) and start it again
        `down` s later; returns the tries it took: on a busy machine the server's own
        start-up (pactl) can time out, which is not the daemon's doing."""
        self.monitor.stop()
        self.pw.stop(crash=crash)
        time.sleep(down)
        for tries in range(1, 4):
            try:
                self.pw.start()
                self.monitor.restart()
            except (AssertionError, subprocess.TimeoutExpired) as exc:
                print(f"  (the test PipeWire did not come up: {exc!r})", flush=True)
                self.pw.stop(crash=True)
            else:
                return tries
        raise RuntimeError("the test PipeWire did not come up in 3 tries")

    def read_recoveries(self) -> None:
        out = self.ctl("status", "--json")
        if out.returncode == 0:
            count = json.loads(out.stdout).get("watchdog_recoveries")
            if count is not None:
                self.life.recoveries = int(count)

    def close(self) -> None:
        if self.lives and self.alive():
            self.life.process.stop(timeout=10)
        for stick in self.sticks.values():
            stick.close()
        self.monitor.stop()
        self.pw.close()
        self.bus.stop()


@dataclass
class Pull:
    """A stick pulled while its track played: where it was, and what became of it."""

    stick: str
    path: str  # the track's file
    position: float  # where MPRIS had it just before the pull
    check_from: float  # monotonic time from which the saved state must keep it
    may_play_out: bool = False  # so near the end that it may leave no point to keep
    point: tuple[str, float] | None = None  # the resume point first found saved
    lost: str | None = None  # why the resume point was not kept, if it was not
    played_out: bool = False  # no point was kept, and it may play out: not judged

    def on_stick(self, path: str) -> bool:
        return path.startswith(str(Path(self.path).parent) + "/")

    def accepts(self, path: str, position: float) -> bool:
        """The pulled track near where it was, or (the pull met at a join) the stick's
        next track near its start."""
        if path == self.path:
            return abs(position - self.position) <= RESUME_WITHIN
        return self.on_stick(path) and position <= RESUME_WITHIN


def saved_points(state_dir: Path) -> list[tuple[str, float]]:
    """The tracks the saved state would resume: its current one and those of pulled
    media (state.json as the store writes it)."""
    try:
        doc = json.loads((state_dir / "state.json").read_text())
    except (OSError, ValueError):
        return []
    points = [(str(doc.get("current_uri")), float(doc.get("position") or 0.0))]
    for point in doc.get("pulled") or ():
        points.append((str(point["uri"]), float(point["position"])))
    return points


def resumed_at(log: str) -> tuple[str, float] | None:
    """The track and position the daemon's log says it resumed a re-plugged stick at
    (rescan.py)."""
    found = re.search(r"media: (.+) is back; resuming it at ([\d.]+) s", log)
    return None if found is None else (found[1], float(found[2]))


def ended(sample: Sample, since: float) -> bool:
    """Whether the track sampled `since` s ago may have ended by now (playing, it moved
    on by as much; a second is left for mpv's end and the next track's save)."""
    return (
        sample.status == "Playing"
        and sample.duration is not None
        and sample.position + since >= sample.duration - 1.0
    )


def path_of(url: str | None) -> str | None:
    """xesam:url as a file's path."""
    return unquote(urlparse(url).path) if url and url.startswith("file:") else url


@dataclass
class Stall:
    start: float  # seconds into the drive
    end: float
    problems: set[str]
    actions: list[str]
    log: list[str]


class Judge:
    """Checks the invariants on each sample; a streak of broken samples longer than
    STALL is a stall. Checks are suspended while an action's promised time runs."""

    def __init__(self, car: Car, began: float) -> None:
        self.car = car
        self.began = began
        self.intent = "playing"
        self.quiet_until = 0.0
        self.since: float | None = None  # when the current streak of problems began
        self.stall: Stall | None = None
        self.stalls: list[Stall] = []
        self.last: Sample | None = None
        self.last_at = 0.0
        self.history: collections.deque[str] = collections.deque(maxlen=6)

    def quiet(self, seconds: float) -> None:
        """An action that takes the sound away: no checks for `seconds`, streak ended."""
        self.quiet_until = time.monotonic() + seconds
        self.end_streak(time.monotonic())

    def problems(self, now: Sample | None, at: float) -> list[str]:
        if now is None:
            return ["no MPRIS player"]
        if self.intent == "paused":
            return [] if now.status == "Paused" else [f"MPRIS {now.status}, not Paused"]
        found = [] if now.status == "Playing" else [f"MPRIS {now.status}"]
        last = self.last
        if (
            last is not None
            and at - self.last_at >= 0.4
            and last.url == now.url
            and abs(now.position - last.position) < 0.05
        ):
            found.append(f"position frozen at {now.position:.1f} s of {now.title}")
        if not self.car.monitor.heard_since(at - HEARD_WITHIN):
            found.append("silent sink")
        return found

    def check(self) -> None:
        at = time.monotonic()
        now = self.car.sample()
        if at >= self.quiet_until:
            problems = self.problems(now, at)
            if problems and VERBOSE:
                print(f"    {at - self.began:.1f} s: {'; '.join(problems)}", flush=True)
            if problems:
                self.streak(at, problems)
            else:
                self.end_streak(at)
        self.last, self.last_at = now, at

    def streak(self, at: float, problems: list[str]) -> None:
        if self.since is None:
            self.since = at
        if self.stall is None and at - self.since > STALL:
            self.stall = Stall(
                self.since - self.began,
                at - self.began,
                set(),
                list(self.history),
                self.car.log_tail(),
            )
            self.stalls.append(self.stall)
            print(f"  STALL at {self.stall.start:.1f} s: {'; '.join(problems)}", flush=True)
        if self.stall is not None:
            self.stall.end = at - self.began
            self.stall.problems.update(problems)

    def end_streak(self, at: float) -> None:
        self.since, self.stall = None, None

    def note(self, action: str) -> None:
        self.history.append(f"{time.monotonic() - self.began:.1f} s {action}")
        if VERBOSE:
            print(f"  {self.history[-1]}", flush=True)


class Drive:
    """The actions, drawn from `--seed`; each one says what the car should do after it."""

    def __init__(self, car: Car, judge: Judge, rng: random.Random) -> None:
        self.car, self.judge, self.rng = car, judge, rng
        self.counts: collections.Counter[str] = collections.Counter()
        self.resumes: list[str] = []  # one line per SIGKILL: how the restart resumed
        self.bad_resumes = 0
        self.crashes = 0
        self.pulls: list[Pull] = []  # sticks pulled while their track played
        self.pending: dict[str, Pull] = {}  # by stick: pulled, not plugged back yet
        self.doing = ""  # the action under way
        self.aborted: str | None = None  # why the drive ended early
        self.actions: dict[str, tuple[int, Callable[[], str]]] = {
            "next": (12, self.next),
            "double-next": (8, self.double_next),
            "previous": (4, self.previous),
            "seek-to-end": (12, self.seek_to_end),
            "jump": (5, self.jump),
            "pause": (8, self.pause),
            "sighup": (5, self.sighup),
            "bind-stick": (8, lambda: self.stick("bind")),
            "fuse-stick": (8, lambda: self.stick("fuse")),
            "sound-server": (5, self.sound_server),
            "sigkill": (5, self.sigkill),
        }

    def step(self) -> None:
        if self.judge.intent == "paused":
            name, act = "play", self.play
        else:
            names = list(self.actions)
            name = self.rng.choices(names, [self.actions[n][0] for n in names])[0]
            act = self.actions[name][1]
        self.counts[name] += 1
        self.doing = name
        self.judge.note(f"{name}: {act()}")

    def next(self) -> str:
        self.car.playerctl("next")
        return ""

    def double_next(self) -> str:
        self.car.playerctl("next")
        self.car.playerctl("next")
        return ""

    def previous(self) -> str:
        self.car.playerctl("previous")
        return ""

    def seek_to_end(self) -> str:
        before = self.rng.uniform(0.3, 2.0)
        now = self.car.sample()
        if now is None or not now.duration:
            return "nothing to seek"
        self.car.playerctl("position", f"{max(0.0, now.duration - before):.2f}")
        return f"{before:.1f} s before the end of {now.title}"

    def jump(self) -> str:
        share = self.rng.random()
        queue = self.car.queue()
        if not queue:
            return "empty queue"
        n = 1 + int(share * len(queue))
        self.car.ctl("jump", str(n))
        return f"to {n}: {queue[n - 1]['title']}"

    def pause(self) -> str:
        self.car.playerctl("pause")
        self.judge.intent = "paused"
        return ""

    def play(self) -> str:
        self.car.playerctl("play")
        self.judge.intent = "playing"
        return ""

    def sighup(self) -> str:
        self.car.life.process.signal(signal.SIGHUP)
        return ""

    def stick(self, name: str) -> str:
        stick, car = self.car.sticks[name], self.car
        onto, eio = self.rng.random() < 0.5, self.rng.uniform(1.0, 3.0)
        if not car.plugged[name]:
            stick.plug()
            car.plugged[name] = True
            return "plugged" + self.replugged(name)
        said = "pulled"
        on = f"{stick.mountpoint}/"  # `queue --json` gives a file's path as its url
        if onto:  # pull the stick whose track plays
            entry = next((e for e in car.queue() if str(e.get("url", "")).startswith(on)), None)
            if entry is not None:
                car.ctl("jump", str(entry["position"]))
                time.sleep(2.0)
                said = f"pulled while {entry['title']} played"
        if isinstance(stick, YankedStick):
            stick.eio = eio
            said += f", {eio:.1f} s of EIO"
        quiet = 2.0 if name == "bind" else 2.0 + eio  # noticed within 2 s
        self.judge.quiet(quiet)
        now = car.sample()
        stick.pull()
        car.plugged[name] = False
        path = path_of(now.url) if now is not None else None
        if now is not None and path is not None and path.startswith(on):
            near_end = now.duration is not None and now.position + MAY_PLAY_OUT >= now.duration
            pull = Pull(name, path, now.position, time.monotonic() + quiet + 1.0, near_end)
            self.pulls.append(pull)
            self.pending[name] = pull
        return said

    def kept(self) -> None:
        """Every pending pull's resume point is in the saved state, unchanged."""
        points = saved_points(self.car.tmp / "state")
        for pull in self.pending.values():
            if pull.lost is not None or pull.played_out or time.monotonic() < pull.check_from:
                continue
            if pull.point is None:
                pull.point = next((p for p in points if pull.accepts(*p)), None)
                if pull.point is None:
                    if pull.may_play_out:
                        pull.played_out = True
                    else:
                        self.lose(pull, f"not saved (saved: {points})")
            elif not any(p[0] == pull.point[0] and abs(p[1] - pull.point[1]) < 1 for p in points):
                self.lose(pull, f"{pull.point} no longer saved (saved: {points})")

    def replugged(self, name: str) -> str:
        """A stick pulled while its track played is back: a point the pull kept plays
        again (the pulled track where it was, or, when the pull met a join, the stick's
        next track at its start: `Pull.accepts`)."""
        pull = self.pending.pop(name, None)
        if pull is None or pull.lost is not None or pull.played_out:
            return ""
        self.judge.quiet(REPLUG_RESUMES_WITHIN)
        log_before = len(self.car.life.process.log())
        end = time.monotonic() + REPLUG_RESUMES_WITHIN
        while time.monotonic() < end:
            now = self.car.sample()
            path = path_of(now.url) if now is not None else None
            if now is not None and path is not None and pull.accepts(path, now.position):
                return f"; resumed {Path(path).name} at {now.position:.1f} s"
            said = resumed_at(self.car.life.process.log()[log_before:])
            if said is not None and pull.accepts(*said):
                # A point in the track's last second plays out between two samples.
                return f"; resumed {Path(said[0]).name} at {said[1]:.1f} s (the daemon's line)"
            time.sleep(0.2)
        self.lose(pull, f"{pull.point or pull.path} not resumed on the re-plug")
        return f"; NOT resumed: {Path(pull.path).name}"

    def lose(self, pull: Pull, why: str) -> None:
        pull.lost = why
        print(f"  PULL LOST: {pull.stick} stick, {pull.path} at {pull.position:.1f} s: {why}")
        for line in self.car.log_tail(6):
            print(f"     log: {line[:200]}", flush=True)

    def sound_server(self) -> str:
        crash, down = self.rng.random() < 0.5, self.rng.uniform(0.5, 3.0)
        self.judge.quiet(float("inf"))
        tries = self.car.restart_sound(crash, down)
        self.judge.quiet(5.0)  # plays on within 5 s of the server's return
        again = f" (up at try {tries})" if tries > 1 else ""
        return f"{'SIGKILL' if crash else 'SIGTERM'}, down {down:.1f} s{again}"

    def sigkill(self) -> str:
        car = self.car
        car.read_recoveries()  # before the sample: a CLI call takes seconds under load
        sampled = time.monotonic()
        before = car.sample()
        self.judge.quiet(float("inf"))
        car.kill()
        since = time.monotonic() - sampled
        car.start()
        self.judge.intent = "playing"  # player.resume = "play"
        after = self.first_track()
        self.judge.quiet(2.0)
        # Where the daemon resumed, as it planned it: the first sample's position also
        # counts whatever it played before a starved `playerctl` answered.
        plan = car.resume_plan()
        if before is None or before.url is None:
            line = "nothing played before"
        elif after is None or plan is None:
            line = f"killed in {before.title} at {before.position:.1f} s; nothing after"
        elif (
            after.url == before.url
            and plan[0] == path_of(before.url)
            and abs(plan[1] - before.position) <= RESUME_WITHIN
            and after.position >= plan[1] - 1.0
        ):
            line = f"ok: {before.title} {before.position:.1f} s -> {plan[1]:.1f} s"
        elif ended(before, since) and plan[0] != path_of(before.url) and plan[1] <= RESUME_WITHIN:
            line = (
                f"ok: {before.title} {before.position:.1f} s (ended before the kill,"
                f" {since:.1f} s after the sample) -> {after.title} {plan[1]:.1f} s"
            )
        else:
            line = (
                f"BAD: killed in {before.title} at {before.position:.1f} s,"
                f" {since:.1f} s after the sample, resumed {after.title} at {plan[1]:.1f} s"
                f" (first heard at {after.position:.1f} s)"
            )
        self.bad_resumes += line.startswith(("BAD", "killed"))
        self.resumes.append(line)
        return line

    def first_track(self) -> Sample | None:
        end = time.monotonic() + 10
        while time.monotonic() < end:
            now = self.car.sample()
            if now is not None and now.url is not None and now.status == "Playing":
                return now
            time.sleep(0.2)
        return None

    def watch(self, seconds: float) -> None:
        """Check the invariants for `seconds`; a daemon that died by itself is a crash,
        restarted so the drive goes on."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.judge.check()
            car = self.car
            if not car.alive():
                self.crashes += 1
                print(f"  CRASH: the daemon exited by itself: {car.log_tail(3)}", flush=True)
                self.judge.quiet(float("inf"))
                car.start()
                self.judge.intent = "playing"
                self.judge.quiet(2.0)
            else:
                car.life.measure(time.monotonic())
                car.life.warm_up(self.judge.last, car.kind)
            self.kept()
            time.sleep(SAMPLE)


def report(seed: int, minutes: float, drive: Drive, judge: Judge, car: Car) -> int:
    print(f"=== soak: seed {seed}, {minutes:g} min, {sum(drive.counts.values())} actions")
    print("actions: " + ", ".join(f"{n} {c}" for n, c in drive.counts.most_common()))
    stalled = sum(s.end - s.start for s in judge.stalls)
    print(f"stalls: {len(judge.stalls)} ({stalled:.1f} s in all)")
    for n, stall in enumerate(judge.stalls, 1):
        what = "; ".join(sorted(stall.problems))
        print(f"  #{n} at {stall.start:.1f} s for {stall.end - stall.start:.1f} s: {what}")
        print(f"     after: {' | '.join(stall.actions[-3:])}")
        for line in stall.log[-4:]:
            print(f"     log: {line[:160]}")
    counts = [life.recoveries for life in car.lives]
    known = [c for c in counts if c is not None]
    recoveries = sum(known) if known else None
    unknown = "unknown (no watchdog_recoveries in status --json)"
    print(f"watchdog recoveries: {unknown if recoveries is None else recoveries}")
    print(f"SIGKILL resumes: {len(drive.resumes)}, bad {drive.bad_resumes}")
    for line in drive.resumes:
        if not line.startswith("ok"):
            print(f"  {line}")
    print(f"daemon crashes: {drive.crashes}")
    lost = [pull for pull in drive.pulls if pull.lost is not None]
    out = sum(pull.played_out for pull in drive.pulls)
    print(
        f"pulls: {len(drive.pulls)}, resume point kept: {len(drive.pulls) - len(lost) - out}, "
        f"played to their end (pulled in the last {MAY_PLAY_OUT:g} s, no point kept): {out}"
    )
    for pull in lost:
        print(f"  {pull.stick} stick, {pull.path} at {pull.position:.1f} s: {pull.lost}")
    warmed = [life for life in car.lives if life.drift() is not None]
    longest = max(warmed, key=lambda life: life.memory[-1][0] - (life.warm_at or 0), default=None)
    drift = longest.drift() if longest is not None else None
    if drift is None:
        print("RSS / fds: no life went past its warm-up (see WARM_UP)")
    else:
        assert longest is not None
        (t0, rss0, fd0), (t1, rss1, fd1) = drift
        (born, rss_born, _) = longest.memory[0]
        peak = max(m[1] for life in car.lives for m in life.memory)
        print(
            f"RSS (longest life after warm-up, {t0:.0f} -> {t1:.0f} s): {rss0 / 1024:.1f} -> "
            f"{rss1 / 1024:.1f} MB ({(rss1 - rss0) / 1024:+.1f}); from {born:.0f} s (the "
            f"warm-up too): {rss_born / 1024:.1f} MB ({(rss1 - rss_born) / 1024:+.1f}); "
            f"peak {peak / 1024:.1f} MB"
        )
        print(f"open fds (same): {fd0} -> {fd1} ({fd1 - fd0:+d}); {fd_peaks(longest, t0, t1)}")
    if drive.aborted:
        print(f"ABORTED {drive.aborted}")
    failed = len(judge.stalls) + (recoveries or 0) + drive.bad_resumes + drive.crashes
    failed += len(lost)
    failed += drive.aborted is not None
    replay = f"bench/soak.py --seed {seed} --minutes {minutes:g}"
    print(f"result: {'FAIL' if failed else 'ok'} (replay: {replay})")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="default: a random one, printed")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the headunit to drive")
    parser.add_argument("-v", action="store_true", help="print every action and broken check")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("soak: needs root (bind mounts and the FUSE stick)")
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    rng = random.Random(seed)
    print(f"soak: seed {seed}, {args.minutes:g} min, checkout {args.checkout}", flush=True)
    with tempfile.TemporaryDirectory(prefix="headunit-soak-") as name:
        car = Car(Path(name), args.checkout.resolve())
        try:
            car.start()
            car.ctl("loop", "playlist")
            began = time.monotonic()
            judge = Judge(car, began)
            drive = Drive(car, judge, rng)
            judge.quiet(3.0)
            drive.watch(3.0)
            try:
                while time.monotonic() - began < args.minutes * 60:
                    drive.step()
                    drive.watch(rng.uniform(1.5, 6.0))
                car.read_recoveries()
            except Exception as exc:  # the figures so far still count
                drive.aborted = f"in {drive.doing}: {exc!r}"
                print(f"  ABORTED {drive.aborted}; daemon log: {car.log_tail(3)}", flush=True)
            return report(seed, args.minutes, drive, judge, car)
        finally:
            car.close()


if __name__ == "__main__":
    sys.exit(main())
