"""The remote role: the car mirrors the phone and its controls go out as carplay_command;
and handoff in the player role."""

from __future__ import annotations

import pytest
from link_helpers import FakeTarget, link_config
from support import async_wait_for

from headunit.component import Context
from headunit.controller import Controller
from headunit.link import RemoteMirror, create, remote_target
from headunit.model import Command, CommandError, CommandName, LoopMode
from headunit.state import Status


async def test_the_link_takes_the_role_of_the_target_the_daemon_runs(tmp_path):
    remote = link_config("http://127.0.0.1:9", tmp_path / "token", role="remote")
    player = link_config("http://127.0.0.1:9", tmp_path / "token", role="player")
    mirror = remote_target(remote)
    assert isinstance(mirror, RemoteMirror)
    assert remote_target(player) is None
    assert remote_target(link_config("", tmp_path / "token", role="remote")) is None

    def role(target, config):
        return create(Context(Controller(target), config, lambda: None)).role

    assert (role(mirror, remote), role(FakeTarget(), player)) == ("remote", "player")
    # A reload to the other role keeps the running one: the target outlives the link.
    assert (role(mirror, player), role(FakeTarget(), remote)) == ("remote", "player")


def phone_state(**fields):
    state = {
        "userId": 7,
        "isPlaying": True,
        "currentTime": 10.0,
        "duration": 200.0,
        "mediaId": 5,
        "mediaTitle": "Phone Song",
        "mediaArtist": "Singer",
        "mediaAlbum": "Record",
        "mediaType": "music",
        "deviceName": "phone",
    }
    state.update(fields)
    return state


class Seen:
    """A StateSink recording what the MPRIS side would publish."""

    def __init__(self):
        self.changes, self.seeks = [], []

    def state_changed(self, state, changed):
        self.changes.append((state, changed))

    def seeked(self, state):
        self.seeks.append(state)


@pytest.fixture
async def remote_car(backend, token_file, make_car):
    config = link_config(backend.url, token_file, role="remote")
    car = await make_car(config)
    await async_wait_for(lambda: car.supervisor.connected)
    car.seen = Seen()
    car.controller.subscribe(car.seen)
    return car


async def test_car_mirrors_the_phone_with_a_moving_position(remote_car, make_phone, backend):
    car = remote_car
    assert car.controller.state.status is Status.STOPPED
    assert not car.controller.state.can_play  # nothing to control yet
    phone = await make_phone(backend.url)
    await phone.sio.emit("playback_state_update", phone_state())
    await async_wait_for(lambda: car.controller.state.track is not None)
    state = car.controller.state
    assert state.status is Status.PLAYING
    assert (state.track.title, state.track.artist, state.track.album) == (
        "Phone Song",
        ("Singer",),
        "Record",
    )
    assert state.track.duration == 200.0
    assert all(
        (state.can_play, state.can_pause, state.can_next, state.can_previous, state.can_seek)
    )
    first = car.controller.position()
    assert first >= 10.0
    await async_wait_for(lambda: car.controller.position() > first)  # it runs on
    await phone.sio.emit("playback_state_update", phone_state(isPlaying=False, currentTime=11))
    await async_wait_for(lambda: car.controller.state.status is Status.PAUSED)
    assert not car.seen.seeks  # 10 s + a moment -> 11 s is drift, not a seek
    await phone.sio.emit("playback_state_update", phone_state(isPlaying=False, currentTime=95))
    await async_wait_for(lambda: bool(car.seen.seeks))
    assert car.seen.seeks[-1].position == 95.0
    entry = car.controller.state.track.entry_id
    await phone.sio.emit("playback_state_update", phone_state(mediaId=6, mediaTitle="Other"))
    await async_wait_for(lambda: car.controller.state.track.title == "Other")
    assert car.controller.state.track.entry_id != entry  # a new trackid per mediaId
    assert car.seen.changes


async def test_a_state_overtaken_on_the_way_does_not_replace_the_newer_one(
    remote_car, make_phone, backend
):
    """Behind several backend processes, the cached state a socket is greeted with can
    arrive after a newer relay: the car keeps showing the newer one."""
    car = remote_car
    phone = await make_phone(backend.url)
    await phone.sio.emit("playback_state_update", phone_state(mediaTitle="New", updatedAt=2000))
    await phone.sio.emit("playback_state_update", phone_state(mediaTitle="Old", updatedAt=1000))
    await phone.sio.emit("playback_state_update", phone_state(mediaTitle="Mark", deviceName="pad"))
    await async_wait_for(lambda: "Mark" in [p["title"] for p in car.link.peers.snapshot()])
    shown = {p["name"]: p["title"] for p in car.link.peers.snapshot()}
    assert shown == {"phone": "New", "pad": "Mark"}


async def test_car_controls_reach_the_phone_as_wire_commands(remote_car, make_phone, backend):
    car = remote_car
    phone = await make_phone(backend.url)
    await phone.sio.emit("playback_state_update", phone_state())
    await async_wait_for(lambda: car.controller.state.track is not None)
    await car.controller.execute(Command(CommandName.NEXT), "mpris")
    await car.controller.execute(Command(CommandName.TOGGLE), "mpris")  # playing -> pause
    await car.controller.execute(Command(CommandName.SEEK, 42.0), "mpris")
    await car.controller.execute(Command(CommandName.PREVIOUS), "cli")
    await async_wait_for(lambda: len(phone.commands) == 4)
    assert phone.commands == [
        {"command": "next"},
        {"command": "pause"},
        {"command": "seek", "value": 42.0},
        {"command": "previous"},
    ]
    for unsupported in (
        Command(CommandName.VOLUME, 50.0),
        Command(CommandName.SHUFFLE, True),
        Command(CommandName.LOOP, LoopMode.TRACK),
        Command(CommandName.STOP),
        Command(CommandName.OPEN, "file:///x.flac"),
    ):
        with pytest.raises(CommandError, match="not supported in the remote role"):
            await car.controller.execute(unsupported, "mpris")
    # A command relayed by the backend to the car is not bounced back to the phone: the
    # car's own next command, sent after it, is the only one that arrives.
    await phone.sio.emit("carplay_command", {"command": "play"})
    await car.controller.execute(Command(CommandName.NEXT), "mpris")
    await async_wait_for(lambda: len(phone.commands) > 4)
    assert phone.commands[4:] == [{"command": "next"}]


async def test_remote_without_a_phone_refuses_plainly(remote_car):
    with pytest.raises(CommandError, match="no remote player"):
        await remote_car.controller.execute(Command(CommandName.PLAY), "mpris")


async def test_remote_forgets_the_phone_when_the_backend_goes(remote_car, make_phone, backend):
    car = remote_car
    phone = await make_phone(backend.url)
    await phone.sio.emit("playback_state_update", phone_state())
    await async_wait_for(lambda: car.controller.state.track is not None)
    await backend.backend.disconnect_user(7)
    # On reconnect the backend's cached state brings the phone back.
    await async_wait_for(
        lambda: car.controller.state.track is not None and car.supervisor.sessions == 2
    )
    statuses = [state.status for state, _ in car.seen.changes]
    assert statuses == [Status.PLAYING, Status.STOPPED, Status.PLAYING]


async def test_handoff_continues_what_the_phone_starts(backend, token_file, make_car, make_phone):
    config = link_config(
        backend.url,
        token_file,
        follow=True,
        media_url="http://media.example/api/media/{mediaId}/stream",
    )
    car = await make_car(config)
    await async_wait_for(lambda: car.supervisor.connected)
    phone = await make_phone(backend.url)
    await phone.sio.emit("playback_state_update", phone_state(currentTime=30.0))
    await async_wait_for(lambda: len(car.player.commands) == 2)
    open_, seek = car.player.commands
    assert open_.name is CommandName.OPEN
    assert open_.value.uri == "http://media.example/api/media/5/stream"
    assert open_.value.media_id == 5  # published as mediaId, as the phone had it
    assert open_.value.authorization == f"Bearer {token_file.read_text().strip()}"
    assert "Bearer" not in repr(open_)  # the credentials never reach a log line
    assert seek.name is CommandName.SEEK
    assert seek.value >= 30.0
    # The user pauses the car; the phone's heartbeats of the same media do not restart it.
    await car.controller.execute(Command(CommandName.PAUSE), "test")
    for _ in range(3):
        await phone.sio.emit("playback_state_update", phone_state(currentTime=31.0))
    # The marker: another media, which the paused car does take over.
    await phone.sio.emit("playback_state_update", phone_state(mediaId=6, currentTime=0.0))
    await async_wait_for(lambda: len(car.player.commands) > 3)
    assert car.player.commands[3].value.media_id == 6  # nothing came before it


async def test_no_handoff_while_the_car_plays(backend, token_file, make_car, make_phone):
    config = link_config(
        backend.url, token_file, follow=True, media_url="http://media.example/{mediaId}"
    )
    car = await make_car(config)
    await car.controller.execute(Command(CommandName.PLAY), "test")
    await async_wait_for(lambda: car.supervisor.connected)
    phone = await make_phone(backend.url)
    await phone.sio.emit("playback_state_update", phone_state())
    await async_wait_for(lambda: bool(car.link.peers.snapshot()))
    # The marker: paused, the car takes over the phone's next media, and had it taken
    # over the first one, that would have come before.
    await car.controller.execute(Command(CommandName.PAUSE), "test")
    await phone.sio.emit("playback_state_update", phone_state(mediaId=6))
    await async_wait_for(lambda: CommandName.OPEN in [c.name for c in car.player.commands])
    opened = [c.value.media_id for c in car.player.commands if c.name is CommandName.OPEN]
    assert opened == [6]
