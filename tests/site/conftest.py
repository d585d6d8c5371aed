"""Fixtures for the tests of the built site (_build/html): static checks, browser, workflows.

Run after a build:  pytest tests/site   (scripts/test.sh does build first).

Environment:
  SITE_DIR   the built HTML (default: _build/html in the repository root)
  CHROMIUM   the Chromium binary driven by Playwright (default: /usr/bin/chromium, Debian's
             package; never `playwright install`)
Screenshots land in test-output/screenshots/ (git-ignored).
"""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from pathlib import Path

import pytest
from sitetools import CHROMIUM, CHROMIUM_ARGS, EXTRA_PAGES, SCREENSHOTS, SITE, Visit, toc_pages


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "toc_page" in metafunc.fixturenames:
        metafunc.parametrize("toc_page", toc_pages())
    if "any_page" in metafunc.fixturenames:
        pages = toc_pages() + [p for p in EXTRA_PAGES if p not in toc_pages()]
        metafunc.parametrize("any_page", pages)


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail(
            f"{SITE}/index.html not found: build the book first "
            "(jupyter-book build book/ -W -n --keep-going)",
            pytrace=False,
        )
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # the browser may drop a connection it no longer needs: not an error
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def base_url(site: Path):
    """The built site served over HTTP on 127.0.0.1 (a free port), as the browser tests need."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (headless)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) "
            "or set CHROMIUM=/path/to/chromium. Never `playwright install`.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def visit(browser, base_url):
    """visit('chapters/01_data.html') -> an opened Visit; closed after the test."""
    opened: list[Visit] = []

    def _visit(path: str) -> Visit:
        v = Visit(browser, base_url, path)
        opened.append(v)
        return v.open()

    yield _visit
    for v in opened:
        v.close()
