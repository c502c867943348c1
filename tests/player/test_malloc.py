"""glibc's mmap threshold, fixed before libmpv starts: a large block freed does not
send the next ones into the arenas, where their memory would stay."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from headunit.player.malloc import fix_mmap_threshold

ROOT = Path(__file__).resolve().parents[2]

# A fresh process frees a large block (as mpv frees a file's buffers), then takes
# another; it prints how many more blocks glibc has mapped on their own.
PROBE = """
import ctypes, sys
sys.path.insert(0, sys.argv[2])
from headunit.player.malloc import fix_mmap_threshold
libc = ctypes.CDLL(None)
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = (ctypes.c_void_p,)
if sys.argv[1] == "fixed":
    assert fix_mmap_threshold()
before = libc.mallinfo2().hblks
libc.free(libc.malloc(4 << 20))
block = libc.malloc(2 << 20)
print(libc.mallinfo2().hblks - before)
"""


def mapped_after_a_large_free(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode, str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return int(out.stdout)


def test_a_large_block_stays_mapped_on_its_own_once_the_threshold_is_fixed() -> None:
    assert mapped_after_a_large_free("default") == 0  # glibc's own: into the heap
    assert mapped_after_a_large_free("fixed") == 1  # given back to the system when freed


def test_a_c_library_without_mallopt_is_left_as_it_is() -> None:
    class Musl:  # no mallopt
        pass

    assert not fix_mmap_threshold(Musl())  # type: ignore[arg-type]
