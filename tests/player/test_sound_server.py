"""The player on a real PipeWire (null sink, recorded): what the sound server sees of the
stream, even loudness, and an output that survives its server being restarted."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support import (
    PipeWire,
    async_wait_for,
    cut_tone,
    make_album,
    make_tone,
    read_recording,
    silences,
    statuses,
)

from headunit.model import Command, CommandName
from headunit.state import Status

pytestmark = pytest.mark.timeout(180)

# Seconds to wait for sound: on a busy machine opening the output can take a few of the
# player's retries (it tries again every second). Not a timing: nothing is asserted on it.
SOUND_WITHIN = 30.0
# What the car promises: sound again within 5 s of the sound server's return.
BACK_WITHIN = 5.0


def stream_properties(pw: PipeWire) -> list[dict[str, Any]]:
    """The properties of every playback stream PipeWire has, from pw-dump."""
    objects = json.loads(pw.run("pw-dump").stdout)
    return [
        o["info"]["props"]
        for o in objects
        if o.get("type") == "PipeWire:Interface:Node"
        and o.get("info", {}).get("props", {}).get("media.class") == "Stream/Output/Audio"
    ]


async def test_an_album_cut_from_one_tone_plays_with_no_gap_at_the_joins(
    pipewire: PipeWire, make_rig, tmp_path: Path
) -> None:
    """Recorded from the sink: the tone comes out whole, with no silence where one file
    hands over to the next. (Underruns of a busy machine, away from the joins, are not
    the player's doing and are left to bench/gapless.py to count.)"""
    import numpy

    seconds, files = 1.0, cut_tone(tmp_path / "tone", [48000] * 4, 1.0)
    recording = tmp_path / "album.raw"
    recorder = pipewire.record(recording)
    rig = await make_rig(files, audio_output="pipewire", startup_volume_max=100)
    await async_wait_for(
        lambda: rig.controller.state.status is Status.STOPPED and rig.recorder.titles()[-1] is None,
        within=SOUND_WITHIN,
        what="the album played to its end",
    )
    recorder.terminate()
    recorder.wait(timeout=10)
    assert rig.recorder.titles() == [None, "01", "02", "03", "04", None]
    samples = read_recording(recording)
    start = int(numpy.flatnonzero(numpy.abs(samples) >= 0.01)[0])
    holes = [(at, n) for at, n in silences(samples) if n > 2]
    at_joins = []
    missing = 0
    for at, n in holes:
        tone_time = (at - start - missing) / pipewire.RATE
        if abs(tone_time - round(tone_time / seconds) * seconds) < 0.05:
            at_joins.append((round(tone_time, 3), n))
        missing += n
    assert at_joins == []


@pytest.mark.parametrize("output", ["pipewire", "pulse"])
async def test_the_stream_says_it_is_headunit_playing_music(
    pipewire: PipeWire, make_rig, album: list[Path], output: str
) -> None:
    rig = await make_rig(album, audio_output=output)

    def described() -> list[dict[str, Any]]:
        # pw-dump can list the node before the client has set all its properties.
        return [p for p in stream_properties(pipewire) if "media.role" in p]

    (props,) = await async_wait_for(described, SOUND_WITHIN, "the stream and its role")
    assert props["media.role"].lower() == "music"  # mpv: "Music"; through pulse: "music"
    assert props["application.name"] == "headunit"
    assert rig.controller.state.status is Status.PLAYING


async def test_wireplumbers_role_policy_of_docs_car_md_routes_it_as_multimedia(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_rig, album: list[Path]
) -> None:
    """The WirePlumber 0.4 configuration docs/car.md gives: the stream lands on the
    Multimedia endpoint, the one Navigation ducks and Communication corks."""
    version = subprocess.run(["wireplumber", "--version"], capture_output=True, text=True)
    found = re.search(r"libwireplumber (\d+)\.(\d+)", version.stdout)
    if found is None or (int(found[1]), int(found[2])) >= (0, 5):
        pytest.skip(f"the Lua policy is WirePlumber 0.4's; this is {version.stdout.strip()!r}")
    roles = Path(__file__).parents[2] / "docs" / "wireplumber" / "51-headunit-roles.lua"
    server = PipeWire(tmp_path / "pw", wireplumber={f"policy.lua.d/{roles.name}": roles})
    try:
        for name in ("XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS"):
            monkeypatch.setenv(name, server.env[name])
        await make_rig(album, audio_output="pipewire")

        def routed() -> bool:
            links = server.run("pw-link", "-l").stdout
            return "headunit:output_FL\n  |-> control.endpoint.multimedia:playback_FL" in links

        await async_wait_for(routed, SOUND_WITHIN, "headunit linked to the Multimedia endpoint")
    finally:
        server.close()


# mpv's outputs a car uses, each as the car would configure it: alsa through ALSA's
# pulse plugin (libasound2-plugins), as on a car whose ALSA default is the server.
OUTPUTS = {
    "pipewire": {"audio_output": "pipewire"},
    "pulse": {"audio_output": "pulse"},
    "alsa": {"audio_output": "alsa", "mpv_options": {"audio_device": "alsa/pulse"}},
}


@pytest.mark.parametrize("output", list(OUTPUTS))
async def test_a_sound_server_restart_keeps_queue_track_and_position(
    pipewire: PipeWire, make_rig, tmp_path: Path, caplog: pytest.LogCaptureFixture, output: str
) -> None:
    album = make_album(tmp_path / "long", ["One", "Two", "Three"], seconds=30)
    rig = await make_rig(album, **OUTPUTS[output])
    await rig.controller.execute(Command(CommandName.NEXT), "test")
    await rig.controller.execute(Command(CommandName.SEEK, 5.0), "test")
    await async_wait_for(
        lambda: rig.controller.position() > 5.5, SOUND_WITHIN, "Two playing past 5 s"
    )
    entry = rig.controller.state.track.entry_id
    caplog.set_level(logging.INFO, logger="headunit")
    shown = len(rig.recorder.states)

    await asyncio.to_thread(pipewire.stop)
    await async_wait_for(
        lambda: rig.controller.state.status is Status.PAUSED, what="the outage shown"
    )
    state = rig.controller.state
    assert (state.track.entry_id, state.queue_length) == (entry, 3)
    lost_at = rig.controller.position()
    assert 5.0 < lost_at < 10  # where the sound was last heard (4 times a second)

    await asyncio.to_thread(pipewire.start)
    await async_wait_for(
        lambda: (
            rig.controller.state.status is Status.PLAYING
            and rig.controller.position() > lost_at + 0.5
        ),
        within=BACK_WITHIN,
        what="playing on after the server's return",
    )
    assert rig.controller.state.track.entry_id == entry
    assert rig.controller.position() < lost_at + 5  # from where it stopped, not the top
    # Paused once for the whole outage, whatever the retries met: no flapping.
    assert statuses(rig.recorder.states[shown:]) == [Status.PAUSED, Status.PLAYING]
    ours = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "headunit.mpv"]
    assert len(ours) == 1, [r.getMessage() for r in ours]
    assert "audio output" in ours[0].getMessage()
    assert "skipped" not in caplog.text
    # mpv's own complaints reach the log, each distinct line once.
    said = [r.getMessage() for r in caplog.records if r.name == "headunit.mpv"]
    assert said
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "headunit.mpv")
    assert len(said) == len(set(said)), said


async def test_an_output_missing_at_start_is_waited_for(
    pipewire: PipeWire, make_rig, album: list[Path]
) -> None:
    await asyncio.to_thread(pipewire.stop)
    rig = await make_rig(album, audio_output="pipewire")
    await async_wait_for(lambda: rig.controller.state.status is Status.PAUSED, what="waiting")
    assert rig.controller.state.track.title == "One"
    await asyncio.to_thread(pipewire.start)
    await async_wait_for(
        lambda: rig.controller.state.status is Status.PLAYING, BACK_WITHIN, "playing"
    )
    assert rig.controller.state.track.title == "One"


async def loudness(pw: PipeWire, make_rig, song: Path, replaygain: str, tmp: Path) -> float:
    """The level of `song` as recorded on the sink (the 99th percentile of |sample|)."""
    import numpy

    recording = tmp / f"{replaygain}.raw"
    recorder = pw.record(recording)
    rig = await make_rig([song], audio_output="pipewire", replaygain=replaygain)
    await async_wait_for(
        lambda: rig.controller.state.status is Status.STOPPED and rig.recorder.titles()[-1] is None,
        within=SOUND_WITHIN,
        what="the song played to its end",
    )
    await rig.player.close()
    recorder.terminate()
    recorder.wait(timeout=10)
    samples = numpy.abs(read_recording(recording))
    return float(numpy.percentile(samples[samples > 0.001], 99))


async def test_replaygain_plays_a_tagged_track_at_its_gain(
    pipewire: PipeWire, make_rig, tmp_path: Path
) -> None:
    song = make_tone(
        tmp_path / "loud.flac",
        2,
        # mpv (FFmpeg) reads a track gain only beside its peak, as taggers write them.
        tags={"TITLE": "Loud", "REPLAYGAIN_TRACK_GAIN": "-6.02 dB", "REPLAYGAIN_TRACK_PEAK": "1.0"},
        rate=48000,
    )
    off = await loudness(pipewire, make_rig, song, "off", tmp_path)
    track = await loudness(pipewire, make_rig, song, "track", tmp_path)
    assert off > 0.5  # the tone, as made
    assert track / off == pytest.approx(0.5, abs=0.03)
