"""org.mpris.MediaPlayer2: identity, capabilities, Quit."""

# No `from __future__ import annotations`: dbus-fast reads `-> None` as "no reply
# arguments" only when the annotation is the real None, not the string "None".

from collections.abc import Callable
from typing import Annotated

from dbus_fast.annotations import DBusBool, DBusSignature, DBusStr
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

from headunit.media import SUPPORTED_MIME_TYPES

ROOT_INTERFACE = "org.mpris.MediaPlayer2"
DBusStrings = Annotated[list[str], DBusSignature("as")]


class RootInterface(ServiceInterface):
    def __init__(
        self, identity: str, request_shutdown: Callable[[], None], schemes: tuple[str, ...]
    ) -> None:
        super().__init__(ROOT_INTERFACE)
        self._identity = identity
        self._schemes = schemes  # what OpenUri accepts under mpris.open_uri
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
        return list(self._schemes)

    @dbus_property(access=PropertyAccess.READ)
    def SupportedMimeTypes(self) -> DBusStrings:
        return list(SUPPORTED_MIME_TYPES)
