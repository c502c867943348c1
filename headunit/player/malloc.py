"""glibc's allocator, kept from hoarding the large blocks libmpv frees.

glibc maps a large block (over 128 KiB) on its own and unmaps it when freed, but each
such free also raises the threshold to that block's size (up to 32 MiB). From then on,
blocks that large come from the arenas of mpv's threads instead, whose freed space is
seldom given back to the system. Every file mpv opens or prefetches allocates a few
such blocks (demuxer and probe buffers), so the daemon's memory grew by about 10 MB
at a track change now and then and by 30 MB when FFmpeg probed a broken file, and only
some of it came back (BENCHMARKS.md, bench/soak.py). Setting the threshold fixes it
where it starts (glibc then stops moving it): large blocks stay mapped on their own and
go back to the system when freed.

What is left of the growth is the arenas themselves: glibc gives each thread that
allocates its own, up to 8 per core, and each keeps a few hundred KiB of freed space.
mpv's threads (demuxer, decoder, output, one set per file opened) are capped at two
arenas between them; the lock they share is taken once per block, far below the cost
of decoding audio.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

# glibc's own starting value, kept fixed.
MMAP_THRESHOLD = 128 * 1024
# Arenas for every thread of the process (glibc fixes the cap the first time a thread
# needs a new arena once eight exist, so it still holds when set after a few threads).
ARENAS = 2
_M_MMAP_THRESHOLD = -3  # mallopt's parameters, from glibc's malloc.h
_M_ARENA_MAX = -8


def tune(libc: ctypes.CDLL | None = None) -> bool:
    """Fix glibc's mmap threshold and cap its arenas for the whole process; False where
    the C library has no mallopt (musl) or refuses it. Call before libmpv starts its
    threads."""
    try:
        mallopt = (libc or ctypes.CDLL(None)).mallopt
    except AttributeError:
        log.debug("no mallopt in this C library: its allocator is left as it is")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    fixed = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return bool(mallopt(_M_ARENA_MAX, ARENAS)) and fixed
