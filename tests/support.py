"""Real parts for the tests: generated audio, a private dbus-daemon, the daemon itself.

Shared by every test folder (tests/ is on sys.path through tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dbus_fast import Message
from dbus_fast.aio import MessageBus

from headunit.controller import SnapshotTarget
from headunit.model import Command, CommandError, CommandName, LoopMode, MediaRef
from headunit.state import PlayerState, Status, Track

SOX = shutil.which("sox")


def make_tone(
    path: Path,
    seconds: float,
    freq: float = 440.0,
    tags: Mapping[str, str] | None = None,
    rate: int = 8000,
    noisy: bool = False,
) -> Path:
    """A real audio file (FLAC/WAV/OGG by extension) made by sox, with Vorbis tags.
    `noisy`: stereo at 44.1 kHz, pink noise beside the tone, which FLAC compresses no
    better than music: a file as large as a CD rip's (1 MB every 6 s), read as it plays."""
    assert SOX, "sox is needed to generate test audio (apt-get install sox)"
    path.parent.mkdir(parents=True, exist_ok=True)
    comments = [a for k, v in (tags or {}).items() for a in ("--add-comment", f"{k}={v}")]
    synth = ["synth", str(seconds), "sine", str(freq), *(["pinknoise"] if noisy else [])]
    form = ["-r", "44100", "-c", "2"] if noisy else ["-r", str(rate), "-c", "1"]
    subprocess.run([SOX, "-n", *form, *comments, str(path), *synth], check=True)
    return path


def cut_tone(folder: Path, rates: list[int], seconds: float) -> list[Path]:
    """One continuous 440 Hz tone (stereo, half scale) cut into FLAC files of `seconds`
    each, the n-th at rates[n]: played back to back with no gap, it is one clean sine."""
    assert SOX, "sox is needed to generate test audio (apt-get install sox)"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for n, rate in enumerate(rates):
        path = folder / f"{n + 1:02d}.flac"
        synth = ["synth", f"{(n + 1) * seconds + 1:g}", "sine", "440", "vol", "0.5"]
        trim = ["trim", f"{round(n * seconds * rate)}s", f"{round(seconds * rate)}s"]
        subprocess.run(
            [SOX, "-n", "-r", str(rate), "-c", "2", "-b", "16", str(path), *synth, *trim],
            check=True,
        )
        files.append(path)
    return files


def make_album(
    folder: Path, titles: list[str], seconds: float = 3.0, noisy: bool = False
) -> list[Path]:
    """Tagged FLAC tracks named '1 title.flac', '2 title.flac', ... in `folder`."""
    return [
        make_tone(
            folder / f"{n} {title}.flac",
            seconds,
            220.0 + 40 * n,
            {"TITLE": title, "ARTIST": "Test Artist", "ALBUM": folder.name, "TRACKNUMBER": str(n)},
            noisy=noisy,
        )
        for n, title in enumerate(titles, 1)
    ]


TEST_SECRET = "the tests' HS256 secret, 32 bytes or more"


def sign_token(claims: Mapping[str, Any], key: Any = TEST_SECRET, algorithm: str = "HS256") -> str:
    """A JWT as the reference backend verifies it (HS256 with the tests' secret)."""
    import jwt

    return jwt.encode(dict(claims), key, algorithm=algorithm)


# How much slower than a real CPU this one is: .ci/run sets it for the arm64 chroot, where
# qemu-user emulates every instruction (some ten times slower; a daemon's start-up there
# once outran the 20 s the tests give it). Waits only: nothing is asserted on time.
TIME_SCALE = float(os.environ.get("HEADUNIT_TEST_TIME_SCALE", "1"))
# Seconds for a cold `python -m headunit ...` (the daemon, the backend) to start serving:
# imports alone take some 5 s of a starved machine's time (the backend beside two CPU
# hogs: 4.6 to 6.1 s, where 10 s once ran out).
STARTUP = 20.0


class _Deadline:
    """The one polling rule of the tests: a true value ends the wait, and no true value
    by the deadline fails it, naming what was awaited."""

    def __init__(self, within: float, what: str) -> None:
        within *= TIME_SCALE
        self._end = time.monotonic() + within
        self._message = f"timed out after {within} s waiting for {what}"

    def poll(self, value: Any) -> Any:
        if value:
            return value
        if time.monotonic() > self._end:
            raise AssertionError(self._message)
        return None


def wait_for(predicate: Callable[[], Any], within: float = 10.0, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something true, and return that."""
    deadline = _Deadline(within, what)
    while not (value := deadline.poll(predicate())):
        time.sleep(0.02)
    return value


async def async_wait_for(
    predicate: Callable[[], Any], within: float = 10.0, what: str = "condition"
) -> Any:
    """`wait_for` on the event loop; `predicate` may also return an awaitable (a D-Bus
    read, say), whose result is what counts."""
    deadline = _Deadline(within, what)
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if deadline.poll(value):
            return value
        await asyncio.sleep(0.01)


def statuses(states: list[PlayerState]) -> list[Status]:
    """The statuses reported, without repeats."""
    seen: list[Status] = []
    for state in states:
        if not seen or seen[-1] is not state.status:
            seen.append(state.status)
    return seen


async def playerctl(*args: str, check: bool = True) -> str:
    """`playerctl -p headunit ARGS`, a real third-party MPRIS client. Async: a blocking
    run from a test whose loop serves the bus (or a backend) would deadlock it."""
    proc = await asyncio.create_subprocess_exec(
        "playerctl", "-p", "headunit", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0 or not check, err.decode()
    return out.decode().strip()


class NotifySocket:
    """The systemd side of sd_notify: an AF_UNIX datagram socket (abstract by default:
    no path length limit, nothing left on disk). Every datagram read is kept in
    `received`, as its KEY=value fields."""

    def __init__(self, address: str | None = None) -> None:
        self.env = address or f"@headunit-test-{uuid.uuid4().hex}"  # $NOTIFY_SOCKET
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.env[1:] if self.env.startswith("@") else self.env)
        self.sock.setblocking(False)
        self.received: list[dict[str, str]] = []

    def messages(self) -> list[dict[str, str]]:
        """The datagrams that arrived since the last call."""
        new = []
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                break
            new.append(dict(line.split("=", 1) for line in data.decode().splitlines()))
        self.received += new
        return new

    def last(self, key: str) -> str | None:
        """The value of `key` in the latest datagram that set it."""
        self.messages()
        return next((m[key] for m in reversed(self.received) if key in m), None)

    def count(self, key: str) -> int:
        """How many datagrams received so far set `key`."""
        self.messages()
        return sum(key in fields for fields in self.received)

    def wait(self, key: str, value: str | None = None, within: float = 20.0) -> dict[str, str]:
        """The first datagram from now on that sets `key` (to `value`, when given)."""
        start = len(self.received)

        def found() -> dict[str, str] | None:
            self.messages()
            matches = (m for m in self.received[start:] if key in m)
            return next((m for m in matches if value in (None, m[key])), None)

        return wait_for(found, within, f"{key}={value or '*'} from sd_notify")

    def close(self) -> None:
        self.sock.close()


async def dbus_call(
    bus: MessageBus,
    destination: str,
    path: str,
    interface: str,
    member: str,
    signature: str = "",
    body: Sequence[Any] = (),
) -> Message:
    """One method call; the reply, an error or not (the caller decides what an error is)."""
    call = {"destination": destination, "path": path, "interface": interface, "member": member}
    reply = await bus.call(Message(**call, signature=signature, body=list(body)))
    assert reply is not None, f"{member}: no reply"
    return reply


class DBusDaemon:
    """A private dbus-daemon of type session or system; never the real bus."""

    def __init__(self, tmp: Path, kind: str = "session", includes: list[Path] = ()) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        conf = tmp / f"{kind}.conf"
        extra = "".join(f"<include>{p}</include>" for p in includes)
        policy = (
            "<policy context='default'><allow send_destination='*' eavesdrop='true'/>"
            "<allow eavesdrop='true'/><allow own='*'/><allow user='*'/></policy>"
            if kind == "session"
            else ""
        )
        conf.write_text(
            '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"'
            ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">'
            f"<busconfig><type>{kind}</type><listen>unix:tmpdir={tmp}</listen>"
            f"<auth>EXTERNAL</auth>{policy}{extra}</busconfig>"
        )
        self.proc = subprocess.Popen(
            ["dbus-daemon", f"--config-file={conf}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        self.address = self.proc.stdout.readline().strip()
        assert self.address, "dbus-daemon did not start"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=5)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Path):
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def write_config(path: Path, sections: Mapping[str, Mapping[str, Any]]) -> Path:
    lines = []
    for name, table in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in table.items())
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class DaemonProcess:
    """`headunit run` as a subprocess; its output goes to a file (a pipe could fill)."""

    config_path: Path
    log_path: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = field(default=0.0)
    # Where it runs: `python -m` imports headunit from there first (bench/soak.py's
    # --checkout), whatever PYTHONPATH says.
    cwd: Path | None = None

    def start(self, wait_ready: bool = True) -> DaemonProcess:
        self.log_path.write_text("")
        log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "headunit", "run", "--config", str(self.config_path)],
            stdout=log,
            stderr=log,
            env=self.env,
            cwd=self.cwd,
        )
        log.close()
        if wait_ready:
            self.wait_log("ready:", within=STARTUP)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, within: float = 10.0) -> None:
        def seen() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None and text not in self.log():
                raise AssertionError(f"daemon exited {self.proc.returncode}:\n{self.log()}")
            return text in self.log()

        wait_for(seen, within, f"{text!r} in the daemon's log")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait(timeout=5)

    def stop(self, timeout: float = 5.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def daemon_env(bus_address: str | None, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")}
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    if bus_address:
        env["DBUS_SESSION_BUS_ADDRESS"] = bus_address
    return env


def png(width: int = 8, height: int = 8) -> bytes:
    """A tiny valid PNG (a cover picture for tests)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xc0\x20\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def embed_cover(flac: Path) -> Path:
    """Embed a front-cover picture in a FLAC file (as taggers do)."""
    from mutagen.flac import FLAC, Picture

    audio = FLAC(flac)
    picture = Picture()
    picture.type, picture.mime, picture.data = 3, "image/png", png()
    picture.width = picture.height = 8
    picture.depth = 24
    audio.add_picture(picture)
    audio.save()
    return flac


BACKEND_MAIN = (
    "import argparse, sys; from headunit.backend import run_backend; "
    "sys.exit(run_backend(argparse.Namespace(config=sys.argv[1], host=None, port=None)))"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BackendProcess:
    """`headunit backend` in a process of its own, so it can really be killed; `server`
    adds [server] keys (redis_url...). Its files go in `folder`, one folder per process."""

    def __init__(self, folder: Path, port: int, secret: str, **server: Any) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        secret_file = folder / "secret"
        secret_file.write_text(secret)
        self.config = write_config(
            folder / "backend.toml",
            {
                "server": {"port": port, "jwt_secret_file": secret_file, **server},
                "log": {"level": "warning"},
            },
        )
        self.log = folder / "backend.log"
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        starts = self.log.read_text().count("listening on") if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", BACKEND_MAIN, str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        await async_wait_for(
            lambda: self._listening(starts), within=STARTUP, what="the backend listening"
        )

    def _listening(self, starts: int) -> bool:
        """It said so one more time than before this start; an exit fails, with its log."""
        assert self.proc is not None
        exited = self.proc.poll() is not None
        text = self.log.read_text(errors="replace")
        if text.count("listening on") > starts:
            return True
        if exited:
            raise AssertionError(f"the backend exited {self.proc.returncode}:\n{text}")
        return False

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class FakeTarget(SnapshotTarget):
    """The tests' one stand-in for the player (the controller's Target): it keeps a queue
    of `tracks` in memory, records every command it is given, and reports snapshots
    as the real player does once mpv has confirmed a change."""

    def __init__(self, tracks: Sequence[Track] = (), status: Status = Status.STOPPED) -> None:
        self.tracks = list(tracks)
        self.index = 0
        self.commands: list[Command] = []
        first = self.tracks[0] if self.tracks else None
        state = PlayerState(status=status, track=first, clock=time.monotonic())
        super().__init__(self._derive(state))

    def _derive(self, state: PlayerState) -> PlayerState:
        has = state.track is not None
        wrap = state.loop is LoopMode.PLAYLIST and has
        return replace(
            state,
            can_next=has and (self.index < len(self.tracks) - 1 or wrap),
            can_previous=has and (self.index > 0 or wrap),
            can_seek=has,
            can_play=has,
            can_pause=has,
            queue_length=len(self.tracks),
        )

    def publish(self, seeked: bool = False, **changes: Any) -> None:
        """Report a new snapshot (as the player does after mpv confirms a change); the
        tests also call it to play a change of their own."""
        self._report(self._derive(replace(self._state, **changes)), seeked)

    def _go(self, index: int) -> None:
        self.index = index % len(self.tracks)
        self.publish(track=self.tracks[self.index], **self._at(0.0))

    @staticmethod
    def _at(seconds: float) -> dict[str, Any]:
        return {"position": seconds, "clock": time.monotonic()}

    async def execute(self, command: Command) -> None:
        self.commands.append(command)
        s, name, value = self._state, command.name, command.value
        playing = {"status": Status.PLAYING}
        if name is CommandName.PLAY or (
            name is CommandName.TOGGLE and s.status is not Status.PLAYING
        ):
            self.publish(**playing, **self._at(self.position()))
        elif name in (CommandName.PAUSE, CommandName.TOGGLE):
            self.publish(status=Status.PAUSED, **self._at(self.position()))
        elif name is CommandName.STOP:
            self.publish(status=Status.STOPPED, **self._at(0.0))
        elif name is CommandName.NEXT:
            self._next()
        elif name is CommandName.PREVIOUS:
            self._go(self.index - 1)
        elif name in (CommandName.SEEK, CommandName.SEEK_BY):
            target = value if name is CommandName.SEEK else self.position() + value
            duration = s.track.duration if s.track else None
            if duration is not None and target > duration:
                self._next()
            else:
                self.publish(seeked=True, **self._at(max(0.0, target)))
        elif name is CommandName.VOLUME:
            self.publish(volume=float(value))
        elif name is CommandName.SHUFFLE:
            self.publish(shuffle=value)
        elif name is CommandName.LOOP:
            self.publish(loop=LoopMode(value))
        elif name is CommandName.OPEN:
            media = value if isinstance(value, MediaRef) else MediaRef(str(value))
            if "missing" in media.uri:
                raise CommandError(f"cannot open {media.uri}")
            entry = len(self.tracks) + 100
            self.tracks.append(
                Track(entry_id=entry, uri=media.uri, title="Opened", media_id=media.media_id)
            )
            self._go(len(self.tracks) - 1)
            self.publish(**playing)

    def _next(self) -> None:
        if self.index + 1 < len(self.tracks) or self._state.loop is LoopMode.PLAYLIST:
            self._go(self.index + 1)
        else:
            self.publish(status=Status.STOPPED, **self._at(0.0))


class PipeWire:
    """A private PipeWire sound server on a null sink, for tests and benchmarks.

    pipewire, wireplumber and pipewire-pulse run as child processes with their own
    runtime directory, state folder and session bus, so nothing reaches a real sound
    server, nor another test's (wireplumber saves volumes and mutes in its state). The
    sink `headunit_test` is declared in the server's own configuration, so it comes back
    when the server is restarted; `record` captures its monitor in real time.
    """

    SINK = "headunit_test"
    RATE = 48000

    def __init__(self, tmp: Path, wireplumber: Mapping[str, Path] | None = None) -> None:
        """`wireplumber`: configuration files to add, by their path under its folder."""
        self.tmp = tmp
        for name, source in (wireplumber or {}).items():
            target = tmp / "config" / "wireplumber" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        runtime = self.runtime = tmp / "runtime"
        runtime.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        conf = tmp / "config" / "pipewire" / "pipewire.conf.d"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "headunit-test-sink.conf").write_text(
            f"context.properties = {{ default.clock.rate = {self.RATE}\n"
            # A large quantum: a busy test machine then rarely underruns the sink.
            "  default.clock.quantum = 4096 default.clock.min-quantum = 4096 }\n"
            "context.objects = [ { factory = adapter args = {\n"
            f"  factory.name = support.null-audio-sink node.name = {self.SINK}\n"
            "  media.class = Audio/Sink audio.position = [ FL FR ]\n"
            "  priority.session = 2000 object.linger = true } } ]\n"
        )
        self.bus = DBusDaemon(tmp / "bus")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "PIPEWIRE_"))},
            "XDG_RUNTIME_DIR": str(runtime),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_STATE_HOME": str(tmp / "state"),
            "DBUS_SESSION_BUS_ADDRESS": self.bus.address,
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        try:
            self.start()
        except BaseException:
            self.bus.stop()  # no fixture will: the caller never gets this object
            raise

    def _spawn(self, name: str) -> None:
        log = (self.tmp / f"{name}.log").open("ab")
        self.procs.append(subprocess.Popen([name], env=self.env, stdout=log, stderr=log))
        log.close()

    def start(self) -> None:
        """Start the server (again) and wait until its sink takes a client. wireplumber
        exits at once when pipewire does not listen yet (and then no stream is ever
        linked): it and pipewire-pulse start once pipewire listens."""
        self._spawn("pipewire")
        try:
            self._wait(lambda: _listening(self.runtime / "pipewire-0"), "pipewire's socket")
            for name in ("wireplumber", "pipewire-pulse"):
                self._spawn(name)
            self._wait(self._sink_ready, f"wireplumber's default sink {self.SINK}")
        except BaseException:
            self.stop()  # left running, a busy machine's servers would spin on
            raise

    def _wait(self, ready: Callable[[], bool], what: str) -> None:
        """Until `ready`; a server that exits or a timeout fails with the servers' logs."""

        def check() -> bool:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise AssertionError(f"{proc.args[0]} exited ({proc.returncode})")
            return ready()

        try:
            wait_for(check, 15, what)
        except AssertionError as exc:
            logs = {path.name: path.read_text(errors="replace") for path in self.tmp.glob("*.log")}
            tails = "".join(f"\n--- {name}:\n{text[-2000:]}" for name, text in logs.items())
            raise AssertionError(f"{exc}{tails}") from None

    def _sink_ready(self) -> bool:
        """wireplumber chose the sink, and pipewire-pulse serves it."""
        chosen = self.run("pw-metadata", "-n", "default", "0", "default.audio.sink", check=False)
        if f'"name":"{self.SINK}"' not in chosen.stdout:
            return False
        out = self.run("pactl", "get-default-sink", check=False)
        return out.returncode == 0 and out.stdout.strip() == self.SINK

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A client command (pactl, pw-dump...) against this server."""
        return subprocess.run(
            args, env=self.env, capture_output=True, text=True, check=check, timeout=10
        )

    def stop(self, crash: bool = False) -> None:
        """Stop the server the way `systemctl --user stop` does, or (`crash`) SIGKILL it
        the way a crash or the out-of-memory killer does."""
        for proc in reversed(self.procs):
            if crash:
                proc.kill()
            else:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()

    def close(self) -> None:
        self.stop()
        self.bus.stop()

    def record(self, path: Path) -> subprocess.Popen[bytes]:
        """Record the sink's monitor (float32, stereo, at the server's rate) into `path`;
        terminate the returned process to finish."""
        args = ["parec", "-d", f"{self.SINK}.monitor", "--raw", "--format=float32le"]
        args += [f"--rate={self.RATE}", "--channels=2", "--latency-msec=20", str(path)]
        proc = subprocess.Popen(args, env=self.env, stderr=subprocess.PIPE)
        wait_for(lambda: self._recording(proc), 10, "the recorder's stream")
        return proc

    def _recording(self, proc: subprocess.Popen[bytes]) -> bool:
        if proc.poll() is not None:
            assert proc.stderr is not None
            raise AssertionError(f"parec exited: {proc.stderr.read().decode()}")
        return "parec" in self.run("pactl", "list", "source-outputs").stdout


def _listening(path: Path) -> bool:
    """A server accepts connections on the Unix socket `path` (not a stale file)."""
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def read_recording(path: Path) -> Any:
    """A `PipeWire.record` file as a numpy array of mono float samples."""
    import numpy

    stereo = numpy.fromfile(path, dtype="<f4")
    return stereo[: len(stereo) // 2 * 2].reshape(-1, 2).mean(axis=1)


def silences(samples: Any, threshold: float = 0.01) -> list[tuple[int, int]]:
    """(start, length) of each run of near-silent samples inside the sound (the silence
    before the first and after the last loud sample is not counted). A sine of amplitude
    well above `threshold` crosses zero within a sample or two; longer runs are holes."""
    import numpy

    loud = numpy.abs(samples) >= threshold
    where = numpy.flatnonzero(loud)
    if len(where) < 2:
        return []
    gaps = numpy.diff(where) - 1
    holes = numpy.flatnonzero(gaps > 0)
    return [(int(where[i] + 1), int(gaps[i])) for i in holes]
