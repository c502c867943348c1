"""Phone latency: a tap on the phone page -> the car's MPRIS PropertiesChanged, beside the
same command sent by REST.

    .venv/bin/python bench/phone_latency.py [--taps 100]

Debian's Chromium (Playwright) shows the page from the reference backend (in this
process); the real daemon (mpv with ao=null, MPRIS on a private session bus) is a
process of its own. The clock starts when the bench dispatches a touch on the button
(so it includes Playwright's own dispatch) and stops when a D-Bus client of the
private bus receives the PropertiesChanged that shows the effect:

- "Next track"  -> Metadata (mpv loads the next file)
- "Pause"/"Play" -> PlaybackStatus

Beside it, what the driver feels, measured by the page's own clock: from the touch
event's timeStamp to the requestAnimationFrame of the frame that shows the new state
(the title, the toggle's label), after the car's state came back through the backend.

`--taps` taps of each after 5 warm-up taps, 20 ms apart; then the same commands as
`POST /api/carplay/control`. Needs sox, dbus-daemon and chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from dbus_fast import BusType
from dbus_fast.aio import MessageBus

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [
    str(ROOT),
    str(ROOT / "bench"),
    str(ROOT / "tests"),
    str(ROOT / "tests" / "backend"),
]

from phone_helpers import chromium, open_phone  # noqa: E402
from playwright.async_api import Page  # noqa: E402
from remote_latency import SECRET, USER, bench_folder, percentiles, start_daemon  # noqa: E402
from support import DBusDaemon  # noqa: E402

from headunit.backend.auth import Verifier, mint  # noqa: E402
from headunit.backend.phone_link import page_url  # noqa: E402
from headunit.backend.server import Backend, serve  # noqa: E402

WARMUP = 5
GAP = 0.02
TARGET_P50_MS = 15.0
PLAYER = "org.mpris.MediaPlayer2.Player"
PROPERTIES = "org.freedesktop.DBus.Properties"
NAME, MPRIS_PATH = "org.mpris.MediaPlayer2.headunit", "/org/mpris/MediaPlayer2"


class Signals:
    """PropertiesChanged of the player, with their arrival times."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, dict[str, Any]]] = []
        self.arrived = asyncio.Event()

    def changed(self, interface: str, changed: dict[str, Any], _invalidated: list[str]) -> None:
        if interface == PLAYER:
            self.seen.append((time.perf_counter(), changed))
            self.arrived.set()

    def playing(self) -> bool:
        statuses = [c["PlaybackStatus"].value for _, c in self.seen if "PlaybackStatus" in c]
        return bool(statuses) and statuses[-1] == "Playing"

    async def after(self, since: int, prop: str) -> float:
        index = since
        while True:
            while index < len(self.seen):
                at, changed = self.seen[index]
                index += 1
                if prop in changed:
                    return at
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 10)


async def timed(signals: Signals, prop: str, act: Callable[[], Awaitable[Any]]) -> float:
    await asyncio.sleep(GAP)
    since = len(signals.seen)
    start = time.perf_counter()
    await act()
    return await signals.after(since, prop) - start


async def center(page: Page, name: str) -> tuple[float, float]:
    box = await page.get_by_role("button", name=name).bounding_box()
    assert box is not None, name
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


# The page's own share of a tap: from the touch reaching the page to the button's click
# handler (which emits at once). Bench-only listeners, added from outside the page.
MARK_TOUCHES = """() => {
  window.touchMarks = [];
  document.addEventListener('pointerdown', () => touchMarks.push(performance.now()), true);
  document.addEventListener('click', () => touchMarks.push(performance.now()), true);
}"""
IN_PAGE = "touchMarks.flatMap((t, i) => (i % 2 ? [t - touchMarks[i - 1]] : []))"

# What the driver feels, on the page's own clock: from the touch's event.timeStamp to the
# frame that shows the new state (the title for Next, the toggle's label for Play/Pause).
# A change seen by a MutationObserver is painted in the next frame: the time is taken in
# that frame's requestAnimationFrame callback, just before it paints.
MARK_RENDERS = """() => {
  window.renderMarks = [];
  const title = document.getElementById('title');
  const toggle = document.getElementById('toggle');
  const shown = () => title.textContent + '|' + toggle.getAttribute('aria-label');
  let tap = null;
  document.addEventListener('pointerdown', (e) => { tap = {at: e.timeStamp, was: shown()}; }, true);
  new MutationObserver(() => {
    if (tap === null || shown() === tap.was) return;
    const start = tap.at;
    tap = null;
    requestAnimationFrame(() => renderMarks.push(performance.now() - start));
  }).observe(document.getElementById('player'),
             {subtree: true, childList: true, characterData: true, attributes: true});
}"""


async def rendered(page: Page, count: int) -> None:
    """Until the page has marked more than `count` frames (the page's CSP forbids the
    string predicates of page.wait_for_function; the polling costs nothing measured)."""
    deadline = time.monotonic() + 10
    while await page.evaluate("renderMarks.length") <= count:
        assert time.monotonic() < deadline, "the page never showed the change"
        await asyncio.sleep(0.005)


async def phone_taps(
    page: Page, signals: Signals, taps: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """(tap -> the car's PropertiesChanged, tap -> the page's frame showing it), by command."""
    # The toggle keeps its place whatever its name, so one point serves Play and Pause.
    next_at = await center(page, "Next track")
    toggle_at = await center(page, "Pause")
    await page.evaluate(MARK_TOUCHES)
    await page.evaluate(MARK_RENDERS)
    samples: dict[str, list[float]] = {"next": [], "play/pause": []}
    shown: dict[str, list[float]] = {"next": [], "play/pause": []}
    for n in range(taps + WARMUP):
        for name, at, prop in (
            ("next", next_at, "Metadata"),
            ("play/pause", toggle_at, "PlaybackStatus"),
        ):
            before = await page.evaluate("renderMarks.length")
            took = await timed(signals, prop, lambda at=at: page.touchscreen.tap(*at))
            # The page hears of the change after the car's bus does: wait for its frame,
            # so the next touch is never taken for this one's.
            await rendered(page, before)
            if n >= WARMUP:
                samples[name].append(took)
                shown[name].append(await page.evaluate(f"renderMarks[{before}]") / 1000)
    in_page = [ms / 1000 for ms in await page.evaluate(IN_PAGE)]
    print(f"in the page, touch -> click handler: {percentiles(in_page)}")
    return samples, shown


async def rest_commands(url: str, signals: Signals, count: int) -> dict[str, list[float]]:
    headers = {"Authorization": f"Bearer {mint(SECRET, USER)}"}
    samples: dict[str, list[float]] = {"next": [], "play/pause": []}
    async with aiohttp.ClientSession() as http:

        async def post(command: str) -> None:
            body = {"command": command, "value": None}
            async with http.post(f"{url}/api/carplay/control", json=body, headers=headers) as r:
                assert r.status == 200

        for n in range(count + WARMUP):
            took = await timed(signals, "Metadata", lambda: post("next"))
            toggle = "pause" if signals.playing() else "play"
            took_toggle = await timed(signals, "PlaybackStatus", lambda t=toggle: post(t))
            if n >= WARMUP:
                samples["next"].append(took)
                samples["play/pause"].append(took_toggle)
    return samples


async def watch(address: str) -> tuple[MessageBus, Signals]:
    """Subscribe to the player's PropertiesChanged (dbus-fast adds the match rule)."""
    bus = await MessageBus(bus_address=address, bus_type=BusType.SESSION).connect()
    introspection = await bus.introspect(NAME, MPRIS_PATH)
    proxy = bus.get_proxy_object(NAME, MPRIS_PATH, introspection)
    signals = Signals()
    proxy.get_interface(PROPERTIES).on_properties_changed(signals.changed)
    return bus, signals


def report(title: str, samples: dict[str, list[float]]) -> list[float]:
    total = [x for values in samples.values() for x in values]
    print(title)
    for name, values in samples.items():
        print(f"  {name:<10} n={len(values):<4} {percentiles(values)}")
    print(f"  {'all':<10} n={len(total):<4} {percentiles(total)}")
    return total


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--taps", type=int, default=100, help="taps of each button")
    args = parser.parse_args()
    tracks = 2 * (args.taps + WARMUP) + 2  # every `next` lands on a new track
    async with bench_folder("phone-latency-", tracks) as tmp:
        dbus = DBusDaemon(tmp / "bus")
        running = await serve(Backend(Verifier(SECRET, "HS256")))
        proc = await asyncio.to_thread(start_daemon, tmp, running.url, dbus.address, 5.0)
        bus: MessageBus | None = None
        try:
            async with chromium() as browser:
                page = await open_phone(browser, page_url(running.url, mint(SECRET, USER)))
                await page.get_by_text("Car online").wait_for(timeout=30_000)
                await page.get_by_role("button", name="Pause").wait_for(timeout=30_000)
                bus, signals = await watch(dbus.address)
                taps, shown = await phone_taps(page, signals, args.taps)
            rest = await rest_commands(running.url, signals, args.taps)
        finally:
            if bus is not None:
                bus.disconnect()
            proc.terminate()
            await asyncio.to_thread(proc.wait, 10)
            await running.stop()
            dbus.stop()
    total = report("tap on the phone page -> MPRIS PropertiesChanged", taps)
    report("tap on the phone page -> the page's frame showing the new state (page clock)", shown)
    report("POST /api/carplay/control -> MPRIS PropertiesChanged", rest)
    p50 = sorted(total)[len(total) // 2] * 1000
    verdict = "met" if p50 <= TARGET_P50_MS else "NOT met"
    print(f"target p50 <= {TARGET_P50_MS:g} ms for taps: {verdict} ({p50:.2f} ms)")


if __name__ == "__main__":
    asyncio.run(main())
