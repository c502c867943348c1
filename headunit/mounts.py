"""The kernel's mount table, read from /proc without touching any mounted device (a
dying stick or a dead FUSE server would make a stat hang or fail)."""

from __future__ import annotations

from dataclasses import dataclass

MOUNTINFO = "/proc/self/mountinfo"


@dataclass(frozen=True, slots=True)
class Mount:
    point: str  # where it is mounted
    source: str  # the device (or what stands for one: a FUSE server's name, "tmpfs")
    fstype: str


def table() -> list[Mount]:
    """Every mount, in the kernel's order (a mount below another comes after it)."""
    with open(MOUNTINFO, "rb") as text:
        return [_mount(line.split()) for line in text]


def under(path: str, point: str) -> bool:
    """Whether the absolute `path` is at mount point `point` or below it."""
    return path == point or path.startswith(point.rstrip("/") + "/")


def _mount(fields: list[bytes]) -> Mount:
    # Field 5 is the mount point; after the optional fields' "-": the type, the source.
    dash = fields.index(b"-")
    return Mount(_unescape(fields[4]), _unescape(fields[dash + 2]), _unescape(fields[dash + 1]))


def _unescape(field: bytes) -> str:
    """The kernel writes a space, tab, newline or backslash in a name as octal (\\040)."""
    return field.decode("unicode_escape").encode("latin-1").decode(errors="replace")
