"""The phone page under test: Debian's Chromium driven by Playwright, the real daemon
(libmpv, MPRIS on a private bus) and `headunit backend` as a process of its own."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium calls its vendor's hosts, which a
# closed network (or a car) refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 640}
ARTIFACTS = Path(
    os.environ.get("HEADUNIT_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")
)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def open_phone(browser: Browser, url: str, **context: Any) -> Page:
    """A fresh phone (its own storage) showing `url`, in portrait unless told otherwise."""
    options = {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
    phone = await browser.new_context(**{**options, **context})
    page = await phone.new_page()
    await page.goto(url)
    return page


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path
