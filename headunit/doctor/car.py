"""The car's side of the configuration: the file itself, the media it names, the keys."""

from __future__ import annotations

import os
import pwd
import stat
from collections import Counter
from pathlib import Path

from headunit import media, mounts
from headunit.config import Config, ConfigError, KeysConfig, find, load
from headunit.doctor.report import Finding, fail, ok, warn

# Where a stick or a card is mounted: missing there means "not plugged in", not "wrong".
REMOVABLE = ("/media/", "/mnt/", "/run/media/")
SERVICE_USER = "headunit"


def config(explicit: str | None) -> tuple[Finding, Config | None]:
    path = find(explicit)
    if path is None:
        return ok("config", "no configuration file found: the defaults apply"), Config()
    try:
        loaded = load(path)
    except ConfigError as exc:
        fix = "config.example.toml documents every key; headunit check-config checks again"
        return fail("config", str(exc), fix), None
    return ok("config", f"{path} read, every key valid"), loaded


def media_paths(paths: tuple[str, ...]) -> list[Finding]:
    if not paths:
        return [warn("media", "media.paths is empty: nothing to play", "set [media] paths")]
    return [media_path(item) for item in paths]


def media_path(item: str) -> Finding:
    if media.is_stream(item):
        return ok("media", f"{item}: a stream (not fetched here)")
    local = media.to_local_path(item)
    if local is None:
        return fail("media", f"{item}: unsupported URI scheme", "use a path or an http(s) URL")
    local = local.absolute()
    if not local.exists():
        if str(local).startswith(REMOVABLE):
            return warn("media", f"{local}: not there now", "plug in the stick or card")
        return fail("media", f"{local} does not exist", "create it, or fix media.paths")
    if not os.access(local, os.R_OK | (os.X_OK if local.is_dir() else 0)):
        return fail("media", f"{local} cannot be read by {_me()}", f"chmod o+rX {local}")
    queued = len(media.expand(str(local)))
    if local.is_dir():
        found = census(local)
        parts = [f"{queued} files", f"{found['playlist']} playlists"]
        skipped = [f"{n} {why}" for why, n in found.items() if why != "playlist" and n]
        text = f"{local}: {', '.join(parts)}; skipped: {', '.join(skipped) or 'none'}"
    else:
        text = f"{local}: {queued} entries"
    text += f"; on {mounted_from(local)}"
    if queued == 0:
        return warn("media", text, "nothing playable here: copy music in, or fix media.paths")
    return ok("media", text)


def census(folder: Path) -> Counter[str]:
    """What a scan of `folder` passes over, and why (the scan itself is media.expand)."""
    found: Counter[str] = Counter(playlist=0)
    for top, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # as the scan does
        for name in files:
            if name.startswith("."):
                continue
            kind = media.extension(name)
            path = os.path.join(top, name)
            if kind in media.PLAYLIST_EXTENSIONS:
                found["playlist"] += 1
            elif kind not in media.MEDIA_EXTENSIONS:
                found["not audio"] += 1
            else:
                found[_unplayable(path)] += 1
    del found[""]
    return found


def _unplayable(path: str) -> str:
    """Why a media file is not queued ("" when it is)."""
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return "unreadable"
    if not regular:
        return "not regular files (FIFOs, devices)"
    return "" if os.access(path, os.R_OK) else "unreadable"


def mounted_from(path: Path) -> str:
    """The device (and file system) the longest matching mount point comes from."""
    try:
        table = mounts.table()
    except OSError:
        return "an unknown device"
    resolved = str(path.resolve())
    inside = [mount for mount in table if mounts.under(resolved, mount.point)]
    if not inside:
        return "an unknown device"
    # The last of the longest: a mount over another at the same point hides it.
    best = max(reversed(inside), key=lambda m: len(m.point))
    return f"{best.source} ({best.fstype}) at {best.point}"


def keys(config: KeysConfig) -> list[Finding]:
    if not config.devices:
        return [ok("keys", "no key devices configured (keys can reach headunit over MPRIS)")]
    return [key_device(Path(device)) for device in config.devices]


def key_device(device: Path) -> Finding:
    if not device.exists():
        return fail(
            "keys", f"{device} is not there", "plug the adapter in; ls /dev/input/by-id lists them"
        )
    if not os.access(device, os.R_OK):
        return fail("keys", f"{device} cannot be read by {_me()}", "add the user to group input")
    if _service_reads(device) is False:
        return warn(
            "keys",
            f"{device} is readable by {_me()} but not by the service's user {SERVICE_USER}",
            f"add {SERVICE_USER} to the device's group (input)",
        )
    return ok("keys", f"{device} present and readable")


def _service_reads(device: Path) -> bool | None:
    """Whether the system service's user can read it (None: there is no such user)."""
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return None
    info = device.stat()
    groups = set(os.getgrouplist(SERVICE_USER, user.pw_gid))
    readable = (
        (info.st_uid == user.pw_uid and info.st_mode & stat.S_IRUSR)
        or (info.st_gid in groups and info.st_mode & stat.S_IRGRP)
        or info.st_mode & stat.S_IROTH
    )
    return bool(readable)


def _me() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name
