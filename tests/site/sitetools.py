"""Helpers shared by the site tests: where things are, the TOC pages, a recorded browser visit.

(The browser itself, and $CHROMIUM, are in tests/conftest.py: one for the whole session.)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("SITE_DIR", ROOT / "_build" / "html")).resolve()
OUTPUT = ROOT / "test-output"
SCREENSHOTS = OUTPUT / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# The two screens every page is checked at (CSS px): a laptop and a phone.
WIDTHS = (1280, 390)
HEIGHTS = {1280: 900, 390: 844}


def _toc_entries(node: dict) -> list[str]:
    """Docnames of a _toc.yml subtree, in reading order (file entries; url/glob entries skipped)."""
    names: list[str] = []
    if "file" in node:
        names.append(str(node["file"]))
    for key in ("parts", "chapters", "sections"):
        for child in node.get(key) or []:
            names.extend(_toc_entries(child))
    return names


def toc_docnames() -> list[str]:
    """Every page of the table of contents: the root, then parts/chapters/sections in order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [str(toc["root"])]
    names.extend(_toc_entries({k: v for k, v in toc.items() if k != "root"}))
    # strip a source suffix if a TOC entry spells it (e.g. chapters/01_data.md)
    return [n.rsplit(".", 1)[0] if n.endswith((".md", ".ipynb", ".rst")) else n for n in names]


def toc_pages() -> list[str]:
    """The HTML files the TOC pages build to, relative to the site root."""
    return [f"{name}.html" for name in toc_docnames()]


# Pages not in the TOC that every Jupyter Book site has and readers can reach.
EXTRA_PAGES = ["index.html", "search.html", "genindex.html"]


class Visit:
    """A page opened in a fresh browser context, with everything it did on the network recorded.

    Every request is recorded; any request to a host other than localhost is recorded in
    `offsite` and aborted (the tests must not depend on, or leak to, the internet). The viewport
    is ``width`` CSS px wide (one of WIDTHS; 1 device px per CSS px, which keeps screenshots
    small: the pixel-density checks compare natural to displayed size, independent of it).
    """

    def __init__(self, browser, base_url: str, path: str, width: int = 1280) -> None:
        from urllib.parse import urlsplit

        self.path = path
        self.width = width
        self.url = base_url + path
        self.requests: list[str] = []
        self.offsite: list[str] = []
        self.ok_urls: set[str] = set()
        self._failures: list[tuple[str, str, str]] = []  # (failure, url, resource type)
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self._in_flight: set = set()  # requests not answered yet, but a <video>'s stream
        self.context = browser.new_context(
            viewport={"width": width, "height": HEIGHTS.get(width, 900)},
            service_workers="block",
        )

        def route(route) -> None:
            url = route.request.url
            parts = urlsplit(url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
                self.offsite.append(url)
                route.abort("blockedbyclient")
            else:
                route.continue_()

        def on_response(response) -> None:
            if response.status >= 400:
                self._failures.append((str(response.status), response.url, ""))
            else:
                self.ok_urls.add(response.url)

        def on_request(request) -> None:
            self.requests.append(request.url)
            if request.resource_type != "media":
                self._in_flight.add(request)

        def on_failed(request) -> None:
            self._in_flight.discard(request)
            if request.url not in self.offsite:
                self._failures.append((str(request.failure), request.url, request.resource_type))

        self.context.route("**/*", route)
        self.context.on("request", on_request)
        self.context.on("response", on_response)
        self.context.on("requestfinished", lambda request: self._in_flight.discard(request))
        self.context.on("requestfailed", on_failed)
        self.page = self.context.new_page()
        self.page.on(
            "console",
            lambda msg: (
                self.console_errors.append(f"{msg.text} @ {msg.location}")
                if msg.type == "error"
                else None
            ),
        )
        self.page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))

    @property
    def failed(self) -> list[str]:
        """Requests answered with 4xx/5xx or that failed, as "status-or-error url".

        A media request the browser itself cancelled (a <video> first asks for the whole file,
        then for a range) is not a failure when the same URL was also served."""
        return [
            f"{failure} {url}"
            for failure, url, kind in self._failures
            if not (kind == "media" and "ERR_ABORTED" in failure and url in self.ok_urls)
        ]

    def assert_clean(self) -> None:
        """No request off localhost, no failed request, no console or page error."""
        assert not self.offsite, f"requests off localhost: {self.offsite}"
        assert not self.failed, f"failed requests: {self.failed}"
        assert not self.console_errors and not self.page_errors, (
            self.console_errors + self.page_errors)

    def open(self, timeout_ms: int = 60_000) -> Visit:
        self.page.goto(self.url, wait_until="load", timeout=timeout_ms)
        self.settle(timeout_ms)  # a page that never settles is reported by the checks
        return self

    def settle(self, timeout_ms: int = 15_000, quiet_ms: int = 500) -> bool:
        """Wait until no request has been in flight for ``quiet_ms`` (Playwright's "networkidle"),
        not counting a <video>'s stream, which the browser keeps open: a page with a video never
        reaches "networkidle". False if ``timeout_ms`` passed first."""
        deadline, quiet_since = time.monotonic() + timeout_ms / 1000, None
        while time.monotonic() < deadline:
            if self._in_flight:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_ms / 1000:
                return True
            self.page.wait_for_timeout(50)  # lets Playwright deliver the network events
        return False

    def close(self) -> None:
        self.context.close()


# The explorer's time slider and Play button (diffusion2d.plotting.explorer.WIDGETS), read in the
# page; shared by tests/site/test_site_explorer.py and tests/test_explorer.py.
EXPLORER_TIME = "() => Bokeh.documents[0].get_model_by_name('explorer-time').value"
EXPLORER_PLAY = "() => Bokeh.documents[0].get_model_by_name('explorer-play')"


def play_then_pause(page, button, below: int, still_ms: int) -> int:
    """Click Play on the explorer (``button``), wait until t < ``below`` with the button reading
    Pause, click Pause: the label is Play again, the timer is cleared, 0 < t < ``below``, and t
    stays put ``still_ms`` later (a few timer periods: stopped, not slow). Returns that t."""
    time, play = EXPLORER_TIME, EXPLORER_PLAY
    button.click()
    page.wait_for_function(f"() => ({time})() < {below} && ({play})().label === 'Pause'",
                           timeout=60_000)  # fmt: skip
    button.click()  # Pause
    page.wait_for_function(f"() => ({play})().label === 'Play'", timeout=30_000)
    paused, timer = page.evaluate(f"() => [({time})(), ({play})().explorer_timer]")
    assert timer is None and 0 < paused < below, (paused, timer)
    page.evaluate(f"() => new Promise(r => setTimeout(r, {still_ms}))")
    assert page.evaluate(time) == paused
    return paused
