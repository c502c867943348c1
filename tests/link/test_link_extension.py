"""The phone page's extension on the car's side (player role): the library and Up next
go out, a selection comes in; and a backend that knows nothing of it changes nothing."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from link_helpers import link_config, rest
from support import async_wait_for

from headunit.config import MediaConfig
from headunit.model import CommandName


def with_media(config, *paths: Path):
    return dataclasses.replace(config, media=MediaConfig(paths=tuple(str(p) for p in paths)))


async def test_the_library_goes_out_and_a_selection_plays_it(
    backend, token_file, make_car, make_phone, tmp_path, caplog
):
    music = tmp_path / "music"
    (music / "Album B").mkdir(parents=True)
    (music / "road.m3u").write_text("a.flac\n")
    phone = await make_phone(backend.url)
    library: list = []
    phone.sio.on("headunit_library", library.append)
    car = await make_car(with_media(link_config(backend.url, token_file), music))
    await async_wait_for(lambda: library)
    titles = {item["title"]: item for item in library[-1]["items"]}
    assert {name: item["kind"] for name, item in titles.items()} == {
        "music": "folder",
        "Album B": "folder",
        "road": "playlist",
    }
    await phone.sio.emit("headunit_select", {"kind": "library", "id": titles["Album B"]["id"]})
    await async_wait_for(lambda: car.player.commands)
    assert car.player.commands[0].name is CommandName.OPEN
    assert car.player.commands[0].value == str(music / "Album B")
    # An id the car did not offer is one log line; the next command still runs.
    with caplog.at_level(logging.WARNING):
        await phone.sio.emit("headunit_select", {"kind": "library", "id": "00ff"})
        await phone.sio.emit("carplay_command", {"command": "pause"})
        await async_wait_for(lambda: len(car.player.commands) == 2)
    assert car.player.commands[1].name is CommandName.PAUSE
    assert "dropped a headunit_select from the backend: no library item 00ff" in caplog.text


async def test_a_backend_without_the_extension_changes_nothing(
    backend, token_file, make_car, make_phone, tmp_path
):
    # The Node server and any other backend: no handler for these events at all.
    handlers = backend.backend.sio.handlers["/"]
    for event in ("headunit_queue_update", "headunit_library_update", "headunit_select"):
        del handlers[event]
    phone = await make_phone(backend.url)
    car = await make_car(with_media(link_config(backend.url, token_file), tmp_path))
    await async_wait_for(lambda: phone.states)
    assert phone.states[-1]["mediaTitle"] == "Song 0"
    await rest(backend.url, 7, {"command": "next", "value": None})
    await async_wait_for(lambda: phone.states[-1]["mediaTitle"] == "Song 1")
    assert [c.name for c in car.player.commands] == [CommandName.NEXT]
    assert phone.errors == []
    assert car.supervisor.sessions == 1
