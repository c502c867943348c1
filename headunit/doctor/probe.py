"""A throw-away libmpv, in a process of its own: what the library is, and whether the
configured audio output really opens, by playing a fifth of a second of silence.

Run as `python -m headunit.doctor.probe AUDIO_OUTPUT [MPV_OPTIONS_JSON]`; prints one JSON
object. A process of its own keeps the running daemon's player untouched, and catches
what ALSA writes straight to stderr (the reason an output would not open).
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import wave
from pathlib import Path
from typing import Any

import mpv

from headunit.config import PlayerConfig
from headunit.player.libmpv import (
    LoadfileSyntax,
    UnsupportedLibmpv,
    check_client_api,
    client_api_version,
)
from headunit.player.mpvbridge import mpv_options

SILENCE_SECONDS = 0.2
# A healthy output ends the silence in well under a second; a busy machine (mpv starting
# beside a test suite) took over two, which read as an output that cannot open.
WAIT_SECONDS = 5.0
RATE = 8000


def _silence(folder: Path) -> Path:
    path = folder / "silence.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(b"\0\0" * int(RATE * SILENCE_SECONDS))
    return path


def library() -> dict[str, Any]:
    """The library's own word: client API, loadfile's form (a player is made to ask)."""
    api = client_api_version(mpv.backend)
    found: dict[str, Any] = {"api": list(api)}
    try:
        check_client_api(api)
    except UnsupportedLibmpv as exc:
        return {**found, "problem": str(exc)}
    player = mpv.MPV(vo="null", ao="null", config=False, load_scripts=False, terminal=False)
    try:
        syntax = LoadfileSyntax.from_command_list(player.command_list)
        found.update(version=player.mpv_version, ffmpeg=player.ffmpeg_version or "")
        found["loadfile"] = "flags, index, options" if syntax.has_index else "flags, options"
    except UnsupportedLibmpv as exc:
        found["problem"] = str(exc)
    finally:
        player.terminate()
    return found


def sound(config: PlayerConfig) -> dict[str, Any]:
    """Play silence through the daemon's own options; which output opened, or why not."""
    messages: list[str] = []
    outputs: list[str] = []
    ended = threading.Event()
    reasons: list[str] = []  # why each file ended: eof, error...

    def on_log(level: str, prefix: str, text: str) -> None:
        messages.append(f"{prefix}: {text.strip()}")

    options = {**mpv_options(config), "volume": 10, "audio_client_name": "headunit-doctor"}
    try:
        player = mpv.MPV(log_handler=on_log, loglevel="warn", **options)
    except (AttributeError, ValueError) as exc:
        return {"opened": None, "messages": [f"mpv refused an option: {exc.args[0]}"]}
    try:

        def on_output(_name: str, value: Any) -> None:
            if value:
                outputs.append(str(value))

        def on_event(event: Any) -> None:
            if event.event_id.value == mpv.MpvEventID.END_FILE:
                reasons.append(event.as_dict(decoder=mpv.lazy_decoder).get("reason", ""))
                ended.set()

        player.observe_property("current-ao", on_output)
        player.register_event_callback(on_event)
        with tempfile.TemporaryDirectory(prefix="headunit-doctor-") as folder:
            player.command("loadfile", str(_silence(Path(folder))))
            if not ended.wait(SILENCE_SECONDS + WAIT_SECONDS):
                messages.append(
                    f"{SILENCE_SECONDS} s of silence did not end within {WAIT_SECONDS} s"
                )
        device = player.audio_device
    finally:
        player.terminate()
    opened = outputs[0] if outputs and reasons == ["eof"] else None
    return {"opened": opened, "device": device, "messages": messages}


def main(argv: list[str]) -> int:
    config = PlayerConfig(audio_output=argv[0], mpv_options=json.loads(argv[1] or "{}"))
    result = {"library": library(), "sound": sound(config)}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main([*sys.argv[1:], "", ""][:2]))
