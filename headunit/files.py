"""Replacing a file so that nobody, not even a power cut, sees half of it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, mode: int = 0o600, durable: bool = False) -> None:
    """Replace `path` with `data`: a reader sees the old file or the new one, never a
    torn one. `durable` also fsyncs the file and its folder, for what must survive a
    power cut (the resume state); without it the rename alone protects readers.
    Blocking: call it from a worker thread when the loop must not wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(partial, mode)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
    if durable:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
