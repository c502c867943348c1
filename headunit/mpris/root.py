"""org.mpris.MediaPlayer2: identity, capabilities, Quit."""

# No `from __future__ import annotations`: dbus-fast reads `-> None` as "no reply
# arguments" only when the annotation is the real None, not the string "None".

from collections.abc import Callable
from typing import Annotated

from dbus_fast.annotations import DBusBool, DBusSignature, DBusStr
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

ROOT_INTERFACE = "org.mpris.MediaPlayer2"
DBusStrings = Annotated[list[str], DBusSignature("as")]

# What `open` hands to mpv: local files and plain HTTP(S) streams. Anything else is
# refused before it reaches the player (MPRIS rule 15).
SUPPORTED_URI_SCHEMES = ("file", "http", "https")
SUPPORTED_MIME_TYPES = (
    "audio/aac",
    "audio/flac",
    "audio/mp4",
    "audio/mpeg",
    "audio/ogg",
    "audio/opus",
    "audio/wav",
    "audio/x-flac",
    "audio/x-vorbis+ogg",
    "audio/x-wav",
    "video/mp4",
    "video/webm",
    "video/x-matroska",
)


class RootInterface(ServiceInterface):
    def __init__(self, identity: str, request_shutdown: Callable[[], None]) -> None:
        super().__init__(ROOT_INTERFACE)
        self._identity = identity
        self._request_shutdown = request_shutdown

    @dbus_method()
    def Raise(self) -> None:
        """No window to raise (CanRaise is false): nothing happens, as the spec says."""

    @dbus_method()
    def Quit(self) -> None:
        self._request_shutdown()

    @dbus_property(access=PropertyAccess.READ)
    def CanQuit(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def CanRaise(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def HasTrackList(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Identity(self) -> DBusStr:
        return self._identity

    @dbus_property(access=PropertyAccess.READ)
    def SupportedUriSchemes(self) -> DBusStrings:
        return list(SUPPORTED_URI_SCHEMES)

    @dbus_property(access=PropertyAccess.READ)
    def SupportedMimeTypes(self) -> DBusStrings:
        return list(SUPPORTED_MIME_TYPES)
