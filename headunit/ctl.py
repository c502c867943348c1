"""The CLI control verbs: playerctl-style commands to the running daemon over MPRIS.

`headunit status [--json] [--follow]`, `play|pause|toggle|stop|next|previous`,
`seek SECONDS|+N|-N`, `volume PERCENT|+N|-N`, `shuffle on|off`,
`loop none|track|playlist`, `open URI|PATH`, `queue [--json]`, `jump N`. They go
through the same D-Bus surface as media keys and Bluetooth (the queue through
headunit's own small interface beside MPRIS), so the CLI exercises what a car's
clients use.
Exit status: 0 done, 1 the daemon refused, 69 no daemon, 78 bad config.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import re
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from headunit import config as config_mod
from headunit.media import title_from_name

EX_REFUSED = 1
EX_UNAVAILABLE = 69  # sysexits.h: service unavailable
OBJECT_PATH = "/org/mpris/MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
QUEUE = "com.headunit.Queue"
PROPERTIES = "org.freedesktop.DBus.Properties"
BUS = "org.freedesktop.DBus"
LOOPS = {"none": "None", "track": "Track", "playlist": "Playlist"}
SIMPLE_VERBS = {
    "play": ("Play", "start or resume playback"),
    "pause": ("Pause", "pause playback"),
    "toggle": ("PlayPause", "play if paused or stopped, else pause"),
    "stop": ("Stop", "stop playback"),
    "next": ("Next", "skip to the next track"),
    "previous": ("Previous", "go back to the previous track"),
}


class CtlError(Exception):
    """A failure to report on stderr, with the exit status it maps to."""

    def __init__(self, message: str, status: int = EX_REFUSED) -> None:
        super().__init__(message)
        self.status = status


class Remote:
    """The daemon's MPRIS object, seen from a client connection."""

    def __init__(self, bus: MessageBus, name: str) -> None:
        self.bus = bus
        self.name = name

    @classmethod
    async def connect(cls, bus_kind: str, player_name: str) -> Remote:
        bus_type = BusType.SYSTEM if bus_kind == "system" else BusType.SESSION
        try:
            bus = await MessageBus(bus_type=bus_type).connect()
        except Exception as exc:  # no address, no socket, refused auth: all the same here
            raise CtlError(
                f"cannot reach the {bus_kind} bus ({exc}); is the daemon running?",
                EX_UNAVAILABLE,
            ) from None
        remote = cls(bus, "")
        remote.name = await remote._find(player_name)
        return remote

    async def _find(self, player_name: str) -> str:
        """The daemon's bus name: the configured one, else its `.instance<pid>` form."""
        preferred = f"org.mpris.MediaPlayer2.{player_name}"
        (names,) = await self.bus_call("ListNames", "", [])
        pattern = re.compile(re.escape(preferred) + r"(\.instance\d+)?")
        found: list[str] = sorted((n for n in names if pattern.fullmatch(n)), key=len)
        if not found:
            raise CtlError(
                f"no headunit daemon is running ({preferred} is not on the bus)", EX_UNAVAILABLE
            )
        return found[0]

    async def _call(
        self, dest: str, path: str, interface: str, member: str, signature: str, body: list[Any]
    ) -> list[Any]:
        reply = await self.bus.call(
            Message(
                destination=dest,
                path=path,
                interface=interface,
                member=member,
                signature=signature,
                body=body,
            )
        )
        assert reply is not None
        if reply.message_type is MessageType.ERROR:
            text = reply.body[0] if reply.body else reply.error_name
            if reply.error_name == "org.freedesktop.DBus.Error.ServiceUnknown":
                raise CtlError(f"the headunit daemon went away: {text}", EX_UNAVAILABLE)
            raise CtlError(f"the daemon refused: {text}")
        return reply.body

    async def bus_call(self, member: str, signature: str, body: list[Any]) -> list[Any]:
        """A call to the bus daemon itself (ListNames, AddMatch...)."""
        return await self._call(BUS, "/org/freedesktop/DBus", BUS, member, signature, body)

    async def call(
        self, member: str, signature: str = "", *args: Any, interface: str = PLAYER
    ) -> list[Any]:
        return await self._call(self.name, OBJECT_PATH, interface, member, signature, list(args))

    async def properties(self) -> dict[str, Any]:
        (values,) = await self._call(self.name, OBJECT_PATH, PROPERTIES, "GetAll", "s", [PLAYER])
        return {name: unwrap(value) for name, value in values.items()}

    async def set(self, prop: str, signature: str, value: Any) -> None:
        body = [PLAYER, prop, Variant(signature, value)]
        await self._call(self.name, OBJECT_PATH, PROPERTIES, "Set", "ssv", body)


def unwrap(value: Any) -> Any:
    """Variants -> plain Python values, recursively."""
    if isinstance(value, Variant):
        return unwrap(value.value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    return value


# status -------------------------------------------------------------------------------


def summary(props: Mapping[str, Any]) -> dict[str, Any]:
    """What `status --json` prints: plain fields in seconds and percent."""
    meta = props.get("Metadata", {})
    length = meta.get("mpris:length")
    return {
        "status": props.get("PlaybackStatus"),
        "title": meta.get("xesam:title"),
        "artist": meta.get("xesam:artist", []),
        "album": meta.get("xesam:album"),
        "url": meta.get("xesam:url"),
        "art_url": meta.get("mpris:artUrl"),
        "trackid": meta.get("mpris:trackid"),
        "position": round(props.get("Position", 0) / 1e6, 3),
        "duration": None if length is None else round(length / 1e6, 3),
        "volume": round(props.get("Volume", 0.0) * 100),
        "shuffle": props.get("Shuffle"),
        "loop": str(props.get("LoopStatus", "None")).lower(),
    }


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def progress_bar(position: float, duration: float | None, width: int = 30) -> str:
    filled = 0 if not duration else min(width, int(width * position / duration))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def render(info: Mapping[str, Any]) -> str:
    if info["title"] is None:
        head = f"{info['status']} (no track)"
    else:
        by = f" - {', '.join(info['artist'])}" if info["artist"] else ""
        album = f" ({info['album']})" if info["album"] else ""
        head = f"{info['status']}: {info['title']}{by}{album}"
    times = f"{clock(info['position'])} / {clock(info['duration'])}"
    flags = (
        f"volume {info['volume']}%  shuffle {'on' if info['shuffle'] else 'off'}"
        f"  loop {info['loop']}"
    )
    return f"{head}\n{progress_bar(info['position'], info['duration'])} {times}  {flags}"


def show(info: Mapping[str, Any], as_json: bool) -> None:
    print(json.dumps(info) if as_json else render(info), flush=True)


async def status(remote: Remote, args: argparse.Namespace) -> None:
    if args.follow:
        await follow(remote, args.json)
        return
    info = summary(await remote.properties())
    link = _link_status(args.state_dir)
    source = _source(args.state_dir)
    if args.json:
        recoveries = await watchdog_recoveries(remote)
        print(
            json.dumps(
                {**info, "watchdog_recoveries": recoveries, "source": source, "backend": link}
            ),
            flush=True,
        )
        return
    show(info, as_json=False)
    if source is not None:
        # headunit's own MPRIS shows headunit; what plays may be another player.
        print(f"source: {source}", flush=True)
    if link is not None:
        from headunit.link.status import describe

        print("\n".join(describe(link)), flush=True)


async def watchdog_recoveries(remote: Remote) -> int | None:
    """Stalls the daemon's player watchdog repaired since it started; None from a
    daemon too old to say."""
    try:
        (count,) = await remote.call("WatchdogRecoveries", interface=QUEUE)
    except CtlError as exc:
        if exc.status == EX_UNAVAILABLE:
            raise
        return None
    return int(count)


def _source(state_dir: Path) -> str | None:
    """What plays, as the daemon last wrote it (headunit, or another player)."""
    from headunit.source_status import read_source  # the verbs start faster without it

    return read_source(state_dir)


def _link_status(state_dir: Path) -> dict[str, Any] | None:
    """What the daemon's backend link last wrote (connection, the user's other clients)."""
    from headunit.link.status import read_status  # Socket.IO only where a link is shown

    return read_status(state_dir)


async def follow(remote: Remote, as_json: bool) -> None:
    """Print again on every PropertiesChanged/Seeked; end (exit 69) when the daemon leaves."""
    changes: asyncio.Queue[bool] = asyncio.Queue()
    (owner,) = await remote.bus_call("GetNameOwner", "s", [remote.name])

    def on_message(msg: Message) -> None:
        if msg.message_type is not MessageType.SIGNAL:
            return
        if msg.sender == owner and msg.path == OBJECT_PATH:
            changes.put_nowait(True)
        elif msg.member == "NameOwnerChanged" and msg.body[0] == remote.name and not msg.body[2]:
            changes.put_nowait(False)

    remote.bus.add_message_handler(on_message)
    for rule in (
        f"type='signal',sender='{remote.name}',path='{OBJECT_PATH}'",
        f"type='signal',sender='{BUS}',member='NameOwnerChanged',arg0='{remote.name}'",
    ):
        await remote.bus_call("AddMatch", "s", [rule])
    # Subscribed first, then the first print: no change falls between the two.
    changes.put_nowait(True)
    last = None
    while await changes.get():
        info = summary(await remote.properties())
        if info != last:
            show(info, as_json)
            last = info
    raise CtlError("the headunit daemon went away", EX_UNAVAILABLE)


# control verbs -------------------------------------------------------------------------


def simple(member: str) -> Callable[[Remote, argparse.Namespace], Awaitable[None]]:
    async def run(remote: Remote, args: argparse.Namespace) -> None:
        await remote.call(member)

    return run


def parse_time(text: str) -> float:
    """Seconds from `90`, `1.5`, `1:30` or `1:02:03`."""
    parts = text.split(":")
    if len(parts) > 3:
        raise ValueError(text)
    seconds = 0.0
    for part in parts:
        value = float(part)
        if not math.isfinite(value) or value < 0:
            raise ValueError(text)
        seconds = seconds * 60 + value
    return seconds


def seek_argument(text: str) -> tuple[str, float]:
    """('by', ±seconds) for +N/-N, ('to', seconds) otherwise."""
    try:
        if text[:1] in "+-":
            return "by", (-1 if text[0] == "-" else 1) * parse_time(text[1:])
        return "to", parse_time(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(
            f"expected SECONDS, M:SS, +N or -N, got {text!r}"
        ) from None


async def seek(remote: Remote, args: argparse.Namespace) -> None:
    kind, seconds = args.position
    if kind == "by":
        await remote.call("Seek", "x", round(seconds * 1e6))
        return
    meta = (await remote.properties()).get("Metadata", {})
    if "mpris:trackid" not in meta:
        raise CtlError("nothing to seek in: there is no current track")
    length = meta.get("mpris:length")
    if length is not None and seconds * 1e6 > length:
        raise CtlError(f"{clock(seconds)} is past the end of the track ({clock(length / 1e6)})")
    await remote.call("SetPosition", "ox", meta["mpris:trackid"], round(seconds * 1e6))


def volume_argument(text: str) -> tuple[bool, float]:
    """(relative?, percent)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (text[:1] not in "+-" and not 0 <= value <= 100):
        raise argparse.ArgumentTypeError(f"expected a percentage 0..100, +N or -N, got {text!r}")
    return text[:1] in "+-", value


async def volume(remote: Remote, args: argparse.Namespace) -> None:
    relative, percent = args.percent
    if relative:
        percent += (await remote.properties())["Volume"] * 100
    await remote.set("Volume", "d", min(100.0, max(0.0, percent)) / 100)


async def shuffle(remote: Remote, args: argparse.Namespace) -> None:
    await remote.set("Shuffle", "b", args.mode == "on")


async def loop(remote: Remote, args: argparse.Namespace) -> None:
    await remote.set("LoopStatus", "s", LOOPS[args.mode])


def uri_argument(text: str) -> str:
    """URIs pass through; a path must exist and becomes a file:// URI."""
    if urlsplit(text).scheme and "://" in text:
        return text
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path.resolve().as_uri()


async def open_uri(remote: Remote, args: argparse.Namespace) -> None:
    await remote.call("OpenUri", "s", args.uri)


# the queue ------------------------------------------------------------------------------


def queue_entries(listed: list[Any]) -> list[dict[str, Any]]:
    """What `queue --json` prints: one object per entry, in play order. An entry not
    described yet has its file name for a title, no artist and no duration."""
    current, urls, known = listed
    entries = []
    for index, url in enumerate(urls):
        title, artists, duration = known.get(index) or (title_from_name(url), [], -1)
        entries.append(
            {
                "position": index + 1,
                "title": title,
                "artist": list(artists),
                "duration": None if duration < 0 else round(duration, 3),
                "current": index == current,
                "url": url,
            }
        )
    return entries


def render_queue(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return "the queue is empty"
    width = len(str(len(entries)))
    lines = []
    for e in entries:
        by = f" - {', '.join(e['artist'])}" if e["artist"] else ""
        mark = ">" if e["current"] else " "
        lines.append(f"{mark} {e['position']:>{width}}  {e['title']}{by}  {clock(e['duration'])}")
    return "\n".join(lines)


async def queue(remote: Remote, args: argparse.Namespace) -> None:
    (listed,) = await remote.call("List", interface=QUEUE)
    entries = queue_entries(listed)
    print(json.dumps(entries) if args.json else render_queue(entries), flush=True)


async def jump(remote: Remote, args: argparse.Namespace) -> None:
    await remote.call("Jump", "u", args.position, interface=QUEUE)


def queue_position(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) < 2**32:
        raise argparse.ArgumentTypeError(f"expected a queue position 1, 2, ..., got {text!r}")
    return int(text)


# wiring ------------------------------------------------------------------------------

Action = Callable[[Remote, argparse.Namespace], Awaitable[None]]


def runner(action: Action) -> Callable[[argparse.Namespace], int]:
    """Wrap an action as the `func` of a subcommand: (args) -> exit status."""

    def run(args: argparse.Namespace) -> int:
        try:
            config = config_mod.resolve(getattr(args, "config", None))
        except config_mod.ConfigError as exc:
            print(f"headunit: {exc}", file=sys.stderr)
            return config_mod.EX_CONFIG
        args.state_dir = config.state.dir
        try:
            asyncio.run(_session(config.mpris.bus, config.mpris.name, action, args))
        except CtlError as exc:
            print(f"headunit: {exc}", file=sys.stderr)
            return exc.status
        except KeyboardInterrupt:
            return 130
        return 0

    return run


async def _session(bus: str, name: str, action: Action, args: argparse.Namespace) -> None:
    remote = await Remote.connect(bus, name)
    try:
        await action(remote, args)
    finally:
        remote.bus.disconnect()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the control verbs to the `headunit` command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", help="config file: which bus and name")

    def verb(name: str, text: str, action: Action) -> argparse.ArgumentParser:
        p = subparsers.add_parser(name, help=text, parents=[common])
        p.set_defaults(func=runner(action))
        return p

    p = verb("status", "show what is playing", status)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--follow", action="store_true", help="keep printing changes")
    for name, (member, text) in SIMPLE_VERBS.items():
        verb(name, text, simple(member))
    p = verb("seek", "seek to SECONDS (or M:SS), or by +N/-N seconds", seek)
    p.add_argument("position", type=seek_argument, metavar="SECONDS|+N|-N")
    p = verb("volume", "set the volume to PERCENT, or change it by +N/-N", volume)
    p.add_argument("percent", type=volume_argument, metavar="PERCENT|+N|-N")
    p = verb("shuffle", "turn shuffle on or off", shuffle)
    p.add_argument("mode", choices=("on", "off"))
    p = verb("loop", "repeat nothing, the track, or the playlist", loop)
    p.add_argument("mode", choices=tuple(LOOPS))
    p = verb("queue", "list the queue (> marks the entry playing)", queue)
    p.add_argument("--json", action="store_true", help="one JSON array")
    p = verb("jump", "play entry N of the queue", jump)
    p.add_argument("position", type=queue_position, metavar="N")
    p = verb("open", "play a file, directory or http(s) URL now", open_uri)
    p.add_argument("uri", type=uri_argument, metavar="URI|PATH")


def main(argv: list[str] | None = None) -> int:
    """`python -m headunit.ctl VERB ...`: the verbs without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="headunit")
    register(parser.add_subparsers(dest="verb", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
