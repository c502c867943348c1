"""A USB stick yanked from a running car, for the tests and bench/soak.py.

A stick pulled while the car plays does not vanish at once: for a moment it is still
mounted, its folders and files still stat (the kernel has them cached), but every read
fails with EIO; then udisks or the kernel unmounts it. `umount -l` of a bind mount
cannot show that (files open before it stay readable), so this is a real filesystem: a
read-only FUSE passthrough of a source folder (mfusepy on the distribution's libfuse3),
served by a process of its own, which on demand answers every open, read and directory
listing with EIO, and is then unmounted:

    stick = FuseStick(source, mountpoint)   # plugged: mountpoint mirrors source
    stick.yank(after=1.0)                   # EIO from now on, unmounted 1 s later
    stick.plug()                            # plugged again (a fresh server)
    stick.close()                           # unmounted and its server gone, whatever happened

`fail()` and `unmount()` are yank's two halves, for a caller that does something in
between. Needs root and /dev/fuse, and libfuse3 (Debian: fuse3, in scripts/setup --test).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from headunit import mounts

# What a stick's files and folders say about themselves: lstat's fields, times in ns.
_STAT_FIELDS = ("st_mode", "st_ino", "st_nlink", "st_uid", "st_gid", "st_size", "st_blocks")
_TIMES = ("st_atime", "st_mtime", "st_ctime")
_READY, _FAILING = "mounted", "failing"


def mounted(mountpoint: Path) -> bool:
    """Whether `mountpoint` is a mount point now, from the mount table (never touching
    the mount itself: a dead FUSE server would make a stat hang or fail)."""
    target = str(mountpoint.resolve())
    return any(mount.point == target for mount in mounts.table())


class FuseStick:
    """A FUSE mirror of `source` on `mountpoint` (created if missing), plugged at once."""

    def __init__(self, source: Path, mountpoint: Path, log: Path | None = None) -> None:
        self.source = source.resolve()
        self.mountpoint = mountpoint
        self.log = log or mountpoint.parent / f"{mountpoint.name}.fusestick.log"
        self._server: subprocess.Popen[str] | None = None
        # Servers of earlier plugs: a file opened before a pull keeps getting EIO from
        # its server until it is closed, as from a real pulled stick.
        self._pulled: list[subprocess.Popen[str]] = []
        mountpoint.mkdir(parents=True, exist_ok=True)
        self.plug()

    def plug(self) -> None:
        """Mount the mirror (again) and wait until it is in the mount table."""
        assert not mounted(self.mountpoint), f"{self.mountpoint} is still mounted"
        if self._server is not None:
            self._pulled.append(self._server)
        with self.log.open("a") as log:
            self._server = subprocess.Popen(
                [sys.executable, __file__, str(self.source), str(self.mountpoint)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                # Deterministic even where libfuse2 is installed too: mfusepy tries it first.
                env={**os.environ, "FUSE_LIBRARY_NAME": "fuse3"},
            )
        self._expect(_READY)

    def fail(self) -> None:
        """From now on every open, read and listing answers EIO (open files too)."""
        self._send(_FAILING)

    def unmount(self) -> None:
        """What the kernel does once the stick is gone: a lazy unmount. A file still
        open keeps getting EIO from the server until it is closed."""
        subprocess.run(["umount", "-l", str(self.mountpoint)], check=True)

    def yank(self, after: float = 1.0) -> None:
        self.fail()
        time.sleep(after)
        self.unmount()

    def close(self) -> None:
        """Unmount if still mounted and end the server (its open files then fail with
        ENOTCONN): nothing is left behind, even after a failed test."""
        if self._server is not None and mounted(self.mountpoint):
            subprocess.run(["umount", "-l", str(self.mountpoint)], check=False)
        servers = [*self._pulled, *([self._server] if self._server else [])]
        for server in servers:
            if server.poll() is None:
                server.kill()
                server.wait(timeout=10)
            for pipe in (server.stdin, server.stdout):
                if pipe is not None:
                    pipe.close()
        self._server, self._pulled = None, []

    def _send(self, word: str) -> None:
        server = self._server
        assert server is not None
        assert server.stdin is not None
        server.stdin.write(word + "\n")
        server.stdin.flush()
        self._expect(word)

    def _expect(self, word: str) -> None:
        """The server's answer; it says a word only once what it names is true."""
        server = self._server
        assert server is not None
        assert server.stdout is not None
        line = server.stdout.readline().strip()
        if line != word:
            server.wait(timeout=10)
            raise RuntimeError(
                f"fusestick on {self.mountpoint} said {line!r}, not {word!r} "
                f"(exit {server.returncode}); see {self.log}"
            )


# -- the server process: python tests/fusestick.py SOURCE MOUNTPOINT -------------------


def _serve(source: Path, mountpoint: Path) -> None:
    import errno

    import mfusepy

    failing = threading.Event()

    def check() -> None:
        if failing.is_set():
            raise mfusepy.FuseOSError(errno.EIO)

    class Stick(mfusepy.Operations):
        use_ns = True

        def _real(self, path: str) -> str:
            return os.path.join(source, path.lstrip("/"))

        def init(self, path: str) -> None:
            # Called once the kernel has the mount: the parent may go on.
            print(_READY, flush=True)
            threading.Thread(target=listen, daemon=True).start()

        def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
            st = os.lstat(self._real(path))
            attrs: dict[str, Any] = {name: getattr(st, name) for name in _STAT_FIELDS}
            attrs.update((name, getattr(st, name + "_ns")) for name in _TIMES)
            return attrs

        def opendir(self, path: str) -> int:
            check()
            return 0

        def readdir(self, path: str, fh: int) -> list[str]:
            check()
            return [".", "..", *os.listdir(self._real(path))]

        def open(self, path: str, flags: int) -> int:
            check()
            return os.open(self._real(path), os.O_RDONLY)

        def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
            check()
            return os.pread(fh, size, offset)

        def release(self, path: str, fh: int) -> int:
            os.close(fh)
            return 0

        def statfs(self, path: str) -> dict[str, int]:
            st = os.statvfs(source)
            return {name: getattr(st, name) for name in dir(st) if name.startswith("f_")}

    def listen() -> None:
        """The parent's words on stdin; end of input (the parent died): unmount."""
        for line in sys.stdin:
            if line.strip() == _FAILING:
                failing.set()
                print(_FAILING, flush=True)
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)

    # direct_io: every read reaches the server, none is answered from the page cache (a
    # stick's pages read before the pull would be; a test cannot tell which those are).
    mfusepy.FUSE(
        Stick(), str(mountpoint), foreground=True, ro=True, fsname="fusestick", direct_io=True
    )


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), Path(sys.argv[2]))
