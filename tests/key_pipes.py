"""Steering-wheel key devices for the tests: pipes standing in for /dev/input devices
(there is no USB key adapter here; docs/car.md)."""

from __future__ import annotations

import errno
import os
import struct

from support import async_wait_for

NEXTSONG, PLAYPAUSE = 163, 164
CODES = {  # linux/input-event-codes.h, for the default [keys] map
    "KEY_PLAYPAUSE": PLAYPAUSE,
    "KEY_PLAYCD": 200,
    "KEY_PAUSECD": 201,
    "KEY_STOPCD": 166,
    "KEY_NEXTSONG": NEXTSONG,
    "KEY_PREVIOUSSONG": 165,
    "KEY_VOLUMEUP": 115,
    "KEY_VOLUMEDOWN": 114,
}
EVENT = struct.Struct("ii")  # (code, value)


class PipeSource:
    """A device whose events the test writes; closing the write end unplugs it."""

    name = "test pipe"

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)

    def fileno(self) -> int:
        return self._read

    def read_keys(self) -> list[tuple[int, int]]:
        data = os.read(self._read, 4096)  # BlockingIOError when empty
        if not data:
            raise OSError(errno.ENODEV, "No such device")
        return [EVENT.unpack_from(data, at) for at in range(0, len(data), EVENT.size)]

    def send(self, code: int, value: int) -> None:
        os.write(self._write, EVENT.pack(code, value))

    def unplug(self) -> None:
        os.close(self._write)

    def close(self) -> None:
        os.close(self._read)


class Plugs:
    """The opener: a device opens while its path exists, like /dev/input/by-id links."""

    def __init__(self) -> None:
        self.opened: list[PipeSource] = []
        self.attempts = 0

    def __call__(self, path: str) -> PipeSource:
        self.attempts += 1
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        source = PipeSource()
        self.opened.append(source)
        return source

    async def wait_open(self, count: int) -> PipeSource:
        await async_wait_for(lambda: len(self.opened) >= count, what=f"open #{count}")
        return self.opened[count - 1]

    async def wait_tried(self) -> None:
        """Until the device has looked for its path once more (and found it or not)."""
        tried = self.attempts
        await async_wait_for(lambda: self.attempts > tried, what="another open attempt")
