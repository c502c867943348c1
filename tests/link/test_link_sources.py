"""While the phone plays (a fake of mpris-proxy's player on the private bus: no
Bluetooth radio here), the backend sees the phone's track with `source`, and its
`carplay_command` reaches the phone's player."""

from __future__ import annotations

from fake_players import FakePlayer
from link_helpers import link_config
from support import async_wait_for

from headunit.component import Context
from headunit.link import create


async def test_the_backend_sees_the_phone_and_drives_it(
    backend, token_file, make_sourced, make_phone
):
    car = await make_sourced()
    config = link_config(backend.url, token_file)
    link = create(Context(car.active, config, lambda: None))
    assert link is not None
    await link.start()
    try:
        web = await make_phone(backend.url)
        await async_wait_for(lambda: any(s.get("source") == "headunit" for s in web.states))
        assert web.states[-1]["mediaTitle"] == "Car Song"
        phone = await car.join(FakePlayer.phone())
        phone.player.play()
        await async_wait_for(lambda: web.states[-1].get("source") == "Pixel 7", what="the phone")
        state = web.states[-1]
        assert (state["mediaTitle"], state["mediaArtist"]) == ("Phone Song", "Phone Band")
        assert (state["isPlaying"], state["duration"]) == (True, 200.0)
        await web.sio.emit("carplay_command", {"command": "next"})
        await async_wait_for(lambda: phone.player.calls == ["Next"], what="Next on the phone")
        await async_wait_for(lambda: web.states[-1]["mediaTitle"] == "Second Phone Song")
        await phone.leave()
        await async_wait_for(lambda: web.states[-1].get("source") == "headunit")
        assert web.states[-1]["mediaTitle"] == "Car Song"
    finally:
        await link.stop()
