"""The repository explains itself: no file points at a document or folder it does not hold."""

from __future__ import annotations

import fnmatch
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Places that lived beside the repository once, and the name it had for the media
# service's backend; spelled so that this file does not match itself.
OUTSIDE = re.compile(r"\bshare[d]/|\bthe see[d]\b|\bsee[d]'s\b", re.IGNORECASE)
# A Markdown document named by path: it must be one of ours.
DOCUMENT = re.compile(r"(?<![\w./\-${}])((?:\.\./|[\w-]+/)*[\w-]+\.md)\b")


def _ignored(relative: Path, patterns: list[str]) -> bool:
    """Whether .gitignore's simple patterns (names and globs, a folder with a trailing
    slash) leave `relative` out."""
    names = relative.parts
    for pattern in patterns:
        folder = pattern.endswith("/")
        pattern = pattern.strip("/")
        parts = names[:-1] if folder else names
        if "/" in pattern:
            if fnmatch.fnmatch(str(relative), pattern + ("/*" if folder else "")):
                return True
        elif any(fnmatch.fnmatch(part, pattern) for part in parts):
            return True
    return False


def tracked_files() -> list[Path]:
    """Every tracked file; a copy of the tree without its git data (as in a CI chroot)
    is walked instead, leaving out .git and what .gitignore names."""
    try:
        listing = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
        ).stdout.decode()
        return [ROOT / name for name in listing.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        lines = (ROOT / ".gitignore").read_text().splitlines()
        patterns = [".git", *(p for p in lines if p and not p.startswith("#"))]
        return [
            path
            for path in sorted(ROOT.rglob("*"))
            if path.is_file() and not _ignored(path.relative_to(ROOT), patterns)
        ]


def texts() -> list[tuple[str, str]]:
    found = []
    for path in tracked_files():
        try:
            found.append((str(path.relative_to(ROOT)), path.read_text()))
        except (UnicodeDecodeError, FileNotFoundError):
            continue  # binary, or deleted from the working tree
    return found


def document_exists(source: str, name: str) -> bool:
    here = (ROOT / source).parent
    candidates = [here / name, ROOT / name, ROOT / "docs" / name]
    return any(c.resolve().is_relative_to(ROOT) and c.is_file() for c in candidates)


TEXTS = texts()


def test_the_scan_sees_the_whole_tree() -> None:
    names = {name for name, _ in TEXTS}
    assert {"README.md", "docs/protocol.md", "headunit/model.py", "pyproject.toml"} <= names


@pytest.mark.parametrize(("name", "text"), TEXTS, ids=[name for name, _ in TEXTS])
def test_no_file_points_outside_the_repository(name: str, text: str) -> None:
    outside = [m.group(0) for m in OUTSIDE.finditer(text)]
    assert not outside, f"{name} names something outside the repository: {outside}"
    missing = [m.group(1) for m in DOCUMENT.finditer(text) if not document_exists(name, m.group(1))]
    assert not missing, f"{name} names documents the repository does not hold: {missing}"


@pytest.mark.parametrize(
    "line",
    [
        "The contract is in ../shar" + "ed/PROTOCOL" + ".m" + "d.",
        "See ENGINEERING" + ".m" + "d for why.",
        "Refused in either of " + "the see" + "d's styles.",
        "MPRIS" + ".m" + "d, rule 7",
    ],
)
def test_the_check_catches_outside_references(line: str) -> None:
    """The scan's patterns match the kinds of reference it is there to keep out."""
    caught = OUTSIDE.search(line) or any(
        not document_exists("README.md", m.group(1)) for m in DOCUMENT.finditer(line)
    )
    assert caught
