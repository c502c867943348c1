"""The machine's side: Python, libmpv and the sound output, the clock, the systemd unit."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import pwd
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headunit.config import PlayerConfig
from headunit.doctor.report import Finding, fail, ok, warn

# No clock on a car's board reads earlier than this release: one without a real-time
# clock boots in 1970, and then every token looks expired. Moved on at each release.
RELEASED = datetime(2026, 12, 1, tzinfo=UTC)
# A throw-away libmpv: start, play 0.2 s of silence, stop. About 1 s on a quiet machine;
# the bound is for a hung sound server, not an expected time.
PROBE_SECONDS = 15.0
COMMAND_SECONDS = 1.5  # systemctl, pactl, timedatectl
UNIT = "headunit.service"
USER_UNIT = Path("/etc/systemd/user/headunit.service")


async def command(*args: str) -> tuple[int, str]:
    """Run a helper program briefly; (status, its output), (127, why) when it cannot run."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        return 127, str(exc)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), COMMAND_SECONDS)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return 124, f"{args[0]} did not answer in {COMMAND_SECONDS:g} s"
    return proc.returncode or 0, out.decode(errors="replace").strip()


def python() -> Finding:
    return ok("python", f"Python {platform.python_version()} ({sys.executable})")


def clock(now: datetime | None = None) -> Finding:
    now = now or datetime.now(UTC)
    if now < RELEASED:
        return fail(
            "clock",
            f"the clock says {now:%Y-%m-%d %H:%M} UTC, before this release "
            f"({RELEASED:%Y-%m-%d}): every token looks expired",
            "a board without a real-time clock boots in 1970: enable time sync "
            "(systemd-timesyncd) or fit an RTC module",
        )
    return ok("clock", f"{now:%Y-%m-%d %H:%M} UTC, plausible")


async def start_probe(player: PlayerConfig | None) -> asyncio.subprocess.Process:
    """The throw-away libmpv (headunit/doctor/probe.py) in a process of its own, started
    first: it starts and plays while the doctor imports and runs the rest."""
    options = json.dumps(dict(player.mpv_options)) if player else "{}"
    ao = player.audio_output if player else "null"
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "headunit.doctor.probe", ao, options),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def libmpv_and_sound(
    proc: asyncio.subprocess.Process, player: PlayerConfig | None
) -> list[Finding]:
    """What the probe found: the library, and (with a config) the sound output."""
    try:
        out, err = await asyncio.wait_for(proc.communicate(), PROBE_SECONDS)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return [fail("libmpv", f"a test player did not finish in {PROBE_SECONDS:g} s")]
    problem = err.decode(errors="replace").strip()
    if proc.returncode != 0 or not out:
        last = problem.splitlines()[-1] if problem else f"exit status {proc.returncode}"
        return [fail("libmpv", f"cannot start libmpv: {last}", "apt-get install libmpv2")]
    found = json.loads(out)
    findings = [library(found["library"])]
    if player is not None:
        findings.append(await sound(player.audio_output, found["sound"], problem))
    return findings


def library(found: dict[str, Any]) -> Finding:
    api = ".".join(map(str, found["api"]))
    if "problem" in found:
        return fail("libmpv", found["problem"], "install libmpv2 from Debian 12 or later")
    return ok(
        "libmpv",
        f"{found['version']}, client API {api}, loadfile takes {found['loadfile']}, "
        f"FFmpeg {found['ffmpeg'] or 'unknown'}",
    )


async def sound(requested: str, found: dict[str, Any], stderr: str) -> Finding:
    opened = found.get("opened")
    said = [*found.get("messages", []), *_alsa_lines(stderr)]
    if opened is None:
        why = "; ".join(said[:2]) or "no reason given"
        return fail(
            "sound", f'audio_output "{requested}" did not open: {why}', _output_fix(requested)
        )
    if opened == "null" and requested != "null":
        tried = ", ".join(_tried(requested, said))
        return warn(
            "sound",
            f"no sound device opened (tried {tried}); mpv falls back to null: silence",
            "connect a sound card or DAC, or run PipeWire for this user; "
            + (_reach() or "then set player.audio_output"),
        )
    if opened == "null":
        return ok("sound", 'audio_output "null": silent, as configured')
    device = "" if found.get("device") in (None, "auto") else f" device {found['device']},"
    return ok("sound", f"{opened} opened,{device} {await _server(opened)}")


def _alsa_lines(stderr: str) -> list[str]:
    """What alsa-lib wrote straight to stderr, its last line being the gist."""
    lines = [line for line in stderr.splitlines() if line.startswith("ALSA lib")]
    return [f"alsa-lib: {lines[-1].split(')', 1)[-1].strip()}"] if lines else []


def _tried(requested: str, said: list[str]) -> list[str]:
    outputs = ["pulse", "alsa"] if requested == "auto" else requested.split(",")
    tried = []
    for name in (o for o in outputs if o != "null"):
        why = next((m.split(": ", 1)[1] for m in said if m.startswith(f"ao/{name}")), "")
        if name == "pulse" and not why:
            why = "no PulseAudio or PipeWire server"
        if name == "alsa" and not Path("/dev/snd").exists():
            why = "no sound card, /dev/snd is missing"
        tried.append(f"{name}: {why or 'did not open'}")
    return tried


def _output_fix(requested: str) -> str:
    if requested.startswith(("pulse", "pipewire")):
        return _reach() or "start PipeWire (or PulseAudio) for this user"
    if requested.startswith("alsa") and not Path("/dev/snd").exists():
        return "no sound card here (/dev/snd is missing): connect one, or use a sound server"
    return 'check player.audio_output ("mpv --ao=help" lists the outputs)'


def _reach() -> str:
    """Why this process cannot reach a sound server, when that is the trouble."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and any((Path(runtime) / s).exists() for s in ("pipewire-0", "pulse/native")):
        return ""
    me = pwd.getpwuid(os.geteuid()).pw_name
    for socket in sorted(Path("/run/user").glob("*/pipewire-0")):
        owner = _owner(socket)
        if owner != me:
            return (
                f"PipeWire runs for {owner} ({socket}), which {me} cannot reach: a system "
                "service has no session of its own; run the user service "
                '(scripts/install --mode user) or set player.audio_output = "alsa"'
            )
    if not runtime:
        return "XDG_RUNTIME_DIR is not set (no user session), so no sound server can be found"
    return ""


def _owner(path: Path) -> str:
    try:
        return pwd.getpwuid(path.stat().st_uid).pw_name
    except (KeyError, OSError):
        return "another user"


async def _server(opened: str) -> str:
    if opened not in ("pulse", "pipewire"):
        return f"no sound server (ALSA directly{_first_card()})"
    status, out = await command("pactl", "info") if shutil.which("pactl") else (1, "")
    info = dict(line.split(": ", 1) for line in out.splitlines() if status == 0 and ": " in line)
    name = info.get("Server Name") or ("PipeWire" if opened == "pipewire" else "PulseAudio")
    sink = f", default sink {info['Default Sink']}" if "Default Sink" in info else ""
    return f"sound server: {name}{sink}"


def _first_card() -> str:
    try:
        cards = Path("/proc/asound/cards").read_text().strip().splitlines()
    except OSError:
        return ""
    return f": {cards[0].strip()}" if cards else ""


def _systemd_runs() -> bool:
    return shutil.which("systemctl") is not None and Path("/run/systemd/system").is_dir()


async def systemd() -> Finding:
    if not _systemd_runs():
        return warn("systemd", "systemd is not running here: the unit was not checked")
    fields = "LoadState,UnitFileState,ActiveState,SubState,Result,ExecMainStatus,NRestarts"
    status, out = await command("systemctl", "show", UNIT, f"--property={fields},WatchdogUSec")
    if status != 0:
        return warn("systemd", f"systemctl show {UNIT} failed: {out}")
    unit = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return unit_finding(unit)


def unit_finding(unit: dict[str, str]) -> Finding:
    if unit.get("LoadState") != "loaded":
        if USER_UNIT.exists():
            return ok("systemd", f"the user unit {USER_UNIT} is installed (check it as its user)")
        return warn("systemd", f"{UNIT} is not installed", "sudo scripts/install")
    restarts = int(unit.get("NRestarts") or 0)
    watchdog = unit.get("WatchdogUSec", "0")
    text = (
        f"{UNIT} {unit.get('UnitFileState')}, {unit.get('ActiveState')} "
        f"({unit.get('SubState')}), last result {unit.get('Result')} "
        f"(exit {unit.get('ExecMainStatus')}), {restarts} restarts, watchdog {watchdog}"
    )
    if unit.get("ActiveState") == "failed" or unit.get("Result") not in (None, "success"):
        return fail("systemd", text, "journalctl -u headunit -b says why")
    if unit.get("UnitFileState") != "enabled":
        return warn("systemd", text, "sudo systemctl enable headunit: it starts with the car")
    if restarts:
        return warn("systemd", text, "journalctl -u headunit -b says why it restarted")
    if watchdog in ("0", "infinity"):
        return warn("systemd", text, "reinstall the unit: WatchdogSec restarts a hung daemon")
    return ok("systemd", text)
