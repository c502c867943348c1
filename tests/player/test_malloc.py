"""glibc's mmap threshold, fixed before libmpv starts: a large block freed does not
send the next ones into the arenas, where their memory would stay."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from headunit.player.malloc import tune

ROOT = Path(__file__).resolve().parents[2]

# A fresh process frees a large block (as mpv frees a file's buffers), then takes
# another; it prints how many more blocks glibc has mapped on their own.
PROBE = """
import ctypes, sys
sys.path.insert(0, sys.argv[2])
from headunit.player.malloc import tune
libc = ctypes.CDLL(None)
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = (ctypes.c_void_p,)
if sys.argv[1] == "fixed":
    assert tune()
before = libc.mallinfo2().hblks
libc.free(libc.malloc(4 << 20))
block = libc.malloc(2 << 20)
print(libc.mallinfo2().hblks - before)
"""


def probe(program: str, mode: str) -> int:
    """What `program`, run in a fresh process (its allocator untouched), prints."""
    out = subprocess.run(
        [sys.executable, "-c", program, mode, str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return int(out.stdout)


def test_a_large_block_stays_mapped_on_its_own_once_the_threshold_is_fixed() -> None:
    assert probe(PROBE, "default") == 0  # glibc's own: into the heap
    assert probe(PROBE, "fixed") == 1  # given back to the system when freed


# Two threads that stay (the daemon's own, started before the allocator is tuned) and
# then six more (mpv's) allocate at once; it prints how many arenas glibc made.
ARENAS = """
import ctypes, os, re, sys, threading
sys.path.insert(0, sys.argv[2])
from headunit.player.malloc import tune
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.fdopen.restype = ctypes.c_void_p
done = threading.Event()
def allocate_in_threads(count):
    gate = threading.Barrier(count + 1)
    def allocate():
        libc.malloc(64)  # a thread's first block: an arena of its own, if glibc may
        gate.wait()
        done.wait()  # alive, keeping its arena, until the count is read
    for _ in range(count):
        threading.Thread(target=allocate, daemon=True).start()
    gate.wait()
allocate_in_threads(2)
if sys.argv[1] == "tuned":
    assert tune()
if sys.argv[1] != "before":
    allocate_in_threads(6)
read, write = os.pipe()
out = libc.fdopen(write, b"w")
libc.malloc_info(0, ctypes.c_void_p(out))
libc.fclose(ctypes.c_void_p(out))
print(len(re.findall(rb"<heap nr=", os.read(read, 1 << 20))))
done.set()
"""


def test_the_threads_started_after_tuning_share_the_arenas_already_made() -> None:
    """Each arena keeps freed space of its own: mpv's threads make none more."""
    before = probe(ARENAS, "before")
    assert before == 3  # the main thread's and the first two threads'
    assert probe(ARENAS, "untuned") == before + 6  # glibc's own: one per thread, up to 8 a core
    assert probe(ARENAS, "tuned") == before  # the six share those


def test_a_c_library_without_mallopt_is_left_as_it_is() -> None:
    class Musl:  # no mallopt
        pass

    assert not tune(Musl())  # type: ignore[arg-type]
