"""MPRIS2 over D-Bus (dbus-fast): how media keys, Bluetooth AVRCP and desktops reach us.

`server` owns the bus and the name, `root` and `player` are the D-Bus surface (each
member guards on its Can* and makes one controller call), `frontend` turns controller
state changes into PropertiesChanged/Seeked, `metadata` maps a Track to a{sv}.
"""
