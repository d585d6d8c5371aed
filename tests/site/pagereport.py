"""One visit per page and screen width, measured once and shared by every site test that needs it.

Scope: open a page of the built site in the session's Chromium at one of the WIDTHS, wait until
it is complete (MathJax typeset, images decoded, fonts ready, video metadata), take a full-page
screenshot (test-output/screenshots/<page>-<width>px.png), open its collapsed blocks, measure
it (pagejs.MEASURE), check that the navigation opens, and close it. The result, a PageReport,
holds plain data only; the tests (test_site_browser, test_site_layout, test_site_nav) judge it.
Files the page shows are read from the built site with Pillow (frames, saved dpi) or as SVG
(width in inches), so a figure's on-screen text size can be computed from its saved size.
"""

from __future__ import annotations

import base64
import functools
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pagejs
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sitetools import Visit

RASTER = re.compile(r"\.(?:png|gif|jpe?g|webp|avif)$|^data:image/(?:png|gif|jpeg|webp|avif)", re.I)
SVG = re.compile(r"\.svg$|^data:image/svg", re.I)
_LENGTH = re.compile(r"^\s*([0-9.]+)\s*(pt|px|in|cm|mm|pc)?\s*$")
_PER_INCH = {"pt": 72.0, "px": 96.0, None: 96.0, "in": 1.0, "cm": 2.54, "mm": 25.4, "pc": 6.0}


@dataclass
class PageReport:
    """What one page did and looked like at one width (see pagejs.MEASURE for the fields)."""

    page: str
    width: int
    screenshot: Path
    requests: list[str]
    offsite: list[str]
    failed: list[str]
    console_errors: list[str]
    page_errors: list[str]
    all_images: list[dict]  # every <img> of the page: src, natural, complete, alt
    math: dict  # {math: count, ok: MathJax started}
    untypeset: list[str]
    text: str  # the visible text outside code and math
    widgets_rendered: bool  # every Bokeh layout rendered (else its box was not measured)
    column: dict = field(default_factory=dict)
    boxes: list[dict] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)  # article images, with file info added
    videos: list[dict] = field(default_factory=list)
    icons: list[tuple[str, int]] = field(default_factory=list)  # (url, HTTP status)
    nav_error: str | None = None

    def where(self) -> str:
        return f"{self.page} at {self.width} px (screenshot: {self.screenshot})"


def screenshot_name(page: str, width: int) -> str:
    return page.replace("/", "__").removesuffix(".html") + f"-{width}px.png"


def wait_for_math(page, timeout_ms: int = 60_000) -> dict:
    """Wait until MathJax has typeset the page (if it has math): {math: count, ok: bool}."""
    n = page.evaluate("() => document.querySelectorAll('.math').length")
    if n == 0:
        return {"math": 0, "ok": True}
    try:
        page.wait_for_function(pagejs.MATHJAX_STARTED, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        return {"math": n, "ok": False}
    page.evaluate("() => MathJax.startup.promise.then(() => true)")  # the first typesetting
    return {"math": n, "ok": True}


def _svg_width_in(data: bytes) -> float | None:
    """An SVG's width in inches, from its width attribute (matplotlib writes pt) or viewBox."""
    root = ET.fromstring(data)
    match = _LENGTH.match(root.get("width", ""))
    if match:
        return float(match[1]) / _PER_INCH[match[2]]
    box = root.get("viewBox", "").replace(",", " ").split()
    return float(box[2]) / 96.0 if len(box) == 4 else None


@functools.lru_cache(maxsize=512)
def media_info(src: str, site: Path, base_url: str) -> dict:
    """format, frames, dpi (saved, None if not recorded) and width_in (SVG) of a shown file."""
    if src.startswith("data:"):
        head, _, payload = src.partition(",")
        data = base64.b64decode(payload) if ";base64" in head else unquote(payload).encode()
    elif src.startswith(base_url):
        path = site / unquote(urlsplit(src).path.lstrip("/"))
        if not path.is_file():
            return {"format": None, "frames": 0, "dpi": None, "width_in": None}
        data = path.read_bytes()
    else:
        return {"format": None, "frames": 0, "dpi": None, "width_in": None}
    if SVG.search(src.split("?")[0]) or data.lstrip()[:5] in (b"<?xml", b"<svg "):
        return {"format": "SVG", "frames": 1, "dpi": None, "width_in": _svg_width_in(data)}
    with Image.open(io.BytesIO(data)) as im:
        dpi = im.info.get("dpi")
        return {
            "format": im.format,
            "frames": getattr(im, "n_frames", 1),
            "dpi": float(dpi[0]) if dpi and dpi[0] > 1 else None,
            "width_in": None,
        }


def check_nav(page, width: int) -> str | None:
    """None if a navigation link is on screen, after tapping ☰ if it is not; else what failed."""
    if page.evaluate(pagejs.NAV_OPEN, width):
        return None
    toggle = page.locator(".primary-toggle").filter(visible=True)
    if toggle.count() == 0:
        return "navigation closed and no visible ☰ button (.primary-toggle) to open it"
    toggle.first.click()
    try:
        page.wait_for_function(pagejs.NAV_OPEN, arg=width, timeout=30_000)
    except PlaywrightTimeoutError:
        return "tapping ☰ (.primary-toggle) brought no navigation link on screen within 30 s"
    return None


def collect(browser, base_url: str, site: Path, page_path: str, width: int, shots: Path):
    """Visit ``page_path`` at ``width`` CSS px and measure it: a PageReport."""
    visit = Visit(browser, base_url, page_path, width)
    try:
        visit.open()
        page = visit.page
        math = wait_for_math(page)
        page.evaluate(pagejs.SETTLE_MEDIA)
        try:
            page.wait_for_function(pagejs.BOKEH_RENDERED, timeout=60_000)
            widgets_rendered = True
        except PlaywrightTimeoutError:
            widgets_rendered = False  # reported by the layout test
        visit.settle()  # a page that never settles: its requests are reported by the checks
        shot = shots / screenshot_name(page_path, width)
        page.screenshot(path=str(shot), full_page=True)
        report = PageReport(
            page=page_path,
            width=width,
            screenshot=shot,
            requests=list(visit.requests),
            offsite=list(visit.offsite),
            failed=[],
            console_errors=list(visit.console_errors),
            page_errors=list(visit.page_errors),
            all_images=page.evaluate(pagejs.IMAGES),
            math=math,
            untypeset=page.evaluate(pagejs.UNTYPESET_MATH),
            text=page.evaluate(pagejs.VISIBLE_TEXT),
            widgets_rendered=widgets_rendered,
        )
        if page.evaluate(pagejs.OPEN_DETAILS):  # what a reader can expand is measured too
            page.evaluate(pagejs.SETTLE_MEDIA)
        measured = page.evaluate(pagejs.MEASURE)
        report.column, report.boxes = measured["column"], measured["boxes"]
        report.videos = measured["videos"]
        report.images = [
            {**img, **media_info(img["src"], site, base_url)} for img in measured["images"]
        ]
        report.icons = [
            (u, visit.context.request.get(u).status) for u in page.evaluate(pagejs.ICONS)
        ]
        report.nav_error = check_nav(page, width)
        # everything the page requested until now, including the media opened above
        report.failed = visit.failed
        report.requests = list(visit.requests)
        report.offsite = list(visit.offsite)
        report.console_errors = list(visit.console_errors)
        report.page_errors = list(visit.page_errors)
        return report
    finally:
        visit.close()
