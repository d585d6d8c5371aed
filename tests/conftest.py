"""Fixtures shared by every test: the unit tests in tests/ and the site tests in tests/site/.

This file is loaded for both, so the one browser of the session lives here:

- ``browser``: Debian's Chromium (``$CHROMIUM``, default /usr/bin/chromium; never
  `playwright install`) driven by Playwright's sync API, headless. One Playwright instance and
  one Chromium for the whole session, started by the first test that asks for it and closed at
  the end of the session. A browser test opens a context of its own on it (and closes it); no
  test starts Playwright itself.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import torch

from diffusion2d.data import load_datasaurus, read_datasaurus_bytes

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
]

# The event loop of the session's Playwright, once the browser fixture has started it.
_playwright_loop: list[asyncio.AbstractEventLoop] = []


@pytest.fixture(scope="session")
def dino() -> torch.Tensor:
    return load_datasaurus("dino")  # (142, 2), z-normalised


@pytest.fixture(scope="session")
def tsv_bytes() -> bytes:
    return read_datasaurus_bytes()


@pytest.fixture(autouse=True)
def _one_thread():
    """Unit tests are tiny: one thread keeps them fast and steady on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every matplotlib figure a test opened (only where a test imported pyplot)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (headless): one per session, shared by all tests."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) "
            "or set CHROMIUM=/path/to/chromium. Never `playwright install`.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        # Between two sync calls Playwright leaves its loop marked as running in this thread.
        _playwright_loop.append(asyncio.events._get_running_loop())
        try:
            yield browser
        finally:
            browser.close()
            _playwright_loop.clear()


@pytest.fixture(autouse=True)
def _no_playwright_loop_outside_browser_tests(request: pytest.FixtureRequest):
    """Tests that do not use the browser run with no event loop marked as running.

    Once the session's Playwright has started, its event loop stays marked as running in this
    thread between sync calls (playwright/_impl/_greenlets.py, wait_for_future), until the end
    of the session. Any later test that runs asyncio itself (asyncio.run, a Jupyter kernel
    client, another sync_playwright) would then fail, depending only on the order of the tests.
    Hide that loop for the duration of such a test, and put it back for the browser tests and
    the session's teardown.
    """
    loop = asyncio.events._get_running_loop()
    if "browser" in request.fixturenames or loop is None or loop not in _playwright_loop:
        yield
        return
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(loop)
