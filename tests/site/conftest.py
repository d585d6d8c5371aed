"""Fixtures for the tests of the built site (_build/html): static checks, browser, workflows.

Run after a build:  pytest tests/site   (scripts/test.sh does build first). Without a built site
the tests that need it skip, saying so; `pytest` at the root then runs everything else.

Environment:
  SITE_DIR   the built HTML (default: _build/html in the repository root)
  CHROMIUM   the Chromium binary driven by Playwright (default: /usr/bin/chromium, Debian's
             package; never `playwright install`); the session's one browser is the `browser`
             fixture of tests/conftest.py, shared with the unit tests
Screenshots land in test-output/screenshots/ (git-ignored), one per page and width.

Parameters: ``toc_page`` (the TOC's pages), ``any_page`` (those plus index/search/genindex) and
``site_width`` (each of sitetools.WIDTHS: 1280 and 390 CSS px). ``page_report(page, width)``
visits a page once per width for the whole session and returns its measured PageReport
(pagereport.py), which several tests judge.
"""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from pathlib import Path

import pytest
from pagereport import PageReport, collect
from sitetools import EXTRA_PAGES, SCREENSHOTS, SITE, WIDTHS, Visit, toc_pages


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "toc_page" in metafunc.fixturenames:
        metafunc.parametrize("toc_page", toc_pages())
    if "any_page" in metafunc.fixturenames:
        pages = toc_pages() + [p for p in EXTRA_PAGES if p not in toc_pages()]
        metafunc.parametrize("any_page", pages)
    if "site_width" in metafunc.fixturenames:
        metafunc.parametrize("site_width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist's ``--dist loadgroup`` (scripts/test.sh), the tests of one page at one
    width run in one worker, so each page is opened and measured once (``page_report``)."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        page = params.get("any_page") or params.get("toc_page")
        if page and "site_width" in params:
            item.add_marker(pytest.mark.xdist_group(f"{page}@{params['site_width']}"))


@pytest.fixture(scope="session")
def site() -> Path:
    """The built HTML; the tests that need it skip while it is not built."""
    if not (SITE / "index.html").is_file():
        pytest.skip(
            f"site not built: no {SITE}/index.html (build it: jupyter-book build book/ -W -n "
            "--keep-going; or set SITE_DIR to a built site)"
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
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def visit(base_url, browser):  # base_url first: without a built site, skip before the browser
    """visit('chapters/01_data.html') -> an opened Visit; closed after the test."""
    opened: list[Visit] = []

    def _visit(path: str) -> Visit:
        v = Visit(browser, base_url, path)
        opened.append(v)
        return v.open()

    yield _visit
    for v in opened:
        v.close()


@pytest.fixture(scope="session")
def page_report(base_url, browser, site, screenshot_dir):
    """page_report(page, width) -> the PageReport of one visit, made once per session."""
    made: dict[tuple[str, int], PageReport | Exception] = {}

    def _report(page: str, width: int) -> PageReport:
        if (page, width) not in made:
            if not (site / page).is_file():
                pytest.fail(f"{page} is not in the built site (is it in _toc.yml and built?)")
            try:
                made[page, width] = collect(browser, base_url, site, page, width, screenshot_dir)
            except Exception as exc:  # noqa: BLE001 - every test of this page reports it
                made[page, width] = exc
        result = made[page, width]
        if isinstance(result, Exception):
            raise result
        return result

    return _report
