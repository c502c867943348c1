"""The phone page in a real browser (Debian's Chromium under Playwright) against the
real daemon (libmpv, MPRIS on a private bus) and `headunit backend` in its own process."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_players import FakePlayer
from phone_helpers import PHONE, chromium, open_phone, screenshot
from support import (
    TEST_SECRET,
    BackendProcess,
    DaemonProcess,
    async_wait_for,
    embed_cover,
    free_port,
    make_album,
    playerctl,
    sign_token,
)

pytest.importorskip("playwright", reason="the test extra (playwright) is not installed")
from playwright.async_api import Browser, Page, expect

WAIT = 15_000  # ms: Playwright's own waits, for the car, the backend and the browser


@dataclass
class Rig:
    backend: BackendProcess
    daemon: DaemonProcess
    token: str

    @property
    def page_url(self) -> str:
        return f"{self.backend.url}/#token={self.token}"


@pytest.fixture
async def browser() -> Any:
    async with chromium() as launched:
        yield launched


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
async def rig(request: Any, tmp_path: Path, start_daemon: Any) -> Any:
    music = tmp_path / "music"
    tracks = make_album(music / "Album A", ["One", "Two", "Three", "Four"], seconds=60.0)
    embed_cover(tracks[0])
    make_album(music / "Album B", ["Five", "Six"], seconds=60.0)
    # Two workers behind one port share the rooms through Redis: the page and the car may
    # land on different processes.
    server: dict[str, Any] = {"workers": request.param}
    if request.param > 1:
        server["redis_url"] = request.getfixturevalue("redis_url")
    backend = BackendProcess(tmp_path / "backend", free_port(), TEST_SECRET, **server)
    await backend.start()
    token = sign_token({"userId": 7})
    token_file = tmp_path / "token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    keys = {"url": backend.url, "token_file": str(token_file), "device_name": "car",
            "backoff_min_seconds": 0.05, "backoff_max_seconds": 0.5}  # fmt: skip
    daemon = await asyncio.to_thread(start_daemon, [music], {"backend": keys})
    yield Rig(backend, daemon, token)
    if backend.proc is not None and backend.proc.poll() is None:
        backend.kill()


def title(page: Page) -> Any:
    return page.get_by_role("heading", level=1)


async def signed_in(browser: Browser, rig: Rig, **context: Any) -> Page:
    page = await open_phone(browser, rig.page_url, **context)
    await expect(page.get_by_role("status")).to_have_text("Car online", timeout=WAIT)
    await expect(title(page)).to_have_text("One", timeout=WAIT)
    return page


async def test_sign_in_through_the_fragment_shows_what_the_car_plays(browser, rig):
    page = await signed_in(browser, rig)
    # The token left the address bar, and stays on the phone for the next visit.
    assert "token" not in page.url
    assert await page.evaluate("localStorage.getItem('headunit.token')") == rig.token
    now_playing = page.locator(".now")
    await expect(now_playing.get_by_text("Test Artist")).to_be_visible()
    await expect(now_playing.get_by_text("Album A")).to_be_visible()
    await expect(page.get_by_role("button", name="Pause")).to_be_visible()
    await expect(page.get_by_role("img", name="Cover art")).to_be_visible(timeout=WAIT)
    assert await page.get_by_role("img", name="Cover art").evaluate("i => i.naturalWidth") == 8
    # The progress runs on between the car's updates.
    first = float(await page.get_by_role("slider", name="Position").input_value())
    await expect(page.get_by_role("slider", name="Position")).not_to_have_value(
        str(int(first)), timeout=WAIT
    )
    await screenshot(page, "phone-now-playing")
    # Opened again without the fragment: still signed in.
    await page.goto(rig.backend.url)
    await expect(title(page)).to_have_text("One", timeout=WAIT)
    assert rig.token not in rig.backend.log.read_text()


async def test_a_bad_token_says_so_and_a_pasted_one_signs_in(browser, rig):
    expired = sign_token({"userId": 7, "exp": 1_000_000})
    page = await open_phone(browser, f"{rig.backend.url}/#token={expired}")
    await expect(page.get_by_role("alert")).to_contain_text("expired")
    await page.get_by_label("Token").fill(
        sign_token({"userId": 7}, key="not-the-backend-key-but-32-bytes-long")
    )
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("refused", timeout=WAIT)
    await page.get_by_label("Token").fill(rig.token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(title(page)).to_have_text("One", timeout=WAIT)


async def test_a_skip_on_the_car_shows_on_the_phone(browser, rig):
    page = await signed_in(browser, rig)
    await playerctl("next")
    await expect(title(page)).to_have_text("Two", timeout=WAIT)
    await playerctl("pause")
    await expect(page.get_by_role("button", name="Play")).to_be_visible(timeout=WAIT)


async def near(reading: Any, seconds: float) -> bool:
    """A `playerctl position` reading is within a second of `seconds`."""
    return abs(float(await reading) - seconds) < 1


async def wait_mpris(what: str, expected: str) -> None:
    async def shown() -> bool:
        return await playerctl("metadata", what) == expected

    await async_wait_for(shown, what=f"MPRIS {what} to become {expected!r}")


async def test_the_drivers_phone_playing_shows_with_its_name(browser, rig, dbus_session):
    page = await signed_in(browser, rig)
    phone = await FakePlayer.phone().join(dbus_session)  # no radio: mpris-proxy's shape
    try:
        phone.player.play()
        await expect(title(page)).to_have_text("Phone Song", timeout=WAIT)
        source = page.locator(".now #source")
        await expect(source).to_have_text("Pixel 7")
        await expect(source).to_be_visible()
        await screenshot(page, "phone-other-source")
        await page.get_by_role("button", name="Next track").click()
        await expect(title(page)).to_have_text("Second Phone Song", timeout=WAIT)
        assert phone.player.calls == ["Next"]
    finally:
        await phone.leave()
    await expect(title(page)).to_have_text("One", timeout=WAIT)
    await expect(page.locator(".now #source")).to_be_hidden()


class States:
    """The car's states as the page's socket receives them (Playwright sees its frames):
    what the page knows, where the page itself shows nothing that tells it apart."""

    def __init__(self, page: Page) -> None:
        self.received: list[dict[str, Any]] = []
        page.on("websocket", lambda socket: socket.on("framereceived", self._frame))

    def _frame(self, payload: str | bytes) -> None:
        if isinstance(payload, str) and payload.startswith("42"):  # a Socket.IO event
            event, *args = json.loads(payload[2:])
            if event == "playback_state":
                self.received.append(args[0])


async def test_the_phones_controls_drive_the_car(browser, rig):
    page = await signed_in(browser, rig)
    states = States(page)
    await page.reload()  # signed in still, on a socket whose frames are seen
    await expect(title(page)).to_have_text("One", timeout=WAIT)
    await page.get_by_role("button", name="Next track").click()
    await wait_mpris("title", "Two")
    await expect(title(page)).to_have_text("Two", timeout=WAIT)
    await page.get_by_role("button", name="Pause").click()
    await expect(page.get_by_role("button", name="Play")).to_be_visible(timeout=WAIT)
    assert await playerctl("status") == "Paused"
    await page.get_by_role("slider", name="Position").fill("42")
    # The slider shows where it was let go at once, before the seek has left the page:
    # the car is there once MPRIS says so, and the page once the car's state is back
    # (the skips below go from the position the page knows).
    await async_wait_for(lambda: near(playerctl("position"), 42), what="the car at 42 s")
    await async_wait_for(
        lambda: states.received and abs(states.received[-1]["currentTime"] - 42) < 1,
        what="the car's state at 42 s on the page",
    )
    await expect(page.get_by_role("slider", name="Position")).to_have_value("42", timeout=WAIT)
    # A relative seek starts from mpv's position, which an exact seek may leave a
    # fraction of a second short: the slider shows the whole second either side.
    await page.get_by_role("button", name="Forward 10 seconds").click()
    slider = page.get_by_role("slider", name="Position")
    await expect(slider).to_have_value(re.compile(r"^5[12]$"), timeout=WAIT)
    assert abs(float(await playerctl("position")) - 52) < 1
    await page.get_by_role("button", name="Back 10 seconds").click()
    await expect(slider).to_have_value(re.compile(r"^4[12]$"), timeout=WAIT)
    await page.get_by_role("button", name="Previous track").click()
    await page.get_by_role("button", name="Play").click()
    await expect(page.get_by_role("button", name="Pause")).to_be_visible(timeout=WAIT)
    assert await playerctl("status") == "Playing"


async def test_up_next_and_the_library_play_on_the_car(browser, rig):
    page = await signed_in(browser, rig)
    up_next = page.get_by_role("list", name="Up next")
    await expect(up_next.get_by_role("button")).to_have_count(5, timeout=WAIT)
    await expect(up_next.get_by_role("button").first).to_have_accessible_name("Two")
    await up_next.get_by_role("button", name="Four").click()
    await wait_mpris("title", "Four")
    await expect(title(page)).to_have_text("Four", timeout=WAIT)
    await expect(up_next.get_by_role("button").first).to_have_accessible_name("Five")
    library = page.get_by_role("list", name="Folders and playlists")
    await library.get_by_role("button", name="Album B").click()
    await wait_mpris("title", "Five")
    await expect(title(page)).to_have_text("Five", timeout=WAIT)


async def test_the_status_follows_the_backend_going_and_coming_back(browser, rig):
    page = await signed_in(browser, rig)
    rig.backend.kill()
    status = page.get_by_role("status")
    await expect(status).to_contain_text("offline since", timeout=WAIT)
    await screenshot(page, "phone-backend-offline")
    await rig.backend.start()
    await expect(status).to_have_text("Car online", timeout=WAIT)
    # The new backend knew nothing: the car's state reached the phone through it again.
    await playerctl("next")
    await expect(title(page)).to_have_text("Two", timeout=WAIT)


async def test_a_state_overtaken_on_the_way_does_not_replace_the_newer_one(browser, rig, connect):
    """Behind several backend processes, the cached state a new socket is greeted with
    can arrive after a newer relay: the page keeps showing the newer state."""
    page = await signed_in(browser, rig)
    await playerctl("pause")  # the car's own updates stop meanwhile
    await expect(page.get_by_role("button", name="Play")).to_be_visible(timeout=WAIT)
    other = await connect(rig.backend.url, rig.token)
    taken = int(time.time() * 1000)
    for name, at in (("Newer", taken + 1), ("Older", taken)):
        state = {"userId": 7, "isPlaying": False, "currentTime": 1.0, "duration": 60.0,
                 "mediaId": None, "mediaTitle": name, "deviceName": "tablet",
                 "updatedAt": at}  # fmt: skip
        await other.sio.emit("playback_state_update", state)
    await expect(title(page)).to_have_text("Newer", timeout=WAIT)
    await asyncio.sleep(1.0)  # the older state arrives right after the newer one
    await expect(title(page)).to_have_text("Newer", timeout=100)


async def test_the_car_going_offline_shows(browser, rig):
    page = await signed_in(browser, rig)
    rig.daemon.stop()
    await expect(page.get_by_role("status")).to_contain_text("Car offline since", timeout=WAIT)


@pytest.mark.parametrize(
    "viewport", [PHONE, {"width": 640, "height": 360}], ids=["portrait", "landscape"]
)
async def test_usable_on_a_phone(browser, rig, viewport):
    page = await signed_in(browser, rig, viewport=viewport)
    await expect(page.get_by_role("img", name="Cover art")).to_be_visible(timeout=WAIT)
    await screenshot(page, "phone-portrait" if viewport == PHONE else "phone-landscape")
    for name in ("Previous track", "Back 10 seconds", "Pause", "Forward 10 seconds", "Next track"):
        box = await page.get_by_role("button", name=name).bounding_box()
        assert box is not None, name
        assert min(box["width"], box["height"]) >= 48, f"{name} is too small to touch"
        assert 0 <= box["x"] <= viewport["width"] - box["width"], f"{name} is off the screen"
        assert box["y"] + box["height"] <= viewport["height"], f"{name} is below the fold"
    # No horizontal scrolling, and the controls do not move when the title's length does.
    assert await page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    before = await page.get_by_role("button", name="Next track").bounding_box()
    await page.evaluate("document.getElementById('title').textContent = 'A'.repeat(300)")
    assert await page.get_by_role("button", name="Next track").bounding_box() == before
    title_box = await title(page).bounding_box()
    assert title_box is not None
    assert title_box["x"] + title_box["width"] <= viewport["width"]
    # Dark by default.
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(16, 18, 20)"


async def test_two_backend_processes_share_the_car_through_redis(
    browser, tmp_path, start_daemon, redis_url
):
    """The car on one process, the phone on another: the state, the queue, the cover and
    the commands cross through Redis."""
    first, second = (
        BackendProcess(tmp_path / name, free_port(), TEST_SECRET, redis_url=redis_url)
        for name in ("first", "second")
    )
    await first.start()
    await second.start()
    try:
        music = tmp_path / "music"
        embed_cover(make_album(music / "Album A", ["One", "Two", "Three"], seconds=60.0)[0])
        token = sign_token({"userId": 7})
        token_file = tmp_path / "token"
        token_file.write_text(token)
        token_file.chmod(0o600)
        keys = {"url": first.url, "token_file": str(token_file), "device_name": "car"}
        await asyncio.to_thread(start_daemon, [music], {"backend": keys})
        page = await open_phone(browser, f"{second.url}/#token={token}")
        await expect(page.get_by_role("status")).to_have_text("Car online", timeout=WAIT)
        await expect(title(page)).to_have_text("One", timeout=WAIT)
        await expect(page.get_by_role("img", name="Cover art")).to_be_visible(timeout=WAIT)
        up_next = page.get_by_role("list", name="Up next")
        await expect(up_next.get_by_role("button").first).to_have_accessible_name("Two")
        await page.get_by_role("button", name="Next track").click()
        await wait_mpris("title", "Two")
        await expect(title(page)).to_have_text("Two", timeout=WAIT)
    finally:
        for process in (first, second):
            if process.proc is not None and process.proc.poll() is None:
                process.kill()


async def test_the_page_opens_without_the_backend_and_caches_nothing_private(browser, rig):
    page = await signed_in(browser, rig)
    await page.evaluate("navigator.serviceWorker.ready")
    await expect(page.get_by_role("img", name="Cover art")).to_be_visible(timeout=WAIT)
    rig.backend.kill()
    await page.reload()
    # The page came from the service worker's cache, and says the backend is away.
    await expect(page.get_by_role("status")).to_contain_text("offline since", timeout=WAIT)
    await expect(page.get_by_role("button", name="Next track")).to_be_visible()
    cached = await page.evaluate(
        """async () => {
            const urls = [];
            for (const key of await caches.keys()) {
                for (const request of await (await caches.open(key)).keys()) urls.push(request.url);
            }
            return urls;
        }"""
    )
    paths = sorted(url.removeprefix(rig.backend.url) for url in cached)
    assert "/" in paths
    assert "/app.js" in paths
    assert not [path for path in paths if path.startswith(("/api/", "/socket.io/"))]
    assert not [url for url in cached if rig.token in url]


async def test_back_from_a_network_change_the_page_shows_the_car_as_it_is(browser, rig):
    page = await signed_in(browser, rig)
    await page.context.set_offline(True)
    # The page's socket is down: the skip cannot reach it that way.
    await expect(page.get_by_role("status")).to_contain_text("offline since", timeout=WAIT)
    await playerctl("next")
    await wait_mpris("title", "Two")
    await page.context.set_offline(False)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await expect(page.get_by_role("status")).to_have_text("Car online", timeout=WAIT)
    await expect(title(page)).to_have_text("Two", timeout=WAIT)
